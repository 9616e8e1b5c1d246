//! `ManagedRedis`: production ElastiCache (Valkey or Redis OSS) replication group.
//!
//! Creates, under the construct id:
//! - `SubnetGroup`: an ElastiCache subnet group over the VPC's private subnets.
//! - `SecurityGroup`: the replication group's own group, with no ingress of its own: declared
//!   consumers (`redis:6379`) are let in through the registry endpoint.
//! - `AuthToken`: a generated Secrets Manager secret (64 characters, no punctuation), passed to
//!   the replication group as a `{{resolve:secretsmanager:...}}` dynamic reference; retained
//!   when the stack is deleted, like the group's final snapshot.
//! - `ReplicationGroup`: `AWS::ElastiCache::ReplicationGroup`, engine `valkey` by default,
//!   `num_nodes` nodes (one primary, the rest replicas), multi-AZ with automatic failover,
//!   in-transit (TLS, required) and at-rest encryption, snapshots kept `snapshot_retention_days`,
//!   `RemovalPolicy::SNAPSHOT` (final snapshot on delete or replacement).
//! - `DnsName`: a Cloud Map service `<endpoint_name>` in the platform's namespace with a CNAME to
//!   the primary endpoint, for people and tools. The endpoint registered in `platform.registry`
//!   as `<endpoint_name>` (port 6379) gives consumers the primary endpoint address itself
//!   (`<NAME>_HOST`): the name in the group's TLS certificate, which the CNAME is not.
//! - outputs: primary endpoint address, the `<name>.<namespace>` host, security group, secret.

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    ComparisonOperator, IMetric, Metric, MetricOptions, MetricProps, MetricPropsRequired,
    TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{SecurityGroup, SecurityGroupProps};
use cdk_from_rust::aws_cdk_lib::aws_elasticache::{
    CfnReplicationGroup, CfnReplicationGroupProps, CfnSubnetGroup, CfnSubnetGroupProps,
    CfnSubnetGroupPropsRequired,
};
use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::{Secret, SecretProps, SecretStringGenerator};
use cdk_from_rust::aws_cdk_lib::aws_servicediscovery::{
    CnameInstanceBaseProps, DnsRecordType, Service as CloudMapService, ServiceProps,
};
use cdk_from_rust::aws_cdk_lib::{CfnOutput, CfnOutputProps, Duration, Fn, RemovalPolicy};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsString;

use crate::monitoring::{self, AlarmSpec};
use crate::platform::Platform;
use crate::validation::{is_dns_label, Check, ValidationErrors};
use crate::wiring::Endpoint;

/// The port the replication group serves.
pub const REDIS_PORT: u16 = 6379;
/// In-transit encryption (TLS, required): always on; consumers learn it from the endpoint.
const TLS: bool = true;
/// The engines the construct accepts.
pub const ENGINES: [&str; 2] = ["valkey", "redis"];

/// Props of [`ManagedRedis`].
#[derive(Clone, Debug)]
pub struct ManagedRedisProps {
    /// The engine: `valkey` or `redis` (Redis OSS). Default: `valkey`.
    pub engine: String,
    /// The engine version, `MAJOR` or `MAJOR.MINOR`. Default: `8.0`.
    pub engine_version: String,
    /// The node type (`cache.*`). Default: `cache.t4g.small`.
    pub node_type: String,
    /// Nodes in the group: one primary and `num_nodes - 1` replicas, 1-6; at least 2 with
    /// `multi_az`. Default: 2.
    pub num_nodes: u8,
    /// Multi-AZ with automatic failover to a replica in another AZ. Default: on.
    pub multi_az: bool,
    /// Days automatic snapshots are kept, 0 (none) to 35. Default: 7.
    pub snapshot_retention_days: u8,
    /// The name the group is registered under (endpoint, Cloud Map name `<name>.<namespace>`,
    /// environment variables `<NAME>_HOST`): a DNS label unique in the environment.
    /// Default: `redis`.
    pub endpoint_name: String,
    /// The thresholds of the per-node alarms. Default: [`RedisAlarmThresholds::default`].
    pub alarms: RedisAlarmThresholds,
}

/// Thresholds of [`ManagedRedis`]'s per-node alarms (each over 5-minute periods).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedisAlarmThresholds {
    /// Engine CPU (the one thread that serves commands) above this percent for 15 minutes;
    /// 1-100. Default: 80.
    pub engine_cpu_percent: u32,
    /// Used memory as a percent of `maxmemory` above this for 15 minutes; 1-100. Default: 80.
    pub memory_percent: u32,
    /// Evicted keys in 5 minutes at or above which the node alarms (evicted keys are lost
    /// data: queues and locks live here); at least 1. Default: 1.
    pub evictions: u32,
    /// A replica's replication lag above this many seconds for 15 minutes; at least 1.
    /// Default: 10.
    pub replication_lag_secs: u32,
}

impl Default for RedisAlarmThresholds {
    fn default() -> Self {
        RedisAlarmThresholds {
            engine_cpu_percent: 80,
            memory_percent: 80,
            evictions: 1,
            replication_lag_secs: 10,
        }
    }
}

impl Default for ManagedRedisProps {
    fn default() -> Self {
        ManagedRedisProps {
            engine: "valkey".to_string(),
            engine_version: "8.0".to_string(),
            node_type: "cache.t4g.small".to_string(),
            num_nodes: 2,
            multi_az: true,
            snapshot_retention_days: 7,
            endpoint_name: "redis".to_string(),
            alarms: RedisAlarmThresholds::default(),
        }
    }
}

impl ManagedRedisProps {
    /// Props with the documented defaults (nothing is required).
    pub fn new() -> Self {
        Self::default()
    }

    fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("ManagedRedis", id);
        c.require(
            ENGINES.contains(&self.engine.as_str()),
            "engine",
            &self.engine,
            "valkey or redis",
        );
        let version_parts: Vec<&str> = self.engine_version.split('.').collect();
        c.require(
            (1..=2).contains(&version_parts.len())
                && version_parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
            "engine_version",
            &self.engine_version,
            "MAJOR or MAJOR.MINOR, e.g. 8.0",
        );
        c.require(
            self.node_type
                .strip_prefix("cache.")
                .is_some_and(|rest| rest.contains('.') && !rest.starts_with('.')),
            "node_type",
            &self.node_type,
            "an ElastiCache node type, cache.<family>.<size>, e.g. cache.t4g.small",
        );
        c.require(
            (1..=6).contains(&self.num_nodes),
            "num_nodes",
            self.num_nodes,
            "1 to 6 (one primary and up to 5 replicas)",
        );
        if self.multi_az {
            c.require(
                self.num_nodes >= 2,
                "num_nodes",
                self.num_nodes,
                "at least 2 with multi_az (a replica in another AZ to fail over to)",
            );
        }
        c.require(
            self.snapshot_retention_days <= 35,
            "snapshot_retention_days",
            self.snapshot_retention_days,
            "0 to 35 days",
        );
        c.require(
            is_dns_label(&self.endpoint_name),
            "endpoint_name",
            &self.endpoint_name,
            "a DNS label, e.g. redis",
        );
        let a = &self.alarms;
        for (field, value, ok, allowed) in [
            (
                "alarms.engine_cpu_percent",
                a.engine_cpu_percent,
                (1..=100).contains(&a.engine_cpu_percent),
                "1-100 %",
            ),
            (
                "alarms.memory_percent",
                a.memory_percent,
                (1..=100).contains(&a.memory_percent),
                "1-100 %",
            ),
            (
                "alarms.evictions",
                a.evictions,
                a.evictions >= 1,
                "at least 1",
            ),
            (
                "alarms.replication_lag_secs",
                a.replication_lag_secs,
                a.replication_lag_secs >= 1,
                "at least 1 second",
            ),
        ] {
            c.require(ok, field, value, allowed);
        }
        c.finish()
    }
}

/// A production ElastiCache replication group, encrypted, authenticated from Secrets Manager.
#[derive(Clone, Debug)]
pub struct ManagedRedis {
    pub replication_group: CfnReplicationGroup,
    /// The group's security group (consumers are let into it).
    pub security_group: SecurityGroup,
    /// The AUTH token (a plain string secret).
    pub auth_token: Secret,
    /// The registered endpoint (`redis`).
    pub endpoint: Endpoint,
}

impl ManagedRedis {
    /// Validates `props` and adds the replication group to `scope`, registering its endpoint in
    /// `platform.registry`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: ManagedRedisProps,
    ) -> Result<ManagedRedis, ValidationErrors> {
        // The props and the name, reported together, before anything is created.
        let mut check = Check::new("ManagedRedis", id);
        platform
            .registry
            .require_free(&mut check, "endpoint_name", &props.endpoint_name);
        ValidationErrors::collect([props.validate(id), check.finish()])?;
        let mut check = Check::new("ManagedRedis", id);
        let scope = Construct::new(scope, id);
        let vpc = platform.network.vpc;
        let host = format!("{}.{}", props.endpoint_name, platform.namespace);

        let security_group = SecurityGroup::new(
            scope,
            "SecurityGroup",
            SecurityGroupProps::new(vpc)
                .description(format!(
                    "ManagedRedis {id}: reachable only from declared consumers"
                ))
                .allow_all_outbound(false),
        );
        let subnet_group = CfnSubnetGroup::new(
            scope,
            "SubnetGroup",
            CfnSubnetGroupProps::new(CfnSubnetGroupPropsRequired {
                description: format!("ManagedRedis {id}: private subnets"),
                // The private subnets, one per AZ the network spans.
                subnet_ids: platform
                    .network
                    .private_subnets
                    .iter()
                    .map(|s| s.subnet_id())
                    .collect::<Vec<JsString>>(),
            }),
        );

        let auth_token = Secret::new_with(
            scope,
            "AuthToken",
            SecretProps::new()
                .description(format!("ManagedRedis {id}: AUTH token"))
                // Retained: clients configured with it keep working after a restore.
                .removal_policy(RemovalPolicy::Retain)
                .generate_secret_string(
                    SecretStringGenerator::new()
                        .password_length(64)
                        .exclude_punctuation(true),
                ),
        );

        let group = CfnReplicationGroup::new(
            scope,
            "ReplicationGroup",
            CfnReplicationGroupProps::new(format!("ManagedRedis {id}"))
                .engine(props.engine.as_str())
                .engine_version(props.engine_version.as_str())
                .cache_node_type(props.node_type.as_str())
                .num_cache_clusters(props.num_nodes)
                .multi_az_enabled(props.multi_az)
                .automatic_failover_enabled(props.multi_az)
                .transit_encryption_enabled(TLS)
                .transit_encryption_mode("required")
                .at_rest_encryption_enabled(true)
                .auth_token(auth_token.secret_value().unsafe_unwrap())
                .cache_subnet_group_name(subnet_group.r#ref())
                .security_group_ids([security_group.security_group_id()])
                .port(REDIS_PORT)
                .snapshot_retention_limit(props.snapshot_retention_days)
                .auto_minor_version_upgrade(true),
        );
        group.apply_removal_policy_with(RemovalPolicy::Snapshot);

        // `<name>.<namespace>`: a Cloud Map CNAME to the primary endpoint.
        let service = CloudMapService::new(
            scope,
            "DnsName",
            ServiceProps::new(platform.cloud_map)
                .name(props.endpoint_name.as_str())
                .dns_record_type(DnsRecordType::Cname)
                .dns_ttl(Duration::seconds(30))
                .description(format!("ManagedRedis {id}: primary endpoint")),
        );
        service.register_cname_instance(
            "Primary",
            CnameInstanceBaseProps::new(group.attr_primary_end_point_address()),
        );
        // Consumers are given the primary endpoint itself, not the CNAME: it is the name in the
        // group's TLS certificate, so clients that verify the host name connect.
        let endpoint = Endpoint {
            name: props.endpoint_name.clone(),
            host: group.attr_primary_end_point_address(),
            ports: vec![REDIS_PORT],
            security_group: security_group.into(),
            service_connect_only: false,
            tls: TLS,
            client_environment: Default::default(),
        };
        platform.registry.register(&mut check, endpoint.clone());
        check.finish()?;

        let output = |out_id: &str, value: JsString, description: String| {
            CfnOutput::new(
                scope,
                out_id,
                CfnOutputProps::new(value).description(description),
            );
        };
        output(
            "PrimaryEndpointAddress",
            group.attr_primary_end_point_address(),
            format!("ManagedRedis {id}: primary endpoint (the name in the TLS certificate)"),
        );
        output(
            "Host",
            format!("{host}:{REDIS_PORT}").into(),
            format!("ManagedRedis {id}: a CNAME to the primary endpoint, for people and tools"),
        );
        output(
            "SecurityGroupId",
            security_group.security_group_id(),
            format!("ManagedRedis {id}: security group"),
        );
        output(
            "AuthTokenSecretArn",
            auth_token.secret_arn(),
            format!("ManagedRedis {id}: AUTH token secret"),
        );

        let graphs = redis_alarms(scope, platform, id, &props, group);
        platform
            .dashboard
            .add_row(&format!("{} (ElastiCache)", props.endpoint_name), graphs);

        Ok(ManagedRedis {
            replication_group: group,
            security_group,
            auth_token,
            endpoint,
        })
    }
}

/// The per-node alarms of the group under `scope` (node `i`'s cache cluster is
/// `<group id>-00<i>`); returns the dashboard graphs.
fn redis_alarms(
    scope: Construct,
    platform: &Platform,
    id: &str,
    props: &ManagedRedisProps,
    group: CfnReplicationGroup,
) -> Vec<(String, Vec<IMetric>)> {
    let a = &props.alarms;
    let mut graphs: Vec<(String, Vec<IMetric>)> = [
        "Engine CPU %",
        "Memory % of maxmemory",
        "Evictions",
        "Replication lag (s)",
    ]
    .map(|t| (t.to_string(), Vec::new()))
    .into();
    for node in 1..=u32::from(props.num_nodes) {
        let cluster_id = Fn::join("", [group.r#ref(), JsString::from(format!("-{node:03}"))]);
        let metric = |name: &str, statistic: &str| {
            Metric::new(
                MetricProps::new(MetricPropsRequired {
                    metric_name: name,
                    namespace: "AWS/ElastiCache",
                })
                .dimensions_map([("CacheClusterId", cluster_id.clone())])
                .statistic(statistic)
                .period(Duration::minutes(5)),
            )
        };
        let what = format!("{} ManagedRedis {id} node {node}", platform.environment);
        let specs = [
            (
                "EngineCpu",
                metric("EngineCPUUtilization", "Average"),
                a.engine_cpu_percent,
                3,
                format!("{what}: engine CPU above {} % for 15 minutes: commands queue up. Look for slow commands (SLOWLOG) or scale the node type (redis.nodeType).", a.engine_cpu_percent),
            ),
            (
                "Memory",
                metric("DatabaseMemoryUsagePercentage", "Maximum"),
                a.memory_percent,
                3,
                format!("{what}: memory above {} % of maxmemory for 15 minutes; evictions follow. Scale the node type (redis.nodeType).", a.memory_percent),
            ),
            (
                "Evictions",
                metric("Evictions", "Sum"),
                a.evictions,
                1,
                format!("{what}: {}+ keys evicted in 5 minutes: data was dropped for memory. Scale the node type (redis.nodeType).", a.evictions),
            ),
            (
                "ReplicationLag",
                metric("ReplicationLag", "Maximum"),
                a.replication_lag_secs,
                3,
                format!("{what}: a replica lags more than {} s for 15 minutes; a failover now would lose writes.", a.replication_lag_secs),
            ),
        ];
        for (i, (alarm_id, m, threshold, periods, description)) in specs.into_iter().enumerate() {
            // Any eviction at all counts; the others alarm above their threshold.
            let comparison = match alarm_id {
                "Evictions" => ComparisonOperator::GreaterThanOrEqualToThreshold,
                _ => ComparisonOperator::GreaterThanThreshold,
            };
            monitoring::alarm(
                scope,
                &platform.alerts,
                AlarmSpec {
                    id: format!("Node{node}{alarm_id}Alarm"),
                    metric: m.into(),
                    threshold: f64::from(threshold),
                    evaluation_periods: periods,
                    comparison,
                    missing_data: TreatMissingData::NotBreaching,
                    description,
                },
            );
            // Labelled for the graph only: a labelled metric in an alarm becomes a metric query.
            let label = MetricOptions::new().label(format!("node {node}"));
            graphs[i].1.push(m.with(label).into());
        }
    }
    graphs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_only_rejection;

    /// Asserts `props` has exactly one violation, of `field` = `value`, naming the construct and
    /// what is allowed.
    fn rejects(props: &ManagedRedisProps, field: &str, value: &str, allowed: &str) {
        assert_only_rejection(
            props.validate("Cache"),
            "ManagedRedis",
            "Cache",
            field,
            value,
            allowed,
        );
    }

    fn fields(props: &ManagedRedisProps) -> Vec<String> {
        props
            .validate("Cache")
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        ManagedRedisProps::new().validate("Cache").unwrap();
    }

    #[test]
    fn fails_on_an_unknown_engine() {
        let p = ManagedRedisProps {
            engine: "memcached".into(),
            ..ManagedRedisProps::new()
        };
        rejects(&p, "engine", "\"memcached\"", "valkey or redis");
    }

    #[test]
    fn fails_on_a_malformed_engine_version() {
        let p = ManagedRedisProps {
            engine_version: "latest".into(),
            ..ManagedRedisProps::new()
        };
        rejects(&p, "engine_version", "\"latest\"", "MAJOR or MAJOR.MINOR");
    }

    #[test]
    fn fails_on_a_node_type_without_the_cache_prefix() {
        let p = ManagedRedisProps {
            node_type: "t4g.small".into(),
            ..ManagedRedisProps::new()
        };
        rejects(&p, "node_type", "\"t4g.small\"", "cache.<family>.<size>");
    }

    #[test]
    fn fails_on_a_single_node_with_multi_az() {
        let p = ManagedRedisProps {
            num_nodes: 1,
            ..ManagedRedisProps::new()
        };
        rejects(&p, "num_nodes", "1", "at least 2 with multi_az");
        // Without multi-AZ a single node is allowed.
        ManagedRedisProps {
            num_nodes: 1,
            multi_az: false,
            ..ManagedRedisProps::new()
        }
        .validate("Cache")
        .unwrap();
    }

    #[test]
    fn fails_on_too_many_nodes() {
        let p = ManagedRedisProps {
            num_nodes: 7,
            ..ManagedRedisProps::new()
        };
        rejects(&p, "num_nodes", "7", "1 to 6");
    }

    #[test]
    fn fails_on_snapshot_retention_above_35_days() {
        let p = ManagedRedisProps {
            snapshot_retention_days: 36,
            ..ManagedRedisProps::new()
        };
        rejects(&p, "snapshot_retention_days", "36", "0 to 35 days");
    }

    #[test]
    fn fails_on_an_endpoint_name_that_is_not_a_dns_label() {
        let p = ManagedRedisProps {
            endpoint_name: "Redis!".into(),
            ..ManagedRedisProps::new()
        };
        rejects(&p, "endpoint_name", "\"Redis!\"", "a DNS label");
    }

    #[test]
    fn fails_on_several_settings_together() {
        let p = ManagedRedisProps {
            engine: "memcached".into(),
            node_type: "m7g.large".into(),
            num_nodes: 1,
            snapshot_retention_days: 40,
            ..ManagedRedisProps::new()
        };
        assert_eq!(
            fields(&p),
            [
                "engine",
                "node_type",
                "num_nodes",
                "snapshot_retention_days"
            ]
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::network::{Network, NetworkProps};
    use crate::platform::PlatformProps;
    use crate::testing::synth;
    use crate::wiring::{connect, Dependency};

    const CERT: &str =
        "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

    #[test]
    fn reports_props_and_a_taken_name_together() {
        let err = crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            crate::service::test_support::declare_endpoint(
                stack,
                &platform,
                "OtherRedisSg",
                "redis",
                "redis.staging.tracker.internal",
                &[6379],
            );
            let p = ManagedRedisProps {
                num_nodes: 9,
                ..ManagedRedisProps::new()
            };
            ManagedRedis::new(stack, "Cache", &platform, p).unwrap_err()
        });
        crate::testing::assert_rejects_value(
            &err,
            "ManagedRedis",
            "Cache",
            "num_nodes",
            "9",
            "1 to 6",
        );
        crate::testing::assert_rejects_value(
            &err,
            "ManagedRedis",
            "Cache",
            "endpoint_name",
            "\"redis\"",
            crate::validation::NAME_NOT_TAKEN,
        );
    }

    #[test]
    fn synthesizes_an_encrypted_multi_az_valkey_group() {
        let t = synth(|stack| {
            let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
            let platform = Platform::new(
                stack,
                "Platform",
                network,
                PlatformProps::new("production", CERT),
            )
            .unwrap();
            let redis =
                ManagedRedis::new(stack, "Cache", &platform, ManagedRedisProps::new()).unwrap();
            let worker = SecurityGroup::new(
                stack,
                "WorkerSg",
                SecurityGroupProps::new(platform.network.vpc),
            );
            let mut check = Check::new("Test", "worker");
            let resolved = platform.registry.resolve(
                &mut check,
                "dependencies",
                &[Dependency::new("redis", 6379)],
            );
            check.finish().unwrap();
            let env = connect("worker", worker.into(), &resolved);
            // The primary endpoint address (a deploy-time value), the name in the TLS
            // certificate, not the CNAME.
            assert_eq!(
                env["REDIS_HOST"].as_ref_handle(),
                redis.endpoint.host.as_ref_handle()
            );
            assert!(env["REDIS_HOST"].as_literal().is_none());
            assert_eq!(env["REDIS_PORT"].as_literal(), Some("6379"));
        });
        let rg = t.one("AWS::ElastiCache::ReplicationGroup");
        let p = &rg["Properties"];
        assert_eq!(p["Engine"], "valkey");
        assert_eq!(p["EngineVersion"], "8.0");
        assert_eq!(p["CacheNodeType"], "cache.t4g.small");
        assert_eq!(p["NumCacheClusters"], 2);
        assert_eq!(p["TransitEncryptionEnabled"], true);
        assert_eq!(p["TransitEncryptionMode"], "required");
        assert_eq!(p["AtRestEncryptionEnabled"], true);
        assert_eq!(p["AutomaticFailoverEnabled"], true);
        assert_eq!(p["MultiAZEnabled"], true);
        assert_eq!(p["SnapshotRetentionLimit"], 7);
        assert!(
            p["AuthToken"]
                .to_string()
                .contains("resolve:secretsmanager"),
            "{}",
            p["AuthToken"]
        );
        assert_eq!(rg["DeletionPolicy"], "Snapshot");
        assert_eq!(rg["UpdateReplacePolicy"], "Snapshot");

        let subnets = t.one("AWS::ElastiCache::SubnetGroup")["Properties"]["SubnetIds"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(subnets, 2);
        assert_eq!(t.resources("AWS::SecretsManager::Secret").len(), 1);
        // The AUTH token outlives the stack (a restored snapshot still needs it).
        assert_eq!(
            t.one("AWS::SecretsManager::Secret")["DeletionPolicy"],
            "Retain"
        );

        // Only the declared consumer is let in, on 6379.
        let sg = t
            .resources("AWS::EC2::SecurityGroup")
            .into_iter()
            .find(|(_, v)| {
                v["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/Cache/SecurityGroup/"))
            })
            .unwrap()
            .0
            .clone();
        let ingress: Vec<_> = t
            .resources("AWS::EC2::SecurityGroupIngress")
            .into_iter()
            .filter(|(_, r)| r["Properties"]["GroupId"]["Fn::GetAtt"][0] == sg.as_str())
            .collect();
        assert_eq!(ingress.len(), 1);
        let rule = &ingress[0].1["Properties"];
        assert_eq!(rule["FromPort"], 6379);
        assert_eq!(rule["ToPort"], 6379);
        assert!(rule["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .starts_with("WorkerSg"));
        let service = t.one("AWS::ServiceDiscovery::Service");
        assert_eq!(service["Properties"]["Name"], "redis");
    }
}
