//! `Platform`: what every service of one environment shares.
//!
//! Creates: an ECS cluster (Container Insights, FARGATE and FARGATE_SPOT capacity providers, ECS
//! Exec logging), a Cloud Map namespace used for Service Connect, the shared public ALB (HTTPS
//! listener with the certificate, HTTP->HTTPS redirect, access logs to a retained, encrypted,
//! SSL-only bucket, deletion protection a prop) and the environment's endpoint [`Registry`].

use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    CloudMapNamespaceOptions, Cluster, ClusterProps, ContainerInsights,
    ExecuteCommandConfiguration, ExecuteCommandLogging,
};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2::{
    ApplicationListener, ApplicationLoadBalancer, ApplicationLoadBalancerProps,
    ApplicationProtocol, BaseApplicationListenerProps, FixedResponseOptions, ListenerAction,
    ListenerCertificate, SslPolicy,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::RetentionDays;
use cdk_from_rust::aws_cdk_lib::aws_s3::{
    BlockPublicAccess, Bucket, BucketEncryption, BucketProps, LifecycleRule,
};
use cdk_from_rust::aws_cdk_lib::{Duration, RemovalPolicy};
use cdk_from_rust::constructs::Construct;

use crate::network::Network;
use crate::validation::{is_dns_label, Check, ValidationErrors};
use crate::wiring::Registry;

/// Props of [`Platform`].
#[derive(Clone, Debug)]
pub struct PlatformProps {
    /// The environment's name (`staging`, `production`): a DNS label. Required.
    pub environment: String,
    /// The ACM certificate for the HTTPS listener (covering the public host names). Required.
    pub certificate_arn: String,
    /// The Cloud Map namespace for internal names. Default: `<environment>.tracker.internal`.
    pub namespace: Option<String>,
    /// Log retention for services' log groups. Default: 30 days.
    pub log_retention: RetentionDays,
    /// Deletion protection on the shared ALB. Default: on.
    pub alb_deletion_protection: bool,
    /// Days the (versioned) ALB access-log bucket keeps a noncurrent object version before S3
    /// deletes it, 1-3650. Default: 30.
    pub access_log_noncurrent_expiry_days: u32,
}

impl PlatformProps {
    /// Props with the required fields and documented defaults.
    pub fn new(environment: &str, certificate_arn: &str) -> Self {
        PlatformProps {
            environment: environment.to_string(),
            certificate_arn: certificate_arn.to_string(),
            namespace: None,
            log_retention: RetentionDays::OneMonth,
            alb_deletion_protection: true,
            access_log_noncurrent_expiry_days: 30,
        }
    }

    fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("Platform", id);
        c.require(
            is_dns_label(&self.environment),
            "environment",
            &self.environment,
            "a DNS label, e.g. staging",
        );
        c.require(
            self.certificate_arn.starts_with("arn:aws") && self.certificate_arn.contains(":acm:"),
            "certificate_arn",
            &self.certificate_arn,
            "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
        );
        c.require(
            (1..=3650).contains(&self.access_log_noncurrent_expiry_days),
            "access_log_noncurrent_expiry_days",
            self.access_log_noncurrent_expiry_days,
            "1 to 3650 days",
        );
        if let Some(ns) = &self.namespace {
            c.require(
                ns.split('.').all(is_dns_label),
                "namespace",
                ns,
                "a DNS name of DNS labels, e.g. staging.tracker.internal",
            );
        }
        c.finish()
    }
}

/// The shared parts of one environment.
#[derive(Debug)]
pub struct Platform {
    pub environment: String,
    pub network: Network,
    pub cluster: Cluster,
    /// The namespace name (`staging.tracker.internal`): `db.<namespace>` resolves by DNS.
    pub namespace: String,
    pub alb: ApplicationLoadBalancer,
    /// The HTTPS listener public services attach their host rules to.
    pub https_listener: ApplicationListener,
    pub log_retention: RetentionDays,
    /// The endpoints declared so far, for typed wiring.
    pub registry: Registry,
}

impl Platform {
    /// Validates `props` and adds the platform to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        network: Network,
        props: PlatformProps,
    ) -> Result<Platform, ValidationErrors> {
        props.validate(id)?;
        let scope = Construct::new(scope, id);
        let namespace = props
            .namespace
            .clone()
            .unwrap_or_else(|| format!("{}.tracker.internal", props.environment));
        let cluster = Cluster::new(
            scope,
            "Cluster",
            Some(
                ClusterProps::new()
                    .vpc(network.vpc)
                    .container_insights_v2(ContainerInsights::Enabled)
                    .enable_fargate_capacity_providers(true)
                    .default_cloud_map_namespace(
                        CloudMapNamespaceOptions::new(namespace.as_str())
                            .use_for_service_connect(true),
                    )
                    .execute_command_configuration(
                        ExecuteCommandConfiguration::new().logging(ExecuteCommandLogging::Default),
                    ),
            ),
        );
        let access_logs = Bucket::new(
            scope,
            "AlbAccessLogs",
            Some(
                BucketProps::new()
                    .encryption(BucketEncryption::S3Managed)
                    .block_public_access(BlockPublicAccess::block_all())
                    .enforce_ssl(true)
                    .versioned(true)
                    .lifecycle_rules([LifecycleRule::new().noncurrent_version_expiration(
                        Duration::days(props.access_log_noncurrent_expiry_days),
                    )])
                    .removal_policy(RemovalPolicy::Retain),
            ),
        );
        let alb = ApplicationLoadBalancer::new(
            scope,
            "Alb",
            ApplicationLoadBalancerProps::new(network.vpc)
                .internet_facing(true)
                .deletion_protection(props.alb_deletion_protection)
                .drop_invalid_header_fields(true),
        );
        alb.log_access_logs(access_logs, None);
        let https_listener = alb.add_listener(
            "Https",
            BaseApplicationListenerProps::new()
                .port(443)
                .protocol(ApplicationProtocol::Https)
                .ssl_policy(SslPolicy::RecommendedTls)
                .certificates([ListenerCertificate::from_arn(
                    props.certificate_arn.as_str(),
                )])
                .open(true)
                .default_action(ListenerAction::fixed_response(
                    404,
                    Some(
                        FixedResponseOptions::new()
                            .content_type("text/plain")
                            .message_body("not found"),
                    ),
                )),
        );
        alb.add_redirect(None);
        Ok(Platform {
            environment: props.environment,
            network,
            cluster,
            namespace,
            alb,
            https_listener,
            log_retention: props.log_retention,
            registry: Registry::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_only_rejection;

    const CERT: &str =
        "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

    /// Asserts `props` has exactly one violation, of `field` = `value`, naming the construct and
    /// what is allowed.
    fn rejects(props: PlatformProps, field: &str, value: &str, allowed: &str) {
        assert_only_rejection(
            props.validate("Platform"),
            "Platform",
            "Platform",
            field,
            value,
            allowed,
        );
    }

    #[test]
    fn defaults_are_valid() {
        PlatformProps::new("staging", CERT)
            .validate("Platform")
            .unwrap();
    }

    #[test]
    fn fails_on_an_environment_that_is_not_a_dns_label() {
        rejects(
            PlatformProps::new("Staging!", CERT),
            "environment",
            "\"Staging!\"",
            "a DNS label, e.g. staging",
        );
    }

    #[test]
    fn fails_on_a_certificate_that_is_not_an_acm_arn() {
        rejects(
            PlatformProps::new("staging", "not-an-arn"),
            "certificate_arn",
            "\"not-an-arn\"",
            "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
        );
    }

    #[test]
    fn fails_on_a_namespace_that_is_not_a_dns_name() {
        let mut props = PlatformProps::new("staging", CERT);
        props.namespace = Some("bad_ns.internal".into());
        rejects(
            props,
            "namespace",
            "\"bad_ns.internal\"",
            "a DNS name of DNS labels, e.g. staging.tracker.internal",
        );
    }

    #[test]
    fn fails_on_a_noncurrent_expiry_out_of_range() {
        let mut props = PlatformProps::new("staging", CERT);
        props.access_log_noncurrent_expiry_days = 0;
        rejects(
            props,
            "access_log_noncurrent_expiry_days",
            "0",
            "1 to 3650 days",
        );
    }

    #[test]
    fn fails_on_environment_certificate_and_namespace_together() {
        let mut props = PlatformProps::new("Staging!", "not-an-arn");
        props.namespace = Some("bad_ns.internal".into());
        let err = props.validate("Platform").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["environment", "certificate_arn", "namespace"]);
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::network::NetworkProps;
    use crate::testing::synth;

    const CERT: &str =
        "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

    #[test]
    fn shared_alb_redirects_http_and_terminates_tls_with_the_certificate() {
        let t = synth(|stack| {
            let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
            Platform::new(
                stack,
                "Platform",
                network,
                PlatformProps::new("staging", CERT),
            )
            .unwrap();
        });
        let logs = t.one("AWS::S3::Bucket");
        assert_eq!(
            logs["Properties"]["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"]
                ["NoncurrentDays"],
            30
        );
        let listeners = t.resources("AWS::ElasticLoadBalancingV2::Listener");
        let https = listeners
            .iter()
            .find(|(_, l)| l["Properties"]["Port"] == 443)
            .expect("HTTPS listener")
            .1;
        assert_eq!(
            https["Properties"]["Certificates"][0]["CertificateArn"],
            CERT
        );
        let http = listeners
            .iter()
            .find(|(_, l)| l["Properties"]["Port"] == 80)
            .expect("HTTP listener")
            .1;
        assert_eq!(http["Properties"]["DefaultActions"][0]["Type"], "redirect");
        assert_eq!(
            http["Properties"]["DefaultActions"][0]["RedirectConfig"]["Protocol"],
            "HTTPS"
        );
        let ns = t.one("AWS::ServiceDiscovery::PrivateDnsNamespace");
        assert_eq!(ns["Properties"]["Name"], "staging.tracker.internal");
        let cluster = t.one("AWS::ECS::Cluster");
        assert_eq!(
            cluster["Properties"]["ClusterSettings"][0]["Value"],
            "enabled"
        );
        let bucket = t.one("AWS::S3::Bucket");
        assert_eq!(bucket["DeletionPolicy"], "Retain");
        let alb = t.one("AWS::ElasticLoadBalancingV2::LoadBalancer");
        let attrs = alb["Properties"]["LoadBalancerAttributes"]
            .as_array()
            .unwrap();
        assert!(attrs
            .iter()
            .any(|a| a["Key"] == "deletion_protection.enabled" && a["Value"] == "true"));
        assert!(attrs
            .iter()
            .any(|a| a["Key"] == "access_logs.s3.enabled" && a["Value"] == "true"));
        // Network: three subnet tiers over two AZs, flow logs, endpoints.
        assert_eq!(t.resources("AWS::EC2::Subnet").len(), 6);
        assert_eq!(t.resources("AWS::EC2::NatGateway").len(), 1);
        assert_eq!(t.resources("AWS::EC2::VPCEndpoint").len(), 6);
        assert_eq!(
            t.one("AWS::EC2::FlowLog")["Properties"]["LogDestinationType"],
            "cloud-watch-logs"
        );
    }
}
