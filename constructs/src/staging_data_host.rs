//! `StagingDataHost`: staging's PostgreSQL (TimescaleDB, PostGIS) and Valkey on one EC2 host.
//!
//! Creates:
//! - one EC2 instance (default `t4g.large`, arm64) in the first private subnet, no public IP,
//!   IMDSv2 required (hop limit 2), no key pair (SSM Session Manager instead), termination
//!   protection on, an encrypted gp3 root volume, a pinned AMI (`MachineImage.genericLinux`, never
//!   an SSM "latest" lookup, which would replace the host when a new image ships);
//! - a separate encrypted gp3 data volume (default 50 GiB) in the instance's AZ with
//!   `DeletionPolicy`/`UpdateReplacePolicy` Snapshot. It is attached by the user data, by volume
//!   id, once it is available (no `AWS::EC2::VolumeAttachment`: CloudFormation creates a
//!   replacement before deleting the old resource, and the attachment would fail "in use"); the
//!   instance role may attach only volumes carrying the grant's tag;
//! - user data (bash, rendered by [`render_user_data`]) that formats the data volume only when
//!   it has no file system, mounts it by UUID with `nofail` at `/data`, installs PostgreSQL from
//!   PGDG, TimescaleDB (Timescale's packagecloud repository), PostGIS 3, Valkey and the CloudWatch
//!   agent, configures them from the files of [`render_host_files`] (PostgreSQL with TLS and a
//!   `pg_hba` admitting network clients only over TLS, so `db` consumers get
//!   `DB_SSLMODE=require`; Valkey), and creates the application role and database from the
//!   secrets;
//! - three generated secrets: the postgres superuser, the application user (JSON `username`,
//!   `password`, `host`, `port`, `dbname`) and the Valkey password; the instance role may read
//!   exactly these; retained when the stack is deleted (the data volume's snapshot is unusable
//!   without them);
//! - a security group with no ingress until consumers declare `db:5432` / `redis:<port>` (never
//!   port 22); egress open (apt repositories, Secrets Manager, SSM, CloudWatch);
//! - the names `db` and `redis` as Cloud Map services (DNS A records) in the platform namespace,
//!   each with one IP instance: the host's private address; endpoints `db` and `redis` in the
//!   platform registry;
//! - daily snapshots of the data volume with AWS Backup (kept 7 days): Data Lifecycle Manager is
//!   not in the bindings, and AWS Backup also gives a vault and restore jobs;
//! - alarms: system status check failed (recover action) and `/data` disk use above 80 %.

use std::collections::BTreeMap;

use cdk_from_rust::aws_cdk_lib::aws_backup::{
    BackupPlan, BackupPlanProps, BackupPlanRule, BackupPlanRuleProps, BackupResource,
    BackupSelectionOptions,
};
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    Alarm, AlarmProps, AlarmPropsRequired, ComparisonOperator, Metric, MetricProps,
    MetricPropsRequired, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch_actions::{Ec2Action, Ec2InstanceAction};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    BlockDevice, BlockDeviceRequired, BlockDeviceVolume, EbsDeviceOptions, EbsDeviceVolumeType,
    HttpTokens, Instance, InstanceProps, InstancePropsRequired, InstanceType, MachineImage,
    SecurityGroup, SecurityGroupProps, SubnetSelection, UserData, Volume, VolumeProps,
};
use cdk_from_rust::aws_cdk_lib::aws_events::{CronOptions, Schedule};
use cdk_from_rust::aws_cdk_lib::aws_iam::{
    PolicyStatement, PolicyStatementProps, Role, RoleProps, ServicePrincipal,
};
use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::{Secret, SecretProps, SecretStringGenerator};
use cdk_from_rust::aws_cdk_lib::aws_servicediscovery::{
    DnsRecordType, IpInstanceBaseProps, Service as CloudMapService, ServiceProps as CloudMapProps,
};
use cdk_from_rust::aws_cdk_lib::{
    ArnComponents, ArnComponentsRequired, Duration, RemovalPolicy, Size, Stack,
};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsString;

use crate::hostconfig::{self, fill_script, HostFile, PgValue};
use crate::monitoring::{self, AlarmSpec};
use crate::patroni::{self, aws_managed_policy};
use crate::platform::Platform;
use crate::statefulness::{self, Holds};
use crate::validation::{
    is_ami_id, is_instance_type, is_pg_identifier, is_region, Check, ValidationErrors,
};
use crate::wiring::Endpoint;

/// PostgreSQL's port.
pub const POSTGRES_PORT: u16 = 5432;
/// Where the data volume is mounted.
pub const DATA_MOUNT: &str = "/data";
/// The root volume size; the data lives on the data volume.
const ROOT_VOLUME_GIB: u32 = 20;
/// The disk-use alarm threshold, percent.
pub const DISK_ALARM_PERCENT: u32 = 80;
/// PostgreSQL majors that PGDG and TimescaleDB 2 both ship for Ubuntu 24.04.
const POSTGRES_VERSIONS: [u32; 3] = [15, 16, 17];

/// Valkey's `maxmemory-policy`: what happens when `maxmemory` is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MaxmemoryPolicy {
    /// Refuse writes when full; nothing is evicted (queues must not lose jobs).
    #[default]
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl MaxmemoryPolicy {
    /// The valkey.conf value.
    pub fn as_str(&self) -> &'static str {
        match self {
            MaxmemoryPolicy::NoEviction => "noeviction",
            MaxmemoryPolicy::AllKeysLru => "allkeys-lru",
            MaxmemoryPolicy::AllKeysLfu => "allkeys-lfu",
            MaxmemoryPolicy::AllKeysRandom => "allkeys-random",
            MaxmemoryPolicy::VolatileLru => "volatile-lru",
            MaxmemoryPolicy::VolatileLfu => "volatile-lfu",
            MaxmemoryPolicy::VolatileRandom => "volatile-random",
            MaxmemoryPolicy::VolatileTtl => "volatile-ttl",
        }
    }
}

/// Props of [`StagingDataHost`].
#[derive(Clone, Debug)]
pub struct StagingDataHostProps {
    /// The pinned AMI per region (`eu-west-1` -> `ami-...`), an Ubuntu 24.04 image of the instance
    /// type's architecture (arm64 for the default `t4g.large`). Required, at least one region.
    /// Changing it replaces the host (the data volume survives and is re-attached).
    pub machine_image_ids: BTreeMap<String, String>,
    /// The EC2 instance type. Defaults to `t4g.large` (2 vCPU, 8 GiB, arm64, burstable).
    pub instance_type: String,
    /// Size of the data volume in GiB (20-16384). Defaults to 50 GiB.
    pub data_volume_gib: u32,
    /// PostgreSQL major version (15, 16 or 17), from PGDG. Defaults to 17, as in production:
    /// dump/restore between the two needs matching PostgreSQL and TimescaleDB.
    pub postgres_version: u32,
    /// TimescaleDB major version (the package `timescaledb-<major>-postgresql-<pg>`, community
    /// edition). Defaults to 2, the only major published.
    pub timescaledb_major: u32,
    /// The port Valkey listens on (1024-65535, not 5432). Defaults to 6379.
    pub valkey_port: u16,
    /// What Valkey does when `maxmemory` (a quarter of the RAM) is reached. Defaults to
    /// `noeviction`: writes fail rather than silently dropping queued jobs.
    pub maxmemory_policy: MaxmemoryPolicy,
    /// The application's database (a lower-case PostgreSQL identifier). Defaults to `tracker`.
    pub database_name: String,
    /// The application's login role (a lower-case PostgreSQL identifier, not `postgres`).
    /// Defaults to `tracker`.
    pub app_username: String,
}

impl StagingDataHostProps {
    /// Props with the pinned AMI for `region` and the documented defaults.
    pub fn new(region: &str, machine_image_id: &str) -> Self {
        StagingDataHostProps {
            machine_image_ids: BTreeMap::from([(region.to_string(), machine_image_id.to_string())]),
            instance_type: "t4g.large".to_string(),
            data_volume_gib: 50,
            postgres_version: 17,
            timescaledb_major: 2,
            valkey_port: 6379,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            database_name: "tracker".to_string(),
            app_username: "tracker".to_string(),
        }
    }

    /// Checks every prop; all problems are reported together.
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("StagingDataHost", id);
        if self.machine_image_ids.is_empty() {
            c.fail(
                "machine_image_ids",
                &self.machine_image_ids,
                "at least one region with its pinned AMI, e.g. eu-west-1 -> ami-0123456789abcdef0",
            );
        }
        for (region, ami) in &self.machine_image_ids {
            c.require(
                is_region(region),
                "machine_image_ids",
                region,
                "an AWS region name such as eu-west-1",
            );
            c.require(
                is_ami_id(ami),
                &format!("machine_image_ids[{region}]"),
                ami,
                "a pinned AMI id: `ami-` followed by 8 or 17 lower-case hex digits",
            );
        }
        c.require(
            is_instance_type(&self.instance_type),
            "instance_type",
            &self.instance_type,
            "an EC2 instance type `<family>.<size>`, e.g. t4g.large",
        );
        c.require(
            (20..=16384).contains(&self.data_volume_gib),
            "data_volume_gib",
            self.data_volume_gib,
            "20-16384 GiB",
        );
        c.require(
            POSTGRES_VERSIONS.contains(&self.postgres_version),
            "postgres_version",
            self.postgres_version,
            "15, 16 or 17 (PGDG and TimescaleDB 2 packages for Ubuntu 24.04)",
        );
        c.require(
            self.timescaledb_major == 2,
            "timescaledb_major",
            self.timescaledb_major,
            "2 (the TimescaleDB major published for these PostgreSQL versions)",
        );
        c.require(
            self.valkey_port >= 1024 && self.valkey_port != POSTGRES_PORT,
            "valkey_port",
            self.valkey_port,
            "1024-65535, other than PostgreSQL's 5432",
        );
        c.require(
            is_pg_identifier(&self.database_name),
            "database_name",
            &self.database_name,
            "a lower-case PostgreSQL identifier: 1-63 of a-z, 0-9, _, not starting with a digit",
        );
        c.require(
            is_pg_identifier(&self.app_username) && self.app_username != "postgres",
            "app_username",
            &self.app_username,
            "a lower-case PostgreSQL identifier: 1-63 of a-z, 0-9, _, not starting with a digit, \
             other than `postgres`",
        );
        c.finish()
    }
}

/// What the host's files are rendered from (the props that shape them).
#[derive(Clone, Debug)]
pub struct UserDataSettings {
    pub postgres_version: u32,
    pub timescaledb_major: u32,
    pub valkey_port: u16,
    pub maxmemory_policy: MaxmemoryPolicy,
    /// The application database, created at first boot.
    pub database_name: String,
    /// The application role, owner of `database_name`.
    pub app_username: String,
}

impl From<&StagingDataHostProps> for UserDataSettings {
    fn from(p: &StagingDataHostProps) -> Self {
        UserDataSettings {
            postgres_version: p.postgres_version,
            timescaledb_major: p.timescaledb_major,
            valkey_port: p.valkey_port,
            maxmemory_policy: p.maxmemory_policy,
            database_name: p.database_name.clone(),
            app_username: p.app_username.clone(),
        }
    }
}

/// The deploy-time values of the host's environment file ([`hostconfig::ENV_FILE`]): each
/// appears there as `@@NAME@@` and is replaced by a CloudFormation value in the user data.
pub const USER_DATA_INPUTS: [&str; 5] = [
    "AWS_REGION",
    "DATA_VOLUME_ID",
    "PG_SUPERUSER_SECRET_ARN",
    "APP_SECRET_ARN",
    "VALKEY_SECRET_ARN",
];

/// Where PostgreSQL's TLS certificate and key live (on the data volume).
pub const TLS_DIR: &str = "/data/postgresql/tls";

const SCRIPT_STAGING_BOOT: &str = include_str!("../scripts/staging-boot.sh");

/// The PostgreSQL settings of the staging host (installed into the cluster's `conf.d`; the
/// boot script adds `listen_addresses` with the host's private address).
pub fn postgresql_parameters(settings: &UserDataSettings) -> Vec<(&'static str, PgValue)> {
    let _ = settings;
    vec![
        ("port", u32::from(POSTGRES_PORT).into()),
        ("password_encryption", "scram-sha-256".into()),
        ("shared_preload_libraries", "timescaledb".into()),
        ("timescaledb.telemetry_level", "off".into()),
        ("ssl", true.into()),
        ("ssl_cert_file", format!("{TLS_DIR}/server.crt").into()),
        ("ssl_key_file", format!("{TLS_DIR}/server.key").into()),
        ("hba_file", "/etc/tracker/postgresql/pg_hba.conf".into()),
    ]
}

/// Every file of the staging host, in the order the user data writes them: the environment
/// file first (its `@@NAME@@` placeholders are [`USER_DATA_INPUTS`]), the owners manifest last.
pub fn render_host_files(settings: &UserDataSettings) -> Vec<HostFile> {
    let env = hostconfig::env_file(
        "StagingDataHost: deploy-time values (CloudFormation)",
        &USER_DATA_INPUTS.map(|n| (n, format!("@@{n}@@"))),
    );
    let mut files = vec![HostFile::new(hostconfig::ENV_FILE, 0o600, "root:root", env)];
    files.extend(patroni::common_scripts(
        &settings.app_username,
        &settings.database_name,
    ));
    let data_volume_dropin =
        hostconfig::Ini::new("rendered by tracker-constructs: the data volume first")
            .section("Unit", [("RequiresMountsFor", DATA_MOUNT)])
            .section("Service", [("ReadWritePaths", DATA_MOUNT)])
            .to_string();
    let hba: String = hostconfig::tls_only_hba(&[], None)
        .iter()
        .map(|r| format!("{r}\n"))
        .collect();
    files.extend([
        HostFile::script(
            "staging-boot.sh",
            fill_script(
                "staging-boot.sh",
                SCRIPT_STAGING_BOOT,
                &[
                    ("SCRIPT_DIR", hostconfig::SCRIPT_DIR.to_string()),
                    ("PG_VERSION", settings.postgres_version.to_string()),
                    ("TIMESCALEDB_MAJOR", settings.timescaledb_major.to_string()),
                    ("DATA_MOUNT", DATA_MOUNT.to_string()),
                    ("VALKEY_PORT", settings.valkey_port.to_string()),
                ],
            ),
        ),
        HostFile::new(
            "/etc/tracker/postgresql/50-tracker.conf",
            0o644,
            "root:root",
            hostconfig::postgresql_conf(
                "StagingDataHost PostgreSQL: rendered by tracker-constructs (staging_data_host.rs)",
                &postgresql_parameters(settings),
            ),
        ),
        HostFile::new(
            "/etc/tracker/postgresql/pg_hba.conf",
            0o640,
            "postgres:postgres",
            format!(
                "# StagingDataHost pg_hba: TLS required over the network (the security group \
                 admits only declared consumers)\n{hba}"
            ),
        ),
        HostFile::new(
            "/etc/valkey/tracker.conf",
            0o640,
            "root:valkey",
            hostconfig::ValkeyConfig {
                port: settings.valkey_port,
                protected_mode: true,
                dir: format!("{DATA_MOUNT}/valkey"),
                appendonly: true,
                maxmemory_policy: settings.maxmemory_policy.as_str().to_string(),
                includes: vec!["/etc/valkey/tracker-boot.conf".to_string()],
            }
            .to_string(),
        ),
        HostFile::new(
            "/etc/systemd/system/postgresql@.service.d/data-volume.conf",
            0o644,
            "root:root",
            data_volume_dropin.clone(),
        ),
        HostFile::new(
            "/etc/systemd/system/valkey-server.service.d/data-volume.conf",
            0o644,
            "root:root",
            data_volume_dropin,
        ),
        HostFile::new(
            "/etc/tracker/cloudwatch-agent.json",
            0o644,
            "root:root",
            patroni::cloudwatch_agent_json(&[DATA_MOUNT]),
        ),
    ]);
    let owners = hostconfig::owners_manifest(&files);
    files.push(owners);
    files
}

/// The host's bash user data: writes [`render_host_files`] and runs `staging-boot.sh`. The
/// environment file's `@@NAME@@` placeholders remain, for [`hostconfig::join_tokens`].
pub fn render_user_data(settings: &UserDataSettings) -> String {
    hostconfig::user_data_script(
        "StagingDataHost",
        &render_host_files(settings),
        &format!("{}/staging-boot.sh", hostconfig::SCRIPT_DIR),
    )
}

/// Memory use (CWAgent `mem_used_percent`) above which, for 15 minutes, the host alarms.
pub const MEMORY_ALARM_PERCENT: u32 = 90;

/// The host's memory alarm and its dashboard row (CPU, memory, data-volume use).
fn host_memory_and_dashboard(scope: Construct, platform: &Platform, id: &str, instance: Instance) {
    let agent = |name: &str, dimensions: Vec<(&str, JsString)>| {
        Metric::new(
            MetricProps::new(MetricPropsRequired {
                metric_name: name,
                namespace: "CWAgent",
            })
            .dimensions_map(dimensions)
            .statistic("Maximum")
            .period(Duration::minutes(5)),
        )
    };
    let memory = agent(
        "mem_used_percent",
        vec![("InstanceId", instance.instance_id())],
    );
    monitoring::alarm(
        scope,
        &platform.alerts,
        AlarmSpec {
            id: "MemoryAlarm".into(),
            metric: memory.into(),
            threshold: f64::from(MEMORY_ALARM_PERCENT),
            evaluation_periods: 3,
            comparison: ComparisonOperator::GreaterThanThreshold,
            missing_data: TreatMissingData::Missing,
            description: format!(
                "StagingDataHost {id}: memory above {MEMORY_ALARM_PERCENT} % for 15 minutes \
                 (PostgreSQL and Valkey share the host; Valkey's maxmemory is a quarter of it). \
                 A larger instance type: db.instanceType."
            ),
        },
    );
    let disk = agent(
        "disk_used_percent",
        vec![
            ("InstanceId", instance.instance_id()),
            ("path", DATA_MOUNT.into()),
            ("fstype", "ext4".into()),
        ],
    );
    let cpu = Metric::new(
        MetricProps::new(MetricPropsRequired {
            metric_name: "CPUUtilization",
            namespace: "AWS/EC2",
        })
        .dimensions_map([("InstanceId", instance.instance_id())])
        .statistic("Average")
        .period(Duration::minutes(5)),
    );
    platform.dashboard.add_row(
        &format!("{id} (staging data host: db, redis)"),
        vec![
            ("CPU %".into(), vec![cpu.into()]),
            ("Memory %".into(), vec![memory.into()]),
            (format!("{DATA_MOUNT} used %"), vec![disk.into()]),
        ],
    );
}

/// Staging's data host: PostgreSQL + TimescaleDB + PostGIS and Valkey on one EC2 instance.
#[derive(Clone, Debug)]
pub struct StagingDataHost {
    pub instance: Instance,
    pub role: Role,
    pub data_volume: Volume,
    /// The host's group: consumers get 5432 / the Valkey port through the registry.
    pub security_group: SecurityGroup,
    /// `{"username": "postgres", "password": ...}`.
    pub superuser_secret: Secret,
    /// `{"username", "password", "host", "port", "dbname"}` of the application role.
    pub app_secret: Secret,
    /// The Valkey password (the whole secret string).
    pub valkey_secret: Secret,
    pub backup_plan: BackupPlan,
    pub status_check_alarm: Alarm,
    pub disk_alarm: Alarm,
    /// `db` (host `db.<namespace>`, 5432).
    pub db_endpoint: Endpoint,
    /// `redis` (host `redis.<namespace>`, the Valkey port).
    pub redis_endpoint: Endpoint,
}

impl StagingDataHost {
    /// Validates `props`, adds the host to `scope` and registers `db` and `redis`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: StagingDataHostProps,
    ) -> Result<StagingDataHost, ValidationErrors> {
        // The props and the names, reported together, before anything is created.
        let mut c = Check::new("StagingDataHost", id);
        for name in ["db", "redis"] {
            platform.registry.require_free(&mut c, "name", name);
        }
        ValidationErrors::collect([props.validate(id), c.finish()])?;
        let scope = Construct::new(scope, id);
        let vpc = platform.network.vpc;
        let namespace = &platform.namespace;
        let db_host = format!("db.{namespace}");
        let redis_host = format!("redis.{namespace}");

        // The host lives in one private subnet; the data volume in the same AZ.
        let subnet = platform.network.private_subnets[0];
        let az = subnet.availability_zone();

        let security_group = SecurityGroup::new(
            scope,
            "SecurityGroup",
            SecurityGroupProps::new(vpc)
                .description(format!(
                    "StagingDataHost {id}: PostgreSQL and Valkey, from declared consumers only"
                ))
                .allow_all_outbound(true),
        );

        // Secrets.
        let generated = |template: Option<serde_json::Value>| {
            let g = SecretStringGenerator::new()
                .exclude_punctuation(true)
                .password_length(32);
            match template {
                Some(t) => g
                    .secret_string_template(t.to_string())
                    .generate_string_key("password"),
                None => g,
            }
        };
        let superuser_secret = Secret::new_with(
            scope,
            "SuperuserSecret",
            SecretProps::new()
                .description(format!("StagingDataHost {id}: PostgreSQL superuser"))
                .removal_policy(RemovalPolicy::Retain)
                .generate_secret_string(generated(Some(
                    serde_json::json!({ "username": "postgres" }),
                ))),
        );
        let app_secret = Secret::new_with(
            scope,
            "AppSecret",
            SecretProps::new()
                .description(format!("StagingDataHost {id}: application database user"))
                .removal_policy(RemovalPolicy::Retain)
                .generate_secret_string(generated(Some(serde_json::json!({
                    "username": props.app_username,
                    "host": db_host,
                    "port": POSTGRES_PORT,
                    "dbname": props.database_name,
                })))),
        );
        let valkey_secret = Secret::new_with(
            scope,
            "ValkeySecret",
            SecretProps::new()
                .description(format!("StagingDataHost {id}: Valkey password"))
                .removal_policy(RemovalPolicy::Retain)
                .generate_secret_string(generated(None)),
        );

        // The role: SSM, CloudWatch agent, its own secrets, attaching its data volume.
        let role = Role::new(
            scope,
            "Role",
            RoleProps::new(ServicePrincipal::new("ec2.amazonaws.com"))
                .description(format!("StagingDataHost {id}: the host"))
                .managed_policies(
                    [
                        "AmazonSSMManagedInstanceCore",
                        "CloudWatchAgentServerPolicy",
                    ]
                    .map(|name| aws_managed_policy(scope, name)),
                ),
        );
        for secret in [superuser_secret, app_secret, valkey_secret] {
            secret.grant_read(role);
        }
        role.add_to_policy(PolicyStatement::new_with(
            PolicyStatementProps::new()
                .actions(["ec2:DescribeVolumes"])
                .resources(["*"]),
        ));

        // The data volume, snapshotted when removed or replaced.
        let data_volume = Volume::new(
            scope,
            "DataVolume",
            VolumeProps::new(az.clone())
                .size(Size::gibibytes(props.data_volume_gib))
                .volume_type(EbsDeviceVolumeType::Gp3)
                .encrypted(true)
                .removal_policy(RemovalPolicy::Snapshot)
                .volume_name(format!("{id}-data")),
        );

        // The user data: the rendered files, the environment file joined with CloudFormation
        // values.
        let stack = Stack::of(scope);
        let tokens: [JsString; 5] = [
            stack.region(),
            data_volume.volume_id(),
            superuser_secret.secret_arn(),
            app_secret.secret_arn(),
            valkey_secret.secret_arn(),
        ];
        let user_data = UserData::custom(hostconfig::join_tokens(
            &render_user_data(&UserDataSettings::from(&props)),
            &USER_DATA_INPUTS
                .iter()
                .copied()
                .zip(tokens)
                .collect::<Vec<_>>(),
        ));

        let machine_image = MachineImage::generic_linux(
            props
                .machine_image_ids
                .iter()
                .map(|(r, a)| (r.clone(), a.clone())),
        );
        let instance = Instance::new(
            scope,
            "Instance",
            InstanceProps::new(InstancePropsRequired {
                instance_type: InstanceType::new(props.instance_type.as_str()),
                machine_image,
                vpc,
            })
            .vpc_subnets(SubnetSelection::new().subnets([subnet]))
            .availability_zone(az)
            .associate_public_ip_address(false)
            .security_group(security_group)
            .role(role)
            .user_data(user_data)
            .http_endpoint(true)
            .http_tokens(HttpTokens::Required)
            .http_put_response_hop_limit(2)
            .disable_api_termination(true)
            .block_devices([BlockDevice::new(BlockDeviceRequired {
                device_name: "/dev/sda1",
                volume: BlockDeviceVolume::ebs_with(
                    ROOT_VOLUME_GIB,
                    EbsDeviceOptions::new()
                        .volume_type(EbsDeviceVolumeType::Gp3)
                        .encrypted(true)
                        .delete_on_termination(true),
                ),
            })]),
        );
        // ec2:AttachVolume only for this volume and this instance (matched by a grant tag).
        data_volume.grant_attach_volume_by_resource_tag(role, [instance]);
        // For the change review: the host is replaceable, the volume holds the data.
        statefulness::declare(
            instance.node(),
            Holds::Compute,
            "PostgreSQL and Valkey keep their files on the data volume (DataVolume, snapshotted \
             on removal), which a replacement host mounts",
        );
        statefulness::declare(
            data_volume.node(),
            Holds::Data,
            "the PostgreSQL and Valkey files",
        );

        // Daily snapshots of the data volume, kept 7 days.
        let backup_plan = BackupPlan::new_with(
            scope,
            "Backup",
            BackupPlanProps::new().backup_plan_rules([BackupPlanRule::new(
                BackupPlanRuleProps::new()
                    .rule_name("Daily")
                    .schedule_expression(Schedule::cron(CronOptions::new().hour("3").minute("0")))
                    .delete_after(Duration::days(7)),
            )]),
        );
        let volume_arn = stack.format_arn(
            ArnComponents::new(ArnComponentsRequired {
                resource: "volume",
                service: "ec2",
            })
            .resource_name(data_volume.volume_id()),
        );
        backup_plan.add_selection(
            "DataVolume",
            BackupSelectionOptions::new([BackupResource::from_arn(volume_arn)]),
        );

        // Names in the platform namespace: db and redis -> the host's private address.
        let cloud_map_namespace = platform.cloud_map;
        for (name, construct_id) in [("db", "DbName"), ("redis", "RedisName")] {
            let service = CloudMapService::new(
                scope,
                construct_id,
                CloudMapProps::new(cloud_map_namespace)
                    .name(name)
                    .dns_record_type(DnsRecordType::A)
                    .dns_ttl(Duration::seconds(30))
                    .description(format!("StagingDataHost {id}: {name}")),
            );
            service.register_ip_instance(
                "Host",
                IpInstanceBaseProps::new().ipv4(instance.instance_private_ip()),
            );
        }

        // Alarms.
        let status_check_alarm = Alarm::new(
            scope,
            "SystemStatusCheckAlarm",
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
                "StagingDataHost {id}: system status check failed; the instance is recovered"
            )),
        );
        status_check_alarm.add_alarm_action([Ec2Action::new(Ec2InstanceAction::Recover)]);
        platform.alerts.notify(status_check_alarm);
        let disk_alarm = Alarm::new(
            scope,
            "DataDiskAlarm",
            AlarmProps::new(AlarmPropsRequired {
                evaluation_periods: 2,
                metric: Metric::new(
                    MetricProps::new(MetricPropsRequired {
                        metric_name: "disk_used_percent",
                        namespace: "CWAgent",
                    })
                    .dimensions_map([
                        ("InstanceId", instance.instance_id()),
                        ("path", DATA_MOUNT.into()),
                        ("fstype", "ext4".into()),
                    ])
                    .statistic("Maximum")
                    .period(Duration::minutes(5)),
                ),
                threshold: DISK_ALARM_PERCENT,
            })
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data(TreatMissingData::Missing)
            .alarm_description(format!(
                "StagingDataHost {id}: {DATA_MOUNT} is more than {DISK_ALARM_PERCENT} % full"
            )),
        );
        platform.alerts.notify(disk_alarm);
        host_memory_and_dashboard(scope, platform, id, instance);

        // Endpoints for typed wiring.
        let db_endpoint = Endpoint {
            name: "db".to_string(),
            host: db_host.into(),
            ports: vec![POSTGRES_PORT],
            security_group: security_group.into(),
            service_connect_only: false,
            tls: true,
            client_environment: crate::wiring::postgres_client_environment(),
        };
        let redis_endpoint = Endpoint {
            name: "redis".to_string(),
            host: redis_host.into(),
            ports: vec![props.valkey_port],
            security_group: security_group.into(),
            service_connect_only: false,
            tls: false,
            client_environment: Default::default(),
        };
        let mut c = Check::new("StagingDataHost", id);
        platform.registry.register(&mut c, db_endpoint.clone());
        platform.registry.register(&mut c, redis_endpoint.clone());
        c.finish()?;

        Ok(StagingDataHost {
            instance,
            role,
            data_volume,
            security_group,
            superuser_secret,
            app_secret,
            valkey_secret,
            backup_plan,
            status_check_alarm,
            disk_alarm,
            db_endpoint,
            redis_endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_rejects, assert_rejects_value};

    const AMI: &str = "ami-0123456789abcdef0";

    fn props() -> StagingDataHostProps {
        StagingDataHostProps::new("eu-west-1", AMI)
    }

    fn fields(e: &ValidationErrors) -> Vec<&str> {
        e.0.iter().map(|v| v.field.as_str()).collect()
    }

    /// Asserts `p` has exactly one violation, of `field` = `value`, naming the construct and what
    /// is allowed.
    fn only_error(p: StagingDataHostProps, field: &str, value: &str, allowed: &str) {
        let err = p.validate("Data").unwrap_err();
        assert_eq!(fields(&err), [field], "{err}");
        assert_rejects_value(&err, "StagingDataHost", "Data", field, value, allowed);
    }

    #[test]
    fn defaults_are_valid() {
        let p = props();
        p.validate("Data").unwrap();
        assert_eq!(p.instance_type, "t4g.large");
        assert_eq!(p.data_volume_gib, 50);
        assert_eq!(p.postgres_version, 17);
        assert_eq!(p.timescaledb_major, 2);
        assert_eq!(p.valkey_port, 6379);
        assert_eq!(p.maxmemory_policy, MaxmemoryPolicy::NoEviction);
    }

    #[test]
    fn fails_on_no_machine_image() {
        let mut p = props();
        p.machine_image_ids.clear();
        only_error(
            p,
            "machine_image_ids",
            "{}",
            "at least one region with its pinned AMI",
        );
    }

    #[test]
    fn fails_on_bad_region() {
        let mut p = props();
        p.machine_image_ids = BTreeMap::from([("Ireland".to_string(), AMI.to_string())]);
        only_error(
            p,
            "machine_image_ids",
            "\"Ireland\"",
            "an AWS region name such as eu-west-1",
        );
    }

    #[test]
    fn fails_on_bad_ami() {
        for ami in [
            "resolve:ssm:/aws/service/canonical/ubuntu",
            "ami-XYZ",
            "ami-123",
        ] {
            let mut p = props();
            p.machine_image_ids = BTreeMap::from([("eu-west-1".to_string(), ami.to_string())]);
            only_error(
                p,
                "machine_image_ids[eu-west-1]",
                &format!("{ami:?}"),
                "a pinned AMI id: `ami-` followed by 8 or 17 lower-case hex digits",
            );
        }
    }

    #[test]
    fn fails_on_bad_instance_type() {
        let mut p = props();
        p.instance_type = "large".into();
        only_error(
            p,
            "instance_type",
            "\"large\"",
            "an EC2 instance type `<family>.<size>`, e.g. t4g.large",
        );
    }

    #[test]
    fn fails_on_data_volume_size_out_of_range() {
        for gib in [19, 16385] {
            let mut p = props();
            p.data_volume_gib = gib;
            only_error(p, "data_volume_gib", &gib.to_string(), "20-16384 GiB");
        }
    }

    #[test]
    fn fails_on_unsupported_postgres_version() {
        let mut p = props();
        p.postgres_version = 14;
        only_error(p, "postgres_version", "14", "15, 16 or 17");
    }

    #[test]
    fn fails_on_unsupported_timescaledb_major() {
        let mut p = props();
        p.timescaledb_major = 1;
        only_error(p, "timescaledb_major", "1", "2 (the TimescaleDB major");
    }

    #[test]
    fn fails_on_bad_valkey_port() {
        for port in [80, 5432] {
            let mut p = props();
            p.valkey_port = port;
            only_error(
                p,
                "valkey_port",
                &port.to_string(),
                "1024-65535, other than PostgreSQL's 5432",
            );
        }
    }

    #[test]
    fn fails_on_bad_database_name() {
        let mut p = props();
        p.database_name = "Tracker-DB".into();
        only_error(
            p,
            "database_name",
            "\"Tracker-DB\"",
            "a lower-case PostgreSQL identifier: 1-63 of a-z, 0-9, _, not starting with a digit",
        );
    }

    #[test]
    fn fails_on_bad_app_username() {
        for user in ["postgres", "1app", ""] {
            let mut p = props();
            p.app_username = user.into();
            only_error(
                p,
                "app_username",
                &format!("{user:?}"),
                "a lower-case PostgreSQL identifier: 1-63 of a-z, 0-9, _, not starting with a \
                 digit, other than `postgres`",
            );
        }
    }

    /// A recorded platform where `name` is already registered.
    fn platform_with(stack: Stack, name: &str) -> Platform {
        let platform = crate::service::test_support::platform(stack);
        crate::service::test_support::declare_endpoint(
            stack,
            &platform,
            "TakenSg",
            name,
            name,
            &[6379],
        );
        platform
    }

    #[test]
    fn registers_db_and_redis() {
        crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            let mut p = props();
            p.valkey_port = 6380;
            StagingDataHost::new(stack, "Data", &platform, p).unwrap();
            let db = platform.registry.get("db").expect("db registered");
            assert_eq!(db.host.as_literal(), Some("db.staging.tracker.internal"));
            assert_eq!(db.ports, [POSTGRES_PORT]);
            let redis = platform.registry.get("redis").expect("redis registered");
            assert_eq!(
                redis.host.as_literal(),
                Some("redis.staging.tracker.internal")
            );
            assert_eq!(redis.ports, [6380]);
        });
    }

    #[test]
    fn fails_on_db_or_redis_already_taken() {
        for name in ["db", "redis"] {
            let err = crate::service::test_support::recorded(|stack| {
                let platform = platform_with(stack, name);
                StagingDataHost::new(stack, "Data", &platform, props()).unwrap_err()
            });
            assert_eq!(fields(&err), ["name"], "{err}");
            let line = assert_rejects(
                &err,
                "StagingDataHost",
                "Data",
                "name",
                crate::validation::NAME_NOT_TAKEN,
            );
            assert!(
                line.contains(&format!("= {name:?} is not allowed")),
                "{line}"
            );
        }
        // A second host: both names are taken.
        let err = crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            StagingDataHost::new(stack, "First", &platform, props()).unwrap();
            StagingDataHost::new(stack, "Data", &platform, props()).unwrap_err()
        });
        let values: Vec<&str> = err.0.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(values, ["\"db\"", "\"redis\""], "{err}");
    }

    #[test]
    fn reports_props_and_a_taken_name_together() {
        let err = crate::service::test_support::recorded(|stack| {
            let platform = platform_with(stack, "redis");
            let mut p = props();
            p.postgres_version = 13;
            p.valkey_port = 5432;
            StagingDataHost::new(stack, "Data", &platform, p).unwrap_err()
        });
        assert_eq!(
            fields(&err),
            ["postgres_version", "valkey_port", "name"],
            "{err}"
        );
        assert_rejects(
            &err,
            "StagingDataHost",
            "Data",
            "postgres_version",
            "15, 16 or 17",
        );
        assert_rejects(
            &err,
            "StagingDataHost",
            "Data",
            "name",
            crate::validation::NAME_NOT_TAKEN,
        );
    }

    #[test]
    fn fails_on_several_props_together() {
        let mut p = props();
        p.machine_image_ids = BTreeMap::from([("eu-west-1".to_string(), "ami-bad".to_string())]);
        p.data_volume_gib = 10;
        p.postgres_version = 13;
        p.valkey_port = 5432;
        let err = p.validate("Data").unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "machine_image_ids[eu-west-1]",
                "data_volume_gib",
                "postgres_version",
                "valkey_port"
            ]
        );
    }

    #[test]
    fn host_files_carry_the_pinned_versions_and_settings() {
        let settings = UserDataSettings {
            postgres_version: 16,
            timescaledb_major: 2,
            valkey_port: 6380,
            maxmemory_policy: MaxmemoryPolicy::AllKeysLru,
            database_name: "tracker".into(),
            app_username: "tracker_app".into(),
        };
        let files = render_host_files(&settings);
        let file = |path: &str| {
            files
                .iter()
                .find(|f| f.path == path)
                .unwrap_or_else(|| panic!("no {path}"))
        };
        assert_eq!(files[0].path, hostconfig::ENV_FILE);
        assert_eq!(
            hostconfig::placeholders(&files[0].content),
            USER_DATA_INPUTS.iter().map(|s| s.to_string()).collect()
        );
        for f in &files[1..] {
            assert!(
                hostconfig::placeholders(&f.content).is_empty(),
                "{}",
                f.path
            );
        }
        let boot = &file("/usr/local/lib/tracker/staging-boot.sh").content;
        for expected in [
            "PG_VERSION=16",
            "\"timescaledb-2-postgresql-$PG_VERSION\"",
            "valkey-server",
            "DATA_MOUNT=/data",
            "attach_and_mount \"$DATA_VOLUME_ID\" /dev/sdf \"$DATA_MOUNT\"",
            "make-cert.sh \"$DATA_MOUNT/postgresql/tls\" postgres:postgres",
            "--datadir=\"$DATA_MOUNT/postgresql/$PG_VERSION/main\"",
            "echo \"bind $PRIVATE_IP 127.0.0.1\"",
            "echo \"requirepass $VALKEY_PASSWORD\"",
            "vm.overcommit_memory = 1",
        ] {
            assert!(boot.contains(expected), "boot lacks {expected:?}");
        }
        let conf = &file("/etc/tracker/postgresql/50-tracker.conf").content;
        for line in [
            "shared_preload_libraries = 'timescaledb'",
            "ssl = on",
            "ssl_key_file = '/data/postgresql/tls/server.key'",
            "hba_file = '/etc/tracker/postgresql/pg_hba.conf'",
        ] {
            assert!(conf.lines().any(|l| l == line), "conf lacks {line}");
        }
        let hba = &file("/etc/tracker/postgresql/pg_hba.conf").content;
        assert!(hba.contains(
            "\nhostssl all all 0.0.0.0/0 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n"
        ));
        assert!(!hba.contains("\nhost "));
        let valkey = &file("/etc/valkey/tracker.conf").content;
        for line in [
            "port 6380",
            "protected-mode yes",
            "dir /data/valkey",
            "appendonly yes",
            "maxmemory-policy allkeys-lru",
            "include /etc/valkey/tracker-boot.conf",
        ] {
            assert!(valkey.lines().any(|l| l == line), "valkey lacks {line}");
        }
        let sql = &file("/usr/local/lib/tracker/app-database.sh").content;
        assert!(sql.contains("--set=app_user=tracker_app --set=app_db=tracker"));
        assert!(sql.contains(
            "CREATE EXTENSION IF NOT EXISTS timescaledb;\nCREATE EXTENSION IF NOT EXISTS postgis;"
        ));
        let cw: serde_json::Value =
            serde_json::from_str(&file("/etc/tracker/cloudwatch-agent.json").content).unwrap();
        assert_eq!(
            cw["metrics"]["metrics_collected"]["disk"]["resources"][0],
            "/data"
        );
        assert_eq!(
            cw["metrics"]["append_dimensions"]["InstanceId"],
            "${aws:InstanceId}"
        );
        let script = render_user_data(&settings);
        assert!(script.ends_with("exec /usr/local/lib/tracker/staging-boot.sh\n"));
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::network::{Network, NetworkProps};
    use crate::platform::PlatformProps;
    use crate::testing::{synth, Template};
    use crate::wiring::{connect, Dependency};
    use serde_json::Value;

    const CERT: &str =
        "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";
    const AMI: &str = "ami-0123456789abcdef0";

    fn logical_id_at(t: &Template, type_: &str, part: &str) -> String {
        let found: Vec<String> = t
            .resources(type_)
            .into_iter()
            .filter(|(_, v)| {
                v["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .is_some_and(|p| p.contains(part))
            })
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(found.len(), 1, "{type_} at {part}: {found:?}");
        found[0].clone()
    }

    #[test]
    fn one_protected_host_with_a_snapshotted_data_volume_and_consumer_only_ingress() {
        let t = synth(|stack| {
            let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
            let platform = Platform::new(
                stack,
                "Platform",
                network,
                PlatformProps::new("staging", CERT),
            )
            .unwrap();
            StagingDataHost::new(
                stack,
                "Data",
                &platform,
                StagingDataHostProps::new("eu-west-1", AMI),
            )
            .unwrap();
            // A consumer declaring db:5432 and redis:6379.
            let api =
                SecurityGroup::new(stack, "ApiSg", SecurityGroupProps::new(vpc_of(&platform)));
            let mut c = Check::new("Test", "api");
            let resolved = platform.registry.resolve(
                &mut c,
                "talks_to",
                &[Dependency::new("db", 5432), Dependency::new("redis", 6379)],
            );
            c.finish().unwrap();
            let env = connect("api", api.into(), &resolved);
            assert_eq!(
                env["DB_HOST"].as_literal(),
                Some("db.staging.tracker.internal")
            );
            assert_eq!(
                env["REDIS_HOST"].as_literal(),
                Some("redis.staging.tracker.internal")
            );
            // An undeclared port is refused.
            let mut c = Check::new("Test", "api");
            platform
                .registry
                .resolve(&mut c, "talks_to", &[Dependency::new("db", 22)]);
            assert!(c.finish().is_err());
        });

        // The instance.
        let inst = t.one("AWS::EC2::Instance");
        let p = &inst["Properties"];
        assert_eq!(p["InstanceType"], "t4g.large");
        assert_eq!(p["ImageId"], AMI);
        assert_eq!(p["DisableApiTermination"], true);
        assert!(p["KeyName"].is_null());
        assert_eq!(p["MetadataOptions"]["HttpTokens"], "required");
        assert_eq!(p["MetadataOptions"]["HttpPutResponseHopLimit"], 2);
        let nic = &p["NetworkInterfaces"][0];
        assert_eq!(nic["AssociatePublicIpAddress"], false);
        let subnet = nic["SubnetId"]["Ref"].as_str().unwrap();
        assert!(subnet.contains("private"), "{subnet}");
        let root = &p["BlockDeviceMappings"][0]["Ebs"];
        assert_eq!(root["Encrypted"], true);
        assert_eq!(root["VolumeType"], "gp3");
        assert!(t.resources("AWS::EC2::LaunchTemplate").is_empty());

        // The data volume: encrypted gp3, snapshot on delete/replace, same AZ, no attachment
        // resource (the user data attaches it).
        let vol = t.one("AWS::EC2::Volume");
        assert_eq!(vol["DeletionPolicy"], "Snapshot");
        assert_eq!(vol["UpdateReplacePolicy"], "Snapshot");
        assert_eq!(vol["Properties"]["Encrypted"], true);
        assert_eq!(vol["Properties"]["VolumeType"], "gp3");
        assert_eq!(vol["Properties"]["Size"], 50);
        assert_eq!(vol["Properties"]["AvailabilityZone"], p["AvailabilityZone"]);
        assert!(t.resources("AWS::EC2::VolumeAttachment").is_empty());
        // For the change review: the host is replaceable compute, the volume holds the data.
        let declared = |r: &serde_json::Value, role: &str| {
            let d = &r["Metadata"][crate::statefulness::METADATA_KEY];
            assert_eq!(d["role"], role, "{d}");
            assert!(d["reason"].as_str().is_some_and(|s| !s.is_empty()), "{d}");
        };
        declared(inst, "compute");
        declared(vol, "data");
        // The credentials outlive the stack, like the volume's snapshot.
        let secrets = t.resources("AWS::SecretsManager::Secret");
        assert_eq!(secrets.len(), 3);
        for (id, secret) in secrets {
            assert_eq!(secret["DeletionPolicy"], "Retain", "{id}");
            assert_eq!(secret["UpdateReplacePolicy"], "Retain", "{id}");
        }
        let vol_id = logical_id_at(&t, "AWS::EC2::Volume", "Data/DataVolume");

        // User data: the environment file with the CloudFormation values, then the packed
        // files (their rendering is tested on `render_host_files`).
        let user_data = p["UserData"].to_string();
        for expected in [
            "DATA_VOLUME_ID='",
            "VALKEY_SECRET_ARN='",
            "base64 -d <<'TRACKER_PAYLOAD'",
            "exec /usr/local/lib/tracker/staging-boot.sh",
        ] {
            assert!(user_data.contains(expected), "user data lacks {expected}");
        }
        assert!(!user_data.contains("@@"), "unreplaced placeholder");
        assert!(
            user_data.contains(&format!("{{\"Ref\":\"{vol_id}\"}}")),
            "the volume id is passed in"
        );

        // Security group: no ingress but the consumer's 5432 and 6379; never 22.
        let sg_id = logical_id_at(&t, "AWS::EC2::SecurityGroup", "Data/SecurityGroup/");
        let sgs = t.resources("AWS::EC2::SecurityGroup");
        let sg = sgs.iter().find(|(k, _)| **k == sg_id).unwrap().1;
        assert!(sg["Properties"]["SecurityGroupIngress"].is_null());
        let api_sg = logical_id_at(&t, "AWS::EC2::SecurityGroup", "ApiSg");
        let mut ports: Vec<(i64, String)> = t
            .resources("AWS::EC2::SecurityGroupIngress")
            .into_iter()
            .map(|(_, v)| &v["Properties"])
            .filter(|r| r["GroupId"]["Fn::GetAtt"][0] == sg_id.as_str())
            .map(|r| {
                assert_eq!(r["FromPort"], r["ToPort"]);
                (
                    r["FromPort"].as_i64().unwrap(),
                    r["SourceSecurityGroupId"]["Fn::GetAtt"][0]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        ports.sort();
        assert_eq!(ports, [(5432, api_sg.clone()), (6379, api_sg)]);
        assert!(!t.0.to_string().contains("\"FromPort\":22,"));

        // Secrets: superuser, application (JSON), Valkey; the role reads exactly those.
        let secrets = t.resources("AWS::SecretsManager::Secret");
        assert_eq!(secrets.len(), 3);
        let app = t
            .at_path("AWS::SecretsManager::Secret", "Data/AppSecret")
            .pop()
            .unwrap();
        let template: Value = serde_json::from_str(
            app["Properties"]["GenerateSecretString"]["SecretStringTemplate"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(template["username"], "tracker");
        assert_eq!(template["host"], "db.staging.tracker.internal");
        assert_eq!(template["port"], 5432);
        assert_eq!(template["dbname"], "tracker");
        assert_eq!(
            app["Properties"]["GenerateSecretString"]["GenerateStringKey"],
            "password"
        );
        let role_policy = t
            .at_path("AWS::IAM::Policy", "Data/Role/DefaultPolicy")
            .pop()
            .unwrap()
            .to_string();
        let mut read: Vec<String> = t
            .resources("AWS::SecretsManager::Secret")
            .into_iter()
            .map(|(k, _)| k.clone())
            .filter(|k| role_policy.contains(&format!("{{\"Ref\":\"{k}\"}}")))
            .collect();
        read.sort();
        assert_eq!(read.len(), 3, "{read:?}");
        assert!(role_policy.contains("ec2:AttachVolume"));
        let role = t
            .at_path("AWS::IAM::Role", "Data/Role")
            .pop()
            .unwrap()
            .to_string();
        assert!(role.contains("AmazonSSMManagedInstanceCore"));
        assert!(role.contains("CloudWatchAgentServerPolicy"));

        // Backups: daily, deleted after 7 days, selecting the data volume's ARN.
        let plan = t.one("AWS::Backup::BackupPlan");
        let rule = &plan["Properties"]["BackupPlan"]["BackupPlanRule"][0];
        assert_eq!(rule["Lifecycle"]["DeleteAfterDays"], 7);
        assert_eq!(rule["ScheduleExpression"], "cron(0 3 * * ? *)");
        let selection = t.one("AWS::Backup::BackupSelection").to_string();
        assert!(selection.contains(":volume/"), "{selection}");
        assert!(
            selection.contains(&format!("{{\"Ref\":\"{vol_id}\"}}")),
            "{selection}"
        );

        // Names db and redis: A records in the platform namespace -> the host's private IP.
        let names: Vec<&Value> = t
            .resources("AWS::ServiceDiscovery::Service")
            .into_iter()
            .map(|(_, v)| v)
            .filter(|v| v["Properties"]["DnsConfig"].is_object())
            .collect();
        let mut name_list: Vec<&str> = names
            .iter()
            .map(|v| v["Properties"]["Name"].as_str().unwrap())
            .collect();
        name_list.sort();
        assert_eq!(name_list, ["db", "redis"]);
        for v in &names {
            assert_eq!(v["Properties"]["DnsConfig"]["DnsRecords"][0]["Type"], "A");
        }
        let instances = t.resources("AWS::ServiceDiscovery::Instance");
        assert_eq!(instances.len(), 2);
        for (_, i) in instances {
            assert_eq!(
                i["Properties"]["InstanceAttributes"]["AWS_INSTANCE_IPV4"]["Fn::GetAtt"][1],
                "PrivateIp"
            );
        }

        // Alarms: status check with recover, /data disk use.
        let alarms = t.resources("AWS::CloudWatch::Alarm");
        let status = alarms
            .iter()
            .find(|(_, a)| a["Properties"]["MetricName"] == "StatusCheckFailed_System")
            .expect("status check alarm")
            .1;
        assert!(status["Properties"]["AlarmActions"][0]
            .to_string()
            .contains("ec2:recover"));
        let disk = alarms
            .iter()
            .find(|(_, a)| a["Properties"]["MetricName"] == "disk_used_percent")
            .expect("disk alarm")
            .1;
        assert_eq!(disk["Properties"]["Namespace"], "CWAgent");
        assert_eq!(disk["Properties"]["Threshold"], 80);
        assert!(disk["Properties"]["Dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["Name"] == "path" && d["Value"] == "/data"));
    }

    fn vpc_of(p: &Platform) -> cdk_from_rust::aws_cdk_lib::aws_ec2::Vpc {
        p.network.vpc
    }
}
