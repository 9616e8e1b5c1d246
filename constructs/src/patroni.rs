//! `PatroniCluster`: production PostgreSQL HA on three EC2 nodes (see `DATAPLANE.md`).
//!
//! Creates, under the construct id:
//! - `NodeA`, `NodeB`, `NodeC`: one EC2 instance per AZ in the private subnets (private subnet
//!   `i` of the VPC, so the network must span 3 AZs), fixed private IPs, pinned AMI, IMDSv2
//!   required (hop limit 2), no key pair, termination protection, encrypted gp3 root volume.
//!   These ids are public API: renaming one replaces that node.
//! - per node a data volume (`<Node>Data`, PostgreSQL) and an etcd volume (`<Node>Etcd`):
//!   encrypted gp3, `RemovalPolicy::SNAPSHOT`. They are not attached with
//!   `AWS::EC2::VolumeAttachment` (a replacement would fail with "in use"): user data attaches
//!   them by volume id once they are `available`, formats them only when they carry no file
//!   system and mounts them by UUID with `nofail`.
//! - `Role`: the nodes' role (SSM core, CloudWatch agent, S3 on the backup prefix, read of the
//!   cluster's own secrets, attach of its own volumes by resource tag).
//! - `ClusterSecurityGroup` (the nodes) and `NlbSecurityGroup` (the load balancer, clients):
//!   5432 from the NLB and within the cluster (streaming replication), 8008 from the cluster
//!   and the NLB, 2379/2380 within the cluster only (etcd is plain http: restricted, not TLS).
//! - `Backups`: the pgBackRest repository bucket (versioned with noncurrent versions expiring
//!   after `backup_noncurrent_expiry_days`, S3-encrypted, public access blocked, SSL only,
//!   retained); the repository is the prefix `pgbackrest/<cluster name>`.
//! - the nodes' files ([`render_node_files`]: Patroni and etcd YAML, pgBackRest INI, systemd
//!   units, cron, scripts from `constructs/scripts/`), written by the user data
//!   ([`render_node_user_data`]); PostgreSQL serves TLS with a certificate made at first boot and
//!   `pg_hba` admits network clients only over TLS; consumers get `<NAME>_SSLMODE=require`.
//! - five generated secrets: superuser, replication, rewind, REST API, application user; retained
//!   when the stack is deleted (the volumes' snapshots are hard to use without them).
//! - `Nlb`: internal network load balancer (security group attached at creation, cross-zone),
//!   listener 5432 -> `WriterTargets` checked on Patroni's `GET :8008/primary`; optionally
//!   5433 -> `ReaderTargets` checked on `/replica`.
//! - alarms: system status check per node (EC2 recover action), disk use per node (CWAgent
//!   `disk_used_percent` of the data volume), healthy writer targets < 1; and on what the nodes
//!   publish to [`METRICS_NAMESPACE`] (`patroni-metrics.sh` every minute on the primary,
//!   `pgbackrest-backup.sh` after a backup): replication lag above `replication_lag_alarm_mib`
//!   for 5 minutes, fewer than 2 streaming replicas for 5 minutes, no successful backup in 26
//!   hours (missing data breaches). The role may `cloudwatch:PutMetricData` to that namespace
//!   only.
//! - a Cloud Map service `<endpoint_name>` (CNAME to the NLB) in the platform's namespace, and
//!   the registry endpoint `<endpoint_name>` (ports 5432, and 5433 with the reader endpoint),
//!   guarded by the NLB security group, so consumers declaring `db:5432` get ingress.
//! - outputs: writer endpoint, reader endpoint, client security group, secret ARNs, backup
//!   bucket.

use std::collections::{BTreeMap, BTreeSet};

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    Alarm, AlarmProps, AlarmPropsRequired, ComparisonOperator, IMetric, Metric, MetricOptions,
    MetricProps, MetricPropsRequired, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch_actions::{Ec2Action, Ec2InstanceAction};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    BlockDevice, BlockDeviceRequired, BlockDeviceVolume, EbsDeviceOptions, EbsDeviceVolumeType,
    HttpTokens, Instance, InstanceProps, InstancePropsRequired, InstanceType, MachineImage, Port,
    SecurityGroup, SecurityGroupProps, SubnetSelection, SubnetType, UserData, Volume, VolumeProps,
};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2::{
    BaseNetworkListenerProps, HealthCheck, NetworkLoadBalancer, NetworkLoadBalancerProps,
    NetworkTargetGroup, NetworkTargetGroupProps, Protocol, TargetType,
};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2_targets::IpTarget;
use cdk_from_rust::aws_cdk_lib::aws_iam::{
    IManagedPolicy, ManagedPolicy, PolicyStatement, PolicyStatementProps, Role, RoleProps,
    ServicePrincipal,
};
use cdk_from_rust::aws_cdk_lib::aws_s3::{
    BlockPublicAccess, Bucket, BucketEncryption, BucketProps, LifecycleRule,
};
use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::{Secret, SecretProps, SecretStringGenerator};
use cdk_from_rust::aws_cdk_lib::aws_servicediscovery::{
    CnameInstanceBaseProps, DnsRecordType, Service as CloudMapService, ServiceProps,
};
use cdk_from_rust::aws_cdk_lib::{
    Aws, CfnOutput, CfnOutputProps, Duration, Fn, RemovalPolicy, Size, Tags,
};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::{JsAny, JsString};

use serde::Serialize;

use crate::hostconfig::{self, fill_script, CronEntry, HbaRule, HostFile, Ini, PgValue};
use crate::monitoring::{alarm, AlarmSpec};
use crate::platform::Platform;
use crate::statefulness::{self, Holds};
use crate::validation::{
    is_ami_id, is_dns_label, is_instance_type, is_pg_identifier, is_region, Check, ValidationErrors,
};
use crate::wiring::Endpoint;

/// The construct ids of the three nodes, one per AZ. Public API: renaming replaces a node.
pub const NODE_IDS: [&str; 3] = ["NodeA", "NodeB", "NodeC"];
/// The PostgreSQL port clients and replicas use.
pub const POSTGRES_PORT: u16 = 5432;
/// The reader listener's port on the NLB (replicas).
pub const READER_PORT: u16 = 5433;
/// Patroni's REST API port.
pub const PATRONI_API_PORT: u16 = 8008;
/// The writer target group's health check: Patroni answers 200 only on the leader running
/// as primary.
pub const WRITER_HEALTH_PATH: &str = "/primary";
/// The reader target group's health check: 200 on a running replica.
pub const READER_HEALTH_PATH: &str = "/replica";

/// The cluster's name: Patroni's scope, etcd's cluster token, pgBackRest's stanza and the
/// backup prefix (`<environment>-<construct id in lower case>`, e.g. `production-database`).
pub fn cluster_name(environment: &str, id: &str) -> String {
    format!("{environment}-{}", id.to_ascii_lowercase())
}

/// The key prefix of pgBackRest's repository in the bucket (`<prefix>/<scope>`).
pub const BACKUP_PREFIX: &str = "pgbackrest";

/// Props of [`PatroniCluster`].
#[derive(Clone, Debug)]
pub struct PatroniClusterProps {
    /// The pinned AMI per region (`eu-west-1` -> `ami-0123...`): Ubuntu 24.04 for the instance
    /// type's architecture. Required; never an SSM "latest" lookup, which would replace the
    /// nodes whenever a new image ships. Upgrade the OS in place, one node at a time.
    pub amis: BTreeMap<String, String>,
    /// The fixed private IPv4 address of `NodeA`, `NodeB`, `NodeC`, each inside the private
    /// subnet of the VPC's first, second and third AZ. Required. They seed the static etcd
    /// bootstrap and the load balancer's targets.
    pub private_ips: [String; 3],
    /// The EC2 instance type of every node; not burstable (no `t*` family). Default:
    /// `m7g.large` (Graviton: pick an arm64 AMI).
    pub instance_type: String,
    /// The PostgreSQL major version, 14-17; selects the PGDG, PostGIS and TimescaleDB packages.
    /// Default: 17.
    pub postgres_version: u8,
    /// The encrypted gp3 root volume of each node, GiB (8-1024). Default: 30.
    pub root_volume_gib: u32,
    /// The encrypted gp3 PostgreSQL data volume of each node, GiB (20-16384). Default: 100.
    pub data_volume_gib: u32,
    /// The encrypted gp3 etcd volume of each node, GiB (1-100). Default: 8.
    pub etcd_volume_gib: u32,
    /// Patroni's leader-key TTL, seconds. Must satisfy `loop_wait + 2 * retry_timeout <= ttl`.
    /// Default: 30.
    pub ttl: u32,
    /// Patroni's HA loop interval, seconds (at least 1). Default: 10.
    pub loop_wait: u32,
    /// Patroni's timeout for DCS and PostgreSQL operations, seconds (at least 1). Default: 10.
    pub retry_timeout: u32,
    /// The cron schedule (5 fields) of the nightly pgBackRest full backup; it runs on every
    /// node but only the primary backs up. Default: `0 1 * * *`.
    pub backup_schedule: String,
    /// How many full backups pgBackRest keeps (`repo1-retention-full`; older ones and their
    /// WAL are expired after each backup), at least 1. Default: 5.
    pub backup_retain: u32,
    /// Days the backup bucket keeps a noncurrent object version (an expired backup's files,
    /// an overwritten `backup.info`) before S3 deletes it, 1-3650: the window in which a
    /// backup removed by mistake can still be recovered. Default: 30.
    pub backup_noncurrent_expiry_days: u32,
    /// Adds a reader listener on port 5433 that forwards to the replicas (health check
    /// `/replica`). Default: off (only the writer endpoint on 5432).
    pub reader_endpoint: bool,
    /// The application database created at bootstrap (with the timescaledb and postgis
    /// extensions): a lower-case identifier. Default: `tracker`.
    pub database_name: String,
    /// The application user, owner of `database_name`: a lower-case identifier, not a
    /// reserved role (`postgres`, `replicator`, `rewind_user`). Default: `tracker`.
    pub app_username: String,
    /// The name the cluster is registered under (endpoint, Cloud Map name `<name>.<namespace>`,
    /// environment variables `<NAME>_HOST`): a DNS label unique in the environment.
    /// Default: `db`.
    pub endpoint_name: String,
    /// Disk use (percent of the data volume) above which the disk alarm fires, 50-99.
    /// Default: 80.
    pub disk_alarm_percent: u8,
    /// Replication lag, MiB of WAL the primary has written that a replica has not replayed
    /// (`ReplicationLagBytes`, published every minute by the primary), above which for 5
    /// consecutive minutes the cluster alarms, 1-102400. Default: 256 (16 WAL segments: more
    /// than a burst of writes, far less than a replica that stopped replaying under load).
    pub replication_lag_alarm_mib: u32,
}

impl PatroniClusterProps {
    /// Props with the required fields (per-region pinned AMIs, the three fixed private IPs) and
    /// the documented defaults.
    pub fn new(
        amis: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
        private_ips: [&str; 3],
    ) -> Self {
        PatroniClusterProps {
            amis: amis
                .into_iter()
                .map(|(r, a)| (r.into(), a.into()))
                .collect(),
            private_ips: private_ips.map(str::to_string),
            instance_type: "m7g.large".to_string(),
            postgres_version: 17,
            root_volume_gib: 30,
            data_volume_gib: 100,
            etcd_volume_gib: 8,
            ttl: 30,
            loop_wait: 10,
            retry_timeout: 10,
            backup_schedule: "0 1 * * *".to_string(),
            backup_retain: 5,
            backup_noncurrent_expiry_days: 30,
            reader_endpoint: false,
            database_name: "tracker".to_string(),
            app_username: "tracker".to_string(),
            endpoint_name: "db".to_string(),
            disk_alarm_percent: 80,
            replication_lag_alarm_mib: 256,
        }
    }

    fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("PatroniCluster", id);
        c.require(
            !self.amis.is_empty(),
            "amis",
            &self.amis,
            "at least one region -> pinned AMI id, e.g. eu-west-1 -> ami-0123456789abcdef0",
        );
        for (region, ami) in &self.amis {
            c.require(
                is_region(region),
                "amis",
                region,
                "an AWS region name as key, e.g. eu-west-1",
            );
            c.require(
                is_ami_id(ami),
                &format!("amis.{region}"),
                ami,
                "a pinned AMI id: `ami-` and 8 or 17 hex digits (never an SSM latest lookup)",
            );
        }
        for (i, ip) in self.private_ips.iter().enumerate() {
            c.require(
                is_ipv4(ip),
                &format!("private_ips[{i}]"),
                ip,
                format!("an IPv4 address in the private subnet of {}", NODE_IDS[i]),
            );
        }
        let distinct: BTreeSet<&String> = self.private_ips.iter().collect();
        c.require(
            distinct.len() == self.private_ips.len(),
            "private_ips",
            &self.private_ips,
            "three distinct addresses, one per node",
        );
        let family = self.instance_type.split('.').next().unwrap_or_default();
        c.require(
            is_instance_type(&self.instance_type) && !family.starts_with('t'),
            "instance_type",
            &self.instance_type,
            "a non-burstable EC2 instance type (not a t* family), e.g. m7g.large",
        );
        c.require(
            (14..=17).contains(&self.postgres_version),
            "postgres_version",
            self.postgres_version,
            "a PostgreSQL major version from 14 to 17",
        );
        c.require(
            (8..=1024).contains(&self.root_volume_gib),
            "root_volume_gib",
            self.root_volume_gib,
            "8 to 1024 GiB",
        );
        c.require(
            (20..=16384).contains(&self.data_volume_gib),
            "data_volume_gib",
            self.data_volume_gib,
            "20 to 16384 GiB",
        );
        c.require(
            (1..=100).contains(&self.etcd_volume_gib),
            "etcd_volume_gib",
            self.etcd_volume_gib,
            "1 to 100 GiB",
        );
        c.require(
            self.loop_wait >= 1,
            "loop_wait",
            self.loop_wait,
            "at least 1 second",
        );
        c.require(
            self.retry_timeout >= 1,
            "retry_timeout",
            self.retry_timeout,
            "at least 1 second",
        );
        let needed = u64::from(self.loop_wait) + 2 * u64::from(self.retry_timeout);
        c.require(
            needed <= u64::from(self.ttl),
            "ttl",
            self.ttl,
            format!(
                "at least loop_wait + 2 * retry_timeout = {} + 2 * {} = {needed} seconds \
                 (Patroni's timing rule)",
                self.loop_wait, self.retry_timeout
            ),
        );
        c.require(
            is_cron(&self.backup_schedule),
            "backup_schedule",
            &self.backup_schedule,
            "a 5-field cron schedule, e.g. `0 1 * * *`",
        );
        c.require(
            self.backup_retain >= 1,
            "backup_retain",
            self.backup_retain,
            "at least 1 full backup",
        );
        c.require(
            (1..=3650).contains(&self.backup_noncurrent_expiry_days),
            "backup_noncurrent_expiry_days",
            self.backup_noncurrent_expiry_days,
            "1 to 3650 days",
        );
        c.require(
            is_pg_identifier(&self.database_name)
                && !["postgres", "template0", "template1"].contains(&self.database_name.as_str()),
            "database_name",
            &self.database_name,
            "a lower-case identifier (a-z, 0-9, _; not starting with a digit; at most 63), \
             not postgres/template0/template1",
        );
        c.require(
            is_pg_identifier(&self.app_username)
                && !RESERVED_ROLES.contains(&self.app_username.as_str()),
            "app_username",
            &self.app_username,
            "a lower-case identifier (a-z, 0-9, _; not starting with a digit; at most 63), \
             not postgres/replicator/rewind_user/patroni",
        );
        c.require(
            is_dns_label(&self.endpoint_name),
            "endpoint_name",
            &self.endpoint_name,
            "a DNS label, e.g. db",
        );
        c.require(
            (50..=99).contains(&self.disk_alarm_percent),
            "disk_alarm_percent",
            self.disk_alarm_percent,
            "50 to 99",
        );
        c.require(
            (1..=102_400).contains(&self.replication_lag_alarm_mib),
            "replication_lag_alarm_mib",
            self.replication_lag_alarm_mib,
            "1 to 102400 MiB",
        );
        c.finish()
    }
}

const RESERVED_ROLES: [&str; 4] = ["postgres", "replicator", "rewind_user", "patroni"];

fn is_ipv4(s: &str) -> bool {
    let octets: Vec<&str> = s.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| {
            !o.is_empty()
                && o.len() <= 3
                && o.bytes().all(|b| b.is_ascii_digit())
                && o.parse::<u8>().is_ok()
        })
}

fn is_cron(s: &str) -> bool {
    let fields: Vec<&str> = s.split_whitespace().collect();
    fields.len() == 5
        && fields.iter().all(|f| {
            f.bytes()
                .all(|b| b.is_ascii_digit() || b"*/,-".contains(&b))
        })
}

/// The deploy-time values of a node's environment file ([`hostconfig::ENV_FILE`]): each appears
/// there as `@@NAME@@` and is replaced by a CloudFormation value (`Fn::Join`) in the user data.
pub const NODE_ENV_INPUTS: [&str; 10] = [
    "AWS_REGION",
    "AWS_URL_SUFFIX",
    "DATA_VOLUME_ID",
    "ETCD_VOLUME_ID",
    "BACKUP_BUCKET",
    "SUPERUSER_SECRET_ARN",
    "REPLICATION_SECRET_ARN",
    "REWIND_SECRET_ARN",
    "RESTAPI_SECRET_ARN",
    "APP_SECRET_ARN",
];

/// etcd's client port (Patroni's DCS).
pub const ETCD_CLIENT_PORT: u16 = 2379;
/// etcd's peer port.
pub const ETCD_PEER_PORT: u16 = 2380;
/// Where each node keeps PostgreSQL's TLS certificate and key (on the data volume).
pub const TLS_DIR: &str = "/var/lib/postgresql/tls";
/// The Patroni configuration file.
pub const PATRONI_CONFIG: &str = "/etc/patroni/config.yml";
/// The pgBackRest configuration file (its default path); the boot script adds the repository's
/// location in `/etc/pgbackrest/conf.d/repo.conf`.
pub const PGBACKREST_CONFIG: &str = "/etc/pgbackrest/pgbackrest.conf";

const SCRIPT_LIB: &str = include_str!("../scripts/lib.sh");
const SCRIPT_MAKE_CERT: &str = include_str!("../scripts/make-cert.sh");
pub(crate) const SCRIPT_APP_DATABASE: &str = include_str!("../scripts/app-database.sh");
const SCRIPT_PATRONI_BOOT: &str = include_str!("../scripts/patroni-boot.sh");
const SCRIPT_POST_BOOTSTRAP: &str = include_str!("../scripts/patroni-post-bootstrap.sh");
const SCRIPT_BACKUP: &str = include_str!("../scripts/pgbackrest-backup.sh");
const SCRIPT_METRICS: &str = include_str!("../scripts/patroni-metrics.sh");

/// The CloudWatch namespace of the nodes' own metrics (dimension `Cluster`: the cluster's name):
/// `ReplicationLagBytes` (also per replica, dimension `Node`), `StreamingReplicas` and
/// `BackupSuccess`. The nodes' role may publish to this namespace only.
pub const METRICS_NAMESPACE: &str = "Tracker/Patroni";

/// What one node's files are rendered from.
#[derive(Clone, Debug)]
pub struct NodeConfig<'a> {
    /// The Patroni scope (cluster name), etcd cluster token and pgBackRest stanza.
    pub scope: &'a str,
    /// This node's index in [`NODE_IDS`].
    pub index: usize,
    pub props: &'a PatroniClusterProps,
}

/// Patroni's configuration file (the fields this construct sets), serialized as YAML.
#[derive(Serialize)]
struct PatroniYaml {
    scope: String,
    namespace: &'static str,
    name: String,
    restapi: RestApi,
    etcd3: Etcd3,
    bootstrap: Bootstrap,
    postgresql: PostgresqlLocal,
    watchdog: BTreeMap<&'static str, &'static str>,
    tags: BTreeMap<&'static str, bool>,
}

#[derive(Serialize)]
struct RestApi {
    listen: String,
    connect_address: String,
    /// The username; the password comes from `PATRONI_RESTAPI_PASSWORD`.
    authentication: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct Etcd3 {
    hosts: Vec<String>,
}

#[derive(Serialize)]
struct Bootstrap {
    dcs: Dcs,
    initdb: Vec<InitdbOption>,
    /// The same rules as `postgresql.pg_hba`, which wins: Patroni 3.0's `--validate-config`
    /// requires this key (later versions do not).
    pg_hba: Vec<HbaRule>,
    post_bootstrap: String,
}

#[derive(Serialize)]
struct Dcs {
    ttl: u32,
    loop_wait: u32,
    retry_timeout: u32,
    maximum_lag_on_failover: u64,
    failsafe_mode: bool,
    postgresql: DcsPostgresql,
}

#[derive(Serialize)]
struct DcsPostgresql {
    use_pg_rewind: bool,
    use_slots: bool,
    parameters: BTreeMap<&'static str, PgValue>,
    recovery_conf: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum InitdbOption {
    Flag(&'static str),
    Value(BTreeMap<&'static str, &'static str>),
}

#[derive(Serialize)]
struct PostgresqlLocal {
    listen: String,
    connect_address: String,
    data_dir: String,
    bin_dir: String,
    pgpass: &'static str,
    /// Usernames only; the passwords come from `PATRONI_<KIND>_PASSWORD`.
    authentication: BTreeMap<&'static str, BTreeMap<&'static str, &'static str>>,
    parameters: BTreeMap<&'static str, PgValue>,
    pg_hba: Vec<HbaRule>,
    basebackup: Vec<BTreeMap<&'static str, &'static str>>,
}

/// etcd's `--config-file` (YAML, etcd 3.4+).
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct EtcdYaml {
    name: String,
    data_dir: &'static str,
    listen_peer_urls: String,
    listen_client_urls: String,
    initial_advertise_peer_urls: String,
    advertise_client_urls: String,
    initial_cluster: String,
    initial_cluster_state: &'static str,
    initial_cluster_token: String,
    /// Patroni's etcd3 client speaks etcd's JSON gateway (`/v3/...`). The `--enable-grpc-gateway`
    /// flag defaults to on, but with `--config-file` the key defaults to off: without it
    /// Patroni never finds the members and no leader is elected.
    enable_grpc_gateway: bool,
}

fn node_name(index: usize) -> String {
    NODE_IDS[index].to_ascii_lowercase()
}

/// The pgBackRest commands PostgreSQL runs (cluster-wide, in the DCS).
pub fn archive_command(stanza: &str) -> String {
    format!("pgbackrest --stanza={stanza} archive-push %p")
}

/// PostgreSQL's `restore_command` (replicas and point-in-time restores).
pub fn restore_command(stanza: &str) -> String {
    format!("pgbackrest --stanza={stanza} archive-get %f \"%p\"")
}

fn patroni_yaml(cfg: &NodeConfig) -> PatroniYaml {
    let p = cfg.props;
    let v = p.postgres_version;
    let ip = &p.private_ips[cfg.index];
    let script = |name: &str| format!("{}/{name}", hostconfig::SCRIPT_DIR);
    let cidrs: Vec<String> = p.private_ips.iter().map(|ip| format!("{ip}/32")).collect();
    let user = |name: &'static str| BTreeMap::from([("username", name)]);
    let hba = hostconfig::tls_only_hba(&cidrs, Some("replicator"));
    PatroniYaml {
        scope: cfg.scope.to_string(),
        namespace: "/service/",
        name: node_name(cfg.index),
        restapi: RestApi {
            listen: format!("0.0.0.0:{PATRONI_API_PORT}"),
            connect_address: format!("{ip}:{PATRONI_API_PORT}"),
            authentication: user("patroni"),
        },
        etcd3: Etcd3 {
            hosts: p
                .private_ips
                .iter()
                .map(|ip| format!("{ip}:{ETCD_CLIENT_PORT}"))
                .collect(),
        },
        bootstrap: Bootstrap {
            dcs: Dcs {
                ttl: p.ttl,
                loop_wait: p.loop_wait,
                retry_timeout: p.retry_timeout,
                maximum_lag_on_failover: 1_048_576,
                failsafe_mode: true,
                postgresql: DcsPostgresql {
                    use_pg_rewind: true,
                    use_slots: true,
                    parameters: BTreeMap::from([
                        ("shared_preload_libraries", "timescaledb".into()),
                        ("wal_level", "replica".into()),
                        ("hot_standby", true.into()),
                        ("wal_log_hints", true.into()),
                        ("max_wal_senders", 10u32.into()),
                        ("max_replication_slots", 10u32.into()),
                        ("archive_mode", true.into()),
                        ("archive_timeout", 60u32.into()),
                        ("archive_command", archive_command(cfg.scope).into()),
                    ]),
                    recovery_conf: BTreeMap::from([(
                        "restore_command",
                        restore_command(cfg.scope),
                    )]),
                },
            },
            initdb: vec![
                InitdbOption::Value(BTreeMap::from([("encoding", "UTF8")])),
                InitdbOption::Flag("data-checksums"),
            ],
            pg_hba: hba.clone(),
            post_bootstrap: script("patroni-post-bootstrap.sh"),
        },
        postgresql: PostgresqlLocal {
            listen: format!("0.0.0.0:{POSTGRES_PORT}"),
            connect_address: format!("{ip}:{POSTGRES_PORT}"),
            data_dir: format!("/var/lib/postgresql/{v}/main"),
            bin_dir: format!("/usr/lib/postgresql/{v}/bin"),
            pgpass: "/var/lib/postgresql/.pgpass_patroni",
            authentication: BTreeMap::from([
                ("superuser", user("postgres")),
                ("replication", user("replicator")),
                ("rewind", user("rewind_user")),
            ]),
            parameters: BTreeMap::from([
                ("unix_socket_directories", "/var/run/postgresql".into()),
                ("password_encryption", "scram-sha-256".into()),
                ("ssl", true.into()),
                ("ssl_cert_file", format!("{TLS_DIR}/server.crt").into()),
                ("ssl_key_file", format!("{TLS_DIR}/server.key").into()),
            ]),
            pg_hba: hba,
            basebackup: vec![BTreeMap::from([("checkpoint", "fast")])],
        },
        // Split-brain guard: a primary whose Patroni hangs is reset by the kernel's watchdog
        // before its leader key expires (softdog, loaded at boot). `automatic`: used when the
        // device is there, never a reason not to run.
        watchdog: BTreeMap::from([("mode", "automatic"), ("device", "/dev/watchdog")]),
        tags: BTreeMap::from([("nofailover", false), ("noloadbalance", false)]),
    }
}

fn etcd_yaml(cfg: &NodeConfig) -> EtcdYaml {
    let p = cfg.props;
    let ip = &p.private_ips[cfg.index];
    EtcdYaml {
        name: node_name(cfg.index),
        data_dir: "/var/lib/etcd/default",
        listen_peer_urls: format!("http://{ip}:{ETCD_PEER_PORT}"),
        listen_client_urls: format!(
            "http://{ip}:{ETCD_CLIENT_PORT},http://127.0.0.1:{ETCD_CLIENT_PORT}"
        ),
        initial_advertise_peer_urls: format!("http://{ip}:{ETCD_PEER_PORT}"),
        advertise_client_urls: format!("http://{ip}:{ETCD_CLIENT_PORT}"),
        initial_cluster: p
            .private_ips
            .iter()
            .enumerate()
            .map(|(i, ip)| format!("{}=http://{ip}:{ETCD_PEER_PORT}", node_name(i)))
            .collect::<Vec<_>>()
            .join(","),
        initial_cluster_state: "new",
        initial_cluster_token: cfg.scope.to_string(),
        enable_grpc_gateway: true,
    }
}

fn pgbackrest_conf(cfg: &NodeConfig) -> Ini {
    let p = cfg.props;
    Ini::new("pgBackRest, rendered by tracker-constructs (patroni.rs); the repository's bucket, region and endpoint are in conf.d/repo.conf")
        .section(
            "global",
            [
                ("repo1-type", "s3".to_string()),
                ("repo1-path", format!("/{BACKUP_PREFIX}/{}", cfg.scope)),
                ("repo1-bundle", "y".to_string()),
                ("repo1-retention-full-type", "count".to_string()),
                ("repo1-retention-full", p.backup_retain.to_string()),
                ("start-fast", "y".to_string()),
                ("process-max", "2".to_string()),
                ("log-level-console", "info".to_string()),
                ("log-level-file", "detail".to_string()),
                ("log-path", "/var/log/pgbackrest".to_string()),
            ],
        )
        .section(
            cfg.scope,
            [
                ("pg1-path", format!("/var/lib/postgresql/{}/main", p.postgres_version)),
                ("pg1-port", POSTGRES_PORT.to_string()),
                ("pg1-socket-path", "/var/run/postgresql".to_string()),
            ],
        )
}

/// The systemd unit of a daemon: rendered whole (it replaces the packaged unit of that name).
pub(crate) fn service_unit(
    description: &str,
    after: &str,
    mounts: &str,
    service: &[(&str, &str)],
) -> Ini {
    Ini::new("rendered by tracker-constructs; replaces the packaged unit")
        .section(
            "Unit",
            [
                ("Description", description),
                ("After", after),
                ("Wants", "network-online.target"),
                ("RequiresMountsFor", mounts),
            ],
        )
        .section("Service", service.iter().copied())
        .section("Install", [("WantedBy", "multi-user.target")])
}

/// The CloudWatch agent's configuration: `disk_used_percent` of `paths` per instance.
pub(crate) fn cloudwatch_agent_json(paths: &[&str]) -> String {
    let config = serde_json::json!({
        "agent": { "metrics_collection_interval": 60, "omit_hostname": true },
        "metrics": {
            "namespace": "CWAgent",
            "append_dimensions": { "InstanceId": "${aws:InstanceId}" },
            "aggregation_dimensions": [["InstanceId", "path"]],
            "metrics_collected": {
                "disk": { "measurement": ["used_percent"], "resources": paths, "drop_device": true },
                "mem": { "measurement": ["used_percent"] }
            }
        }
    });
    serde_json::to_string_pretty(&config).expect("JSON") + "\n"
}

/// The SQL lines creating the application database's extensions.
pub(crate) fn create_extensions(extensions: &[&str]) -> String {
    extensions
        .iter()
        .map(|e| format!("CREATE EXTENSION IF NOT EXISTS {e};"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scripts both data planes share: `lib.sh`, `make-cert.sh`, `app-database.sh`.
pub(crate) fn common_scripts(app_user: &str, database: &str) -> Vec<HostFile> {
    vec![
        HostFile::script("lib.sh", fill_script("lib.sh", SCRIPT_LIB, &[])),
        HostFile::script(
            "make-cert.sh",
            fill_script("make-cert.sh", SCRIPT_MAKE_CERT, &[]),
        ),
        HostFile::script(
            "app-database.sh",
            fill_script(
                "app-database.sh",
                SCRIPT_APP_DATABASE,
                &[
                    ("APP_USER", app_user.to_string()),
                    ("DATABASE", database.to_string()),
                    (
                        "CREATE_EXTENSIONS",
                        create_extensions(&["timescaledb", "postgis"]),
                    ),
                ],
            ),
        ),
    ]
}

/// Every file of one production node, in the order the user data writes them: the environment
/// file first (its `@@NAME@@` placeholders are [`NODE_ENV_INPUTS`]), the owners manifest last.
pub fn render_node_files(cfg: &NodeConfig) -> Vec<HostFile> {
    let p = cfg.props;
    let ip = &p.private_ips[cfg.index];
    let stanza = cfg.scope.to_string();
    let dir = hostconfig::SCRIPT_DIR.to_string();
    let env = hostconfig::env_file(
        &format!(
            "PatroniCluster {}: deploy-time values (CloudFormation)",
            cfg.scope
        ),
        &NODE_ENV_INPUTS.map(|n| (n, format!("@@{n}@@"))),
    );
    let mut files = vec![HostFile::new(hostconfig::ENV_FILE, 0o600, "root:root", env)];
    files.extend(common_scripts(&p.app_username, &p.database_name));
    files.extend([
        HostFile::script(
            "patroni-boot.sh",
            fill_script(
                "patroni-boot.sh",
                SCRIPT_PATRONI_BOOT,
                &[
                    ("SCRIPT_DIR", dir.clone()),
                    ("PG_VERSION", p.postgres_version.to_string()),
                ],
            ),
        ),
        HostFile::script(
            "patroni-post-bootstrap.sh",
            fill_script(
                "patroni-post-bootstrap.sh",
                SCRIPT_POST_BOOTSTRAP,
                &[("SCRIPT_DIR", dir.clone()), ("STANZA", stanza.clone())],
            ),
        ),
        HostFile::script(
            "pgbackrest-backup.sh",
            fill_script(
                "pgbackrest-backup.sh",
                SCRIPT_BACKUP,
                &[
                    ("SCRIPT_DIR", dir.clone()),
                    ("PATRONI_API", format!("http://{ip}:{PATRONI_API_PORT}")),
                    ("STANZA", stanza.clone()),
                    ("NAMESPACE", METRICS_NAMESPACE.to_string()),
                ],
            ),
        ),
        HostFile::script(
            "patroni-metrics.sh",
            fill_script(
                "patroni-metrics.sh",
                SCRIPT_METRICS,
                &[
                    ("SCRIPT_DIR", dir.clone()),
                    ("PORT", POSTGRES_PORT.to_string()),
                    ("CLUSTER", stanza),
                    ("NAMESPACE", METRICS_NAMESPACE.to_string()),
                ],
            ),
        ),
        HostFile::new(
            PATRONI_CONFIG,
            0o600,
            "postgres:postgres",
            hostconfig::to_yaml(
                &format!("Patroni, node {} of {}: rendered by tracker-constructs (patroni.rs); passwords come from PATRONI_*_PASSWORD in /etc/patroni/secrets.env", node_name(cfg.index), cfg.scope),
                &patroni_yaml(cfg),
            ),
        ),
        HostFile::new(
            "/etc/etcd/etcd.conf.yml",
            0o644,
            "root:root",
            hostconfig::to_yaml(
                &format!(
                    "etcd, node {}: rendered by tracker-constructs (patroni.rs)",
                    node_name(cfg.index)
                ),
                &etcd_yaml(cfg),
            ),
        ),
        HostFile::new(
            PGBACKREST_CONFIG,
            0o640,
            "root:postgres",
            pgbackrest_conf(cfg).to_string(),
        ),
        HostFile::new(
            "/etc/systemd/system/patroni.service",
            0o644,
            "root:root",
            service_unit(
                &format!("Patroni (PatroniCluster {})", cfg.scope),
                "network-online.target etcd.service",
                "/var/lib/postgresql",
                &[
                    ("Type", "simple"),
                    ("User", "postgres"),
                    ("Group", "postgres"),
                    ("EnvironmentFile", "/etc/patroni/secrets.env"),
                    ("ExecStart", "/usr/bin/patroni /etc/patroni/config.yml"),
                    ("ExecReload", "/bin/kill -s HUP $MAINPID"),
                    ("KillMode", "process"),
                    ("TimeoutSec", "30"),
                    ("Restart", "on-failure"),
                ],
            )
            .to_string(),
        ),
        HostFile::new(
            "/etc/systemd/system/etcd.service",
            0o644,
            "root:root",
            service_unit(
                &format!("etcd (PatroniCluster {} DCS)", cfg.scope),
                "network-online.target",
                "/var/lib/etcd",
                &[
                    ("Type", "notify"),
                    ("User", "etcd"),
                    // etcd 3.4 (Ubuntu 24.04) starts on arm64 only when told to.
                    ("Environment", "ETCD_UNSUPPORTED_ARCH=arm64"),
                    ("ExecStart", "/usr/bin/etcd --config-file /etc/etcd/etcd.conf.yml"),
                    ("Restart", "on-failure"),
                    ("LimitNOFILE", "65536"),
                ],
            )
            .to_string(),
        ),
        HostFile::new(
            "/etc/modules-load.d/softdog.conf",
            0o644,
            "root:root",
            "# Patroni's watchdog (rendered by tracker-constructs)\nsoftdog\n",
        ),
        HostFile::new(
            "/etc/udev/rules.d/61-patroni-watchdog.rules",
            0o644,
            "root:root",
            "# Patroni (user postgres) opens the watchdog (rendered by tracker-constructs)\n\
             KERNEL==\"watchdog\", OWNER=\"postgres\", GROUP=\"postgres\", MODE=\"0600\"\n",
        ),
        HostFile::new(
            "/etc/cron.d/pgbackrest-backup",
            0o644,
            "root:root",
            CronEntry {
                schedule: p.backup_schedule.clone(),
                user: "postgres".into(),
                command: format!(
                    "{}/pgbackrest-backup.sh >> /var/log/pgbackrest/backup-cron.log 2>&1",
                    hostconfig::SCRIPT_DIR
                ),
            }
            .to_string(),
        ),
        HostFile::new(
            "/etc/cron.d/patroni-metrics",
            0o644,
            "root:root",
            CronEntry {
                schedule: "* * * * *".into(),
                user: "postgres".into(),
                command: format!(
                    "{}/patroni-metrics.sh 2>&1 | logger -t patroni-metrics",
                    hostconfig::SCRIPT_DIR
                ),
            }
            .to_string(),
        ),
        HostFile::new(
            "/etc/tracker/cloudwatch-agent.json",
            0o644,
            "root:root",
            cloudwatch_agent_json(&["/", "/var/lib/postgresql", "/var/lib/etcd"]),
        ),
    ]);
    let owners = hostconfig::owners_manifest(&files);
    files.push(owners);
    files
}

/// One node's bash user data: writes [`render_node_files`] and runs `patroni-boot.sh`. The
/// environment file's `@@NAME@@` placeholders remain, for [`hostconfig::join_tokens`].
pub fn render_node_user_data(cfg: &NodeConfig) -> String {
    hostconfig::user_data_script(
        &format!("PatroniCluster {} node {}", cfg.scope, node_name(cfg.index)),
        &render_node_files(cfg),
        &format!("{}/patroni-boot.sh", hostconfig::SCRIPT_DIR),
    )
}

/// A metric the nodes publish ([`METRICS_NAMESPACE`]) of the cluster `cluster` (and `node`).
fn node_metric(
    name: &str,
    cluster: &str,
    node: Option<&str>,
    statistic: &str,
    period: Duration,
) -> Metric {
    let mut dimensions = vec![("Cluster", cluster.to_string())];
    if let Some(node) = node {
        dimensions.push(("Node", node.to_string()));
    }
    let props = MetricProps::new(MetricPropsRequired {
        metric_name: name,
        namespace: METRICS_NAMESPACE,
    })
    .dimensions_map(dimensions)
    .statistic(statistic)
    .period(period);
    // A label only on the per-node graph lines: an alarm on a labelled metric is rendered as a
    // metric-math `Metrics` array instead of a plain metric.
    Metric::new(match node {
        Some(node) => props.label(node),
        None => props,
    })
}

/// The alarms on what the nodes publish: replication lag, replicas not streaming, no backup.
fn node_metric_alarms(
    scope: Construct,
    platform: &Platform,
    id: &str,
    cluster: &str,
    props: &PatroniClusterProps,
) {
    let lag_bytes = f64::from(props.replication_lag_alarm_mib) * 1024.0 * 1024.0;
    for spec in [
        AlarmSpec {
            id: "ReplicationLagAlarm".into(),
            metric: node_metric(
                "ReplicationLagBytes",
                cluster,
                None,
                "Maximum",
                Duration::minutes(1),
            )
            .into(),
            threshold: lag_bytes,
            evaluation_periods: 5,
            comparison: ComparisonOperator::GreaterThanThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "PatroniCluster {id}: a replica is more than {} MiB of WAL behind the primary for \
                 5 minutes (a failover now would lose or wait for that much). Check the \
                 replica's disk, CPU and network, and `patronictl list` on a node",
                props.replication_lag_alarm_mib
            ),
        },
        AlarmSpec {
            id: "ReplicasNotStreamingAlarm".into(),
            metric: node_metric(
                "StreamingReplicas",
                cluster,
                None,
                "Minimum",
                Duration::minutes(1),
            )
            .into(),
            threshold: (NODE_IDS.len() - 1) as f64,
            evaluation_periods: 5,
            comparison: ComparisonOperator::LessThanThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "PatroniCluster {id}: fewer than {} replicas stream from the primary for 5 \
                 minutes (a replica is down, rebuilding or disconnected: its lag is not \
                 measured). `patronictl list`; the node's journal (patroni, etcd)",
                NODE_IDS.len() - 1
            ),
        },
        AlarmSpec {
            id: "BackupMissingAlarm".into(),
            metric: node_metric(
                "BackupSuccess",
                cluster,
                None,
                "Maximum",
                Duration::hours(1),
            )
            .into(),
            threshold: 1.0,
            evaluation_periods: 26,
            comparison: ComparisonOperator::LessThanThreshold,
            missing_data: TreatMissingData::Breaching,
            description: format!(
                "PatroniCluster {id}: no successful pgBackRest full backup for 26 hours. On \
                 the primary: /var/log/pgbackrest/backup-cron.log, `pgbackrest --stanza={cluster} \
                 info`; run {}/pgbackrest-backup.sh as postgres",
                hostconfig::SCRIPT_DIR
            ),
        },
    ] {
        alarm(scope, &platform.alerts, spec);
    }
}

/// The cluster's dashboard row: healthy writer targets, per node CPU and data-volume use, and
/// each replica's lag.
fn dashboard_row(
    platform: &Platform,
    id: &str,
    cluster: &str,
    nodes: &[Instance],
    writer: NetworkTargetGroup,
) {
    let per_node = |name: &str, namespace: &str, statistic: &str, extra: Option<(&str, &str)>| {
        nodes
            .iter()
            .zip(NODE_IDS)
            .map(|(node, node_id)| {
                let mut dimensions = vec![("InstanceId", node.instance_id())];
                if let Some((k, v)) = extra {
                    dimensions.push((k, v.into()));
                }
                IMetric::from(Metric::new(
                    MetricProps::new(MetricPropsRequired {
                        metric_name: name,
                        namespace,
                    })
                    .dimensions_map(dimensions)
                    .statistic(statistic)
                    .period(Duration::minutes(5))
                    .label(node_id),
                ))
            })
            .collect::<Vec<_>>()
    };
    platform.dashboard.add_row(
        &format!("{id} (PostgreSQL, Patroni)"),
        vec![
            (
                "Healthy writer targets (1 = a primary)".into(),
                vec![writer
                    .metrics()
                    .healthy_host_count_with(
                        MetricOptions::new()
                            .statistic("Minimum")
                            .period(Duration::minutes(1)),
                    )
                    .into()],
            ),
            (
                "CPU %".into(),
                per_node("CPUUtilization", "AWS/EC2", "Average", None),
            ),
            (
                "Data volume used %".into(),
                per_node(
                    "disk_used_percent",
                    "CWAgent",
                    "Maximum",
                    Some(("path", "/var/lib/postgresql")),
                ),
            ),
            (
                "Replication lag (bytes)".into(),
                (0..NODE_IDS.len())
                    .map(|i| {
                        let node = node_name(i);
                        node_metric(
                            "ReplicationLagBytes",
                            cluster,
                            Some(&node),
                            "Maximum",
                            Duration::minutes(1),
                        )
                        .into()
                    })
                    .collect(),
            ),
        ],
    );
}

/// Production PostgreSQL HA: three Patroni nodes behind an internal NLB.
#[derive(Clone, Debug)]
pub struct PatroniCluster {
    /// The nodes, in [`NODE_IDS`] order.
    pub nodes: Vec<Instance>,
    /// The nodes' security group.
    pub cluster_security_group: SecurityGroup,
    /// The load balancer's security group: the one clients are let into.
    pub client_security_group: SecurityGroup,
    pub load_balancer: NetworkLoadBalancer,
    pub writer_target_group: NetworkTargetGroup,
    pub reader_target_group: Option<NetworkTargetGroup>,
    pub backup_bucket: Bucket,
    pub superuser_secret: Secret,
    pub replication_secret: Secret,
    pub rewind_secret: Secret,
    pub restapi_secret: Secret,
    /// JSON: username, password, host, port, dbname.
    pub app_secret: Secret,
    /// The registered endpoint (`db`).
    pub endpoint: Endpoint,
}

fn generated_secret(
    scope: Construct,
    id: &str,
    description: String,
    template: serde_json::Value,
) -> Secret {
    Secret::new_with(
        scope,
        id,
        SecretProps::new()
            .description(description)
            // Retained on delete: a retained database volume is hard to use without its
            // passwords.
            .removal_policy(RemovalPolicy::Retain)
            .generate_secret_string(
                SecretStringGenerator::new()
                    .secret_string_template(template.to_string())
                    .generate_string_key("password")
                    .password_length(32)
                    .exclude_punctuation(true),
            ),
    )
}

/// An AWS managed policy, imported as a construct. (`ManagedPolicy::from_aws_managed_policy_name`
/// returns a detached object the replay shim cannot inspect: it fails with
/// `DetachedConstructNodeAccess`.)
pub(crate) fn aws_managed_policy(scope: Construct, name: &str) -> IManagedPolicy {
    ManagedPolicy::from_managed_policy_arn(
        scope,
        format!("{name}Policy"),
        Fn::join(
            "",
            [
                JsString::from("arn:"),
                Aws::partition(),
                JsString::from(format!(":iam::aws:policy/{name}")),
            ],
        ),
    )
}

impl PatroniCluster {
    /// Validates `props` and adds the cluster to `scope`, registering its endpoint in
    /// `platform.registry`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: PatroniClusterProps,
    ) -> Result<PatroniCluster, ValidationErrors> {
        // The props and the name, reported together, before anything is created.
        let mut check = Check::new("PatroniCluster", id);
        platform
            .registry
            .require_free(&mut check, "endpoint_name", &props.endpoint_name);
        let azs = platform.network.private_subnets.len();
        check.require(
            azs >= NODE_IDS.len(),
            "platform.network.max_azs",
            azs,
            format!(
                "at least {} (one node per availability zone)",
                NODE_IDS.len()
            ),
        );
        ValidationErrors::collect([props.validate(id), check.finish()])?;
        let mut check = Check::new("PatroniCluster", id);
        let scope = Construct::new(scope, id);
        let vpc = platform.network.vpc;
        let cluster_name = cluster_name(&platform.environment, id);
        let host = format!("{}.{}", props.endpoint_name, platform.namespace);

        // Security groups.
        let cluster_sg = SecurityGroup::new(
            scope,
            "ClusterSecurityGroup",
            SecurityGroupProps::new(vpc)
                .description(format!("PatroniCluster {id}: the nodes"))
                .allow_all_outbound(true),
        );
        let nlb_sg = SecurityGroup::new(
            scope,
            "NlbSecurityGroup",
            SecurityGroupProps::new(vpc)
                .description(format!("PatroniCluster {id}: the load balancer (clients)"))
                .allow_all_outbound(false),
        );
        cluster_sg.add_ingress_rule_with(
            nlb_sg,
            Port::tcp(POSTGRES_PORT),
            "PostgreSQL from the NLB",
        );
        cluster_sg.add_ingress_rule_with(
            cluster_sg,
            Port::tcp(POSTGRES_PORT),
            "PostgreSQL streaming replication within the cluster",
        );
        cluster_sg.add_ingress_rule_with(
            nlb_sg,
            Port::tcp(PATRONI_API_PORT),
            "Patroni REST API health checks from the NLB",
        );
        cluster_sg.add_ingress_rule_with(
            cluster_sg,
            Port::tcp(PATRONI_API_PORT),
            "Patroni REST API within the cluster",
        );
        // etcd speaks plain http: its three members boot at once, and a certificate authority
        // they would share cannot be made without a deploy-time step. So its exposure is
        // restricted instead: 2379/2380 only from this group (the three nodes), and each member
        // listens only on its own address and loopback. What it carries is Patroni's leader
        // key and cluster state, no passwords and no data.
        cluster_sg.add_ingress_rule_with(
            cluster_sg,
            Port::tcp_range(ETCD_CLIENT_PORT, ETCD_PEER_PORT),
            "etcd client and peer, plain http: only the three nodes of this group \
                 (no shared CA at first boot)",
        );
        nlb_sg.add_egress_rule_with(
            cluster_sg,
            Port::tcp(POSTGRES_PORT),
            "PostgreSQL to the nodes",
        );
        nlb_sg.add_egress_rule_with(
            cluster_sg,
            Port::tcp(PATRONI_API_PORT),
            "Health checks on the Patroni REST API",
        );

        // Backups.
        let bucket = Bucket::new_with(
            scope,
            "Backups",
            BucketProps::new()
                .versioned(true)
                .lifecycle_rules([LifecycleRule::new().noncurrent_version_expiration(
                    Duration::days(props.backup_noncurrent_expiry_days),
                )])
                .encryption(BucketEncryption::S3Managed)
                .block_public_access(BlockPublicAccess::block_all())
                .enforce_ssl(true)
                .removal_policy(RemovalPolicy::Retain),
        );

        // Secrets.
        let user = |name: &str| serde_json::json!({ "username": name });
        let superuser = generated_secret(
            scope,
            "SuperuserSecret",
            format!("PatroniCluster {id}: PostgreSQL superuser"),
            user("postgres"),
        );
        let replication = generated_secret(
            scope,
            "ReplicationSecret",
            format!("PatroniCluster {id}: replication user"),
            user("replicator"),
        );
        let rewind = generated_secret(
            scope,
            "RewindSecret",
            format!("PatroniCluster {id}: pg_rewind user"),
            user("rewind_user"),
        );
        let restapi = generated_secret(
            scope,
            "RestApiSecret",
            format!("PatroniCluster {id}: Patroni REST API authentication"),
            user("patroni"),
        );
        let app = generated_secret(
            scope,
            "AppSecret",
            format!("PatroniCluster {id}: application user"),
            serde_json::json!({
                "username": props.app_username,
                "host": host,
                "port": POSTGRES_PORT,
                "dbname": props.database_name,
            }),
        );
        let secrets = [superuser, replication, rewind, restapi, app];

        // The nodes' role.
        let role = Role::new(
            scope,
            "Role",
            RoleProps::new(ServicePrincipal::new("ec2.amazonaws.com"))
                .description(format!("PatroniCluster {id}: the nodes"))
                .managed_policies(
                    [
                        "AmazonSSMManagedInstanceCore",
                        "CloudWatchAgentServerPolicy",
                    ]
                    .map(|name| aws_managed_policy(scope, name)),
                ),
        );
        let prefix = format!("{BACKUP_PREFIX}/{cluster_name}");
        role.add_to_policy(PolicyStatement::new_with(
            PolicyStatementProps::new()
                .actions(["s3:ListBucket", "s3:GetBucketLocation"])
                .resources([bucket.bucket_arn()])
                .conditions([(
                    "StringLike",
                    JsAny::from(serde_json::json!({
                        "s3:prefix": [prefix.clone(), format!("{prefix}/*")]
                    })),
                )]),
        ));
        role.add_to_policy(PolicyStatement::new_with(
            PolicyStatementProps::new()
                .actions(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
                .resources([bucket.arn_for_objects(format!("{prefix}/*"))]),
        ));
        role.add_to_policy(PolicyStatement::new_with(
            PolicyStatementProps::new()
                .actions(["secretsmanager:GetSecretValue"])
                .resources(secrets.iter().map(|s| s.secret_arn())),
        ));
        role.add_to_policy(PolicyStatement::new_with(
            PolicyStatementProps::new()
                .actions(["ec2:DescribeVolumes"])
                .resources(["*"]),
        ));
        // The replication lag and backup metrics (no resource-level permissions: the namespace
        // is the condition).
        role.add_to_policy(PolicyStatement::new_with(
            PolicyStatementProps::new()
                .actions(["cloudwatch:PutMetricData"])
                .resources(["*"])
                .conditions([(
                    "StringEquals",
                    JsAny::from(serde_json::json!({ "cloudwatch:namespace": METRICS_NAMESPACE })),
                )]),
        ));

        let image =
            MachineImage::generic_linux(props.amis.iter().map(|(r, a)| (r.clone(), a.as_str())));
        let scope_name = cluster_name.clone();
        let mut nodes = Vec::new();
        for (i, node_id) in NODE_IDS.iter().enumerate() {
            let subnet = platform.network.private_subnets[i];
            let az = subnet.availability_zone();
            let volume = |suffix: &str, gib: u32, purpose: &str| {
                let v = Volume::new(
                    scope,
                    format!("{node_id}{suffix}"),
                    VolumeProps::new(az.clone())
                        .size(Size::gibibytes(gib))
                        .volume_type(EbsDeviceVolumeType::Gp3)
                        .encrypted(true)
                        .removal_policy(RemovalPolicy::Snapshot),
                );
                Tags::of(v).add(
                    "tracker:patroni-volume",
                    format!("{cluster_name}/{node_id}/{purpose}"),
                );
                v
            };
            let data = volume("Data", props.data_volume_gib, "data");
            let etcd = volume("Etcd", props.etcd_volume_gib, "etcd");
            let script = render_node_user_data(&NodeConfig {
                scope: &scope_name,
                index: i,
                props: &props,
            });
            let tokens: [JsString; 10] = [
                Aws::region(),
                Aws::url_suffix(),
                data.volume_id(),
                etcd.volume_id(),
                bucket.bucket_name(),
                superuser.secret_arn(),
                replication.secret_arn(),
                rewind.secret_arn(),
                restapi.secret_arn(),
                app.secret_arn(),
            ];
            let user_data = UserData::custom(hostconfig::join_tokens(
                &script,
                &NODE_ENV_INPUTS
                    .iter()
                    .copied()
                    .zip(tokens)
                    .collect::<Vec<_>>(),
            ));
            let instance = Instance::new(
                scope,
                *node_id,
                InstanceProps::new(InstancePropsRequired {
                    instance_type: InstanceType::new(props.instance_type.as_str()),
                    machine_image: image,
                    vpc,
                })
                .vpc_subnets(SubnetSelection::new().subnets([subnet]))
                .availability_zone(az.clone())
                .private_ip_address(props.private_ips[i].as_str())
                .security_group(cluster_sg)
                .role(role)
                .user_data(user_data)
                .http_tokens(HttpTokens::Required)
                .http_put_response_hop_limit(2)
                .http_endpoint(true)
                .disable_api_termination(true)
                .detailed_monitoring(true)
                .block_devices([BlockDevice::new(BlockDeviceRequired {
                    device_name: "/dev/sda1",
                    volume: BlockDeviceVolume::ebs_with(
                        props.root_volume_gib,
                        EbsDeviceOptions::new()
                            .encrypted(true)
                            .volume_type(EbsDeviceVolumeType::Gp3)
                            .delete_on_termination(true),
                    ),
                })]),
            );
            // Belt and braces: termination protection on the L1 even if the L2 drops it.
            instance.instance().add_property_override(
                "DisableApiTermination",
                JsAny::from(serde_json::json!(true)),
            );
            data.grant_attach_volume_by_resource_tag(role, [instance]);
            etcd.grant_attach_volume_by_resource_tag(role, [instance]);
            // For the change review: the node is replaceable, its volumes hold the data.
            statefulness::declare(
                instance.node(),
                Holds::Compute,
                &format!(
                    "PostgreSQL and etcd keep their files on the node's volumes ({node_id}Data, \
                     {node_id}Etcd; snapshotted on removal), which a replacement node mounts"
                ),
            );
            statefulness::declare(data.node(), Holds::Data, "the node's PostgreSQL files");
            statefulness::declare(etcd.node(), Holds::Data, "the node's etcd member data");

            let status = Alarm::new(
                scope,
                format!("{node_id}SystemStatusAlarm"),
                AlarmProps::new(AlarmPropsRequired {
                    evaluation_periods: 2,
                    metric: Metric::new(
                        MetricProps::new(MetricPropsRequired {
                            metric_name: "StatusCheckFailed_System",
                            namespace: "AWS/EC2",
                        })
                        .dimensions_map([("InstanceId", instance.instance_id())])
                        .statistic("Maximum")
                        .period(Duration::minutes(1)),
                    ),
                    threshold: 1,
                })
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .alarm_description(format!(
                    "PatroniCluster {id} {node_id}: system status check failed (recovering)"
                )),
            );
            status.add_alarm_action([Ec2Action::new(Ec2InstanceAction::Recover)]);
            platform.alerts.notify(status);
            let disk = Alarm::new(
                scope,
                format!("{node_id}DiskAlarm"),
                AlarmProps::new(AlarmPropsRequired {
                    evaluation_periods: 2,
                    metric: Metric::new(
                        MetricProps::new(MetricPropsRequired {
                            metric_name: "disk_used_percent",
                            namespace: "CWAgent",
                        })
                        .dimensions_map([
                            ("InstanceId", instance.instance_id()),
                            ("path", "/var/lib/postgresql".into()),
                        ])
                        .statistic("Maximum")
                        .period(Duration::minutes(5)),
                    ),
                    threshold: props.disk_alarm_percent,
                })
                .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                .alarm_description(format!(
                    "PatroniCluster {id} {node_id}: data volume above {}% used",
                    props.disk_alarm_percent
                )),
            );
            platform.alerts.notify(disk);
            nodes.push(instance);
        }
        for s in &secrets {
            s.grant_read(role);
        }

        // The load balancer.
        let nlb = NetworkLoadBalancer::new(
            scope,
            "Nlb",
            NetworkLoadBalancerProps::new(vpc)
                .internet_facing(false)
                .cross_zone_enabled(true)
                .security_groups([nlb_sg])
                .vpc_subnets(SubnetSelection::new().subnet_type(SubnetType::PrivateWithEgress)),
        );
        let target_group = |tg_id: &str, path: &str| {
            let tg = NetworkTargetGroup::new(
                scope,
                tg_id,
                NetworkTargetGroupProps::new(POSTGRES_PORT)
                    .vpc(vpc)
                    .protocol(Protocol::Tcp)
                    .target_type(TargetType::Ip)
                    .cross_zone_enabled(true)
                    .connection_termination(true)
                    .deregistration_delay(Duration::seconds(10))
                    .health_check(
                        HealthCheck::new()
                            .protocol(Protocol::Http)
                            .port(PATRONI_API_PORT.to_string())
                            .path(path)
                            .interval(Duration::seconds(5))
                            .timeout(Duration::seconds(2))
                            .healthy_threshold_count(3)
                            .unhealthy_threshold_count(2)
                            .healthy_http_codes("200"),
                    ),
            );
            // The nodes' fixed addresses are the targets (IP targets on port 5432).
            tg.add_target(
                props
                    .private_ips
                    .iter()
                    .map(|ip| IpTarget::new_with(ip.as_str(), POSTGRES_PORT)),
            );
            tg
        };
        let writer = target_group("WriterTargets", WRITER_HEALTH_PATH);
        nlb.add_listener(
            "Writer",
            BaseNetworkListenerProps::new(POSTGRES_PORT)
                .protocol(Protocol::Tcp)
                .default_target_groups([writer]),
        );
        let mut ports = vec![POSTGRES_PORT];
        let reader = props.reader_endpoint.then(|| {
            let reader = target_group("ReaderTargets", READER_HEALTH_PATH);
            nlb.add_listener(
                "Reader",
                BaseNetworkListenerProps::new(READER_PORT)
                    .protocol(Protocol::Tcp)
                    .default_target_groups([reader]),
            );
            ports.push(READER_PORT);
            reader
        });
        let no_primary = Alarm::new(
            scope,
            "NoPrimaryAlarm",
            AlarmProps::new(AlarmPropsRequired {
                evaluation_periods: 2,
                metric: writer.metrics().healthy_host_count_with(
                    MetricOptions::new()
                        .statistic("Minimum")
                        .period(Duration::minutes(1)),
                ),
                threshold: 1,
            })
            .comparison_operator(ComparisonOperator::LessThanThreshold)
            .treat_missing_data(TreatMissingData::Breaching)
            .alarm_description(format!(
                "PatroniCluster {id}: no healthy primary behind the writer endpoint"
            )),
        );
        platform.alerts.notify(no_primary);
        node_metric_alarms(scope, platform, id, &cluster_name, &props);
        dashboard_row(platform, id, &cluster_name, &nodes, writer);

        // The name `db.<namespace>`: a Cloud Map CNAME to the NLB.
        let service = CloudMapService::new(
            scope,
            "DnsName",
            ServiceProps::new(platform.cloud_map)
                .name(props.endpoint_name.as_str())
                .dns_record_type(DnsRecordType::Cname)
                .dns_ttl(Duration::seconds(30))
                .description(format!("PatroniCluster {id}: writer endpoint")),
        );
        service.register_cname_instance(
            "Nlb",
            CnameInstanceBaseProps::new(nlb.load_balancer_dns_name()),
        );
        let endpoint = Endpoint {
            name: props.endpoint_name.clone(),
            host: host.clone().into(),
            ports,
            security_group: nlb_sg.into(),
            service_connect_only: false,
            tls: true,
            client_environment: crate::wiring::postgres_client_environment(),
        };
        platform.registry.register(&mut check, endpoint.clone());
        check.finish()?;

        // Outputs.
        let output = |out_id: &str, value: JsString, description: String| {
            CfnOutput::new(
                scope,
                out_id,
                CfnOutputProps::new(value).description(description),
            );
        };
        output(
            "WriterEndpoint",
            format!("{host}:{POSTGRES_PORT}").into(),
            format!("PatroniCluster {id}: writer endpoint (the primary)"),
        );
        output(
            "WriterLoadBalancerDns",
            nlb.load_balancer_dns_name(),
            format!("PatroniCluster {id}: the NLB's DNS name"),
        );
        if reader.is_some() {
            output(
                "ReaderEndpoint",
                format!("{host}:{READER_PORT}").into(),
                format!("PatroniCluster {id}: reader endpoint (the replicas)"),
            );
        }
        output(
            "ClientSecurityGroupId",
            nlb_sg.security_group_id(),
            format!("PatroniCluster {id}: security group clients are let into"),
        );
        for (out_id, secret) in [
            ("SuperuserSecretArn", superuser),
            ("ReplicationSecretArn", replication),
            ("RewindSecretArn", rewind),
            ("RestApiSecretArn", restapi),
            ("AppSecretArn", app),
        ] {
            output(
                out_id,
                secret.secret_arn(),
                format!("PatroniCluster {id}: {out_id}"),
            );
        }
        output(
            "BackupBucketName",
            bucket.bucket_name(),
            format!("PatroniCluster {id}: pgBackRest repository (prefix {prefix})"),
        );

        Ok(PatroniCluster {
            nodes,
            cluster_security_group: cluster_sg,
            client_security_group: nlb_sg,
            load_balancer: nlb,
            writer_target_group: writer,
            reader_target_group: reader,
            backup_bucket: bucket,
            superuser_secret: superuser,
            replication_secret: replication,
            rewind_secret: rewind,
            restapi_secret: restapi,
            app_secret: app,
            endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejects_value;

    const AMI: &str = "ami-0123456789abcdef0";

    fn props() -> PatroniClusterProps {
        PatroniClusterProps::new(
            [("eu-west-1", AMI)],
            ["10.0.16.10", "10.0.32.10", "10.0.48.10"],
        )
    }

    /// Asserts `p` has exactly one violation, of `field` = `value` (as written in the message),
    /// naming the construct and what is allowed.
    fn rejects(p: &PatroniClusterProps, field: &str, value: &str, allowed: &str) {
        let err = p.validate("Db").unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        rejects_among(&err, field, value, allowed);
    }

    /// Asserts `err` reports `field` = `value`, naming the construct and what is allowed.
    fn rejects_among(err: &ValidationErrors, field: &str, value: &str, allowed: &str) {
        assert_rejects_value(err, "PatroniCluster", "Db", field, value, allowed);
    }

    #[test]
    fn defaults_are_valid() {
        props().validate("Db").unwrap();
    }

    #[test]
    fn fails_on_the_timing_rule() {
        let mut p = props();
        p.ttl = 25;
        rejects(
            &p,
            "ttl",
            "25",
            "at least loop_wait + 2 * retry_timeout = 10 + 2 * 10 = 30 seconds",
        );
    }

    #[test]
    fn fails_on_an_ami_that_is_not_pinned() {
        let mut p = props();
        let ssm =
            "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id";
        p.amis.insert("eu-west-1".into(), ssm.into());
        rejects(
            &p,
            "amis.eu-west-1",
            &format!("{ssm:?}"),
            "a pinned AMI id: `ami-` and 8 or 17 hex digits",
        );
    }

    #[test]
    fn fails_without_amis() {
        let mut p = props();
        p.amis.clear();
        rejects(&p, "amis", "{}", "at least one region -> pinned AMI id");
    }

    #[test]
    fn fails_on_an_ami_region_that_is_not_a_region() {
        let mut p = props();
        p.amis = BTreeMap::from([("Ireland".to_string(), AMI.to_string())]);
        rejects(&p, "amis", "\"Ireland\"", "an AWS region name as key");
    }

    #[test]
    fn fails_on_a_malformed_private_ip() {
        let mut p = props();
        p.private_ips[1] = "10.0.32.300".into();
        rejects(
            &p,
            "private_ips[1]",
            "\"10.0.32.300\"",
            "an IPv4 address in the private subnet of NodeB",
        );
    }

    #[test]
    fn fails_on_duplicate_private_ips() {
        let mut p = props();
        p.private_ips[2] = p.private_ips[0].clone();
        rejects(
            &p,
            "private_ips",
            "[\"10.0.16.10\", \"10.0.32.10\", \"10.0.16.10\"]",
            "three distinct addresses, one per node",
        );
    }

    #[test]
    fn fails_on_a_burstable_instance_type() {
        let mut p = props();
        p.instance_type = "t4g.large".into();
        rejects(
            &p,
            "instance_type",
            "\"t4g.large\"",
            "a non-burstable EC2 instance type (not a t* family), e.g. m7g.large",
        );
    }

    #[test]
    fn fails_on_a_malformed_instance_type() {
        let mut p = props();
        p.instance_type = "large".into();
        rejects(
            &p,
            "instance_type",
            "\"large\"",
            "a non-burstable EC2 instance type (not a t* family), e.g. m7g.large",
        );
    }

    #[test]
    fn fails_on_an_unsupported_postgres_version() {
        let mut p = props();
        p.postgres_version = 12;
        rejects(
            &p,
            "postgres_version",
            "12",
            "a PostgreSQL major version from 14 to 17",
        );
    }

    #[test]
    fn fails_on_a_noncurrent_expiry_out_of_range() {
        let mut p = props();
        p.backup_noncurrent_expiry_days = 0;
        rejects(&p, "backup_noncurrent_expiry_days", "0", "1 to 3650 days");
    }

    #[test]
    fn fails_on_volume_sizes() {
        let mut p = props();
        p.root_volume_gib = 4;
        p.data_volume_gib = 10;
        p.etcd_volume_gib = 0;
        let err = p.validate("Db").unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        rejects_among(&err, "root_volume_gib", "4", "8 to 1024 GiB");
        rejects_among(&err, "data_volume_gib", "10", "20 to 16384 GiB");
        rejects_among(&err, "etcd_volume_gib", "0", "1 to 100 GiB");
    }

    #[test]
    fn fails_on_zero_loop_wait_and_retry_timeout() {
        let mut p = props();
        p.loop_wait = 0;
        p.retry_timeout = 0;
        let err = p.validate("Db").unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
        rejects_among(&err, "loop_wait", "0", "at least 1 second");
        rejects_among(&err, "retry_timeout", "0", "at least 1 second");
    }

    #[test]
    fn fails_on_a_malformed_backup_schedule() {
        let mut p = props();
        p.backup_schedule = "nightly".into();
        rejects(
            &p,
            "backup_schedule",
            "\"nightly\"",
            "a 5-field cron schedule, e.g. `0 1 * * *`",
        );
    }

    #[test]
    fn fails_on_zero_backups_retained() {
        let mut p = props();
        p.backup_retain = 0;
        rejects(&p, "backup_retain", "0", "at least 1 full backup");
    }

    #[test]
    fn fails_on_database_and_user_names() {
        let mut p = props();
        p.database_name = "Tracker-DB".into();
        p.app_username = "postgres".into();
        let err = p.validate("Db").unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
        rejects_among(
            &err,
            "database_name",
            "\"Tracker-DB\"",
            "a lower-case identifier (a-z, 0-9, _; not starting with a digit; at most 63), \
             not postgres/template0/template1",
        );
        rejects_among(
            &err,
            "app_username",
            "\"postgres\"",
            "a lower-case identifier (a-z, 0-9, _; not starting with a digit; at most 63), \
             not postgres/replicator/rewind_user/patroni",
        );
    }

    #[test]
    fn fails_on_an_endpoint_name_that_is_not_a_dns_label() {
        let mut p = props();
        p.endpoint_name = "DB_main".into();
        rejects(&p, "endpoint_name", "\"DB_main\"", "a DNS label, e.g. db");
    }

    #[test]
    fn fails_on_a_disk_alarm_threshold_out_of_range() {
        let mut p = props();
        p.disk_alarm_percent = 100;
        rejects(&p, "disk_alarm_percent", "100", "50 to 99");
    }

    /// A recorded staging platform over three AZs (a node per AZ) where `db` is already
    /// registered (as by a `StagingDataHost`).
    fn platform_with_db(stack: cdk_from_rust::aws_cdk_lib::Stack) -> Platform {
        let platform = crate::service::test_support::platform_over(stack, "staging", 3);
        crate::service::test_support::declare_endpoint(
            stack,
            &platform,
            "DbSg",
            "db",
            "db",
            &[POSTGRES_PORT],
        );
        platform
    }

    #[test]
    fn fails_on_an_endpoint_name_already_taken() {
        let err = crate::service::test_support::recorded(|stack| {
            let platform = platform_with_db(stack);
            PatroniCluster::new(stack, "Db", &platform, props()).unwrap_err()
        });
        assert_eq!(err.0.len(), 1, "{err}");
        rejects_among(
            &err,
            "endpoint_name",
            "\"db\"",
            crate::validation::NAME_NOT_TAKEN,
        );
        // Another name is free.
        crate::service::test_support::recorded(|stack| {
            let platform = platform_with_db(stack);
            let mut p = props();
            p.endpoint_name = "db-production".into();
            PatroniCluster::new(stack, "Db", &platform, p).unwrap();
            let e = platform.registry.get("db-production").expect("registered");
            assert_eq!(
                e.host.as_literal(),
                Some("db-production.staging.tracker.internal")
            );
            assert_eq!(e.ports, [POSTGRES_PORT]);
        });
    }

    #[test]
    fn reports_props_and_a_taken_name_together() {
        let err = crate::service::test_support::recorded(|stack| {
            let platform = platform_with_db(stack);
            let mut p = props();
            p.ttl = 25;
            p.backup_retain = 0;
            PatroniCluster::new(stack, "Db", &platform, p).unwrap_err()
        });
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["ttl", "backup_retain", "endpoint_name"], "{err}");
        rejects_among(
            &err,
            "endpoint_name",
            "\"db\"",
            crate::validation::NAME_NOT_TAKEN,
        );
        assert!(
            err.to_string().starts_with("3 invalid setting(s):"),
            "{err}"
        );
    }

    #[test]
    fn fails_on_several_settings_together() {
        let mut p = props();
        p.instance_type = "t3.medium".into();
        p.private_ips = ["10.0.16.10".into(), "10.0.16.10".into(), "x".into()];
        p.loop_wait = 20;
        p.backup_retain = 0;
        let err = p.validate("Db").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "private_ips[2]",
                "private_ips",
                "instance_type",
                "ttl",
                "backup_retain"
            ]
        );
        assert!(
            err.to_string().starts_with("5 invalid setting(s):"),
            "{err}"
        );
    }

    fn node_files(p: &PatroniClusterProps, index: usize) -> Vec<HostFile> {
        render_node_files(&NodeConfig {
            scope: "production-db",
            index,
            props: p,
        })
    }

    fn file<'a>(files: &'a [HostFile], path: &str) -> &'a HostFile {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
    }

    /// The strings of a YAML sequence.
    fn strings(v: &serde_yaml_ng::Value) -> Vec<&str> {
        v.as_sequence()
            .expect("a sequence")
            .iter()
            .filter_map(|s| s.as_str())
            .collect()
    }

    fn yaml(files: &[HostFile], path: &str) -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(&file(files, path).content).unwrap()
    }

    #[test]
    fn patroni_config_parses_back_with_timing_tls_and_pgbackrest() {
        let mut p = props();
        p.ttl = 40;
        p.loop_wait = 5;
        p.retry_timeout = 15;
        let files = node_files(&p, 1);
        let f = file(&files, PATRONI_CONFIG);
        assert_eq!((f.mode, f.owner.as_str()), (0o600, "postgres:postgres"));
        let y = yaml(&files, PATRONI_CONFIG);
        let dcs = &y["bootstrap"]["dcs"];
        assert_eq!(dcs["ttl"].as_u64(), Some(40));
        assert_eq!(dcs["loop_wait"].as_u64(), Some(5));
        assert_eq!(dcs["retry_timeout"].as_u64(), Some(15));
        assert_eq!(dcs["failsafe_mode"].as_bool(), Some(true));
        let params = &dcs["postgresql"]["parameters"];
        assert_eq!(
            params["archive_command"].as_str(),
            Some("pgbackrest --stanza=production-db archive-push %p")
        );
        assert_eq!(params["archive_mode"].as_bool(), Some(true));
        assert_eq!(
            params["shared_preload_libraries"].as_str(),
            Some("timescaledb")
        );
        assert_eq!(
            dcs["postgresql"]["recovery_conf"]["restore_command"].as_str(),
            Some("pgbackrest --stanza=production-db archive-get %f \"%p\"")
        );
        assert_eq!(y["scope"].as_str(), Some("production-db"));
        assert_eq!(y["name"].as_str(), Some("nodeb"));
        assert_eq!(
            y["postgresql"]["connect_address"].as_str(),
            Some("10.0.32.10:5432")
        );
        assert_eq!(
            y["restapi"]["connect_address"].as_str(),
            Some("10.0.32.10:8008")
        );
        assert_eq!(
            y["bootstrap"]["post_bootstrap"].as_str(),
            Some("/usr/local/lib/tracker/patroni-post-bootstrap.sh")
        );
        assert_eq!(
            strings(&y["etcd3"]["hosts"]),
            ["10.0.16.10:2379", "10.0.32.10:2379", "10.0.48.10:2379"]
        );
        let local = &y["postgresql"]["parameters"];
        assert_eq!(local["ssl"].as_bool(), Some(true));
        assert_eq!(
            local["ssl_key_file"].as_str(),
            Some("/var/lib/postgresql/tls/server.key")
        );
        let hba = strings(&y["postgresql"]["pg_hba"]);
        assert_eq!(strings(&y["bootstrap"]["pg_hba"]), hba);
        assert_eq!(
            hba,
            [
                "local all all peer",
                "hostssl replication replicator 10.0.16.10/32 scram-sha-256",
                "hostssl replication replicator 10.0.32.10/32 scram-sha-256",
                "hostssl replication replicator 10.0.48.10/32 scram-sha-256",
                "hostssl all all 0.0.0.0/0 scram-sha-256",
                "hostnossl all all 0.0.0.0/0 reject",
            ]
        );
        // Usernames only: passwords come from PATRONI_*_PASSWORD.
        let auth = &y["postgresql"]["authentication"];
        assert_eq!(auth["superuser"]["username"].as_str(), Some("postgres"));
        assert!(auth["superuser"]["password"].is_null());
        assert!(y["restapi"]["authentication"]["password"].is_null());
    }

    #[test]
    fn etcd_pgbackrest_cron_and_units_are_rendered() {
        let mut p = props();
        p.backup_retain = 7;
        p.backup_schedule = "30 2 * * *".into();
        let files = node_files(&p, 0);
        let etcd = yaml(&files, "/etc/etcd/etcd.conf.yml");
        assert_eq!(etcd["name"].as_str(), Some("nodea"));
        assert_eq!(
            etcd["initial-cluster"].as_str(),
            Some("nodea=http://10.0.16.10:2380,nodeb=http://10.0.32.10:2380,nodec=http://10.0.48.10:2380")
        );
        assert_eq!(
            etcd["listen-client-urls"].as_str(),
            Some("http://10.0.16.10:2379,http://127.0.0.1:2379")
        );
        assert_eq!(
            etcd["initial-cluster-token"].as_str(),
            Some("production-db")
        );
        assert_eq!(etcd["enable-grpc-gateway"].as_bool(), Some(true));
        let conf = &file(&files, PGBACKREST_CONFIG).content;
        for line in [
            "[global]",
            "repo1-type=s3",
            "repo1-path=/pgbackrest/production-db",
            "repo1-bundle=y",
            "repo1-retention-full=7",
            "[production-db]",
            "pg1-path=/var/lib/postgresql/17/main",
        ] {
            assert!(
                conf.lines().any(|l| l == line),
                "pgbackrest.conf lacks {line}"
            );
        }
        let cron = &file(&files, "/etc/cron.d/pgbackrest-backup").content;
        assert!(cron.contains(
            "30 2 * * * postgres /usr/local/lib/tracker/pgbackrest-backup.sh >> /var/log/pgbackrest/backup-cron.log 2>&1"
        ));
        let backup = &file(&files, "/usr/local/lib/tracker/pgbackrest-backup.sh").content;
        assert!(backup.contains("curl -sf -o /dev/null http://10.0.16.10:8008/primary || exit 0"));
        assert!(backup.contains("pgbackrest --stanza=production-db --type=full backup"));
        // After the backup (set -e: only when it succeeded), the success metric.
        let published = backup.find("--metric-name BackupSuccess").unwrap();
        assert!(published > backup.find("--type=full backup").unwrap());
        assert!(backup.contains("--namespace Tracker/Patroni"));
        assert!(backup.contains("--dimensions Cluster=production-db"));
        // Every minute, the primary publishes its replicas' lag.
        let cron = &file(&files, "/etc/cron.d/patroni-metrics").content;
        assert!(cron.contains(
            "* * * * * postgres /usr/local/lib/tracker/patroni-metrics.sh 2>&1 | logger -t patroni-metrics"
        ), "{cron}");
        let metrics = &file(&files, "/usr/local/lib/tracker/patroni-metrics.sh").content;
        for part in [
            "[ \"$(query 'SELECT pg_is_in_recovery()')\" = f ] || exit 0",
            "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)",
            "'Value', 'production-db'",
            "-p 5432",
            "--namespace Tracker/Patroni",
        ] {
            assert!(metrics.contains(part), "no {part} in {metrics}");
        }
        let unit = &file(&files, "/etc/systemd/system/patroni.service").content;
        assert!(unit.contains("EnvironmentFile=/etc/patroni/secrets.env\n"));
        assert!(unit.contains("User=postgres\n"));
        let unit = &file(&files, "/etc/systemd/system/etcd.service").content;
        assert!(unit.contains("ExecStart=/usr/bin/etcd --config-file /etc/etcd/etcd.conf.yml\n"));
        let owners = &file(&files, hostconfig::OWNERS_FILE).content;
        assert!(owners.contains("postgres:postgres /etc/patroni/config.yml\n"));
        assert!(owners.contains("root:postgres /etc/pgbackrest/pgbackrest.conf\n"));
    }

    #[test]
    fn only_the_environment_file_has_placeholders_and_no_file_has_a_password() {
        let files = node_files(&props(), 2);
        assert_eq!(files[0].path, hostconfig::ENV_FILE);
        assert_eq!(files[0].mode, 0o600);
        assert_eq!(
            hostconfig::placeholders(&files[0].content),
            NODE_ENV_INPUTS.iter().map(|s| s.to_string()).collect()
        );
        for f in &files[1..] {
            assert!(
                hostconfig::placeholders(&f.content).is_empty(),
                "{} has placeholders",
                f.path
            );
            assert!(
                !f.content.contains("password:"),
                "{} has a password",
                f.path
            );
        }
        let user_data = render_node_user_data(&NodeConfig {
            scope: "production-db",
            index: 2,
            props: &props(),
        });
        assert!(user_data.starts_with("#!/bin/bash\n"));
        assert!(user_data.ends_with("exec /usr/local/lib/tracker/patroni-boot.sh\n"));
        assert!(!user_data.contains("wal-g"));
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::testing::{synth, Template};
    use crate::wiring::{connect, Dependency};
    use cdk_from_rust::aws_cdk_lib::aws_ec2::SecurityGroupProps;

    #[test]
    fn fails_on_a_network_of_fewer_availability_zones_than_nodes() {
        synth(|stack| {
            let platform = crate::service::test_support::platform_over(stack, "production", 2);
            assert_eq!(platform.network.private_subnets.len(), 2);
            crate::testing::assert_only_rejection(
                PatroniCluster::new(
                    stack,
                    "Db",
                    &platform,
                    PatroniClusterProps::new(
                        [("eu-west-1", "ami-0123456789abcdef0")],
                        ["10.0.16.10", "10.0.32.10", "10.0.48.10"],
                    ),
                ),
                "PatroniCluster",
                "Db",
                "platform.network.max_azs",
                "2",
                "at least 3 (one node per availability zone)",
            );
        });
    }

    fn cluster(reader: bool) -> Template {
        synth(|stack| {
            let platform = crate::service::test_support::platform_over(stack, "production", 3);
            let mut props = PatroniClusterProps::new(
                [("eu-west-1", "ami-0123456789abcdef0")],
                ["10.0.16.10", "10.0.32.10", "10.0.48.10"],
            );
            props.reader_endpoint = reader;
            PatroniCluster::new(stack, "Db", &platform, props).unwrap();
            // A consumer declaring db:5432.
            let api_sg = SecurityGroup::new(
                stack,
                "ApiSg",
                SecurityGroupProps::new(platform.network.vpc),
            );
            let mut check = Check::new("Test", "api");
            let resolved = platform.registry.resolve(
                &mut check,
                "dependencies",
                &[Dependency::new("db", 5432)],
            );
            check.finish().unwrap();
            let env = connect("api", api_sg.into(), &resolved);
            assert_eq!(
                env["DB_HOST"].as_literal(),
                Some("db.production.tracker.internal")
            );
            // The server requires TLS: clients are told.
            assert_eq!(env["DB_SSLMODE"].as_literal(), Some("require"));
        })
    }

    fn logical_id_at(t: &Template, type_: &str, part: &str) -> String {
        t.resources(type_)
            .into_iter()
            .find(|(_, v)| {
                v["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .is_some_and(|p| p.contains(part))
            })
            .unwrap_or_else(|| panic!("no {type_} at {part}"))
            .0
            .clone()
    }

    #[test]
    fn synthesizes_the_cluster() {
        let t = cluster(false);

        // Three nodes, one per AZ, with the fixed IPs, IMDSv2, termination protection.
        let instances = t.resources("AWS::EC2::Instance");
        assert_eq!(instances.len(), 3);
        let mut azs = BTreeSet::new();
        for (node, ip) in NODE_IDS
            .iter()
            .zip(["10.0.16.10", "10.0.32.10", "10.0.48.10"])
        {
            let i = t.at_path("AWS::EC2::Instance", &format!("/Db/{node}/"));
            assert_eq!(i.len(), 1, "{node}");
            let p = &i[0]["Properties"];
            assert_eq!(p["PrivateIpAddress"], ip);
            assert_eq!(p["InstanceType"], "m7g.large");
            assert_eq!(p["ImageId"], "ami-0123456789abcdef0");
            assert_eq!(p["DisableApiTermination"], true);
            assert_eq!(p["MetadataOptions"]["HttpTokens"], "required");
            assert_eq!(p["MetadataOptions"]["HttpPutResponseHopLimit"], 2);
            assert!(p.get("KeyName").is_none());
            assert_eq!(p["BlockDeviceMappings"][0]["Ebs"]["Encrypted"], true);
            assert_eq!(p["BlockDeviceMappings"][0]["Ebs"]["VolumeType"], "gp3");
            azs.insert(p["AvailabilityZone"].as_str().unwrap().to_string());
            // The user data: the environment file with the CloudFormation values joined in,
            // then the packed files (the rendering is tested on `render_node_files`).
            let user_data = p["UserData"].to_string();
            for needle in [
                "DATA_VOLUME_ID='",
                "BACKUP_BUCKET='",
                "APP_SECRET_ARN='",
                "AWS::URLSuffix",
                "base64 -d <<'TRACKER_PAYLOAD'",
                "exec /usr/local/lib/tracker/patroni-boot.sh",
            ] {
                assert!(
                    user_data.contains(needle),
                    "{node} user data lacks {needle}"
                );
            }
            assert!(!user_data.contains("@@"), "unreplaced placeholder");
        }
        assert_eq!(
            azs.into_iter().collect::<Vec<_>>(),
            ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
        );
        // Data and etcd volumes.
        let volumes = t.resources("AWS::EC2::Volume");
        assert_eq!(volumes.len(), 6);
        for (_, v) in &volumes {
            assert_eq!(v["Properties"]["Encrypted"], true);
            assert_eq!(v["Properties"]["VolumeType"], "gp3");
            assert_eq!(v["DeletionPolicy"], "Snapshot");
            assert_eq!(v["UpdateReplacePolicy"], "Snapshot");
        }
        assert!(t.resources("AWS::EC2::VolumeAttachment").is_empty());
        assert_eq!(
            t.at_path("AWS::EC2::Volume", "/Db/NodeAData/")[0]["Properties"]["Size"],
            100
        );
        assert_eq!(
            t.at_path("AWS::EC2::Volume", "/Db/NodeAEtcd/")[0]["Properties"]["Size"],
            8
        );

        // The five credentials outlive the stack, like the volumes' snapshots.
        let secrets = t.resources("AWS::SecretsManager::Secret");
        assert_eq!(secrets.len(), 5);
        for (id, secret) in secrets {
            assert_eq!(secret["DeletionPolicy"], "Retain", "{id}");
            assert_eq!(secret["UpdateReplacePolicy"], "Retain", "{id}");
        }
        // The pgBackRest bucket: noncurrent versions expire.
        let bucket = &t.at_path("AWS::S3::Bucket", "/Db/Backups/")[0];
        assert_eq!(bucket["DeletionPolicy"], "Retain");
        assert_eq!(bucket["UpdateReplacePolicy"], "Retain");
        assert_eq!(
            bucket["Properties"]["VersioningConfiguration"]["Status"],
            "Enabled"
        );
        assert_eq!(
            bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                ["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
            "AES256"
        );
        assert_eq!(
            bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"],
            true
        );
        let rules = &bucket["Properties"]["LifecycleConfiguration"]["Rules"];
        assert_eq!(
            rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"],
            30
        );
        assert_eq!(rules[0]["Status"], "Enabled");

        // The writer target group: Patroni's /primary on 8008.
        let tgs = t.resources("AWS::ElasticLoadBalancingV2::TargetGroup");
        assert_eq!(tgs.len(), 1);
        let tg = &tgs[0].1["Properties"];
        assert_eq!(tg["Port"], 5432);
        assert_eq!(tg["Protocol"], "TCP");
        assert_eq!(tg["HealthCheckPort"], "8008");
        assert_eq!(tg["HealthCheckProtocol"], "HTTP");
        assert_eq!(tg["HealthCheckPath"], "/primary");
        assert_eq!(tg["HealthCheckIntervalSeconds"], 5);
        assert_eq!(tg["HealthCheckTimeoutSeconds"], 2);
        assert_eq!(tg["HealthyThresholdCount"], 3);
        assert_eq!(tg["UnhealthyThresholdCount"], 2);
        assert_eq!(tg["Matcher"]["HttpCode"], "200");
        assert_eq!(tg["Targets"].as_array().unwrap().len(), 3);
        assert_eq!(tg["Targets"][0]["Id"], "10.0.16.10");
        let attrs = tg["TargetGroupAttributes"].as_array().unwrap();
        let attr = |k: &str| {
            attrs
                .iter()
                .find(|a| a["Key"] == k)
                .unwrap_or_else(|| panic!("no {k}"))["Value"]
                .clone()
        };
        assert_eq!(attr("deregistration_delay.timeout_seconds"), "10");
        assert_eq!(
            attr("deregistration_delay.connection_termination.enabled"),
            "true"
        );
        let nlb = t.at_path("AWS::ElasticLoadBalancingV2::LoadBalancer", "/Db/Nlb/")[0];
        assert_eq!(nlb["Properties"]["Type"], "network");
        assert_eq!(nlb["Properties"]["Scheme"], "internal");
        assert_eq!(
            nlb["Properties"]["SecurityGroups"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let listeners = t.at_path("AWS::ElasticLoadBalancingV2::Listener", "/Db/Nlb/");
        assert_eq!(listeners.len(), 1);
        assert_eq!(listeners[0]["Properties"]["Port"], 5432);
        assert_eq!(listeners[0]["Properties"]["Protocol"], "TCP");

        // Security groups.
        let cluster_sg = logical_id_at(&t, "AWS::EC2::SecurityGroup", "/Db/ClusterSecurityGroup/");
        let nlb_sg = logical_id_at(&t, "AWS::EC2::SecurityGroup", "/Db/NlbSecurityGroup/");
        let api_sg = logical_id_at(&t, "AWS::EC2::SecurityGroup", "/ApiSg/");
        let sg_ref = |id: &str| serde_json::json!({ "Fn::GetAtt": [id, "GroupId"] });
        let ingress: Vec<&serde_json::Value> = t
            .resources("AWS::EC2::SecurityGroupIngress")
            .into_iter()
            .map(|(_, r)| &r["Properties"])
            .collect();
        let sources = |group: &str, port: u16| -> Vec<serde_json::Value> {
            ingress
                .iter()
                .filter(|r| {
                    r["GroupId"] == sg_ref(group)
                        && r["FromPort"].as_u64() <= Some(u64::from(port))
                        && r["ToPort"].as_u64() >= Some(u64::from(port))
                })
                .map(|r| r["SourceSecurityGroupId"].clone())
                .collect()
        };
        for etcd_port in [2379, 2380] {
            assert_eq!(sources(&cluster_sg, etcd_port), [sg_ref(&cluster_sg)]);
        }
        let etcd_rule = ingress.iter().find(|r| r["FromPort"] == 2379).unwrap();
        assert_eq!(etcd_rule["ToPort"], 2380);
        let mut api = sources(&cluster_sg, 8008);
        api.sort_by_key(|v| v.to_string());
        let mut expected = vec![sg_ref(&cluster_sg), sg_ref(&nlb_sg)];
        expected.sort_by_key(|v| v.to_string());
        assert_eq!(api, expected);
        assert!(sources(&cluster_sg, 5432).contains(&sg_ref(&nlb_sg)));
        // The declared consumer is let into the NLB on 5432.
        assert_eq!(sources(&nlb_sg, 5432), [sg_ref(&api_sg)]);

        // Secrets, role, alarms, name, outputs.
        assert_eq!(t.resources("AWS::SecretsManager::Secret").len(), 5);
        let app = &t.at_path("AWS::SecretsManager::Secret", "/Db/AppSecret/")[0];
        let template = app["Properties"]["GenerateSecretString"]["SecretStringTemplate"]
            .as_str()
            .unwrap();
        let template: serde_json::Value = serde_json::from_str(template).unwrap();
        assert_eq!(template["host"], "db.production.tracker.internal");
        assert_eq!(template["port"], 5432);
        assert_eq!(template["dbname"], "tracker");
        let role = &t.at_path("AWS::IAM::Role", "/Db/Role/")[0];
        let managed = role["Properties"]["ManagedPolicyArns"].to_string();
        assert!(managed.contains("AmazonSSMManagedInstanceCore"));
        assert!(managed.contains("CloudWatchAgentServerPolicy"));
        let policies = t.resources("AWS::IAM::Policy");
        let policy_text = serde_json::to_string(&policies).unwrap();
        for action in [
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "secretsmanager:GetSecretValue",
            "ec2:AttachVolume",
        ] {
            assert!(policy_text.contains(action), "policy lacks {action}");
        }
        assert!(policy_text.contains("/pgbackrest/production-db/*"));

        let alarms = t.resources("AWS::CloudWatch::Alarm");
        assert_eq!(
            alarms.len(),
            11,
            "the cluster's 10 and the platform's ALB 5xx"
        );
        let status: Vec<_> = alarms
            .iter()
            .filter(|(_, a)| a["Properties"]["MetricName"] == "StatusCheckFailed_System")
            .collect();
        assert_eq!(status.len(), 3);
        for (_, a) in &status {
            assert!(a["Properties"]["AlarmActions"]
                .to_string()
                .contains("ec2:recover"));
        }
        let disk: Vec<_> = alarms
            .iter()
            .filter(|(_, a)| a["Properties"]["MetricName"] == "disk_used_percent")
            .collect();
        assert_eq!(disk.len(), 3);
        assert_eq!(disk[0].1["Properties"]["Namespace"], "CWAgent");
        let healthy = alarms
            .iter()
            .find(|(_, a)| a["Properties"]["MetricName"] == "HealthyHostCount")
            .unwrap()
            .1;
        assert_eq!(healthy["Properties"]["Threshold"], 1);
        assert_eq!(
            healthy["Properties"]["ComparisonOperator"],
            "LessThanThreshold"
        );

        // What the nodes publish: lag above 256 MiB for 5 minutes, fewer than 2 streaming
        // replicas, no successful backup in 26 hours (silence counts as none).
        let published = |name: &str| {
            let found: Vec<_> = alarms
                .iter()
                .filter(|(_, a)| a["Properties"]["MetricName"] == name)
                .collect();
            assert_eq!(found.len(), 1, "{name}");
            let p = &found[0].1["Properties"];
            assert_eq!(p["Namespace"], METRICS_NAMESPACE, "{name}");
            assert_eq!(
                p["Dimensions"],
                serde_json::json!([{ "Name": "Cluster", "Value": "production-db" }]),
                "{name}"
            );
            assert_eq!(
                p["AlarmActions"].as_array().map(Vec::len),
                Some(1),
                "{name}"
            );
            assert_eq!(p["OKActions"], p["AlarmActions"], "{name}");
            p.clone()
        };
        let lag = published("ReplicationLagBytes");
        assert_eq!(lag["Threshold"], 256.0 * 1024.0 * 1024.0);
        assert_eq!(lag["EvaluationPeriods"], 5);
        assert_eq!(lag["Statistic"], "Maximum");
        assert_eq!(lag["TreatMissingData"], "notBreaching");
        let streaming = published("StreamingReplicas");
        assert_eq!(streaming["Threshold"], 2);
        assert_eq!(streaming["ComparisonOperator"], "LessThanThreshold");
        let backup = published("BackupSuccess");
        assert_eq!(backup["Period"], 3600);
        assert_eq!(backup["EvaluationPeriods"], 26);
        assert_eq!(backup["Threshold"], 1);
        assert_eq!(backup["ComparisonOperator"], "LessThanThreshold");
        assert_eq!(backup["TreatMissingData"], "breaching");
        // Publishing is allowed to that namespace only.
        assert!(
            policy_text.contains(r#""cloudwatch:namespace":"Tracker/Patroni""#),
            "{policy_text}"
        );

        let service = t.one("AWS::ServiceDiscovery::Service");
        assert_eq!(service["Properties"]["Name"], "db");
        assert_eq!(
            service["Properties"]["DnsConfig"]["DnsRecords"][0]["Type"],
            "CNAME"
        );
        assert_eq!(t.resources("AWS::ServiceDiscovery::Instance").len(), 1);

        let outputs = t.0["Outputs"].as_object().unwrap();
        let has = |part: &str| outputs.keys().any(|k| k.contains(part));
        for part in [
            "WriterEndpoint",
            "ClientSecurityGroupId",
            "SuperuserSecretArn",
            "ReplicationSecretArn",
            "RewindSecretArn",
            "RestApiSecretArn",
            "AppSecretArn",
            "BackupBucketName",
        ] {
            assert!(has(part), "no output {part}");
        }
        assert!(!has("ReaderEndpoint"));
    }

    #[test]
    fn reader_endpoint_adds_a_replica_listener() {
        let t = cluster(true);
        let tgs = t.resources("AWS::ElasticLoadBalancingV2::TargetGroup");
        assert_eq!(tgs.len(), 2);
        let reader = &t.at_path(
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            "/Db/ReaderTargets/",
        )[0];
        assert_eq!(reader["Properties"]["HealthCheckPath"], "/replica");
        let ports: BTreeSet<u64> = t
            .at_path("AWS::ElasticLoadBalancingV2::Listener", "/Db/Nlb/")
            .iter()
            .filter_map(|l| l["Properties"]["Port"].as_u64())
            .collect();
        assert_eq!(ports, BTreeSet::from([5432, 5433]));
        let outputs = t.0["Outputs"].as_object().unwrap();
        assert!(outputs.keys().any(|k| k.contains("ReaderEndpoint")));
    }
}
