//! `AnisetteWithEfs`: the private anisette-v3 server, its device state on EFS.
//!
//! Creates:
//! - an encrypted EFS file system (automatic backups on, retained on delete, anonymous access
//!   off) with mount targets in the private subnets and its own security group that admits NFS
//!   (2049) only from the anisette task's security group;
//! - an access point that maps every client to uid/gid 1000:1000 (the image's `Alcoholic` user)
//!   and creates its root directory `/anisette` as 1000:1000 mode 0750;
//! - a Fargate task definition (default 0.25 vCPU / 512 MiB) with the EFS volume (transit
//!   encryption and IAM authorization on) mounted at `/home/Alcoholic/.config/anisette-v3`, a
//!   container health check on `GET /v3/client_info`, logs to an explicit log group (the
//!   platform's retention, retained on delete);
//! - an IAM policy on the task role: `elasticfilesystem:ClientMount` and `ClientWrite` on the
//!   file system, only through the access point (condition on `elasticfilesystem:AccessPointArn`);
//! - a Fargate service (on-demand FARGATE, never Spot) that runs exactly one task: desired 1,
//!   minimum healthy 0 %, maximum 100 % (the old task stops before the new one starts: a single
//!   writer of the device state), circuit breaker with rollback, private subnets, no public IP,
//!   Service Connect name `anisette-v3` on port 6969 in the platform's namespace;
//! - the task security group: no ingress until a consumer declares `anisette-v3:6969` (the
//!   server has no authentication); egress only 443 (image pulls, Apple's libraries on first
//!   start, AWS APIs) and 2049 to the file system;
//! - the endpoint `anisette-v3` (host `anisette-v3`, port 6969) in the platform registry.

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    ComparisonOperator, IMetric, Metric, MetricProps, MetricPropsRequired, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    Peer, Port, SecurityGroup, SecurityGroupProps, SubnetSelection, SubnetType,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    AuthorizationConfig, AwsLogDriverProps, CapacityProviderStrategy, ContainerDefinitionOptions,
    ContainerImage, DeploymentCircuitBreaker, EfsVolumeConfiguration, FargateService,
    FargateServiceProps, FargateServicePropsRequired, FargateTaskDefinition,
    FargateTaskDefinitionProps, HealthCheck, LogDrivers, MountPoint, MountPointRequired,
    PortMapping, Protocol, ServiceConnectProps, ServiceConnectService, Volume,
};
use cdk_from_rust::aws_cdk_lib::aws_efs::{
    AccessPoint, AccessPointOptions, Acl, AclRequired, FileSystem, FileSystemProps, PosixUser,
    PosixUserRequired,
};
use cdk_from_rust::aws_cdk_lib::aws_iam::{
    Policy, PolicyProps, PolicyStatement, PolicyStatementProps,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::{LogGroup, LogGroupProps};
use cdk_from_rust::aws_cdk_lib::{Duration, RemovalPolicy};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsAny;

use crate::monitoring::{self, AlarmSpec};
use crate::platform::Platform;
use crate::statefulness::{self, Holds};
use crate::task_size::{CpuArchitecture, TaskSize};
use crate::validation::{Check, ValidationErrors};
use crate::wiring::Endpoint;

/// The Service Connect name, port-mapping name and registry name.
pub const NAME: &str = "anisette-v3";
/// The port the server listens on.
pub const PORT: u16 = 6969;
/// Where the server keeps its state (`lib/`, `device.json`, `adi.pb`).
pub const STATE_PATH: &str = "/home/Alcoholic/.config/anisette-v3";
/// uid and gid of the image's `Alcoholic` user.
pub const UID_GID: &str = "1000";
/// The access point's root directory on the file system.
pub const ACCESS_POINT_ROOT: &str = "/anisette";
/// The container health check: the static, cheap client-info endpoint (the image has curl).
pub const HEALTH_CHECK: &str = "curl -fsS http://localhost:6969/v3/client_info || exit 1";
/// ECS accepts container health check start periods of 0-300 s.
const MAX_START_PERIOD_SECS: u32 = 300;
const VOLUME_NAME: &str = "anisette-state";

/// The Anisette alarms under `scope`: the task is not running (a singleton: below 1), the file
/// system's burst credits run low or its I/O limit is reached. Returns the dashboard graphs.
fn anisette_alarms(
    scope: Construct,
    platform: &Platform,
    service: FargateService,
    file_system: FileSystem,
) -> Vec<(String, Vec<IMetric>)> {
    let what = format!("{} {NAME}", platform.environment);
    let running = monitoring::running_tasks(platform.cluster, service);
    monitoring::running_tasks_alarm(scope, &platform.alerts, running, 1, &what);
    monitoring::deployment_failed_rule(scope, &platform.alerts, service, &what);
    let efs = |metric: &str, statistic: &str| {
        Metric::new(
            MetricProps::new(MetricPropsRequired {
                metric_name: metric,
                namespace: "AWS/EFS",
            })
            .dimensions_map([("FileSystemId", file_system.file_system_id())])
            .statistic(statistic)
            .period(Duration::minutes(5)),
        )
    };
    let credits = efs("BurstCreditBalance", "Minimum");
    let io_limit = efs("PercentIOLimit", "Maximum");
    for spec in [
        AlarmSpec {
            id: "EfsBurstCreditsAlarm".into(),
            metric: credits.into(),
            threshold: EFS_BURST_CREDITS_LOW_BYTES,
            evaluation_periods: 3,
            comparison: ComparisonOperator::LessThanThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "{what}: the state file system's burst credits are below 100 GiB; at zero its \
                 throughput drops to the baseline. Switch it to elastic throughput if this \
                 persists."
            ),
        },
        AlarmSpec {
            id: "EfsIoLimitAlarm".into(),
            metric: io_limit.into(),
            threshold: 95.0,
            evaluation_periods: 3,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "{what}: the state file system is at 95 %+ of its I/O limit for 15 minutes."
            ),
        },
    ] {
        monitoring::alarm(scope, &platform.alerts, spec);
    }
    vec![
        ("Running tasks".into(), vec![running.into()]),
        ("EFS burst credits".into(), vec![credits.into()]),
        ("EFS I/O limit %".into(), vec![io_limit.into()]),
    ]
}

/// EFS burst credits (bytes) below which the Anisette file system alarms: 100 GiB.
pub const EFS_BURST_CREDITS_LOW_BYTES: f64 = 100.0 * 1024.0 * 1024.0 * 1024.0;

/// Props of [`AnisetteWithEfs`].
#[derive(Clone, Debug)]
pub struct AnisetteProps {
    /// The container image, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/anisette-v3:2024-06-01`
    /// or `dadoum/anisette-v3-server@sha256:<digest>`. Required. Upstream publishes only
    /// `:latest`, so pin its digest or mirror it to ECR under a version tag: a mutable reference
    /// (tag `latest`, or no tag and no digest) is rejected unless `allow_mutable_image` is set.
    pub image: String,
    /// Accept a mutable image reference (`:latest` or untagged). When off (the default), such a
    /// reference is a validation error, because a redeploy could silently run a different server.
    pub allow_mutable_image: bool,
    /// CPU and memory of the task. Defaults to 0.25 vCPU / 512 MiB.
    pub task_size: TaskSize,
    /// The CPU architecture the task runs on (the task definition's `RuntimePlatform`); the
    /// (mirrored) image must include it. Defaults to X86_64.
    pub cpu_architecture: CpuArchitecture,
    /// How long a failing container health check is not counted after the task starts, in
    /// seconds (0-300). Defaults to 120 s: the first start downloads Apple's libraries.
    pub health_check_start_period_secs: u32,
    /// How long ECS ignores unhealthy health checks of a new task, in seconds; must be at least
    /// the start period. When unset, it equals `health_check_start_period_secs`.
    pub health_check_grace_period_secs: Option<u32>,
    /// Seconds the server gets between SIGTERM and SIGKILL when its task stops, 2-120. Default 30
    /// (it holds no requests longer than that; its state is on EFS).
    pub stop_timeout_secs: u32,
}

impl AnisetteProps {
    /// Props with the required image and the documented defaults.
    pub fn new(image: &str) -> Self {
        AnisetteProps {
            image: image.to_string(),
            allow_mutable_image: false,
            task_size: TaskSize::QUARTER_HALF,
            cpu_architecture: CpuArchitecture::default(),
            health_check_start_period_secs: 120,
            health_check_grace_period_secs: None,
            stop_timeout_secs: 30,
        }
    }

    /// The grace period in effect.
    pub fn grace_period_secs(&self) -> u32 {
        self.health_check_grace_period_secs
            .unwrap_or(self.health_check_start_period_secs)
    }

    /// Checks every prop; all problems are reported together.
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("AnisetteWithEfs", id);
        match image_reference(&self.image) {
            ImageRef::Invalid => {
                c.fail(
                    "image",
                    &self.image,
                    "a container image reference: [registry/]repository followed by \
                     `:<tag>` or `@sha256:<64 hex digits>`, without whitespace",
                );
            }
            ImageRef::Mutable if !self.allow_mutable_image => {
                c.fail(
                    "image",
                    &self.image,
                    "a pinned image: a digest (`repository@sha256:<64 hex digits>`) or a version \
                     tag other than `latest` (upstream publishes only `:latest`: pin its digest \
                     or mirror it to ECR under a version tag), or set `allow_mutable_image: true`",
                );
            }
            _ => {}
        }
        crate::service::validate_stop_timeout(&mut c, "stop_timeout_secs", self.stop_timeout_secs);
        c.require(
            self.health_check_start_period_secs <= MAX_START_PERIOD_SECS,
            "health_check_start_period_secs",
            self.health_check_start_period_secs,
            format!("0-{MAX_START_PERIOD_SECS} seconds (the ECS limit)"),
        );
        if let Some(grace) = self.health_check_grace_period_secs {
            c.require(
                grace >= self.health_check_start_period_secs,
                "health_check_grace_period_secs",
                grace,
                format!(
                    "at least health_check_start_period_secs ({} s), so ECS does not replace a \
                     task that is still downloading its libraries",
                    self.health_check_start_period_secs
                ),
            );
        }
        c.finish()
    }
}

/// How an image reference pins the image.
#[derive(Debug, PartialEq, Eq)]
enum ImageRef {
    /// A digest, or a tag other than `latest`.
    Pinned,
    /// `:latest`, or no tag and no digest (which means `latest`).
    Mutable,
    /// Not an image reference.
    Invalid,
}

fn image_reference(image: &str) -> ImageRef {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return ImageRef::Invalid;
    }
    if let Some((name, digest)) = image.split_once('@') {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        let ok = !name.is_empty()
            && hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        return if ok {
            ImageRef::Pinned
        } else {
            ImageRef::Invalid
        };
    }
    // The tag follows the last ':' of the last path segment (a ':' before a '/' is a port).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None if last.is_empty() => ImageRef::Invalid,
        None => ImageRef::Mutable,
        Some((repo, tag)) if repo.is_empty() || tag.is_empty() => ImageRef::Invalid,
        Some((_, "latest")) => ImageRef::Mutable,
        Some(_) => ImageRef::Pinned,
    }
}

/// The state of anisette-v3: the file system, its access point and its security group. Created
/// by [`AnisetteWithEfs::new`] beside the service, or on its own with [`AnisetteStorage::new`]
/// (in a data stack) and handed to [`AnisetteWithEfs::with_storage`] (in a services stack).
#[derive(Clone, Debug)]
pub struct AnisetteStorage {
    pub file_system: FileSystem,
    pub access_point: AccessPoint,
    /// The file system's security group: NFS (2049) from the service's task group only, added
    /// by the service.
    pub file_system_security_group: SecurityGroup,
}

impl AnisetteStorage {
    /// Adds the file system to `scope` under `id`: the construct paths (`<id>/FileSystem`,
    /// `<id>/FileSystemSecurityGroup`) and so the logical ids are those [`AnisetteWithEfs::new`]
    /// gives them, so the storage can live in another stack than the service under the same id.
    pub fn new(scope: impl Into<Construct>, id: &str, platform: &Platform) -> AnisetteStorage {
        AnisetteStorage::create(Construct::new(scope, id), id, platform)
    }

    fn create(scope: Construct, id: &str, platform: &Platform) -> AnisetteStorage {
        let vpc = platform.network.vpc;
        let file_system_security_group = SecurityGroup::new(
            scope,
            "FileSystemSecurityGroup",
            SecurityGroupProps::new(vpc)
                .description(format!("AnisetteWithEfs {id}: the state file system"))
                .allow_all_outbound(false),
        );
        let file_system = FileSystem::new(
            scope,
            "FileSystem",
            FileSystemProps::new(vpc)
                .encrypted(true)
                .enable_automatic_backups(true)
                .allow_anonymous_access(false)
                .removal_policy(RemovalPolicy::Retain)
                .vpc_subnets(private_subnets())
                .security_group(file_system_security_group),
        );
        let access_point = file_system.add_access_point_with(
            "AccessPoint",
            AccessPointOptions::new()
                .path(ACCESS_POINT_ROOT)
                .posix_user(PosixUser::new(PosixUserRequired {
                    gid: UID_GID,
                    uid: UID_GID,
                }))
                .create_acl(Acl::new(AclRequired {
                    owner_gid: UID_GID,
                    owner_uid: UID_GID,
                    permissions: "0750",
                })),
        );
        // For the change review: the access point is configuration in front of the files.
        statefulness::declare(
            access_point.node(),
            Holds::Compute,
            "an access point in front of the file system (FileSystem, retained): a new one sees \
             the same files",
        );
        statefulness::declare(
            file_system.node(),
            Holds::Data,
            "the anisette provisioning state",
        );
        AnisetteStorage {
            file_system,
            access_point,
            file_system_security_group,
        }
    }
}

fn private_subnets() -> SubnetSelection {
    SubnetSelection::new().subnet_type(SubnetType::PrivateWithEgress)
}

/// The private anisette-v3 service with its state on EFS.
#[derive(Clone, Debug)]
pub struct AnisetteWithEfs {
    pub file_system: FileSystem,
    pub access_point: AccessPoint,
    pub task_definition: FargateTaskDefinition,
    pub service: FargateService,
    /// The task's security group: consumers get ingress on 6969 through the registry.
    pub security_group: SecurityGroup,
    /// The file system's security group (2049 from `security_group` only).
    pub file_system_security_group: SecurityGroup,
    pub log_group: LogGroup,
    /// What consumers declare (`anisette-v3:6969`); also registered in `platform.registry`.
    pub endpoint: Endpoint,
}

impl AnisetteWithEfs {
    /// Validates `props`, adds the service and its file system to `scope` and registers its
    /// endpoint.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: AnisetteProps,
    ) -> Result<AnisetteWithEfs, ValidationErrors> {
        AnisetteWithEfs::build(scope.into(), id, platform, None, props)
    }

    /// Like [`AnisetteWithEfs::new`], on a file system created earlier with
    /// [`AnisetteStorage::new`], possibly in another stack (a data stack): the NFS rules between
    /// the two security groups are then created here, beside the task's group, so the storage's
    /// stack never refers to this one.
    pub fn with_storage(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        storage: &AnisetteStorage,
        props: AnisetteProps,
    ) -> Result<AnisetteWithEfs, ValidationErrors> {
        AnisetteWithEfs::build(scope.into(), id, platform, Some(storage), props)
    }

    fn build(
        scope: Construct,
        id: &str,
        platform: &Platform,
        storage: Option<&AnisetteStorage>,
        props: AnisetteProps,
    ) -> Result<AnisetteWithEfs, ValidationErrors> {
        // The props and the name, reported together, before anything is created.
        let mut c = Check::new("AnisetteWithEfs", id);
        platform.registry.require_free(&mut c, "name", NAME);
        ValidationErrors::collect([props.validate(id), c.finish()])?;
        let scope = Construct::new(scope, id);
        let vpc = platform.network.vpc;

        // Security groups. Egress is limited to 443 (the image registry, Apple's servers for the
        // first-start library download, ECS/logs APIs) and 2049 to the file system; DNS goes to
        // the VPC resolver, which security groups do not filter.
        let security_group = SecurityGroup::new(
            scope,
            "SecurityGroup",
            SecurityGroupProps::new(vpc)
                .description(format!("AnisetteWithEfs {id}: the anisette-v3 task"))
                .allow_all_outbound(false),
        );
        security_group.add_egress_rule_with(
            Peer::any_ipv4(),
            Port::tcp(443),
            "HTTPS: image pulls, Apple libraries, AWS APIs",
        );
        let AnisetteStorage {
            file_system,
            access_point,
            file_system_security_group,
        } = match storage {
            Some(storage) => storage.clone(),
            None => AnisetteStorage::create(scope, id, platform),
        };
        // NFS from the task group only. The ingress rule is marked remote: when the file system
        // is in another stack, aws-cdk-lib creates it beside the task's group (in this stack);
        // in one stack it is the file system group's rule, as `allow_default_port_from` makes it.
        let nfs = format!("{NAME} tasks -> NFS");
        file_system_security_group.add_ingress_rule_with_remote_rule(
            security_group,
            Port::tcp(2049),
            nfs.as_str(),
            true,
        );
        security_group.add_egress_rule_with(
            file_system_security_group,
            Port::tcp(2049),
            nfs.as_str(),
        );

        // The task.
        let task_definition = FargateTaskDefinition::new_with(
            scope,
            "TaskDefinition",
            FargateTaskDefinitionProps::new()
                .cpu(props.task_size.cpu())
                .memory_limit_mib(props.task_size.memory_mib())
                .runtime_platform(props.cpu_architecture.runtime_platform()),
        );
        task_definition.add_volume(
            Volume::new(VOLUME_NAME).efs_volume_configuration(
                EfsVolumeConfiguration::new(file_system.file_system_id())
                    .transit_encryption("ENABLED")
                    .authorization_config(
                        AuthorizationConfig::new()
                            .access_point_id(access_point.access_point_id())
                            .iam("ENABLED"),
                    ),
            ),
        );
        // Mount and write only through the access point (the condition's value is a token).
        let efs_policy = Policy::new_with(
            scope,
            "EfsClientPolicy",
            PolicyProps::new().statements([PolicyStatement::new_with(
                PolicyStatementProps::new()
                    .actions([
                        "elasticfilesystem:ClientMount",
                        "elasticfilesystem:ClientWrite",
                    ])
                    .resources([file_system.file_system_arn()])
                    .conditions([(
                        "StringEquals",
                        JsAny::map([(
                            "elasticfilesystem:AccessPointArn",
                            access_point.access_point_arn(),
                        )]),
                    )]),
            )]),
        );
        efs_policy.attach_to_role(task_definition.task_role());

        let log_group = LogGroup::new_with(
            scope,
            "Logs",
            LogGroupProps::new()
                .retention(platform.log_retention)
                .removal_policy(RemovalPolicy::Retain),
        );
        let container = task_definition.add_container(
            NAME,
            ContainerDefinitionOptions::new(ContainerImage::from_registry(props.image.as_str()))
                .essential(true)
                .stop_timeout(Duration::seconds(props.stop_timeout_secs))
                .port_mappings([PortMapping::new(PORT).name(NAME).protocol(Protocol::Tcp)])
                .health_check(
                    HealthCheck::new(["CMD-SHELL", HEALTH_CHECK])
                        .interval(Duration::seconds(30))
                        .timeout(Duration::seconds(5))
                        .retries(3)
                        .start_period(Duration::seconds(props.health_check_start_period_secs)),
                )
                .logging(LogDrivers::aws_logs(
                    AwsLogDriverProps::new(NAME).log_group(log_group),
                )),
        );
        container.add_mount_points([MountPoint::new(MountPointRequired {
            container_path: STATE_PATH,
            read_only: false,
            source_volume: VOLUME_NAME,
        })]);

        // The service: exactly one task, never two writers of the device state.
        let service = FargateService::new(
            scope,
            "Service",
            FargateServiceProps::new(FargateServicePropsRequired {
                cluster: platform.cluster,
                task_definition,
            })
            .desired_count(1)
            .min_healthy_percent(0)
            .max_healthy_percent(100)
            .circuit_breaker(DeploymentCircuitBreaker::new().enable(true).rollback(true))
            .capacity_provider_strategies([CapacityProviderStrategy::new("FARGATE")
                .weight(1)
                .base(1)])
            .security_groups([security_group])
            .vpc_subnets(private_subnets())
            .assign_public_ip(false)
            .health_check_grace_period(Duration::seconds(props.grace_period_secs()))
            .service_connect_configuration(
                ServiceConnectProps::new()
                    .namespace(platform.namespace.as_str())
                    .services([ServiceConnectService::new(NAME)
                        .discovery_name(NAME)
                        .dns_name(NAME)
                        .port(PORT)]),
            ),
        );
        service
            .node()
            .add_dependency([file_system.mount_targets_available()]);
        let graphs = anisette_alarms(scope, platform, service, file_system);
        platform
            .dashboard
            .add_row(&format!("{NAME} (Anisette)"), graphs);

        let endpoint = Endpoint {
            name: NAME.to_string(),
            host: NAME.into(),
            ports: vec![PORT],
            security_group: security_group.into(),
            service_connect_only: true,
            tls: false,
            client_environment: Default::default(),
        };
        let mut c = Check::new("AnisetteWithEfs", id);
        platform.registry.register(&mut c, endpoint.clone());
        c.finish()?;

        Ok(AnisetteWithEfs {
            file_system,
            access_point,
            task_definition,
            service,
            security_group,
            file_system_security_group,
            log_group,
            endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejects_value;

    const DIGEST: &str = "dadoum/anisette-v3-server@sha256:\
                          0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn fields(e: &ValidationErrors) -> Vec<&str> {
        e.0.iter().map(|v| v.field.as_str()).collect()
    }

    /// Asserts `err` reports `field` = `value` of `AnisetteWithEfs "Anisette"` and what is allowed.
    fn rejects(err: &ValidationErrors, field: &str, value: &str, allowed: &str) {
        assert_rejects_value(err, "AnisetteWithEfs", "Anisette", field, value, allowed);
    }

    #[test]
    fn defaults_with_a_pinned_image_are_valid() {
        let p = AnisetteProps::new(DIGEST);
        p.validate("Anisette").unwrap();
        assert_eq!(p.task_size, TaskSize::QUARTER_HALF);
        assert_eq!(p.health_check_start_period_secs, 120);
        assert_eq!(p.grace_period_secs(), 120);
        AnisetteProps::new("123456789012.dkr.ecr.eu-west-1.amazonaws.com/anisette-v3:2024-06-01")
            .validate("Anisette")
            .unwrap();
        AnisetteProps::new("registry.local:5000/anisette:v3")
            .validate("Anisette")
            .unwrap();
    }

    #[test]
    fn fails_on_latest_tag() {
        let err = AnisetteProps::new("dadoum/anisette-v3-server:latest")
            .validate("Anisette")
            .unwrap_err();
        assert_eq!(fields(&err), ["image"]);
        rejects(
            &err,
            "image",
            "\"dadoum/anisette-v3-server:latest\"",
            "a pinned image",
        );
        rejects(
            &err,
            "image",
            "\"dadoum/anisette-v3-server:latest\"",
            "or set `allow_mutable_image: true`",
        );
    }

    #[test]
    fn fails_on_untagged_image() {
        // No tag means `latest`; a registry port is not a tag.
        for image in ["dadoum/anisette-v3-server", "registry.local:5000/anisette"] {
            let err = AnisetteProps::new(image).validate("Anisette").unwrap_err();
            assert_eq!(fields(&err), ["image"], "{image}");
            rejects(&err, "image", &format!("{image:?}"), "a pinned image");
        }
    }

    #[test]
    fn mutable_image_is_accepted_only_when_allowed() {
        let mut p = AnisetteProps::new("dadoum/anisette-v3-server:latest");
        p.allow_mutable_image = true;
        p.validate("Anisette").unwrap();
    }

    #[test]
    fn fails_on_malformed_image() {
        for image in [
            "",
            "dadoum/anisette v3",
            "dadoum/anisette-v3-server@sha256:abc",
            "dadoum/anisette-v3-server:",
            "dadoum/",
        ] {
            let mut p = AnisetteProps::new(image);
            p.allow_mutable_image = true; // malformed is rejected regardless
            let err = p.validate("Anisette").unwrap_err();
            assert_eq!(fields(&err), ["image"], "{image:?}");
            rejects(
                &err,
                "image",
                &format!("{image:?}"),
                "a container image reference: [registry/]repository followed by `:<tag>` or \
                 `@sha256:<64 hex digits>`",
            );
        }
    }

    #[test]
    fn fails_on_a_stop_timeout_over_the_fargate_limit() {
        let mut p = AnisetteProps::new(DIGEST);
        p.stop_timeout_secs = 121;
        let err = p.validate("Anisette").unwrap_err();
        assert_eq!(fields(&err), ["stop_timeout_secs"]);
        rejects(&err, "stop_timeout_secs", "121", "2-120 seconds");
    }

    #[test]
    fn fails_on_start_period_over_the_ecs_limit() {
        let mut p = AnisetteProps::new(DIGEST);
        p.health_check_start_period_secs = 301;
        let err = p.validate("Anisette").unwrap_err();
        assert_eq!(fields(&err), ["health_check_start_period_secs"]);
        rejects(
            &err,
            "health_check_start_period_secs",
            "301",
            "0-300 seconds (the ECS limit)",
        );
    }

    #[test]
    fn fails_on_grace_period_shorter_than_start_period() {
        let mut p = AnisetteProps::new(DIGEST);
        p.health_check_grace_period_secs = Some(60);
        let err = p.validate("Anisette").unwrap_err();
        assert_eq!(fields(&err), ["health_check_grace_period_secs"]);
        rejects(
            &err,
            "health_check_grace_period_secs",
            "60",
            "at least health_check_start_period_secs (120 s)",
        );
    }

    #[test]
    fn fails_on_several_props_together() {
        let mut p = AnisetteProps::new("dadoum/anisette-v3-server");
        p.health_check_start_period_secs = 600;
        p.health_check_grace_period_secs = Some(300);
        let err = p.validate("Anisette").unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "image",
                "health_check_start_period_secs",
                "health_check_grace_period_secs"
            ]
        );
    }

    #[test]
    fn fails_on_a_second_anisette_in_the_environment() {
        let err = crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            AnisetteWithEfs::new(stack, "First", &platform, AnisetteProps::new(DIGEST)).unwrap();
            // The first one registered its endpoint.
            let registered = platform.registry.get(NAME).expect("registered");
            assert_eq!(
                (
                    registered.host.as_literal().unwrap(),
                    registered.ports.as_slice()
                ),
                (NAME, &[PORT][..])
            );
            AnisetteWithEfs::new(stack, "Anisette", &platform, AnisetteProps::new(DIGEST))
                .unwrap_err()
        });
        assert_eq!(fields(&err), ["name"], "{err}");
        rejects(
            &err,
            "name",
            "\"anisette-v3\"",
            crate::validation::NAME_NOT_TAKEN,
        );
    }

    #[test]
    fn reports_props_and_a_taken_name_together() {
        let err = crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            AnisetteWithEfs::new(stack, "First", &platform, AnisetteProps::new(DIGEST)).unwrap();
            let mut p = AnisetteProps::new("dadoum/anisette-v3-server:latest");
            p.health_check_start_period_secs = 301;
            AnisetteWithEfs::new(stack, "Anisette", &platform, p).unwrap_err()
        });
        assert_eq!(
            fields(&err),
            ["image", "health_check_start_period_secs", "name"],
            "{err}"
        );
        rejects(
            &err,
            "name",
            "\"anisette-v3\"",
            crate::validation::NAME_NOT_TAKEN,
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
    use serde_json::Value;

    const CERT: &str =
        "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";
    const IMAGE: &str = "dadoum/anisette-v3-server@sha256:\
                         0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn logical_id_of(t: &crate::testing::Template, type_: &str, path_part: &str) -> String {
        let found: Vec<&String> = t
            .resources(type_)
            .into_iter()
            .filter(|(_, v)| {
                v["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .is_some_and(|p| p.contains(path_part))
            })
            .map(|(k, _)| k)
            .collect();
        assert_eq!(found.len(), 1, "{type_} at {path_part}");
        found[0].clone()
    }

    fn group_id_ref(v: &Value) -> Option<&str> {
        v["Fn::GetAtt"][0].as_str()
    }

    #[test]
    fn state_on_encrypted_retained_efs_through_a_1000_access_point() {
        let t = synth(|stack| {
            let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
            let platform = Platform::new(
                stack,
                "Platform",
                network,
                PlatformProps::new("staging", CERT),
            )
            .unwrap();
            AnisetteWithEfs::new(stack, "Anisette", &platform, AnisetteProps::new(IMAGE)).unwrap();
            // A consumer declaring anisette-v3:6969 is let in on 6969.
            let fetcher = SecurityGroup::new(
                stack,
                "FetcherSg",
                SecurityGroupProps::new(platform.network.vpc),
            );
            let mut c = Check::new("Test", "fetcher");
            let resolved =
                platform
                    .registry
                    .resolve(&mut c, "talks_to", &[Dependency::new(NAME, PORT)]);
            c.finish().unwrap();
            let env = connect("fetcher", fetcher.into(), &resolved);
            assert_eq!(env["ANISETTE_V3_HOST"].as_literal(), Some("anisette-v3"));
            assert_eq!(env["ANISETTE_V3_PORT"].as_literal(), Some("6969"));
        });

        // EFS: encrypted, backups on, retained.
        let fs = t.one("AWS::EFS::FileSystem");
        assert_eq!(fs["DeletionPolicy"], "Retain");
        assert_eq!(fs["UpdateReplacePolicy"], "Retain");
        assert_eq!(fs["Properties"]["Encrypted"], true);
        assert_eq!(fs["Properties"]["BackupPolicy"]["Status"], "ENABLED");
        assert!(fs["Properties"]["FileSystemPolicy"].is_object());
        // Mount targets in the two private subnets.
        let targets = t.resources("AWS::EFS::MountTarget");
        assert_eq!(targets.len(), 2);
        for (_, mt) in &targets {
            let subnet = mt["Properties"]["SubnetId"]["Ref"].as_str().unwrap();
            assert!(subnet.contains("private"), "{subnet}");
        }

        // Access point: uid/gid 1000, root /anisette created 1000:1000 0750.
        let ap = t.one("AWS::EFS::AccessPoint");
        assert_eq!(ap["Properties"]["PosixUser"]["Uid"], "1000");
        assert_eq!(ap["Properties"]["PosixUser"]["Gid"], "1000");
        let root = &ap["Properties"]["RootDirectory"];
        assert_eq!(root["Path"], "/anisette");
        assert_eq!(root["CreationInfo"]["OwnerUid"], "1000");
        assert_eq!(root["CreationInfo"]["OwnerGid"], "1000");
        assert_eq!(root["CreationInfo"]["Permissions"], "0750");

        // Task definition: 256/512, EFS volume with TLS and IAM, mounted at the state path.
        let td = t.one("AWS::ECS::TaskDefinition");
        assert_eq!(td["Properties"]["Cpu"], "256");
        assert_eq!(td["Properties"]["Memory"], "512");
        let efs = &td["Properties"]["Volumes"][0]["EFSVolumeConfiguration"];
        assert_eq!(efs["TransitEncryption"], "ENABLED");
        assert_eq!(efs["AuthorizationConfig"]["IAM"], "ENABLED");
        assert!(efs["AuthorizationConfig"]["AccessPointId"].is_object());
        let container = &td["Properties"]["ContainerDefinitions"][0];
        assert_eq!(container["Image"], IMAGE);
        assert_eq!(
            container["MountPoints"][0]["ContainerPath"],
            "/home/Alcoholic/.config/anisette-v3"
        );
        assert_eq!(container["MountPoints"][0]["ReadOnly"], false);
        assert_eq!(container["PortMappings"][0]["ContainerPort"], 6969);
        assert_eq!(container["PortMappings"][0]["Name"], "anisette-v3");
        let hc = &container["HealthCheck"];
        assert_eq!(hc["StartPeriod"], 120);
        assert_eq!(hc["Command"][0], "CMD-SHELL");
        assert_eq!(hc["Command"][1], HEALTH_CHECK);
        // Explicit, retained log group; no log-retention Lambda.
        assert!(container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"].is_string());
        let lg = t
            .at_path("AWS::Logs::LogGroup", "Anisette/Logs")
            .pop()
            .unwrap();
        assert_eq!(lg["DeletionPolicy"], "Retain");
        assert_eq!(lg["Properties"]["RetentionInDays"], 30);
        assert!(t.resources("AWS::Lambda::Function").is_empty());

        // Task role: ClientMount/ClientWrite only through the access point.
        let ap_id = logical_id_of(
            &t,
            "AWS::EFS::AccessPoint",
            "Anisette/FileSystem/AccessPoint",
        );
        let policy = t
            .at_path("AWS::IAM::Policy", "Anisette/EfsClientPolicy")
            .pop()
            .expect("EFS client policy");
        let st = &policy["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(
            st["Action"],
            serde_json::json!([
                "elasticfilesystem:ClientMount",
                "elasticfilesystem:ClientWrite"
            ])
        );
        // The access point's ARN (`arn:<partition>:elasticfilesystem:...:access-point/<id>`).
        let arn = st["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"].to_string();
        assert!(arn.contains(":access-point/"), "{arn}");
        assert!(arn.contains(&format!("{{\"Ref\":\"{ap_id}\"}}")), "{arn}");
        assert_eq!(
            st["Resource"]["Fn::GetAtt"][0],
            logical_id_of(&t, "AWS::EFS::FileSystem", "Anisette/FileSystem")
        );
        let role_ref = &policy["Properties"]["Roles"][0]["Ref"];
        let task_role = td["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0].clone();
        assert_eq!(*role_ref, task_role);

        // Service: exactly one task, FARGATE on demand, circuit breaker, Service Connect.
        let svc = t.one("AWS::ECS::Service");
        let p = &svc["Properties"];
        assert_eq!(p["DesiredCount"], 1);
        let dc = &p["DeploymentConfiguration"];
        assert_eq!(dc["MinimumHealthyPercent"], 0);
        assert_eq!(dc["MaximumPercent"], 100);
        assert_eq!(dc["DeploymentCircuitBreaker"]["Enable"], true);
        assert_eq!(dc["DeploymentCircuitBreaker"]["Rollback"], true);
        assert_eq!(p["HealthCheckGracePeriodSeconds"], 120);
        let cps = p["CapacityProviderStrategy"].as_array().unwrap();
        assert_eq!(cps.len(), 1);
        assert_eq!(cps[0]["CapacityProvider"], "FARGATE");
        assert!(p["LaunchType"].is_null());
        let net = &p["NetworkConfiguration"]["AwsvpcConfiguration"];
        assert_eq!(net["AssignPublicIp"], "DISABLED");
        let sc = &p["ServiceConnectConfiguration"];
        assert_eq!(sc["Enabled"], true);
        assert_eq!(sc["Services"][0]["PortName"], "anisette-v3");
        assert_eq!(sc["Services"][0]["DiscoveryName"], "anisette-v3");
        assert_eq!(
            sc["Services"][0]["ClientAliases"][0]["DnsName"],
            "anisette-v3"
        );
        assert_eq!(sc["Services"][0]["ClientAliases"][0]["Port"], 6969);

        // Security groups: NFS only from the task group; 6969 only from the declared consumer.
        let task_sg = logical_id_of(&t, "AWS::EC2::SecurityGroup", "Anisette/SecurityGroup/");
        let fs_sg = logical_id_of(
            &t,
            "AWS::EC2::SecurityGroup",
            "Anisette/FileSystemSecurityGroup/",
        );
        let fetcher_sg = logical_id_of(&t, "AWS::EC2::SecurityGroup", "FetcherSg");
        let ingress: Vec<&Value> = t
            .resources("AWS::EC2::SecurityGroupIngress")
            .into_iter()
            .map(|(_, v)| &v["Properties"])
            .collect();
        let into = |sg: &str| -> Vec<&Value> {
            ingress
                .iter()
                .copied()
                .filter(|r| group_id_ref(&r["GroupId"]) == Some(sg))
                .collect()
        };
        let nfs = into(&fs_sg);
        assert_eq!(nfs.len(), 1, "{nfs:?}");
        assert_eq!(nfs[0]["FromPort"], 2049);
        assert_eq!(nfs[0]["ToPort"], 2049);
        assert_eq!(
            group_id_ref(&nfs[0]["SourceSecurityGroupId"]),
            Some(task_sg.as_str())
        );
        let to_task = into(&task_sg);
        assert_eq!(to_task.len(), 1, "{to_task:?}");
        assert_eq!(to_task[0]["FromPort"], 6969);
        assert_eq!(to_task[0]["ToPort"], 6969);
        assert_eq!(
            group_id_ref(&to_task[0]["SourceSecurityGroupId"]),
            Some(fetcher_sg.as_str())
        );
        // Egress of the task: 443 anywhere and 2049 to the file system only.
        let sgs = t.resources("AWS::EC2::SecurityGroup");
        let task = sgs.iter().find(|(k, _)| **k == task_sg).unwrap().1;
        let egress = task["Properties"]["SecurityGroupEgress"]
            .as_array()
            .unwrap();
        assert_eq!(egress.len(), 1, "{egress:?}");
        assert_eq!(egress[0]["FromPort"], 443);
        let nfs_out: Vec<&Value> = t
            .resources("AWS::EC2::SecurityGroupEgress")
            .into_iter()
            .map(|(_, v)| &v["Properties"])
            .filter(|r| group_id_ref(&r["GroupId"]) == Some(task_sg.as_str()))
            .collect();
        assert_eq!(nfs_out.len(), 1);
        assert_eq!(nfs_out[0]["FromPort"], 2049);
        assert_eq!(
            group_id_ref(&nfs_out[0]["DestinationSecurityGroupId"]),
            Some(fs_sg.as_str())
        );
    }
}
