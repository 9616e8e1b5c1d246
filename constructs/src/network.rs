//! `Network`: the VPC of one environment.
//!
//! Creates: a VPC over 2-3 AZs with public, private-with-egress and isolated subnets; NAT gateways
//! (count a prop); interface endpoints for ecr.api, ecr.dkr, logs, secretsmanager and ssm and an S3
//! gateway endpoint (on by default); flow logs to a CloudWatch log group with retention (retained
//! on delete).

use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    FlowLogDestination, FlowLogOptions, GatewayVpcEndpointAwsService, GatewayVpcEndpointOptions,
    ISubnet, InterfaceVpcEndpointAwsService, InterfaceVpcEndpointOptions, IpAddresses,
    SubnetConfiguration, SubnetConfigurationRequired, SubnetType, Vpc, VpcProps,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::{LogGroup, LogGroupProps, RetentionDays};
use cdk_from_rust::aws_cdk_lib::RemovalPolicy;
use cdk_from_rust::constructs::Construct;

use crate::validation::{is_ipv4_cidr, Check, ValidationErrors};

/// Props of [`Network`].
#[derive(Clone, Debug)]
pub struct NetworkProps {
    /// Availability zones to span, 2 or 3. Default: 2.
    pub max_azs: u8,
    /// NAT gateways: 1 (staging: one shared gateway) up to `max_azs` (production: one per AZ).
    /// Default: 1.
    pub nat_gateways: u8,
    /// The VPC's IPv4 block, /16 to /22. Default: `10.0.0.0/16`.
    pub cidr: String,
    /// Interface endpoints for ecr.api, ecr.dkr, logs, secretsmanager, ssm and an S3 gateway
    /// endpoint, so tasks pull images and read secrets without the NAT. Default: on.
    pub vpc_endpoints: bool,
    /// Retention of the VPC flow logs. Default: 90 days.
    pub flow_log_retention: RetentionDays,
}

impl Default for NetworkProps {
    fn default() -> Self {
        NetworkProps {
            max_azs: 2,
            nat_gateways: 1,
            cidr: "10.0.0.0/16".to_string(),
            vpc_endpoints: true,
            flow_log_retention: RetentionDays::ThreeMonths,
        }
    }
}

impl NetworkProps {
    fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("Network", id);
        c.require(
            (2..=3).contains(&self.max_azs),
            "max_azs",
            self.max_azs,
            "2 or 3",
        );
        c.require(
            self.nat_gateways >= 1 && self.nat_gateways <= self.max_azs,
            "nat_gateways",
            self.nat_gateways,
            format!("1 to max_azs ({})", self.max_azs),
        );
        let prefix_ok = self
            .cidr
            .split_once('/')
            .and_then(|(_, l)| l.parse::<u8>().ok())
            .is_some_and(|l| (16..=22).contains(&l));
        c.require(
            is_ipv4_cidr(&self.cidr) && prefix_ok,
            "cidr",
            &self.cidr,
            "an IPv4 CIDR block from /16 to /22, e.g. 10.0.0.0/16",
        );
        c.finish()
    }
}

/// The VPC of one environment.
#[derive(Clone, Debug)]
pub struct Network {
    pub vpc: Vpc,
    /// The private (egress) subnets, one per AZ in order: `max_azs` of them, checked at replay
    /// (`JsArray::expect_len`), so code placing hosts per AZ iterates the real list.
    pub private_subnets: Vec<ISubnet>,
}

impl Network {
    /// Validates `props` and adds the network to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        props: NetworkProps,
    ) -> Result<Network, ValidationErrors> {
        props.validate(id)?;
        let scope = Construct::new(scope, id);
        let vpc = Vpc::new_with(
            scope,
            "Vpc",
            VpcProps::new()
                .ip_addresses(IpAddresses::cidr(&props.cidr))
                .max_azs(props.max_azs)
                .nat_gateways(props.nat_gateways)
                .subnet_configuration([
                    SubnetConfiguration::new(SubnetConfigurationRequired {
                        name: "public",
                        subnet_type: SubnetType::Public,
                    })
                    .cidr_mask(24),
                    SubnetConfiguration::new(SubnetConfigurationRequired {
                        name: "private",
                        subnet_type: SubnetType::PrivateWithEgress,
                    })
                    .cidr_mask(20),
                    SubnetConfiguration::new(SubnetConfigurationRequired {
                        name: "isolated",
                        subnet_type: SubnetType::PrivateIsolated,
                    })
                    .cidr_mask(24),
                ]),
        );
        let flow_logs = LogGroup::new_with(
            scope,
            "FlowLogs",
            LogGroupProps::new()
                .retention(props.flow_log_retention)
                .removal_policy(RemovalPolicy::Retain),
        );
        vpc.add_flow_log_with(
            "FlowLog",
            FlowLogOptions::new()
                .destination(FlowLogDestination::to_cloud_watch_logs_with(flow_logs)),
        );
        if props.vpc_endpoints {
            let services = [
                ("EcrApi", InterfaceVpcEndpointAwsService::ecr()),
                ("EcrDocker", InterfaceVpcEndpointAwsService::ecr_docker()),
                ("Logs", InterfaceVpcEndpointAwsService::cloudwatch_logs()),
                (
                    "SecretsManager",
                    InterfaceVpcEndpointAwsService::secrets_manager(),
                ),
                ("Ssm", InterfaceVpcEndpointAwsService::ssm()),
            ];
            for (name, service) in services {
                vpc.add_interface_endpoint(
                    name,
                    InterfaceVpcEndpointOptions::new(service).private_dns_enabled(true),
                );
            }
            vpc.add_gateway_endpoint(
                "S3",
                GatewayVpcEndpointOptions::new(GatewayVpcEndpointAwsService::s3()),
            );
        }
        let private_subnets = vpc.private_subnets().expect_len(usize::from(props.max_azs));
        Ok(Network {
            vpc,
            private_subnets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_only_rejection;

    /// Asserts `props` has exactly one violation, of `field` = `value`, naming the construct and
    /// what is allowed.
    fn rejects(props: NetworkProps, field: &str, value: &str, allowed: &str) {
        assert_only_rejection(
            props.validate("Net"),
            "Network",
            "Net",
            field,
            value,
            allowed,
        );
    }

    #[test]
    fn fails_on_max_azs() {
        for azs in [1, 4] {
            let props = NetworkProps {
                max_azs: azs,
                ..NetworkProps::default()
            };
            rejects(props, "max_azs", &azs.to_string(), "2 or 3");
        }
    }

    #[test]
    fn fails_on_nat_gateways() {
        for nat in [0, 3] {
            let props = NetworkProps {
                nat_gateways: nat,
                ..NetworkProps::default()
            };
            rejects(props, "nat_gateways", &nat.to_string(), "1 to max_azs (2)");
        }
        // Up to one per AZ.
        NetworkProps {
            max_azs: 3,
            nat_gateways: 3,
            ..NetworkProps::default()
        }
        .validate("Net")
        .unwrap();
    }

    #[test]
    fn fails_on_cidr() {
        for cidr in ["10.0.0.0/8", "10.0.0.0/24", "10.0.0.0", "10.0.0.300/16"] {
            let props = NetworkProps {
                cidr: cidr.into(),
                ..NetworkProps::default()
            };
            rejects(
                props,
                "cidr",
                &format!("{cidr:?}"),
                "an IPv4 CIDR block from /16 to /22, e.g. 10.0.0.0/16",
            );
        }
    }

    #[test]
    fn fails_on_azs_nat_count_and_cidr_together() {
        let props = NetworkProps {
            max_azs: 4,
            nat_gateways: 0,
            cidr: "10.0.0.0/8".into(),
            ..NetworkProps::default()
        };
        let err = props.validate("Net").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["max_azs", "nat_gateways", "cidr"]);
        assert!(
            err.to_string()
                .contains("Network \"Net\": `max_azs` = 4 is not allowed: 2 or 3"),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_valid() {
        NetworkProps::default().validate("Net").unwrap();
    }
}
