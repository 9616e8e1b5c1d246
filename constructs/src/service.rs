//! The shared lowering of an ECS service on Fargate, used by [`PublicAlbService`],
//! [`PrivateWorkerService`] and any later service construct, so nothing is written twice.
//!
//! [`ServiceProps`] carries what every service has: a name (its Service Connect name), a task
//! size, an image and command, plain environment values, secrets (only ever container secrets),
//! container ports, a container health check (or a written waiver), a stop timeout, the declared
//! dependencies, and the deployment settings (desired count, healthy percents, capacity providers,
//! grace period).
//!
//! [`build`] creates: an explicit log group (the platform's retention, retained on delete; never
//! the container's `logRetention` prop, which would add a Lambda-backed custom resource), the
//! Fargate task definition and its container (a named port mapping per port; then the
//! [`sidecar`]s, if any, with their `dependsOn` order), a security group
//! of its own, and the `FargateService` in the private subnets with no public IP, ECS Exec on, the
//! deployment circuit breaker with rollback, the capacity-provider strategy and Service Connect in
//! the platform namespace. Declared dependencies become security-group ingress rules on the
//! dependency and `<NAME>_HOST` / `<NAME>_PORT` environment values; the service's own endpoint is
//! registered so later services can declare it. Each work queue of `sends_to` grants the task role
//! its send actions and sets `<QUEUE>_QUEUE_URL`.
//!
//! [`PublicAlbService`]: crate::public_alb_service::PublicAlbService
//! [`PrivateWorkerService`]: crate::private_worker_service::PrivateWorkerService

use std::collections::{BTreeMap, BTreeSet};

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    ComparisonOperator, IMetric, MetricOptions, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    SecurityGroup, SecurityGroupProps, SubnetSelection, SubnetType,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    AwsLogDriverProps, CapacityProviderStrategy, ContainerDefinition, ContainerDefinitionOptions,
    ContainerImage, DeploymentCircuitBreaker, FargateService, FargateServiceProps,
    FargateServicePropsRequired, FargateTaskDefinition, FargateTaskDefinitionProps, HealthCheck,
    LogDrivers, PortMapping, Protocol, ServiceConnectProps, ServiceConnectService,
};
use cdk_from_rust::aws_cdk_lib::aws_iam::{PolicyStatement, PolicyStatementProps};
use cdk_from_rust::aws_cdk_lib::aws_logs::{LogGroup, LogGroupProps};
use cdk_from_rust::aws_cdk_lib::{Duration, RemovalPolicy};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsAny;

use crate::deployment::Deployment;
use crate::log_alarms::LogErrorAlarm;
use crate::monitoring::{self, AlarmSpec, ServiceAlarmThresholds};
use crate::platform::Platform;
use crate::schedule::OffHours;
use crate::sidecar::{self, ContainerDependsOn, Sidecar};
use crate::task_size::{CpuArchitecture, TaskSize};
use crate::validation::{is_dns_label, Check, ValidationErrors};
use crate::wiring::{self, ContainerSecret, Dependency, Endpoint};
use crate::work_queue;

/// The container image: an image handle (ECR repository, asset, ...) or a registry reference.
#[derive(Clone, Debug)]
pub enum Image {
    /// An image handle made with the bindings (`ContainerImage::from_ecr_repository(...)`).
    Handle(ContainerImage),
    /// A registry reference such as `public.ecr.aws/nginx/nginx:1.27`.
    Registry(String),
}

impl Image {
    /// Any image handle (`RepositoryImage`, `EcrImage`, `AssetImage`, ...).
    pub fn handle(image: impl Into<ContainerImage>) -> Self {
        Image::Handle(image.into())
    }

    pub(crate) fn lower(&self) -> ContainerImage {
        match self {
            Image::Handle(h) => *h,
            Image::Registry(r) => ContainerImage::from_registry(r.as_str()).into(),
        }
    }
}

impl From<ContainerImage> for Image {
    fn from(image: ContainerImage) -> Self {
        Image::Handle(image)
    }
}

impl From<&str> for Image {
    fn from(reference: &str) -> Self {
        Image::Registry(reference.to_string())
    }
}

impl From<String> for Image {
    fn from(reference: String) -> Self {
        Image::Registry(reference)
    }
}

/// A container health check, run by ECS inside the task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerHealthCheck {
    /// The command, in ECS form: `["CMD-SHELL", "curl -f http://localhost:8000/health"]` or
    /// `["CMD", "/bin/check"]`. Required, not empty.
    pub command: Vec<String>,
    /// Seconds between checks, 5-300. [`ContainerHealthCheck::new`] sets 30.
    pub interval_secs: u32,
    /// Seconds a check may take, 2-60 and less than the interval. [`ContainerHealthCheck::new`]
    /// sets 5.
    pub timeout_secs: u32,
    /// Consecutive failures before the container is unhealthy, 1-10. [`ContainerHealthCheck::new`]
    /// sets 3.
    pub retries: u32,
    /// Seconds after start during which failures do not count, 0-300. The service's health-check
    /// grace period must be at least this. [`ContainerHealthCheck::new`] sets 0 (failures count
    /// from the first check).
    pub start_period_secs: u32,
}

impl ContainerHealthCheck {
    /// A health check running `command`, every 30 s with a 5 s timeout, 3 retries and no start
    /// period.
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        ContainerHealthCheck {
            command: command.into_iter().map(Into::into).collect(),
            interval_secs: 30,
            timeout_secs: 5,
            retries: 3,
            start_period_secs: 0,
        }
    }

    /// The check as the container definition takes it.
    pub(crate) fn lower(&self) -> HealthCheck {
        HealthCheck::new(self.command.clone())
            .interval(Duration::seconds(self.interval_secs))
            .timeout(Duration::seconds(self.timeout_secs))
            .retries(self.retries)
            .start_period(Duration::seconds(self.start_period_secs))
    }

    pub(crate) fn validate(&self, c: &mut Check, field: &str) {
        c.require(
            !self.command.is_empty() && !self.command.iter().any(|s| s.is_empty()),
            &format!("{field}.command"),
            &self.command,
            "a non-empty command, e.g. [\"CMD-SHELL\", \"curl -f http://localhost:8000/health\"]",
        );
        c.require(
            (5..=300).contains(&self.interval_secs),
            &format!("{field}.interval_secs"),
            self.interval_secs,
            "5-300 seconds",
        );
        c.require(
            (2..=60).contains(&self.timeout_secs) && self.timeout_secs < self.interval_secs,
            &format!("{field}.timeout_secs"),
            self.timeout_secs,
            format!(
                "2-60 seconds and less than interval_secs ({})",
                self.interval_secs
            ),
        );
        c.require(
            (1..=10).contains(&self.retries),
            &format!("{field}.retries"),
            self.retries,
            "1-10",
        );
        c.require(
            self.start_period_secs <= 300,
            &format!("{field}.start_period_secs"),
            self.start_period_secs,
            "0-300 seconds",
        );
    }
}

/// The `Metadata` key on a `AWS::ECS::Service` whose container has no health check: the reason.
pub const HEALTH_CHECK_WAIVER_METADATA: &str = "tracker:healthCheckWaiver";

/// Seconds between Fargate Spot's interruption notice (SIGTERM) and the task's end.
pub const SPOT_NOTICE_SECS: u32 = 120;

/// A Fargate capacity provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CapacityProvider {
    /// On-demand Fargate.
    Fargate,
    /// Fargate Spot: cheaper, but tasks can be stopped with two minutes' notice.
    FargateSpot,
}

impl CapacityProvider {
    /// The provider's name in ECS.
    pub fn name(self) -> &'static str {
        match self {
            CapacityProvider::Fargate => "FARGATE",
            CapacityProvider::FargateSpot => "FARGATE_SPOT",
        }
    }
}

/// One entry of a capacity-provider strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityShare {
    pub provider: CapacityProvider,
    /// Tasks placed on this provider before weights apply, 0-100000; only one provider of a
    /// strategy may have a base.
    pub base: u32,
    /// Relative share of the tasks beyond the bases, 0-1000.
    pub weight: u32,
}

impl CapacityShare {
    /// `provider` with `weight` and no base.
    pub fn new(provider: CapacityProvider, weight: u32) -> Self {
        CapacityShare {
            provider,
            base: 0,
            weight,
        }
    }

    /// The same share with `base` tasks placed first.
    pub fn with_base(mut self, base: u32) -> Self {
        self.base = base;
        self
    }

    /// On-demand Fargate only (`FARGATE`, weight 1).
    pub fn fargate_only() -> Vec<CapacityShare> {
        vec![CapacityShare::new(CapacityProvider::Fargate, 1)]
    }
}

/// What every ECS service of the tracker has. Embedded in each service construct's props.
#[derive(Clone, Debug)]
pub struct ServiceProps {
    /// The service's name: a DNS label, unique in the environment. It is the Service Connect
    /// name other services reach it by and the name it is declared by (`api`, `anisette-v3`).
    pub name: String,
    /// The Fargate task size (only pairs Fargate accepts can be expressed).
    pub task_size: TaskSize,
    /// The CPU architecture the task runs on (the task definition's `RuntimePlatform`); the image
    /// must be built for it. [`ServiceProps::new`] sets X86_64.
    pub cpu_architecture: CpuArchitecture,
    /// The container image.
    pub image: Image,
    /// Replaces the image's `CMD`, so one image can serve several process types. When `None`,
    /// the image's own command runs.
    pub command: Option<Vec<String>>,
    /// Plain environment values (names `[A-Za-z_][A-Za-z0-9_]*`). Secrets never go here; the
    /// `<NAME>_HOST` / `<NAME>_PORT` values of declared dependencies are added automatically and
    /// may not be set by hand. When empty, only the dependency values are set.
    pub environment: BTreeMap<String, String>,
    /// Secrets, injected as ECS container secrets (the execution role is granted read), by
    /// environment variable name. When empty, the container gets no secrets.
    pub secrets: BTreeMap<String, ContainerSecret>,
    /// The container ports (TCP). Each gets a named port mapping `<name>-<port>` and is published
    /// through Service Connect as `<name>:<port>`. When empty, the service serves nothing and is a
    /// pure Service Connect client.
    pub ports: Vec<u16>,
    /// A container health check. Required unless `health_check_waiver` gives the reason the
    /// service has none: without one ECS only sees that the process still runs, not that it
    /// works. The constructs' `new` set none ([`PublicAlbService`] then derives one from its
    /// target group's check; a worker must be given one).
    ///
    /// [`PublicAlbService`]: crate::public_alb_service::PublicAlbService
    pub health_check: Option<ContainerHealthCheck>,
    /// Why the service has no container health check, written into the template (the
    /// `FargateService`'s `Metadata` key `tracker:healthCheckWaiver`) so the exception is
    /// reviewed like code. Only allowed, and then required, when `health_check` is `None`.
    /// Default: `None` (a health check is required).
    pub health_check_waiver: Option<String>,
    /// Seconds a container gets between SIGTERM and SIGKILL when its task stops (a deployment,
    /// a scale-in, a Spot interruption), 2-120 (Fargate's maximum). The constructs' `new` set 30
    /// for load-balanced services and 120 for workers (Fargate Spot's interruption notice is two
    /// minutes: a worker gets all of it to finish or hand back its work).
    pub stop_timeout_secs: u32,
    /// What the service talks to (`"db:5432".parse()`): each must be declared earlier in the
    /// environment. Each opens the dependency's security group to this service on that port and
    /// sets `<NAME>_HOST` / `<NAME>_PORT`. When empty, nothing is opened.
    pub connects_to: Vec<Dependency>,
    /// Tasks to run (the initial count when autoscaling). The constructs' `new` sets 1.
    pub desired_count: u32,
    /// Share of `desired_count` that must keep running during a deployment, 0-100. The constructs'
    /// `new` sets 100 (a new task starts before an old one stops).
    pub min_healthy_percent: u32,
    /// Upper bound of running tasks during a deployment as a share of `desired_count`, 100-200 and
    /// above `min_healthy_percent`. The constructs' `new` sets 200.
    pub max_healthy_percent: u32,
    /// The capacity-provider strategy. The constructs' `new` set their own default (on-demand
    /// Fargate for public services, Spot-weighted for workers).
    pub capacity: Vec<CapacityShare>,
    /// Seconds ECS ignores failing load-balancer and container health checks of a new task; at
    /// least the container health check's start period. When `None`, the container health check's
    /// start period is used (no grace period without a health check).
    pub health_check_grace_period_secs: Option<u32>,
    /// ECS Exec (`aws ecs execute-command`) into the running containers: the task role gets the
    /// SSM message-channel permissions and sessions are logged to the service's own log group
    /// (write access to that group only). The constructs' `new` sets `true`.
    pub execute_command: bool,
    /// The CPU and memory alarms' thresholds (a running-task alarm comes from the service's
    /// minimum count). Default: [`ServiceAlarmThresholds::default`] (CPU 80 %, memory 85 %).
    pub alarms: ServiceAlarmThresholds,
    /// Extra containers in the task (an OpenTelemetry collector, a log router), with the rules
    /// of [`sidecar`]. Default: none (the task has the service's container only).
    pub sidecars: Vec<Sidecar>,
    /// What the service's own container waits for before it starts (a sidecar `HEALTHY`, a
    /// setup container `SUCCESS`). Default: none (it starts with the task).
    pub depends_on: Vec<ContainerDependsOn>,
    /// The queues (declared in the platform's [`QueueRegistry`](crate::work_queue::QueueRegistry))
    /// the service sends messages to: each grants the task role `sqs:SendMessage` on that queue
    /// (and use of its key) and sets `<QUEUE>_QUEUE_URL`. Default: none.
    pub sends_to: Vec<String>,
    /// How ECS replaces the tasks on a deployment. Default: [`Deployment::Rolling`] (with the
    /// circuit breaker). The other strategies shift load-balancer traffic and are for
    /// [`PublicAlbService`] only.
    ///
    /// [`PublicAlbService`]: crate::public_alb_service::PublicAlbService
    pub deployment: Deployment,
    /// The metric filter on the service's JSON error log lines and its alarm. Default:
    /// [`LogErrorAlarm::default`] (`$.level` = `ERROR` or `error`, 10 lines in 5 minutes); `None`
    /// for a service whose logs are not JSON lines.
    pub log_errors: Option<LogErrorAlarm>,
    /// Scheduled scaling off hours (nights, weekends): validated and applied by the service
    /// construct, which knows the working capacity. With an off-hours minimum below the
    /// running-task alarm's minimum, that alarm compares the running tasks with the desired count
    /// instead, so a service scaled down on schedule does not page anyone. Default: `None` (the
    /// same capacity around the clock).
    pub off_hours: Option<OffHours>,
}

impl ServiceProps {
    /// Props with the required fields; one task on X86_64, 100/200 %, on-demand Fargate, no
    /// ports, no environment, no secrets, no dependencies, a 30 s stop timeout, and no container
    /// health check yet (one, or a waiver, must be set before validation).
    pub fn new(name: &str, task_size: TaskSize, image: impl Into<Image>) -> Self {
        ServiceProps {
            name: name.to_string(),
            task_size,
            cpu_architecture: CpuArchitecture::default(),
            image: image.into(),
            command: None,
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            ports: Vec::new(),
            health_check: None,
            health_check_waiver: None,
            stop_timeout_secs: 30,
            connects_to: Vec::new(),
            desired_count: 1,
            min_healthy_percent: 100,
            max_healthy_percent: 200,
            capacity: CapacityShare::fargate_only(),
            health_check_grace_period_secs: None,
            execute_command: true,
            alarms: ServiceAlarmThresholds::default(),
            sidecars: Vec::new(),
            depends_on: Vec::new(),
            sends_to: Vec::new(),
            deployment: Deployment::Rolling,
            log_errors: Some(LogErrorAlarm::default()),
            off_hours: None,
        }
    }

    /// The grace period actually applied.
    pub fn effective_grace_period_secs(&self) -> Option<u32> {
        self.health_check_grace_period_secs.or_else(|| {
            self.health_check
                .as_ref()
                .map(|h| h.start_period_secs)
                .filter(|&s| s > 0)
        })
    }

    /// The port-mapping name of `port` (`api-8000`).
    pub fn port_mapping_name(&self, port: u16) -> String {
        format!("{}-{port}", self.name)
    }

    /// Records every violation of these props in `c`; field names are prefixed with `prefix`
    /// (`service.`), as the user writes them.
    pub fn validate(&self, c: &mut Check, prefix: &str) {
        let f = |name: &str| format!("{prefix}{name}");
        c.require(
            is_dns_label(&self.name),
            &f("name"),
            &self.name,
            "a DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'",
        );
        if let Image::Registry(r) = &self.image {
            c.require(
                !r.trim().is_empty() && !r.contains(char::is_whitespace),
                &f("image"),
                r,
                "an image reference such as public.ecr.aws/nginx/nginx:1.27",
            );
        }
        if let Some(cmd) = &self.command {
            c.require(
                !cmd.is_empty(),
                &f("command"),
                cmd,
                "None (the image's command) or at least one argument",
            );
        }
        let dependency_vars: BTreeSet<String> = self
            .connects_to
            .iter()
            .flat_map(|d| {
                let p = env_prefix(&d.name);
                [format!("{p}_HOST"), format!("{p}_PORT")]
            })
            .collect();
        for key in self.environment.keys() {
            if !is_env_name(key) {
                c.fail(
                    &f("environment"),
                    key,
                    "variable names of A-Z, a-z, 0-9 and '_', not starting with a digit",
                );
            } else if self.secrets.contains_key(key) {
                c.fail(
                    &f("environment"),
                    key,
                    "a name not also used in `secrets` (a variable is either plain or secret)",
                );
            } else if dependency_vars.contains(key) {
                c.fail(
                    &f("environment"),
                    key,
                    "a name not set from `connects_to` (<NAME>_HOST and <NAME>_PORT are set \
                     from the declared dependencies)",
                );
            } else if self
                .sends_to
                .iter()
                .any(|q| work_queue::url_variable(q) == *key)
            {
                c.fail(
                    &f("environment"),
                    key,
                    "a name not set from `sends_to` (<QUEUE>_QUEUE_URL is set from the declared \
                     queues)",
                );
            }
        }
        for key in self.secrets.keys() {
            c.require(
                is_env_name(key),
                &f("secrets"),
                key,
                "variable names of A-Z, a-z, 0-9 and '_', not starting with a digit",
            );
        }
        let mut seen = BTreeSet::new();
        for &port in &self.ports {
            c.require(port != 0, &f("ports"), port, "1-65535");
            c.require(
                seen.insert(port),
                &f("ports"),
                port,
                "each port declared once",
            );
        }
        match (&self.health_check, &self.health_check_waiver) {
            (Some(h), None) => h.validate(c, &f("health_check")),
            (None, Some(reason)) => {
                c.require(
                    !reason.trim().is_empty(),
                    &f("health_check_waiver"),
                    reason,
                    "the reason this service has no container health check (not empty)",
                );
            }
            (None, None) => {
                c.fail(
                    &f("health_check"),
                    &self.health_check,
                    "a container health check (ContainerHealthCheck::new([\"CMD-SHELL\", \"...\"])), \
                     or `health_check_waiver` with the reason the service has none",
                );
            }
            (Some(h), Some(reason)) => {
                h.validate(c, &f("health_check"));
                c.fail(
                    &f("health_check_waiver"),
                    reason,
                    "None when a health check is set (a waiver is only for a service without one)",
                );
            }
        }
        validate_stop_timeout(c, &f("stop_timeout_secs"), self.stop_timeout_secs);
        c.require(
            self.min_healthy_percent <= 100,
            &f("min_healthy_percent"),
            self.min_healthy_percent,
            "0-100",
        );
        c.require(
            (100..=200).contains(&self.max_healthy_percent)
                && self.max_healthy_percent > self.min_healthy_percent,
            &f("max_healthy_percent"),
            self.max_healthy_percent,
            format!(
                "100-200 and above min_healthy_percent ({}), so a deployment can progress",
                self.min_healthy_percent
            ),
        );
        self.validate_capacity(c, &f("capacity"));
        self.alarms.validate(c, &f("alarms."));
        sidecar::validate(c, prefix, self);
        self.deployment.validate(c, &f("deployment"));
        if let Some(log_errors) = &self.log_errors {
            log_errors.validate(c, &f("log_errors"));
        }
        if let Some(grace) = self.health_check_grace_period_secs {
            let start = self
                .health_check
                .as_ref()
                .map_or(0, |h| h.start_period_secs);
            c.require(
                grace >= start && grace <= 2_147_483_647,
                &f("health_check_grace_period_secs"),
                grace,
                format!(
                    "at least the container health check's start period ({start} s), so new \
                     tasks are not replaced while starting"
                ),
            );
        }
    }

    fn validate_capacity(&self, c: &mut Check, field: &str) {
        let names: Vec<String> = self
            .capacity
            .iter()
            .map(|s| {
                format!(
                    "{}(base {}, weight {})",
                    s.provider.name(),
                    s.base,
                    s.weight
                )
            })
            .collect();
        c.require(
            !self.capacity.is_empty() && self.capacity.iter().any(|s| s.weight > 0),
            field,
            &names,
            "at least one provider with a weight above 0",
        );
        let providers: BTreeSet<CapacityProvider> =
            self.capacity.iter().map(|s| s.provider).collect();
        c.require(
            providers.len() == self.capacity.len(),
            field,
            &names,
            "each provider at most once",
        );
        c.require(
            self.capacity.iter().filter(|s| s.base > 0).count() <= 1,
            field,
            &names,
            "a base on at most one provider",
        );
        for s in &self.capacity {
            c.require(
                s.weight <= 1000 && s.base <= 100_000,
                field,
                format!(
                    "{}(base {}, weight {})",
                    s.provider.name(),
                    s.base,
                    s.weight
                ),
                "weight 0-1000 and base 0-100000",
            );
        }
    }
}

/// The stop-timeout rule of every service: 2-120 s (Fargate's maximum).
pub fn validate_stop_timeout(c: &mut Check, field: &str, secs: u32) {
    c.require(
        (2..=120).contains(&secs),
        field,
        secs,
        "2-120 seconds (Fargate's maximum stop timeout is 120)",
    );
}

/// `anisette-v3` -> `ANISETTE_V3`.
fn env_prefix(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks what needs the platform: the name is not yet taken and every dependency names a
/// declared endpoint and one of its ports. Returns the resolved dependencies.
pub fn resolve(
    platform: &Platform,
    c: &mut Check,
    props: &ServiceProps,
    prefix: &str,
) -> Vec<(Dependency, Endpoint)> {
    platform
        .registry
        .require_free(c, &format!("{prefix}name"), &props.name);
    platform
        .queues
        .resolve(c, &format!("{prefix}sends_to"), &props.sends_to);
    platform
        .registry
        .resolve(c, &format!("{prefix}connects_to"), &props.connects_to)
}

/// What [`build`] created.
#[derive(Clone, Debug)]
pub struct ServiceParts {
    pub service: FargateService,
    pub task_definition: FargateTaskDefinition,
    pub container: ContainerDefinition,
    pub security_group: SecurityGroup,
    pub log_group: LogGroup,
    /// The service's dashboard graphs (tasks, CPU, memory); the construct adds its own and the
    /// row.
    pub graphs: Vec<(String, Vec<IMetric>)>,
}

/// Lowers `props` (already validated and resolved) into `scope` (a construct with no children
/// yet), wires the resolved dependencies and registers the service's endpoint. `kind` and `id`
/// name the construct in errors. The service alarms on CPU and memory, and on fewer than
/// `min_running` tasks (none when 0).
pub fn build(
    scope: Construct,
    kind: &str,
    id: &str,
    platform: &Platform,
    props: &ServiceProps,
    resolved: &[(Dependency, Endpoint)],
    min_running: u32,
) -> Result<ServiceParts, ValidationErrors> {
    let name = props.name.as_str();
    // ECS Exec: aws-cdk-lib grants session logging on every log group (`logs:PutLogEvents` on `*`)
    // unless this flag is on; with it on, the task role is granted below exactly what the
    // cluster's DEFAULT exec logging writes to, the service's own log group. Context must be set
    // before `scope` has children.
    scope.node().set_context(
        "@aws-cdk/aws-ecs:reduceEc2FargateCloudWatchPermissions",
        true,
    );
    let log_group = LogGroup::new_with(
        scope,
        "Logs",
        LogGroupProps::new()
            .retention(platform.log_retention)
            .removal_policy(RemovalPolicy::Retain),
    );
    let task_definition = FargateTaskDefinition::new_with(
        scope,
        "TaskDefinition",
        FargateTaskDefinitionProps::new()
            .cpu(props.task_size.cpu())
            .memory_limit_mib(props.task_size.memory_mib())
            .runtime_platform(props.cpu_architecture.runtime_platform()),
    );
    let security_group = SecurityGroup::new(
        scope,
        "SecurityGroup",
        SecurityGroupProps::new(platform.network.vpc)
            .description(format!("{} service {name}", platform.environment))
            .allow_all_outbound(true),
    );
    let mut environment = wiring::literal_environment(&props.environment);
    environment.extend(wiring::connect(name, security_group.into(), resolved));
    for queue in props.sends_to.iter().filter_map(|q| platform.queues.get(q)) {
        queue.grant_send(task_definition.task_role());
        environment.insert(queue.url_variable(), queue.url());
    }

    let mut options = ContainerDefinitionOptions::new(props.image.lower())
        .container_name(name)
        .essential(true)
        .stop_timeout(Duration::seconds(props.stop_timeout_secs))
        .logging(LogDrivers::aws_logs(
            AwsLogDriverProps::new(name).log_group(log_group),
        ));
    if !environment.is_empty() {
        options = options.environment(environment);
    }
    if !props.secrets.is_empty() {
        options = options.secrets(props.secrets.iter().map(|(k, s)| (k.clone(), s.to_ecs())));
    }
    if let Some(command) = &props.command {
        options = options.command(command.clone());
    }
    if !props.ports.is_empty() {
        options = options.port_mappings(props.ports.iter().map(|&p| {
            PortMapping::new(p)
                .name(props.port_mapping_name(p))
                .protocol(Protocol::Tcp)
        }));
    }
    if let Some(h) = &props.health_check {
        options = options.health_check(h.lower());
    }
    let container = task_definition.add_container(name, options);
    sidecar::build(task_definition, log_group, props, container);

    let namespace_arn = platform.cloud_map.namespace_arn();
    let mut service_connect = ServiceConnectProps::new().namespace(namespace_arn);
    if !props.ports.is_empty() {
        service_connect = service_connect.services(props.ports.iter().map(|&p| {
            ServiceConnectService::new(props.port_mapping_name(p))
                .dns_name(name)
                .port(p)
        }));
    }
    let mut service_props = FargateServiceProps::new(FargateServicePropsRequired {
        cluster: platform.cluster,
        task_definition,
    })
    .desired_count(props.desired_count)
    .min_healthy_percent(props.min_healthy_percent)
    .max_healthy_percent(props.max_healthy_percent)
    .assign_public_ip(false)
    .vpc_subnets(SubnetSelection::new().subnet_type(SubnetType::PrivateWithEgress))
    .security_groups([security_group])
    .enable_execute_command(props.execute_command)
    .capacity_provider_strategies(props.capacity.iter().map(|s| {
        let mut strategy = CapacityProviderStrategy::new(s.provider.name()).weight(s.weight);
        if s.base > 0 {
            strategy = strategy.base(s.base);
        }
        strategy
    }))
    .service_connect_configuration(service_connect);
    if let Some(grace) = props.effective_grace_period_secs() {
        service_props = service_props.health_check_grace_period(Duration::seconds(grace));
    }
    // ECS applies the circuit breaker to rolling deployments only; the traffic-shifting
    // strategies roll back on the deployment alarms their construct sets.
    if !props.deployment.shifts_traffic() {
        service_props = service_props
            .circuit_breaker(DeploymentCircuitBreaker::new().enable(true).rollback(true));
    }
    let service = FargateService::new(scope, "Service", props.deployment.apply(service_props));
    if props.execute_command {
        // What the SSM agent needs to stream an exec session into the container's log group.
        task_definition.add_to_task_role_policy(PolicyStatement::new_with(
            PolicyStatementProps::new()
                .actions(["logs:DescribeLogGroups"])
                .resources(["*"]),
        ));
        log_group.grant(
            task_definition.task_role(),
            [
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
        );
    }
    if let Some(reason) = &props.health_check_waiver {
        crate::l1(service.node())
            .add_metadata(HEALTH_CHECK_WAIVER_METADATA, JsAny::from(reason.as_str()));
    }

    let mut graphs = service_alarms(scope, kind, platform, props, service, min_running);
    if let Some(log_errors) = &props.log_errors {
        let what = format!("{} {kind} {name}", platform.environment);
        let (_, graph) = log_errors.create(
            scope,
            &platform.alerts,
            log_group,
            (&platform.environment, name),
            &what,
        );
        graphs.push(graph);
    }

    let mut c = Check::new(kind, id);
    platform.registry.register(
        &mut c,
        Endpoint {
            name: name.to_string(),
            host: name.into(),
            ports: props.ports.clone(),
            security_group: security_group.into(),
            service_connect_only: true,
            tls: false,
            client_environment: Default::default(),
        },
    );
    c.finish()?;
    Ok(ServiceParts {
        service,
        task_definition,
        container,
        security_group,
        log_group,
        graphs,
    })
}

/// The alarms every service gets (CPU, memory, running tasks), under `scope`; returns the
/// service's dashboard graphs.
fn service_alarms(
    scope: Construct,
    kind: &str,
    platform: &Platform,
    props: &ServiceProps,
    service: FargateService,
    min_running: u32,
) -> Vec<(String, Vec<IMetric>)> {
    let what = format!("{} {kind} {}", platform.environment, props.name);
    let minute = || {
        MetricOptions::new()
            .statistic("Average")
            .period(Duration::minutes(1))
    };
    let cpu = service.metric_cpu_utilization_with(minute());
    let memory = service.metric_memory_utilization_with(minute());
    let running = monitoring::running_tasks(platform.cluster, service);
    for (alarm_id, metric, threshold, resource) in [
        ("CpuAlarm", cpu, props.alarms.cpu_percent, "CPU"),
        ("MemoryAlarm", memory, props.alarms.memory_percent, "memory"),
    ] {
        monitoring::alarm(
            scope,
            &platform.alerts,
            AlarmSpec {
                id: alarm_id.into(),
                metric: metric.into(),
                threshold: f64::from(threshold),
                evaluation_periods: 3,
                comparison: ComparisonOperator::GreaterThanThreshold,
                missing_data: TreatMissingData::NotBreaching,
                description: format!(
                    "{what}: average {resource} above {threshold} % of the task's for 3 \
                     minutes. Scale out (maxCount), give the task more {resource} \
                     (<service>.cpu / memoryMiB), or find what the service is doing."
                ),
            },
        );
    }
    match &props.off_hours {
        Some(off) if off.min < min_running => {
            monitoring::running_below_desired_alarm(
                scope,
                &platform.alerts,
                (platform.cluster, service),
                min_running,
                &what,
            );
        }
        _ if min_running > 0 => {
            monitoring::running_tasks_alarm(scope, &platform.alerts, running, min_running, &what);
        }
        _ => {}
    }
    monitoring::deployment_failed_rule(scope, &platform.alerts, service, &what);
    vec![
        ("Running tasks".into(), vec![running.into()]),
        ("CPU %".into(), vec![cpu.into()]),
        ("Memory %".into(), vec![memory.into()]),
    ]
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared by the service constructs' tests.
    use cdk_from_rust::aws_cdk_lib::aws_ec2::{SecurityGroup, SecurityGroupProps};
    use cdk_from_rust::aws_cdk_lib::Stack;

    use crate::validation::Check;
    use crate::wiring::Endpoint;

    use crate::network::{Network, NetworkProps};
    use crate::platform::{Platform, PlatformProps};

    pub const CERT: &str =
        "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

    /// A network and a staging platform in `stack`.
    pub fn platform(stack: Stack) -> Platform {
        platform_over(stack, "staging", NetworkProps::default().max_azs)
    }

    /// A network over `max_azs` AZs and an `environment` platform in `stack`.
    pub fn platform_over(stack: Stack, environment: &str, max_azs: u8) -> Platform {
        let network = Network::new(
            stack,
            "Network",
            NetworkProps {
                max_azs,
                ..NetworkProps::default()
            },
        )
        .unwrap();
        Platform::new(
            stack,
            "Platform",
            network,
            PlatformProps::new(environment, CERT),
        )
        .unwrap()
    }

    /// Declares a stand-in endpoint `name` (reached at `host` on `ports`) in `platform`'s registry,
    /// with a security group `sg_id` of its own, as a data-plane construct would.
    pub fn declare_endpoint(
        stack: Stack,
        platform: &Platform,
        sg_id: &str,
        name: &str,
        host: &str,
        ports: &[u16],
    ) {
        declare(stack, platform, sg_id, name, host, ports, false);
    }

    /// Declares a stand-in service `name` on `port`, reached by its Service Connect name only, as
    /// the service constructs register themselves.
    pub fn declare_service(stack: Stack, platform: &Platform, sg_id: &str, name: &str, port: u16) {
        declare(stack, platform, sg_id, name, name, &[port], true);
    }

    fn declare(
        stack: Stack,
        platform: &Platform,
        sg_id: &str,
        name: &str,
        host: &str,
        ports: &[u16],
        service_connect_only: bool,
    ) {
        let sg = SecurityGroup::new(stack, sg_id, SecurityGroupProps::new(platform.network.vpc));
        let mut c = Check::new("Test", name);
        platform.registry.register(
            &mut c,
            Endpoint {
                name: name.into(),
                host: host.into(),
                ports: ports.to_vec(),
                security_group: sg.into(),
                service_connect_only,
                tls: false,
                client_environment: Default::default(),
            },
        );
        c.finish().unwrap();
    }

    /// A stand-in staging database: `db` at `db.staging.tracker.internal:5432`, guarded by `DbSg`.
    pub fn declare_db(stack: Stack, platform: &Platform) {
        declare_endpoint(
            stack,
            platform,
            "DbSg",
            "db",
            "db.staging.tracker.internal",
            &[5432],
        );
    }

    /// Runs `f` with a recorded (not synthesized) stack: for checks that need a platform but no
    /// template.
    pub fn recorded<T>(f: impl FnOnce(Stack) -> T) -> T {
        let (_, out) = cdk_from_rust::record(|| {
            let app = cdk_from_rust::aws_cdk_lib::App::new();
            let stack = Stack::new(app, "Test");
            f(stack)
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_rejects, assert_rejects_value};

    fn props() -> ServiceProps {
        let mut p = ServiceProps::new("api", TaskSize::HALF_1, "public.ecr.aws/nginx/nginx:1.27");
        p.ports = vec![8000];
        p.health_check = Some(ContainerHealthCheck::new(["CMD", "/bin/check"]));
        p
    }

    #[test]
    fn fails_without_a_health_check_or_a_waiver() {
        let mut p = props();
        p.health_check = None;
        assert_one(
            &errors(&p),
            "service.health_check",
            "None",
            "health_check_waiver",
        );
    }

    #[test]
    fn fails_on_a_blank_waiver_and_on_a_waiver_beside_a_health_check() {
        let mut p = props();
        p.health_check_waiver = Some("no probe needed".into());
        assert_one(
            &errors(&p),
            "service.health_check_waiver",
            "\"no probe needed\"",
            "None when a health check is set",
        );
        p.health_check = None;
        p.health_check_waiver = Some("  ".into());
        assert_one(
            &errors(&p),
            "service.health_check_waiver",
            "\"  \"",
            "the reason this service has no container health check",
        );
        p.health_check_waiver = Some("a batch job that exits when done".into());
        let mut c = Check::new("TestService", "svc");
        p.validate(&mut c, "service.");
        c.finish().unwrap();
    }

    #[test]
    fn fails_on_a_stop_timeout_out_of_range() {
        for bad in [0, 1, 121] {
            let mut p = props();
            p.stop_timeout_secs = bad;
            assert_one(
                &errors(&p),
                "service.stop_timeout_secs",
                &bad.to_string(),
                "2-120 seconds",
            );
        }
    }

    fn errors(p: &ServiceProps) -> ValidationErrors {
        let mut c = Check::new("TestService", "svc");
        p.validate(&mut c, "service.");
        c.finish().unwrap_err()
    }

    /// Asserts `err` reports `field` = `value` of `TestService "svc"` and what is allowed.
    fn assert_one(err: &ValidationErrors, field: &str, value: &str, allowed: &str) {
        assert_rejects_value(err, "TestService", "svc", field, value, allowed);
    }

    #[test]
    fn defaults_are_valid() {
        let mut c = Check::new("TestService", "svc");
        props().validate(&mut c, "service.");
        c.finish().unwrap();
    }

    #[test]
    fn fails_on_a_name_that_is_not_a_dns_label() {
        let mut p = props();
        p.name = "Api_1".into();
        assert_one(&errors(&p), "service.name", "\"Api_1\"", "a DNS label");
    }

    #[test]
    fn fails_on_an_empty_image_reference_and_empty_command() {
        let mut p = props();
        p.image = "".into();
        p.command = Some(vec![]);
        let e = errors(&p);
        assert_one(&e, "service.image", "\"\"", "an image reference");
        assert_one(&e, "service.command", "[]", "at least one argument");
    }

    #[test]
    fn fails_on_bad_environment_names_and_collisions() {
        let mut p = props();
        p.connects_to = vec![Dependency::new("db", 5432)];
        p.environment.insert("1BAD".into(), "x".into());
        p.environment.insert("DB_HOST".into(), "x".into());
        let e = errors(&p);
        assert_one(&e, "service.environment", "\"1BAD\"", "variable names");
        assert_one(
            &e,
            "service.environment",
            "\"DB_HOST\"",
            "a name not set from `connects_to` (<NAME>_HOST and <NAME>_PORT are set",
        );
    }

    #[test]
    fn fails_on_duplicate_and_zero_ports() {
        let mut p = props();
        p.ports = vec![8000, 8000, 0];
        let e = errors(&p);
        assert_eq!(e.0.len(), 2, "{e}");
        assert_one(&e, "service.ports", "8000", "each port declared once");
        assert_one(&e, "service.ports", "0", "1-65535");
    }

    #[test]
    fn fails_on_container_health_check_ranges() {
        let mut p = props();
        p.health_check = Some(ContainerHealthCheck {
            command: vec![],
            interval_secs: 4,
            timeout_secs: 61,
            retries: 0,
            start_period_secs: 301,
        });
        p.health_check_grace_period_secs = Some(400);
        let e = errors(&p);
        assert_one(&e, "service.health_check.command", "[]", "non-empty");
        assert_one(&e, "service.health_check.interval_secs", "4", "5-300");
        assert_one(&e, "service.health_check.timeout_secs", "61", "2-60");
        assert_one(&e, "service.health_check.retries", "0", "1-10");
        assert_one(&e, "service.health_check.start_period_secs", "301", "0-300");
    }

    #[test]
    fn fails_when_grace_period_does_not_cover_the_start_period() {
        let mut p = props();
        let mut h = ContainerHealthCheck::new(["CMD", "/check"]);
        h.start_period_secs = 90;
        p.health_check = Some(h);
        p.health_check_grace_period_secs = Some(60);
        assert_one(
            &errors(&p),
            "service.health_check_grace_period_secs",
            "60",
            "start period (90 s)",
        );
    }

    #[test]
    fn fails_on_healthy_percents() {
        let mut p = props();
        p.min_healthy_percent = 101;
        p.max_healthy_percent = 250;
        let e = errors(&p);
        assert_one(&e, "service.min_healthy_percent", "101", "0-100");
        assert_one(&e, "service.max_healthy_percent", "250", "100-200");
    }

    #[test]
    fn fails_when_max_healthy_percent_does_not_exceed_min_healthy_percent() {
        let mut p = props();
        p.max_healthy_percent = 100;
        let e = errors(&p);
        assert_eq!(e.0.len(), 1, "{e}");
        assert_one(
            &e,
            "service.max_healthy_percent",
            "100",
            "100-200 and above min_healthy_percent (100), so a deployment can progress",
        );
        // 0/100 (stop the old task first) progresses.
        p.min_healthy_percent = 0;
        let mut c = Check::new("TestService", "svc");
        p.validate(&mut c, "service.");
        c.finish().unwrap();
    }

    #[test]
    fn fails_on_capacity_strategy() {
        let mut p = props();
        p.capacity = vec![];
        assert_one(&errors(&p), "service.capacity", "[]", "weight above 0");
        p.capacity = vec![
            CapacityShare::new(CapacityProvider::Fargate, 1).with_base(1),
            CapacityShare::new(CapacityProvider::FargateSpot, 3).with_base(1),
            CapacityShare::new(CapacityProvider::FargateSpot, 2000),
        ];
        let e = errors(&p);
        let names = "[\"FARGATE(base 1, weight 1)\", \"FARGATE_SPOT(base 1, weight 3)\", \
                     \"FARGATE_SPOT(base 0, weight 2000)\"]";
        assert_one(&e, "service.capacity", names, "each provider at most once");
        assert_one(
            &e,
            "service.capacity",
            names,
            "a base on at most one provider",
        );
        assert_one(
            &e,
            "service.capacity",
            "\"FARGATE_SPOT(base 0, weight 2000)\"",
            "weight 0-1000 and base 0-100000",
        );
    }

    #[test]
    fn fails_on_secret_names() {
        // A ContainerSecret needs a recorded secret handle.
        let e = test_support::recorded(|stack| {
            let secret = cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret::new(stack, "S");
            let mut p = props();
            p.secrets
                .insert("BAD-NAME".into(), ContainerSecret::whole(secret));
            p.secrets
                .insert("TOKEN".into(), ContainerSecret::whole(secret));
            p.environment.insert("TOKEN".into(), "plain".into());
            errors(&p)
        });
        assert_one(&e, "service.secrets", "\"BAD-NAME\"", "variable names");
        assert_one(&e, "service.environment", "\"TOKEN\"", "plain or secret");
    }

    #[test]
    fn fails_on_unknown_dependencies_and_taken_names() {
        let e = test_support::recorded(|stack| {
            let platform = test_support::platform(stack);
            crate::service::test_support::declare_endpoint(
                stack,
                &platform,
                "DbSg",
                "db",
                "db",
                &[5432],
            );
            let mut p = props();
            p.name = "db".into();
            p.connects_to = vec![Dependency::new("db", 5433), Dependency::new("redis", 6379)];
            let mut c = Check::new("TestService", "svc");
            resolve(&platform, &mut c, &p, "service.");
            c.finish().unwrap_err()
        });
        assert_eq!(e.0.len(), 3, "{e}");
        assert_one(
            &e,
            "service.name",
            "\"db\"",
            crate::validation::NAME_NOT_TAKEN,
        );
        assert_one(
            &e,
            "service.connects_to",
            "\"db:5433\"",
            "a port `db` serves: 5432",
        );
        assert_one(
            &e,
            "service.connects_to",
            "\"redis:6379\"",
            "one of the endpoints declared so far: db",
        );
    }

    #[test]
    fn build_registers_the_endpoint_and_register_refuses_taken_and_bad_names() {
        let (registered, taken, bad) = test_support::recorded(|stack| {
            let platform = test_support::platform(stack);
            let p = props();
            build(
                Construct::new(stack, "First"),
                "TestService",
                "first",
                &platform,
                &p,
                &[],
                1,
            )
            .unwrap();
            let e = platform.registry.get("api").expect("registered");
            // Lowered again past `resolve`, the registry itself refuses the taken name ...
            let taken = build(
                Construct::new(stack, "Second"),
                "TestService",
                "svc",
                &platform,
                &p,
                &[],
                1,
            )
            .unwrap_err();
            // ... and a name that is not a DNS label.
            let mut bad_name = props();
            bad_name.name = "Bad_Name".into();
            let bad = build(
                Construct::new(stack, "Third"),
                "TestService",
                "svc",
                &platform,
                &bad_name,
                &[],
                1,
            )
            .unwrap_err();
            (
                (e.host.as_literal().unwrap().to_string(), e.ports),
                taken,
                bad,
            )
        });
        assert_eq!(registered, ("api".to_string(), vec![8000]));
        assert_eq!(taken.0.len(), 1, "{taken}");
        let line = assert_rejects(
            &taken,
            "TestService",
            "svc",
            "name",
            crate::validation::NAME_NOT_TAKEN,
        );
        assert!(line.contains("= \"api\" is not allowed"), "{line}");
        assert_eq!(bad.0.len(), 1, "{bad}");
        let line = assert_rejects(
            &bad,
            "TestService",
            "svc",
            "name",
            "a DNS label: 1-63 of a-z, 0-9 and '-'",
        );
        assert!(line.contains("= \"Bad_Name\" is not allowed"), "{line}");
    }
}
