//! Per-environment settings: typed Rust with documented defaults, overridable with CDK context.
//!
//! Context keys (in `cdk.json` or `-c key=value`; values from `-c` arrive as strings, values in
//! `cdk.json` may also be JSON numbers, booleans and arrays):
//!
//! | key | meaning |
//! |---|---|
//! | `account`, `region` | where both environments deploy (env-bound stacks) |
//! | `domain` | the public domain; hosts are `api.`, `app.`, `admin.` under it |
//! | `certificateArn` | the ACM certificate of the ALB (same region), covering the three hosts; when absent and a hosted zone is set, a DNS-validated one is created |
//! | `cloudfrontCertificateArn` | an ACM certificate in us-east-1 for `docs.` / `redoc.`; when absent and a hosted zone is set, a DNS-validated one is created in us-east-1; otherwise the sites use their CloudFront domain |
//! | `hostedZoneId`, `hostedZoneName` | the Route 53 public hosted zone of `domain` (both or neither): alias records for the hosts, and the certificates not given by ARN, are created in it |
//! | `adminAllowList` | client CIDRs allowed to reach admin (comma-separated or a JSON array) |
//! | `alertEmails`, `alertHttpsEndpoints` | subscriptions of the environment's alert topic (lists) |
//! | `imageTag` | the image tag (or `sha256:` digest) every service runs |
//! | `migrationImageTag` | the tag (or digest) of the api image the migration task runs; default: `imageTag` (`tracker-cdk release` sets it ahead of `imageTag`) |
//! | `registryAccount`, `registryRegion` | where the ECR repositories live (default: `account`, `region`); the same for both environments |
//! | `cpuArchitecture` | `X86_64` (default) or `ARM64`: the tasks' CPU architecture (`<service>.cpuArchitecture` per service) |
//! | `queues` | work queues (SQS, dead-letter queue, KMS key, alarms; in the data stack): `{"<name>": {"consumer": "<worker>", "producers": [...], ...}}`, fields and defaults in [`crate::workloads`]; default none |
//! | `<service>.sidecars` | extra containers in the service's task (e.g. an OpenTelemetry collector) with `dependsOn` conditions: a JSON array, fields and defaults in [`crate::workloads`]; default none |
//! | `offHours` | off-hours scaling of the services (`{"timeZone", "down", "up", "min", "max"}` or `false`); default: staging no task from 20:00 to 07:00 Europe/Berlin on weekdays and over the weekend, production none ([`crate::schedules`]) |
//! | `<service>.offHours` | one service's off hours: `false`, `true` or fields over `offHours`; default: the environment's for non-singletons, none for singletons |
//! | `scheduledTasks` | commands run on a schedule on a service's image (a JSON array, see [`crate::schedules`]); default: none |
//! | `ciRepository`, `ciRefs`, `ciOidcProviderArn` | `TrackerRegistry`'s CI role: the GitHub `owner/repo`, the refs it may push from (default `refs/heads/main`, `refs/tags/*`), an existing OIDC provider to import (default: create one); no environment prefix |
//! | `<env>.<service>.deployment[.bakeMinutes\|stepPercent\|stepMinutes]` | how a public service deploys: `rolling` (default), `blue-green`, `linear`, `canary`, with their parameters (table in `settings/rollout.rs`) |
//! | `<env>.[<service>.]logErrors.field\|values\|threshold` | the error-log alarm: JSON selector (default `$.level`), error values (default `ERROR,error`), lines in 5 minutes (default 10) |
//!
//! Each key may be set for one environment with a prefix: `staging.imageTag`,
//! `production.domain`. Sizes and counts are `<environment>.<service>.<field>` with fields
//! `cpu`, `memoryMiB`, `desiredCount`, `minCount`, `maxCount` (e.g.
//! `-c production.api.maxCount=10`); the data plane has `<environment>.db.instanceType`,
//! `<environment>.db.volumeGiB`, `<environment>.db.ami`, `production.db.privateIps` and
//! `production.redis.nodeType`; `<environment>.spotWorkers` puts workers on Fargate Spot and
//! `<environment>.anisetteImageTag` pins the mirrored Anisette image. An unknown key under
//! `staging.` or `production.` is an error (a typo must not be silently ignored).
//!
//! Per-container configuration, without code edits: `<environment>.<target>.env.<NAME>=<value>`
//! (a plain environment value) and `<environment>.<target>.secrets.<NAME>=<secret name or complete
//! ARN>[:<json-key>]` (a Secrets Manager secret, injected as an ECS container secret and granted to
//! that target's execution role alone), where `<target>` is a service of [`CONFIGURABLE`] or
//! `migrate` (the migration task). A plain value whose name looks like a credential, and a name
//! the stacks set themselves ([`STACK_VARIABLES`]), are refused.

use std::collections::BTreeMap;
use std::fmt;

mod rollout;
pub use rollout::{DeploymentSetting, LogErrorOverride, LOG_SERVICES, PUBLIC_SERVICES};

use serde_json::Value;
use tracker_constructs::alerts;
use tracker_constructs::container_registry::CiPushAccess;
use tracker_constructs::service::ContainerHealthCheck;
use tracker_constructs::task_size::{CpuArchitecture, TaskSize};
use tracker_constructs::validation::{
    is_env_var_name, is_ipv4_cidr, is_region, Check, ValidationErrors, ENV_VAR_NAME,
};
use tracker_constructs::wiring::{SecretReference, SECRET_REFERENCE};

use crate::workloads::{self, QueueSetting, SidecarSetting};

/// The environments this repository deploys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Environment {
    Staging,
    Production,
}

impl Environment {
    pub const ALL: [Environment; 2] = [Environment::Staging, Environment::Production];

    /// `staging` / `production`: the tag value, the context prefix and the name in resource names.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }

    /// `TrackerStaging` / `TrackerProduction`: the stack's construct id and CloudFormation name.
    /// Public API: renaming it creates a new stack.
    pub fn stack_name(self) -> &'static str {
        match self {
            Environment::Staging => "TrackerStaging",
            Environment::Production => "TrackerProduction",
        }
    }

    /// `TrackerStagingData` / `TrackerProductionData`: the environment's data stack (network,
    /// platform, data plane, file systems, secrets), which the services stack [`Self::stack_name`]
    /// depends on. Public API like the services stack's name.
    pub fn data_stack_name(self) -> &'static str {
        match self {
            Environment::Staging => "TrackerStagingData",
            Environment::Production => "TrackerProductionData",
        }
    }

    /// `TrackerStagingCdnCertificate` / `TrackerProductionCdnCertificate`: the environment's
    /// us-east-1 stack holding the docs sites' CloudFront certificate, present only when the
    /// stacks create that certificate ([`Settings::cloudfront_certificate`]). Public API like the
    /// other stacks' names.
    pub fn cdn_certificate_stack_name(self) -> &'static str {
        match self {
            Environment::Staging => "TrackerStagingCdnCertificate",
            Environment::Production => "TrackerProductionCdnCertificate",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a certificate comes from (see [`Settings::alb_certificate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certificate<'a> {
    /// An existing ACM certificate, by ARN.
    Existing(&'a str),
    /// A certificate the stacks create, validated by DNS records in the hosted zone.
    Created,
}

/// Size and task counts of one ECS service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizing {
    /// CPU units (256 = 0.25 vCPU).
    pub cpu: u32,
    /// Memory in MiB; with `cpu`, a pair Fargate accepts.
    pub memory_mib: u32,
    /// Tasks started (the initial count when the service autoscales).
    pub desired: u32,
    /// The fewest tasks when the service autoscales; equals `desired` otherwise.
    pub min: u32,
    /// The most tasks when the service autoscales; equals `desired` otherwise.
    pub max: u32,
}

impl Sizing {
    /// A fixed count of `count` tasks.
    pub const fn fixed(cpu: u32, memory_mib: u32, count: u32) -> Self {
        Sizing {
            cpu,
            memory_mib,
            desired: count,
            min: count,
            max: count,
        }
    }

    /// Between `min` and `max` tasks, starting at `min`.
    pub const fn scaling(cpu: u32, memory_mib: u32, min: u32, max: u32) -> Self {
        Sizing {
            cpu,
            memory_mib,
            desired: min,
            min,
            max,
        }
    }

    /// Whether the task count moves (min below max).
    pub fn autoscales(&self) -> bool {
        self.min < self.max
    }

    /// The Fargate task size (already validated by [`Settings::validate`]).
    pub fn task_size(&self) -> TaskSize {
        TaskSize::new(self.cpu, self.memory_mib).expect("task size validated with the settings")
    }
}

/// The services, in declaration order, with their Service Connect names (public API: the names
/// are DNS names other services and stored configuration use).
pub const SERVICES: [&str; 8] = [
    "api",
    "frontend",
    "admin",
    "anisette-v3",
    "tracker-fetcher",
    "unified-geofence",
    "notification-service",
    "materialized-view-service",
];

/// The services an environment may leave out (`disabledServices`).
pub const OPTIONAL_SERVICES: [&str; 6] = [
    "frontend",
    "admin",
    "tracker-fetcher",
    "unified-geofence",
    "notification-service",
    "materialized-view-service",
];

/// What `<environment>.<target>.env.*` / `.secrets.*` configure: the tracker's own services and
/// `migrate`, the migration task. Not `anisette-v3`, a mirrored third-party image configured by
/// its construct.
pub const CONFIGURABLE: [&str; 8] = {
    let mut targets = [MIGRATE; 8];
    let mut i = 0;
    while i < OWN_SERVICES.len() {
        targets[i] = OWN_SERVICES[i];
        i += 1;
    }
    targets
};

/// The tracker's own services: every service but `anisette-v3`, a mirrored third-party image
/// (its logs are not the tracker's JSON lines, its EFS state has a single writer, its task is
/// its construct's). What error-log alarms, off hours, queues and sidecars apply to.
pub const OWN_SERVICES: [&str; 7] = [
    "api",
    "frontend",
    "admin",
    "tracker-fetcher",
    "unified-geofence",
    "notification-service",
    "materialized-view-service",
];

/// The migration task's name as a configuration target.
pub const MIGRATE: &str = "migrate";

/// Every variable the stacks set in some container themselves (the README's container contract
/// lists them, and a test checks that every variable of the synthesized task definitions is
/// either here or came from the settings), and those ECS sets in every Fargate container:
/// `env` / `secrets` settings may not reuse them.
pub const STACK_VARIABLES: [&str; 24] = [
    "ENVIRONMENT",
    "PUBLIC_DOMAIN",
    "DB_HOST",
    "DB_PORT",
    "DB_SSLMODE",
    "DATABASE_NAME",
    "DATABASE_USER",
    "DATABASE_PASSWORD",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_TLS",
    "REDIS_PASSWORD",
    "API_HOST",
    "API_PORT",
    "ANISETTE_URL",
    "ANISETTE_V3_HOST",
    "ANISETTE_V3_PORT",
    // Set by ECS on Fargate.
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "ECS_CONTAINER_METADATA_URI",
    "ECS_CONTAINER_METADATA_URI_V4",
    "ECS_AGENT_URI",
];

/// Whether a variable name looks like a credential, which must be a secret: `*PASSWORD*`,
/// `*TOKEN*`, `*SECRET*` or `*_KEY` (case-insensitive).
pub fn looks_like_credential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "TOKEN", "SECRET"]
        .iter()
        .any(|w| upper.contains(w))
        || upper.ends_with("_KEY")
}

/// The ECR repositories (in `TrackerRegistry`) the environments pull from: one per image.
pub fn repositories() -> Vec<String> {
    SERVICES.iter().map(|s| format!("tracker/{s}")).collect()
}

/// Everything one environment's stack is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub environment: Environment,
    /// The AWS account id (12 digits). Default: the example account `111111111111` from
    /// `cdk.json`.
    pub account: String,
    /// The AWS region. Default: `eu-west-1`.
    pub region: String,
    /// The public domain: the services answer on `api.`, `app.` and `admin.` under it.
    /// Default (staging): `staging.tracker.example.com`; (production): `tracker.example.com`.
    pub domain: String,
    /// The ALB's ACM certificate (in `region`), covering the three hosts. Default: `None`: with
    /// a hosted zone, the data stack creates a DNS-validated certificate for them; without one,
    /// a placeholder ARN that synthesizes but does not deploy (see [`Settings::alb_certificate`]).
    /// An empty value (`-c staging.certificateArn=`) unsets a value given for both environments.
    pub certificate_arn: Option<String>,
    /// An ACM certificate in us-east-1 for `docs.<domain>` and `redoc.<domain>` on CloudFront.
    /// Default: `None`: with a hosted zone, a DNS-validated certificate is created in us-east-1
    /// (the stack [`Environment::cdn_certificate_stack_name`]); without one, the sites are served
    /// on their `*.cloudfront.net` names (see [`Settings::cloudfront_certificate`]).
    pub cloudfront_certificate_arn: Option<String>,
    /// The Route 53 public hosted zone holding `domain` (its id, `Z...`), context
    /// `hostedZoneId`; with [`Settings::hosted_zone_name`]. When set, alias records for `api.`,
    /// `app.`, `admin.` (to the ALB) and `docs.`/`redoc.` (to CloudFront) are created in it, and
    /// the certificates not given by ARN are created and validated through it. Default: `None`
    /// (the data stack outputs the ALB's DNS name and the CNAME records to create by hand).
    pub hosted_zone_id: Option<String>,
    /// The hosted zone's name (`example.com`): `domain` itself or a parent of it. Context
    /// `hostedZoneName`. Default: `None`.
    pub hosted_zone_name: Option<String>,
    /// Client IPv4 CIDRs allowed to reach admin; everyone else gets the listener's 404.
    /// Default: the documentation range `203.0.113.0/24` (replace with the office/VPN ranges).
    pub admin_allow_list: Vec<String>,
    /// The image tag (or `sha256:<digest>`) every service runs. Production refuses a mutable tag
    /// (`latest`, a branch name); staging accepts one with a warning. Default: `v1.0.0`.
    pub image_tag: String,
    /// The tag (or `sha256:<digest>`) of the api image the migration task runs, context
    /// `migrationImageTag`. A release first deploys this alone (the services keep `image_tag`),
    /// runs the migration, then moves `image_tag` to it. Same rules as `image_tag`. Default:
    /// `None`, the migration task runs `image_tag`.
    pub migration_image_tag: Option<String>,
    /// The pinned tag (or digest) of the Anisette image mirrored to `tracker/anisette-v3`.
    /// Default: `2024-06-01` (upstream publishes only `:latest`; mirror and date it).
    pub anisette_image_tag: String,
    /// The account of the ECR repositories. Default: `account`.
    pub registry_account: String,
    /// The region of the ECR repositories. Default: `region`.
    pub registry_region: String,
    /// Sizes and counts by service name ([`SERVICES`]).
    pub services: BTreeMap<String, Sizing>,
    /// Workers (except singletons) run three in four tasks beyond the first on Fargate Spot.
    /// Default: on in staging; in production only `unified-geofence` is Spot-weighted.
    pub spot_workers: bool,
    /// The database host instance type: staging `t4g.large`, production `m7g.large` (per node).
    pub db_instance_type: String,
    /// The database data volume in GiB: staging 50, production 100 (per node).
    pub db_volume_gib: u32,
    /// The pinned Ubuntu 24.04 arm64 AMI of the database hosts in `region`. Default: a
    /// placeholder id that synthesizes but must be replaced before a real deploy.
    pub db_ami: String,
    /// Production only: the three fixed private IPs of the Patroni nodes, one in each private
    /// subnet of the VPC's layout (AZ a, b, c: 10.0.16.0/20, 10.0.32.0/20, 10.0.48.0/20).
    /// Default: `.10` of each.
    pub patroni_private_ips: [String; 3],
    /// Production only: the ElastiCache node type. Default `cache.t4g.small`.
    pub redis_node_type: String,
    /// CloudFormation termination protection on the services stack. Default: on in production.
    /// The data stack has it in every environment, whatever this says.
    pub termination_protection: bool,
    /// The migration command, run as a one-off task on the api image.
    /// Default: `python manage.py migrate --noinput`.
    pub migration_command: Vec<String>,
    /// Extra tags on every resource of the stack (cost center, owner), beside `project` and
    /// `environment`. Default: none.
    pub tags: BTreeMap<String, String>,
    /// The CloudFormation stack description (1-1024 characters). When `None`, a description of
    /// the environment's shape is generated (`tracker staging: ECS Fargate services, ...`).
    pub description: Option<String>,
    /// ECS Exec (`aws ecs execute-command`) into the services' containers. Default: on in staging,
    /// off in production (turning it on grants the SSM channel actions: a widening).
    pub ecs_exec: bool,
    /// Services not deployed in this environment (e.g. admin moved to static hosting). A service
    /// others connect to cannot be disabled. Default: none.
    pub disabled_services: Vec<String>,
    /// The container health command (`CMD-SHELL`, run inside the container every 30 s, unhealthy
    /// after 3 failures, 60 s start period) by service name, context
    /// `<service>.healthCommand`. Default: the workers check a heartbeat file,
    /// [`WORKER_HEARTBEAT_COMMAND`] (the worker touches `/tmp/worker-heartbeat` at least once a
    /// minute while its loop runs); the public services curl their target group's health path
    /// on localhost; `anisette-v3` has its own check (not a setting).
    pub health_commands: BTreeMap<String, String>,
    /// E-mail addresses subscribed to the environment's alert topic (every alarm's ALARM and OK;
    /// each address confirms once). Context `alertEmails` (comma-separated or a JSON array).
    /// Default: none.
    pub alert_emails: Vec<String>,
    /// HTTPS endpoints subscribed to the alert topic (an on-call tool's SNS integration URL).
    /// Context `alertHttpsEndpoints`. Default: none.
    pub alert_https_endpoints: Vec<String>,
    /// The CPU architecture of every task whose service has no `<service>.cpuArchitecture`
    /// (`cpuArchitecture`: `X86_64` or `ARM64`). Default: X86_64, what the default GitHub-hosted
    /// runners build natively (see [`CpuArchitecture`]).
    pub cpu_architecture: CpuArchitecture,
    /// Per-service CPU architectures (`<service>.cpuArchitecture`), overriding
    /// `cpu_architecture`; the migration task follows `api` (it runs the api image). Default:
    /// none.
    pub service_architectures: BTreeMap<String, CpuArchitecture>,
    /// The GitHub repository (`owner/repo`) whose Actions workflows may push images
    /// (`ciRepository`, global only). When `None` (the default), `TrackerRegistry` has no CI role.
    pub ci_repository: Option<String>,
    /// The git refs whose workflow runs may push (`ciRefs`, global only). Default:
    /// `refs/heads/main` and `refs/tags/*`.
    pub ci_refs: Vec<String>,
    /// The registry account's existing OIDC provider for GitHub Actions (`ciOidcProviderArn`,
    /// global only). When `None` (the default), `TrackerRegistry` creates it.
    pub ci_oidc_provider_arn: Option<String>,
    /// Plain environment values by target ([`CONFIGURABLE`]) and variable name, from
    /// `<environment>.<target>.env.<NAME>`: non-secret configuration (`LOG_LEVEL=info`). Default:
    /// none.
    pub container_environment: BTreeMap<String, BTreeMap<String, String>>,
    /// Secrets Manager secrets by target ([`CONFIGURABLE`]) and variable name, from
    /// `<environment>.<target>.secrets.<NAME>`: injected as ECS container secrets, read by that
    /// target's execution role only. Default: none.
    pub container_secrets: BTreeMap<String, BTreeMap<String, SecretReference>>,
    /// Work queues by name, context `queues` (see [`crate::workloads`]): each created in the
    /// data stack with its dead-letter queue, key and alarms, consumed by one worker, sent to
    /// by its producers. Default: none.
    pub queues: BTreeMap<String, QueueSetting>,
    /// Sidecar containers by service, context `<service>.sidecars` (see [`crate::workloads`]).
    /// Default: none.
    pub sidecars: BTreeMap<String, Vec<SidecarSetting>>,
    /// Deployment strategies of the public services by name, from `<service>.deployment` and
    /// `<service>.deployment.bakeMinutes|stepPercent|stepMinutes` (see
    /// [`Settings::deployment_of`]). Default: none (every service deploys rolling).
    pub deployments: BTreeMap<String, DeploymentSetting>,
    /// The environment's error-log alarm settings (`logErrors.field|values|threshold`), over
    /// the defaults `$.level` = `ERROR`/`error`, 10 lines in 5 minutes (see
    /// [`Settings::log_errors_of`]). Default: none.
    pub log_errors: LogErrorOverride,
    /// Per-service error-log alarm settings (`<service>.logErrors.*`). Default: none.
    pub service_log_errors: BTreeMap<String, LogErrorOverride>,
    /// Off-hours scaling of the environment's services (`offHours`; see [`crate::schedules`]).
    /// Default: staging scales its services to no task from 20:00 to 07:00 (Europe/Berlin) on
    /// weekdays and over the weekend ([`crate::schedules::staging_off_hours`]); production none.
    pub off_hours: Option<tracker_constructs::schedule::OffHours>,
    /// Per-service off hours (`<service>.offHours`): off, on, or fields over `off_hours`.
    /// Default: none (non-singletons follow `off_hours`, singletons are not scheduled).
    pub service_off_hours: BTreeMap<String, crate::schedules::ServiceOffHours>,
    /// Commands run on a schedule on a service's image (`scheduledTasks`). Default: none.
    pub scheduled_tasks: Vec<crate::schedules::ScheduledCommand>,
}

/// A setting that synthesizes but should not be deployed as is ([`Settings::warnings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingWarning {
    /// The annotation id (`tracker:placeholder-ami`), stable for acknowledgements.
    pub id: &'static str,
    /// The context key to set, without the environment prefix (`db.ami`).
    pub key: &'static str,
    /// Which of the environment's stacks the value concerns (the annotation goes there).
    pub stack: WarningStack,
    /// What is wrong and what to set, naming the context key.
    pub message: String,
}

/// The stack of an environment a [`SettingWarning`] is recorded on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarningStack {
    /// `Tracker<Env>Data`.
    Data,
    /// `Tracker<Env>`.
    Services,
}

/// The workers' default health command: the heartbeat file was touched in the last 2 minutes.
pub const WORKER_HEARTBEAT_COMMAND: &str = "test -n \"$(find /tmp/worker-heartbeat -mmin -2)\"";

/// The services whose container health command is a setting (every one but `anisette-v3`).
const HEALTH_COMMAND_SERVICES: [&str; 7] = [
    "api",
    "frontend",
    "admin",
    "tracker-fetcher",
    "unified-geofence",
    "notification-service",
    "materialized-view-service",
];

/// The workers (the services without a load balancer to check them).
pub(crate) const WORKERS: [&str; 4] = [
    "tracker-fetcher",
    "unified-geofence",
    "notification-service",
    "materialized-view-service",
];

/// The example account `cdk.json` ships (and that `availability-zones` context is seeded for).
pub const EXAMPLE_ACCOUNT: &str = "111111111111";
const EXAMPLE_CERTIFICATE: &str =
    "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";
const PLACEHOLDER_AMI: &str = "ami-0123456789abcdef0";

impl Settings {
    /// The documented defaults of `environment` (what synthesizes with an empty context).
    pub fn defaults(environment: Environment) -> Settings {
        let production = environment == Environment::Production;
        let services: BTreeMap<String, Sizing> = match environment {
            Environment::Staging => [
                ("api", Sizing::fixed(512, 1024, 1)),
                ("frontend", Sizing::fixed(256, 512, 1)),
                ("admin", Sizing::fixed(256, 512, 1)),
                ("anisette-v3", Sizing::fixed(256, 512, 1)),
                ("tracker-fetcher", Sizing::fixed(512, 1024, 1)),
                ("unified-geofence", Sizing::fixed(256, 512, 1)),
                ("notification-service", Sizing::fixed(256, 512, 1)),
                ("materialized-view-service", Sizing::fixed(256, 512, 1)),
            ],
            Environment::Production => [
                ("api", Sizing::scaling(1024, 2048, 2, 6)),
                ("frontend", Sizing::scaling(512, 1024, 2, 4)),
                ("admin", Sizing::fixed(512, 1024, 2)),
                ("anisette-v3", Sizing::fixed(256, 512, 1)),
                ("tracker-fetcher", Sizing::fixed(512, 1024, 1)),
                ("unified-geofence", Sizing::scaling(512, 1024, 1, 4)),
                ("notification-service", Sizing::scaling(512, 1024, 2, 4)),
                ("materialized-view-service", Sizing::fixed(512, 1024, 1)),
            ],
        }
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Settings {
            environment,
            account: EXAMPLE_ACCOUNT.into(),
            region: "eu-west-1".into(),
            domain: if production {
                "tracker.example.com".into()
            } else {
                "staging.tracker.example.com".into()
            },
            certificate_arn: None,
            cloudfront_certificate_arn: None,
            hosted_zone_id: None,
            hosted_zone_name: None,
            admin_allow_list: vec!["203.0.113.0/24".into()],
            image_tag: "v1.0.0".into(),
            migration_image_tag: None,
            anisette_image_tag: "2024-06-01".into(),
            registry_account: EXAMPLE_ACCOUNT.into(),
            registry_region: "eu-west-1".into(),
            services,
            spot_workers: !production,
            db_instance_type: if production { "m7g.large" } else { "t4g.large" }.into(),
            db_volume_gib: if production { 100 } else { 50 },
            db_ami: PLACEHOLDER_AMI.into(),
            patroni_private_ips: ["10.0.16.10", "10.0.32.10", "10.0.48.10"].map(String::from),
            redis_node_type: "cache.t4g.small".into(),
            termination_protection: production,
            migration_command: ["python", "manage.py", "migrate", "--noinput"]
                .map(String::from)
                .to_vec(),
            tags: BTreeMap::new(),
            description: None,
            ecs_exec: !production,
            disabled_services: Vec::new(),
            alert_emails: Vec::new(),
            alert_https_endpoints: Vec::new(),
            health_commands: WORKERS
                .iter()
                .map(|w| (w.to_string(), WORKER_HEARTBEAT_COMMAND.to_string()))
                .collect(),
            container_environment: BTreeMap::new(),
            container_secrets: BTreeMap::new(),
            cpu_architecture: CpuArchitecture::default(),
            service_architectures: BTreeMap::new(),
            ci_repository: None,
            ci_refs: CiPushAccess::new("").refs,
            ci_oidc_provider_arn: None,
            queues: BTreeMap::new(),
            sidecars: BTreeMap::new(),
            deployments: BTreeMap::new(),
            log_errors: LogErrorOverride::default(),
            service_log_errors: BTreeMap::new(),
            off_hours: (!production).then(crate::schedules::staging_off_hours),
            service_off_hours: BTreeMap::new(),
            scheduled_tasks: Vec::new(),
        }
    }

    /// The defaults of `environment` with every context override applied, validated. All
    /// problems (unknown keys, unparsable values, invalid settings) are reported together.
    pub fn from_context(
        environment: Environment,
        context: &serde_json::Map<String, Value>,
    ) -> Result<Settings, ValidationErrors> {
        let mut s = Settings::defaults(environment);
        let mut c = Check::new("Settings", environment.name());
        let prefix = format!("{}.", environment.name());
        // Global keys first, then the environment's own, so the environment wins.
        let global = context
            .iter()
            .filter(|(k, _)| GLOBAL_KEYS.contains(&k.as_str()));
        let own = context
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k, v)));
        let registry_set = context
            .keys()
            .any(|k| k.ends_with("registryAccount") || k.ends_with("registryRegion"));
        let own = own.filter(|(key, _)| {
            let global_only = REGISTRY_ONLY_KEYS.contains(key);
            if global_only {
                c.fail(
                    &format!("{prefix}{key}"),
                    key,
                    format!(
                        "a key without the environment prefix (`{key}`): it configures \
                         TrackerRegistry, which serves both environments"
                    ),
                );
            }
            !global_only
        });
        let own: Vec<(&str, &Value)> = own.collect();
        for (key, value) in global.map(|(k, v)| (k.as_str(), v)).chain(own) {
            s.apply(&mut c, &prefix, key, value);
        }
        if !registry_set {
            s.registry_account = s.account.clone();
            s.registry_region = s.region.clone();
        }
        s.validate_into(&mut c);
        c.finish()?;
        Ok(s)
    }

    fn apply(&mut self, c: &mut Check, prefix: &str, key: &str, value: &Value) {
        let field = format!("{prefix}{key}");
        let text = |c: &mut Check| -> Option<String> {
            match value {
                Value::String(v) => Some(v.clone()),
                other => {
                    c.fail(&field, other, "a string");
                    None
                }
            }
        };
        match key {
            "account" => self.account = text(c).unwrap_or_default(),
            "region" => self.region = text(c).unwrap_or_default(),
            "domain" => self.domain = text(c).unwrap_or_default(),
            "certificateArn" => self.certificate_arn = text(c).filter(|v| !v.is_empty()),
            "cloudfrontCertificateArn" => {
                self.cloudfront_certificate_arn = text(c).filter(|v| !v.is_empty())
            }
            "hostedZoneId" => self.hosted_zone_id = text(c).filter(|v| !v.is_empty()),
            "hostedZoneName" => {
                self.hosted_zone_name = text(c)
                    .map(|v| v.trim_end_matches('.').to_string())
                    .filter(|v| !v.is_empty())
            }
            "adminAllowList" => self.admin_allow_list = list(c, &field, value),
            "alertEmails" => self.alert_emails = list(c, &field, value),
            "alertHttpsEndpoints" => self.alert_https_endpoints = list(c, &field, value),
            "imageTag" => self.image_tag = text(c).unwrap_or_default(),
            "migrationImageTag" => self.migration_image_tag = text(c).filter(|v| !v.is_empty()),
            "anisetteImageTag" => self.anisette_image_tag = text(c).unwrap_or_default(),
            "registryAccount" => self.registry_account = text(c).unwrap_or_default(),
            "registryRegion" => self.registry_region = text(c).unwrap_or_default(),
            "spotWorkers" => {
                if let Some(b) = boolean(c, &field, value) {
                    self.spot_workers = b
                }
            }
            "terminationProtection" => {
                if let Some(b) = boolean(c, &field, value) {
                    self.termination_protection = b
                }
            }
            "db.instanceType" => self.db_instance_type = text(c).unwrap_or_default(),
            "db.ami" => self.db_ami = text(c).unwrap_or_default(),
            "db.volumeGiB" => {
                if let Some(n) = number(c, &field, value) {
                    self.db_volume_gib = n
                }
            }
            "db.privateIps" if self.environment == Environment::Production => {
                let ips = list(c, &field, value);
                match <[String; 3]>::try_from(ips) {
                    Ok(ips) => self.patroni_private_ips = ips,
                    Err(ips) => {
                        c.fail(&field, ips, "exactly three IPv4 addresses, one per AZ");
                    }
                }
            }
            "redis.nodeType" if self.environment == Environment::Production => {
                self.redis_node_type = text(c).unwrap_or_default()
            }
            "migrationCommand" => self.migration_command = list(c, &field, value),
            "description" => self.description = text(c),
            "ecsExec" => {
                if let Some(b) = boolean(c, &field, value) {
                    self.ecs_exec = b
                }
            }
            "disabledServices" => self.disabled_services = list(c, &field, value),
            "queues" => self.queues = workloads::parse_queues(c, &field, value),
            _ if key
                .strip_suffix(".sidecars")
                .is_some_and(|service| workloads::SIDECAR_SERVICES.contains(&service)) =>
            {
                let service = key.trim_end_matches(".sidecars").to_string();
                let sidecars = workloads::parse_sidecars(c, &field, value);
                self.sidecars.insert(service, sidecars);
            }
            "tags" => {
                self.tags = list(c, &field, value)
                    .into_iter()
                    .filter_map(|pair| match pair.split_once('=') {
                        Some((k, v)) if !k.is_empty() => Some((k.to_string(), v.to_string())),
                        _ => {
                            c.fail(&field, &pair, "key=value pairs, e.g. owner=platform");
                            None
                        }
                    })
                    .collect()
            }
            _ if key
                .strip_suffix(".healthCommand")
                .is_some_and(|service| HEALTH_COMMAND_SERVICES.contains(&service)) =>
            {
                let service = key.trim_end_matches(".healthCommand");
                let command = text(c).unwrap_or_default();
                c.require(
                    !command.trim().is_empty(),
                    &field,
                    &command,
                    "a shell command that exits 0 while the service is healthy",
                );
                self.health_commands.insert(service.to_string(), command);
            }
            "offHours" => {
                if let Some(o) = crate::schedules::parse_off_hours(c, &field, value) {
                    self.off_hours = o
                }
            }
            "scheduledTasks" => {
                self.scheduled_tasks = crate::schedules::parse_scheduled_tasks(c, &field, value)
            }
            _ if key
                .strip_suffix(".offHours")
                .is_some_and(|service| SERVICES.contains(&service)) =>
            {
                let service = key.trim_end_matches(".offHours");
                if let Some(o) = crate::schedules::parse_service_off_hours(c, &field, value) {
                    self.service_off_hours.insert(service.to_string(), o);
                }
            }
            "cpuArchitecture" => {
                if let Some(a) = architecture(c, &field, value) {
                    self.cpu_architecture = a
                }
            }
            "ciRepository" => self.ci_repository = text(c).filter(|v| !v.is_empty()),
            "ciRefs" => self.ci_refs = list(c, &field, value),
            "ciOidcProviderArn" => self.ci_oidc_provider_arn = text(c).filter(|v| !v.is_empty()),
            _ if key
                .strip_suffix(".cpuArchitecture")
                .is_some_and(|service| SERVICES.contains(&service)) =>
            {
                if let Some(a) = architecture(c, &field, value) {
                    let service = key.strip_suffix(".cpuArchitecture").unwrap_or_default();
                    self.service_architectures.insert(service.to_string(), a);
                }
            }
            _ if self.apply_container_config(c, &field, key, value) => {}
            _ if self.apply_rollout(c, &field, key, value) => {}
            _ => {
                let sized = key.split_once('.').and_then(|(service, f)| {
                    let sizing = self.services.get_mut(service)?;
                    let slot = match f {
                        "cpu" => &mut sizing.cpu,
                        "memoryMiB" => &mut sizing.memory_mib,
                        "desiredCount" => &mut sizing.desired,
                        "minCount" => &mut sizing.min,
                        "maxCount" => &mut sizing.max,
                        _ => return None,
                    };
                    Some(slot)
                });
                match sized {
                    Some(slot) => {
                        if let Some(n) = number(c, &field, value) {
                            *slot = n
                        }
                    }
                    None => {
                        c.fail(
                            &field,
                            key,
                            format!(
                            "a known setting: {}, <service>.cpu|memoryMiB|desiredCount|minCount|\
                             maxCount|cpuArchitecture|offHours for a service in {}, <service>.healthCommand \
                             for a service in {}, <target>.env.<NAME>|secrets.<NAME> for a target \
                             in {}, <service>.deployment[.bakeMinutes|stepPercent|stepMinutes] for \
                             a service in {}, [<service>.]logErrors.field|values|threshold, \
                             db.instanceType|volumeGiB|ami{}; <service>.sidecars for a service in {}",
                            ENV_KEYS.join(", "),
                            SERVICES.join(", "),
                            HEALTH_COMMAND_SERVICES.join(", "),
                            CONFIGURABLE.join(", "),
                            PUBLIC_SERVICES.join(", "),
                            if self.environment == Environment::Production {
                                "|privateIps, redis.nodeType"
                            } else {
                                ""
                            },
                            workloads::SIDECAR_SERVICES.join(", ")
                        ),
                        );
                    }
                }
            }
        }
    }

    /// Applies `<target>.env.<NAME>` / `<target>.secrets.<NAME>`; `false` when `key` is neither.
    fn apply_container_config(
        &mut self,
        c: &mut Check,
        field: &str,
        key: &str,
        value: &Value,
    ) -> bool {
        let Some((target, rest)) = key.split_once('.') else {
            return false;
        };
        if !CONFIGURABLE.contains(&target) {
            return false;
        }
        if let Some(name) = rest.strip_prefix("env.") {
            let text = match value {
                Value::String(v) => Some(v.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            match text {
                Some(v) => {
                    self.container_environment
                        .entry(target.to_string())
                        .or_default()
                        .insert(name.to_string(), v);
                }
                None => drop(c.fail(field, value, "a string, number or boolean")),
            }
            true
        } else if let Some(name) = rest.strip_prefix("secrets.") {
            match value.as_str().map(SecretReference::parse) {
                Some(Ok(r)) => {
                    self.container_secrets
                        .entry(target.to_string())
                        .or_default()
                        .insert(name.to_string(), r);
                }
                _ => drop(c.fail(field, value, SECRET_REFERENCE)),
            }
            true
        } else {
            false
        }
    }

    /// The plain values `<environment>.<target>.env.*` give `target`.
    pub fn environment_of(&self, target: &str) -> BTreeMap<String, String> {
        self.container_environment
            .get(target)
            .cloned()
            .unwrap_or_default()
    }

    /// The secrets `<environment>.<target>.secrets.*` give `target`.
    pub fn secrets_of(&self, target: &str) -> BTreeMap<String, SecretReference> {
        self.container_secrets
            .get(target)
            .cloned()
            .unwrap_or_default()
    }

    fn validate_container_config(&self, c: &mut Check) {
        let env = self.environment.name();
        let taken = format!(
            "a name neither the stacks nor ECS set themselves (reserved: {})",
            STACK_VARIABLES.join(", ")
        );
        let targets = self
            .container_environment
            .keys()
            .chain(self.container_secrets.keys());
        for target in targets.collect::<std::collections::BTreeSet<_>>() {
            c.require(
                CONFIGURABLE.contains(&target.as_str()),
                &format!("{env}.{target}"),
                target,
                format!("a configurable target: {}", CONFIGURABLE.join(", ")),
            );
            let plain = self.environment_of(target);
            let secrets = self.secrets_of(target);
            for name in plain.keys() {
                let field = format!("{env}.{target}.env.{name}");
                // The value is never echoed: it may be the credential this check catches.
                if looks_like_credential(name) {
                    c.fail(
                        &field,
                        name,
                        format!(
                            "a name that does not look like a credential (*PASSWORD*, *TOKEN*, \
                             *SECRET*, *_KEY): keep the value in Secrets Manager and use \
                             `{env}.{target}.secrets.{name}=<secret name or ARN>[:json-key]` \
                             instead (plain values are visible in the task definition and the \
                             template)"
                        ),
                    );
                } else if !is_env_var_name(name) {
                    c.fail(&field, name, ENV_VAR_NAME);
                } else if STACK_VARIABLES.contains(&name.as_str()) {
                    c.fail(&field, name, taken.as_str());
                } else if secrets.contains_key(name) {
                    c.fail(
                        &field,
                        name,
                        format!(
                            "a name not also set in `{env}.{target}.secrets` (a variable is \
                             either plain or secret)"
                        ),
                    );
                }
            }
            for name in secrets.keys() {
                let field = format!("{env}.{target}.secrets.{name}");
                if !is_env_var_name(name) {
                    c.fail(&field, name, ENV_VAR_NAME);
                } else if STACK_VARIABLES.contains(&name.as_str()) {
                    c.fail(&field, name, taken.as_str());
                }
            }
        }
    }

    /// Every violation of these settings, named by context key.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut c = Check::new("Settings", self.environment.name());
        self.validate_into(&mut c);
        c.finish()
    }

    fn validate_into(&self, c: &mut Check) {
        let p = |k: &str| format!("{}.{k}", self.environment.name());
        for (key, account) in [
            ("account", &self.account),
            ("registryAccount", &self.registry_account),
        ] {
            c.require(
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
                &p(key),
                account,
                "a 12-digit AWS account id",
            );
        }
        for (key, region) in [
            ("region", &self.region),
            ("registryRegion", &self.registry_region),
        ] {
            c.require(
                is_region(region),
                &p(key),
                region,
                "an AWS region name such as eu-west-1",
            );
        }
        c.require(
            is_domain(&self.domain),
            &p("domain"),
            &self.domain,
            "a DNS domain such as tracker.example.com",
        );
        let acm = |arn: &str, region: &str| {
            arn.strip_prefix("arn:aws:acm:")
                .and_then(|rest| rest.strip_prefix(region))
                .is_some_and(|rest| rest.contains(":certificate/"))
        };
        if let Some(arn) = &self.certificate_arn {
            c.require(
                acm(arn, &self.region),
                &p("certificateArn"),
                arn,
                format!(
                    "an ACM certificate ARN in {} (arn:aws:acm:{}:<account>:certificate/<id>)",
                    self.region, self.region
                ),
            );
        }
        if let Some(arn) = &self.cloudfront_certificate_arn {
            c.require(
                acm(arn, "us-east-1"),
                &p("cloudfrontCertificateArn"),
                arn,
                "an ACM certificate ARN in us-east-1 (CloudFront only reads certificates there)",
            );
        }
        match (&self.hosted_zone_id, &self.hosted_zone_name) {
            (None, None) => {}
            (Some(id), Some(name)) => {
                c.require(
                    id.len() <= 32
                        && id.starts_with('Z')
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                    &p("hostedZoneId"),
                    id,
                    "a Route 53 hosted zone id (Z followed by upper-case letters and digits)",
                );
                c.require(
                    is_domain(name)
                        && (self.domain == *name || self.domain.ends_with(&format!(".{name}"))),
                    &p("hostedZoneName"),
                    name,
                    format!(
                        "the hosted zone's name: {} or a parent domain of it",
                        self.domain
                    ),
                );
            }
            (id, _) => drop(c.fail(
                &p(if id.is_none() {
                    "hostedZoneId"
                } else {
                    "hostedZoneName"
                }),
                "missing",
                "both hostedZoneId and hostedZoneName, or neither",
            )),
        }
        // A created certificate's domain name (`api.` / `docs.<domain>`) is ACM's subject, at
        // most 64 characters.
        let created = [
            (self.alb_certificate() == Certificate::Created, "api"),
            (
                self.cloudfront_certificate() == Some(Certificate::Created),
                "docs",
            ),
        ];
        if let Some(longest) = created
            .iter()
            .filter(|(made, _)| *made)
            .map(|(_, host)| format!("{host}.{}", self.domain))
            .max_by_key(String::len)
        {
            c.require(
                longest.len() <= 64,
                &p("domain"),
                &self.domain,
                format!(
                    "a domain short enough for the certificate the stacks create ({longest} is \
                     over ACM's 64 characters): a shorter domain, or certificateArn and \
                     cloudfrontCertificateArn"
                ),
            );
        }
        c.require(
            !self.admin_allow_list.is_empty(),
            &p("adminAllowList"),
            &self.admin_allow_list,
            "at least one CIDR: admin is never open to everyone",
        );
        for (i, cidr) in self.admin_allow_list.iter().enumerate() {
            c.require(
                is_ipv4_cidr(cidr) && cidr != "0.0.0.0/0",
                &format!("{}[{i}]", p("adminAllowList")),
                cidr,
                "an IPv4 CIDR block narrower than 0.0.0.0/0, e.g. 203.0.113.0/24",
            );
        }
        for (i, email) in self.alert_emails.iter().enumerate() {
            c.require(
                alerts::is_email(email),
                &format!("{}[{i}]", p("alertEmails")),
                email,
                alerts::EMAIL_ALLOWED,
            );
        }
        for (i, url) in self.alert_https_endpoints.iter().enumerate() {
            c.require(
                alerts::is_https_url(url),
                &format!("{}[{i}]", p("alertHttpsEndpoints")),
                url,
                alerts::HTTPS_ALLOWED,
            );
        }
        let tags = [
            ("imageTag", Some(&self.image_tag)),
            ("migrationImageTag", self.migration_image_tag.as_ref()),
        ];
        for (key, tag) in tags {
            let Some(tag) = tag else { continue };
            match tag_kind(tag) {
                TagKind::Invalid => drop(c.fail(
                    &p(key),
                    tag,
                    "an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) or sha256:<64 hex digits>",
                )),
                TagKind::Mutable if self.environment == Environment::Production => drop(c.fail(
                    &p(key),
                    tag,
                    format!(
                        "an immutable reference in production: a version (v1.4.2), a commit SHA \
                         (7-40 hex digits) or sha256:<digest>; a tag like `latest` or a branch \
                         name can point at a different image on the next deploy (every stack is \
                         synthesized on each run: for staging alone, set `staging.{key}` \
                         instead of `{key}`)"
                    ),
                )),
                _ => {}
            }
        }
        if tag_kind(&self.anisette_image_tag) == TagKind::Invalid
            || self.anisette_image_tag == "latest"
        {
            c.fail(
                &p("anisetteImageTag"),
                &self.anisette_image_tag,
                "a pinned tag or sha256:<digest> of the mirrored image, not `latest`",
            );
        }
        for name in SERVICES {
            let Some(s) = self.services.get(name) else {
                c.fail(&p(name), "missing", "sizes for every service");
                continue;
            };
            let f = |k: &str| p(&format!("{name}.{k}"));
            if let Err(e) = TaskSize::new(s.cpu, s.memory_mib) {
                c.fail(
                    &f("cpu"),
                    format!("{} / {} MiB", s.cpu, s.memory_mib),
                    e.to_string(),
                );
            }
            // A queue's consumer may scale to zero: an empty queue needs no worker.
            let floor = u32::from(!workloads::scales_to_zero(self, name));
            c.require(
                s.min >= floor && s.min <= s.desired && s.desired <= s.max && s.max >= 1,
                &f("desiredCount"),
                format!("min {} / desired {} / max {}", s.min, s.desired, s.max),
                "1 <= minCount <= desiredCount <= maxCount (minCount 0 only for the consumer of \
                 a queue, which scales on its depth)",
            );
            let singleton = matches!(
                name,
                "anisette-v3" | "tracker-fetcher" | "materialized-view-service"
            );
            if singleton {
                c.require(
                    s.desired == 1 && s.max == 1,
                    &f("desiredCount"),
                    s.desired,
                    "1: this service must run exactly one task (a single writer)",
                );
            }
        }
        if self.environment == Environment::Production {
            for (i, ip) in self.patroni_private_ips.iter().enumerate() {
                c.require(
                    in_private_subnet(ip, i),
                    &format!("{}[{i}]", p("db.privateIps")),
                    ip,
                    format!(
                        "an address of private subnet {} (10.0.{}.0/20), not its first four or \
                         its last",
                        i + 1,
                        PRIVATE_SUBNET_THIRD_OCTET[i]
                    ),
                );
            }
        }
        c.require(
            (20..=16384).contains(&self.db_volume_gib),
            &p("db.volumeGiB"),
            self.db_volume_gib,
            "20-16384 GiB",
        );
        for (i, name) in self.disabled_services.iter().enumerate() {
            c.require(
                OPTIONAL_SERVICES.contains(&name.as_str()),
                &format!("{}[{i}]", p("disabledServices")),
                name,
                format!(
                    "one of {} (api and anisette-v3 are what the others connect to)",
                    OPTIONAL_SERVICES.join(", ")
                ),
            );
        }
        for (key, value) in &self.tags {
            c.require(
                key.len() <= 128
                    && value.len() <= 256
                    && !key.starts_with("aws:")
                    && !["project", "environment"].contains(&key.as_str()),
                &format!("{}.{key}", p("tags")),
                value,
                "a tag key of at most 128 characters, not starting with aws: and not project or \
                 environment (set by the stacks), with a value of at most 256",
            );
        }
        if let Some(d) = &self.description {
            c.require(
                (1..=1024).contains(&d.len()),
                &p("description"),
                d,
                "a stack description of 1-1024 characters",
            );
        }
        c.require(
            !self.migration_command.is_empty(),
            &p("migrationCommand"),
            &self.migration_command,
            "a non-empty command",
        );
        self.validate_container_config(c);
        workloads::validate(self, c);
        self.validate_rollout(c);
        self.validate_schedules(c);
        if let Some(ci) = self.ci_push_access() {
            // The construct's own rules, reported under the context keys.
            let mut props =
                tracker_constructs::container_registry::ContainerRegistryProps::new(["tracker/x"]);
            props.ci = Some(ci);
            if let Err(e) = props.validate("Images") {
                for v in e.0 {
                    let key = match v.field.as_str() {
                        "ci.repository" => "ciRepository",
                        "ci.refs" => "ciRefs",
                        "ci.oidc_provider_arn" => "ciOidcProviderArn",
                        other => other,
                    };
                    c.fail(key, RawValue(v.value), v.allowed);
                }
            }
        }
        if let Some(arn) = &self.ci_oidc_provider_arn {
            let account = arn.split(':').nth(4).unwrap_or_default();
            if !account.is_empty() && account != self.registry_account {
                c.fail(
                    "ciOidcProviderArn",
                    arn,
                    format!(
                        "the OIDC provider of the registry account {} (where the CI role is)",
                        self.registry_account
                    ),
                );
            }
        }
    }

    /// The ALB's certificate: `certificateArn` when given; otherwise created in the hosted zone
    /// when there is one, else the example ARN (which synthesizes, with a warning, but does not
    /// deploy).
    pub fn alb_certificate(&self) -> Certificate<'_> {
        match (&self.certificate_arn, &self.hosted_zone_id) {
            (Some(arn), _) => Certificate::Existing(arn),
            (None, Some(_)) => Certificate::Created,
            (None, None) => Certificate::Existing(EXAMPLE_CERTIFICATE),
        }
    }

    /// The certificate of the docs sites' distributions: `cloudfrontCertificateArn` when given;
    /// otherwise created in us-east-1 when there is a hosted zone; else `None` (the sites answer
    /// on their `*.cloudfront.net` names only).
    pub fn cloudfront_certificate(&self) -> Option<Certificate<'_>> {
        match (&self.cloudfront_certificate_arn, &self.hosted_zone_id) {
            (Some(arn), _) => Some(Certificate::Existing(arn)),
            (None, Some(_)) => Some(Certificate::Created),
            (None, None) => None,
        }
    }

    /// Whether the image tag is mutable (staging warns about it).
    pub fn image_tag_is_mutable(&self) -> bool {
        tag_kind(&self.image_tag) == TagKind::Mutable
    }

    /// The tag of the image the migration task runs: `migration_image_tag`, else `image_tag`.
    pub fn migration_image_tag(&self) -> &str {
        self.migration_image_tag
            .as_deref()
            .unwrap_or(&self.image_tag)
    }

    /// What synthesizes but should not be deployed as is: the example account, the example
    /// certificate ARN, the placeholder AMI (each names the context key to set), and a mutable
    /// image tag in staging. `cdk synth` prints each and records it as a warning annotation on
    /// the stack it concerns.
    pub fn warnings(&self) -> Vec<SettingWarning> {
        let env = self.environment;
        let key = |k: &str| format!("{k}` (or `{env}.{k}`");
        let mut warnings = Vec::new();
        if self.account == EXAMPLE_ACCOUNT {
            warnings.push(SettingWarning {
                id: "tracker:example-account",
                key: "account",
                stack: WarningStack::Data,
                message: format!(
                    "account is the example account {EXAMPLE_ACCOUNT}, which cannot deploy: set \
                     `{})` to your AWS account id",
                    key("account")
                ),
            });
        }
        if self.alb_certificate() == Certificate::Existing(EXAMPLE_CERTIFICATE) {
            warnings.push(SettingWarning {
                id: "tracker:example-certificate",
                key: "certificateArn",
                stack: WarningStack::Data,
                message: format!(
                    "certificateArn is the example ARN {EXAMPLE_CERTIFICATE}, which cannot \
                     deploy: set `{})` to an ACM certificate in {} covering api., app. and \
                     admin.{}, or leave it unset and set `{env}.hostedZoneId` and \
                     `{env}.hostedZoneName` to have one created",
                    key("certificateArn"),
                    self.region,
                    self.domain
                ),
            });
        }
        if self.db_ami == PLACEHOLDER_AMI {
            warnings.push(SettingWarning {
                id: "tracker:placeholder-ami",
                key: "db.ami",
                stack: WarningStack::Data,
                message: format!(
                    "db.ami is the placeholder {PLACEHOLDER_AMI}, which cannot deploy: set \
                     `{env}.db.ami` to the Ubuntu 24.04 arm64 AMI of {} (e.g. from \
                     /aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id)",
                    self.region
                ),
            });
        }
        if self.image_tag_is_mutable() {
            warnings.push(SettingWarning {
                id: "tracker:mutable-image-tag",
                key: "imageTag",
                stack: WarningStack::Services,
                message: format!(
                    "imageTag {:?} is mutable: a redeploy may run a different image. Pin a \
                     version, commit SHA or digest (production refuses mutable tags).",
                    self.image_tag
                ),
            });
        }
        warnings
    }

    /// `<registry>/tracker/<service>` without tag.
    pub fn repository_uri(&self, service: &str) -> String {
        format!(
            "{}.dkr.ecr.{}.amazonaws.com/tracker/{service}",
            self.registry_account, self.registry_region
        )
    }

    /// The ARN of the ECR repository `tracker/<service>`.
    pub fn repository_arn(&self, service: &str) -> String {
        format!(
            "arn:aws:ecr:{}:{}:repository/tracker/{service}",
            self.registry_region, self.registry_account
        )
    }

    /// Whether `service` is deployed (not in `disabled_services`).
    pub fn enabled(&self, service: &str) -> bool {
        !self.disabled_services.iter().any(|s| s == service)
    }

    /// The container health check of `service` from [`Settings::health_commands`]; `None` when
    /// no command is set (a public service then derives one from its target group's check).
    pub fn container_health_check(&self, service: &str) -> Option<ContainerHealthCheck> {
        self.health_commands.get(service).map(|command| {
            let mut check = ContainerHealthCheck::new(["CMD-SHELL", command.as_str()]);
            check.start_period_secs = 60;
            check
        })
    }

    /// The CPU architecture of `service` (one of [`SERVICES`], or [`MIGRATE`], which runs the
    /// api image and so follows `api`).
    pub fn architecture_of(&self, service: &str) -> CpuArchitecture {
        let service = if service == MIGRATE { "api" } else { service };
        self.service_architectures
            .get(service)
            .copied()
            .unwrap_or(self.cpu_architecture)
    }

    /// The CI push access of `TrackerRegistry`, when `ciRepository` is set.
    pub fn ci_push_access(&self) -> Option<CiPushAccess> {
        self.ci_repository.as_ref().map(|repository| CiPushAccess {
            refs: self.ci_refs.clone(),
            oidc_provider_arn: self.ci_oidc_provider_arn.clone(),
            role_name: Some(CI_ROLE_NAME.to_string()),
            ..CiPushAccess::new(repository)
        })
    }

    /// The sizing of `service` (one of [`SERVICES`]).
    pub fn sizing(&self, service: &str) -> Sizing {
        self.services[service]
    }
}

/// Keys of `TrackerRegistry` only: refused with an environment prefix.
const REGISTRY_ONLY_KEYS: [&str; 3] = ["ciRepository", "ciRefs", "ciOidcProviderArn"];

/// The name of the role CI assumes (`role-to-assume: arn:aws:iam::<registry account>:role/...`).
pub const CI_ROLE_NAME: &str = "tracker-ci-image-push";

const GLOBAL_KEYS: [&str; 19] = [
    "hostedZoneId",
    "hostedZoneName",
    "alertEmails",
    "alertHttpsEndpoints",
    "account",
    "region",
    "domain",
    "certificateArn",
    "cloudfrontCertificateArn",
    "adminAllowList",
    "imageTag",
    "migrationImageTag",
    "registryAccount",
    "registryRegion",
    "tags",
    "cpuArchitecture",
    "ciRepository",
    "ciRefs",
    "ciOidcProviderArn",
];

const ENV_KEYS: [&str; 26] = [
    "offHours",
    "scheduledTasks",
    "hostedZoneId",
    "hostedZoneName",
    "alertEmails",
    "alertHttpsEndpoints",
    "account",
    "region",
    "domain",
    "certificateArn",
    "cloudfrontCertificateArn",
    "adminAllowList",
    "imageTag",
    "migrationImageTag",
    "anisetteImageTag",
    "registryAccount",
    "registryRegion",
    "spotWorkers",
    "terminationProtection",
    "migrationCommand",
    "description",
    "ecsExec",
    "disabledServices",
    "tags",
    "cpuArchitecture",
    "queues",
];

#[derive(Debug, PartialEq, Eq)]
enum TagKind {
    Immutable,
    Mutable,
    Invalid,
}

/// Digests, versions (`v1.4.2`, `1.4.2-rc.1`, `2024-06-01`) and commit SHAs are immutable by
/// convention (and the registry's tag immutability enforces it); anything else (`latest`, `main`,
/// `feature-x`) is a moving pointer.
fn tag_kind(tag: &str) -> TagKind {
    if let Some(hex) = tag.strip_prefix("sha256:") {
        return if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            TagKind::Immutable
        } else {
            TagKind::Invalid
        };
    }
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid {
        return TagKind::Invalid;
    }
    let version = tag
        .strip_prefix('v')
        .unwrap_or(tag)
        .split(['-', '+'])
        .next()
        .is_some_and(|core| {
            let parts: Vec<&str> = core.split('.').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
    let date = tag.len() == 10
        && tag.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let sha = {
        let hex = tag
            .strip_prefix("sha-")
            .or_else(|| tag.strip_prefix("git-"))
            .unwrap_or(tag);
        (7..=40).contains(&hex.len())
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && hex.bytes().any(|b| b.is_ascii_alphabetic())
    };
    if version || date || sha {
        TagKind::Immutable
    } else {
        TagKind::Mutable
    }
}

/// The third octet where each AZ's private subnet (a /20) starts in the Network's layout of
/// 10.0.0.0/16 over three AZs (public /24s from 10.0.0.0, then private /20s). A test checks the
/// synthesized subnets still match.
pub const PRIVATE_SUBNET_THIRD_OCTET: [u8; 3] = [16, 32, 48];

fn in_private_subnet(ip: &str, az: usize) -> bool {
    let octets: Vec<u8> = ip.split('.').filter_map(|o| o.parse().ok()).collect();
    let [a, b, c, d] = octets[..] else {
        return false;
    };
    let start = PRIVATE_SUBNET_THIRD_OCTET[az];
    let offset = u16::from(c - start.min(c)) * 256 + u16::from(d);
    (a, b) == (10, 0) && (start..start + 16).contains(&c) && (4..4095).contains(&offset)
}

fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.')
            .all(tracker_constructs::validation::is_dns_label)
}

fn list(c: &mut Check, field: &str, value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                other => {
                    c.fail(field, other, "a list of strings");
                    None
                }
            })
            .collect(),
        Value::String(s) if s.trim_start().starts_with('[') => {
            match serde_json::from_str::<Vec<String>>(s) {
                Ok(v) => v,
                Err(e) => {
                    c.fail(field, s, format!("a JSON array of strings ({e})"));
                    Vec::new()
                }
            }
        }
        Value::String(s) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        other => {
            c.fail(
                field,
                other,
                "a list: a JSON array or comma-separated values",
            );
            Vec::new()
        }
    }
}

fn number(c: &mut Check, field: &str, value: &Value) -> Option<u32> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    let n = n.and_then(|n| u32::try_from(n).ok());
    if n.is_none() {
        c.fail(field, value, "a whole number");
    }
    n
}

/// A value already written as the user wrote it (a nested check's), passed through unquoted.
pub(crate) struct RawValue(pub(crate) String);

impl fmt::Debug for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn architecture(c: &mut Check, field: &str, value: &Value) -> Option<CpuArchitecture> {
    match value.as_str().map(str::parse::<CpuArchitecture>) {
        Some(Ok(a)) => Some(a),
        Some(Err(allowed)) => {
            c.fail(field, value, allowed);
            None
        }
        None => {
            c.fail(field, value, "X86_64 or ARM64");
            None
        }
    }
}

fn boolean(c: &mut Check, field: &str, value: &Value) -> Option<bool> {
    let b = match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    };
    if b.is_none() {
        c.fail(field, value, "true or false");
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn certificates_are_created_with_a_zone_unless_given_by_arn() {
        const ALB: &str = "arn:aws:acm:eu-west-1:123456789012:certificate/alb";
        const CDN: &str = "arn:aws:acm:us-east-1:123456789012:certificate/cdn";
        let zone = |ctx: &mut serde_json::Map<String, Value>| {
            ctx.insert("hostedZoneId".into(), json!("Z0123456789ABCDEFGHIJ"));
            ctx.insert("hostedZoneName".into(), json!("tracker.example.com"));
        };
        let settings = |ctx: &serde_json::Map<String, Value>| {
            Settings::from_context(Environment::Production, ctx).unwrap()
        };
        let example_warning = |s: &Settings| {
            s.warnings()
                .iter()
                .any(|w| w.id == "tracker:example-certificate")
        };

        // No zone, no ARNs: the example ALB certificate (with its warning), no CDN certificate.
        let mut ctx = serde_json::Map::new();
        let s = settings(&ctx);
        assert_eq!(
            s.alb_certificate(),
            Certificate::Existing(EXAMPLE_CERTIFICATE)
        );
        assert_eq!(s.cloudfront_certificate(), None);
        assert!(example_warning(&s));
        let warning = s
            .warnings()
            .into_iter()
            .find(|w| w.id == "tracker:example-certificate")
            .unwrap();
        assert!(
            warning.message.contains("`production.hostedZoneId`"),
            "{}",
            warning.message
        );

        // A zone, no ARNs: both created, no warning.
        zone(&mut ctx);
        let s = settings(&ctx);
        assert_eq!(s.alb_certificate(), Certificate::Created);
        assert_eq!(s.cloudfront_certificate(), Some(Certificate::Created));
        assert!(!example_warning(&s));

        // A zone and both ARNs: the ARNs win.
        ctx.insert("certificateArn".into(), json!(ALB));
        ctx.insert("cloudfrontCertificateArn".into(), json!(CDN));
        let s = settings(&ctx);
        assert_eq!(s.alb_certificate(), Certificate::Existing(ALB));
        assert_eq!(s.cloudfront_certificate(), Some(Certificate::Existing(CDN)));

        // A subject over ACM's 64 characters is refused, naming the domain.
        let mut long = ctx.clone();
        long.remove("certificateArn");
        long.insert(
            "production.domain".into(),
            json!(format!("{}.tracker.example.com", "a".repeat(44))),
        );
        let err = Settings::from_context(Environment::Production, &long)
            .unwrap_err()
            .to_string();
        assert!(err.contains("production.domain"), "{err}");
        assert!(err.contains("64 characters"), "{err}");

        // An empty per-environment value unsets the shared one.
        ctx.insert("production.certificateArn".into(), json!(""));
        assert_eq!(settings(&ctx).alb_certificate(), Certificate::Created);

        // ARNs without a zone are used as they are.
        let mut ctx = serde_json::Map::new();
        ctx.insert("certificateArn".into(), json!(ALB));
        ctx.insert("cloudfrontCertificateArn".into(), json!(CDN));
        let s = settings(&ctx);
        assert_eq!(s.alb_certificate(), Certificate::Existing(ALB));
        assert_eq!(s.cloudfront_certificate(), Some(Certificate::Existing(CDN)));
        assert!(!example_warning(&s));
    }

    #[test]
    fn a_hosted_zone_needs_id_and_name_and_must_hold_the_domain() {
        let mut ctx = serde_json::Map::new();
        ctx.insert(
            "staging.hostedZoneId".into(),
            json!("Z0123456789ABCDEFGHIJ"),
        );
        ctx.insert(
            "staging.hostedZoneName".into(),
            json!("tracker.example.com."),
        );
        let s = Settings::from_context(Environment::Staging, &ctx).unwrap();
        assert_eq!(s.hosted_zone_name.as_deref(), Some("tracker.example.com"));
        assert_eq!(
            Settings::defaults(Environment::Staging).hosted_zone_id,
            None
        );

        ctx.insert("staging.hostedZoneName".into(), json!("other.example.org"));
        ctx.insert("staging.hostedZoneId".into(), json!("not-a-zone"));
        let err = Settings::from_context(Environment::Staging, &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("staging.hostedZoneId"), "{err}");
        assert!(err.contains("staging.hostedZoneName"), "{err}");
        assert!(
            err.contains("staging.tracker.example.com or a parent"),
            "{err}"
        );

        let mut ctx = serde_json::Map::new();
        ctx.insert("hostedZoneId".into(), json!("Z0123456789ABCDEFGHIJ"));
        let err = Settings::from_context(Environment::Production, &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("production.hostedZoneName"), "{err}");
        assert!(err.contains("or neither"), "{err}");
    }

    #[test]
    fn migration_image_tag_defaults_to_image_tag_and_is_checked_like_it() {
        let defaults = Settings::defaults(Environment::Production);
        assert_eq!(defaults.migration_image_tag(), "v1.0.0");

        let mut ctx = serde_json::Map::new();
        ctx.insert("imageTag".into(), json!("v1.4.2"));
        ctx.insert("production.migrationImageTag".into(), json!("v1.4.3"));
        let s = Settings::from_context(Environment::Production, &ctx).unwrap();
        assert_eq!(
            (s.image_tag.as_str(), s.migration_image_tag()),
            ("v1.4.2", "v1.4.3")
        );
        let staging = Settings::from_context(Environment::Staging, &ctx).unwrap();
        assert_eq!(staging.migration_image_tag(), "v1.4.2");

        ctx.insert("production.migrationImageTag".into(), json!("latest"));
        ctx.insert("staging.migrationImageTag".into(), json!("bad tag"));
        let err = Settings::from_context(Environment::Production, &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("production.migrationImageTag"), "{err}");
        assert!(err.contains("immutable"), "{err}");
        let err = Settings::from_context(Environment::Staging, &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("staging.migrationImageTag"), "{err}");
    }

    #[test]
    fn placeholders_warn_naming_the_context_key() {
        let keys = |s: &Settings| s.warnings().iter().map(|w| w.key).collect::<Vec<_>>();
        let defaults = Settings::defaults(Environment::Staging);
        assert_eq!(keys(&defaults), ["account", "certificateArn", "db.ami"]);
        for w in defaults.warnings() {
            assert_eq!(w.stack, WarningStack::Data);
            let named = if w.key == "db.ami" {
                "`staging.db.ami`".to_string()
            } else {
                format!("`{}` (or `staging.{}`)", w.key, w.key)
            };
            assert!(w.message.contains(&named), "{}", w.message);
        }

        let mut ctx = serde_json::Map::new();
        ctx.insert("account".into(), json!("123456789012"));
        ctx.insert(
            "certificateArn".into(),
            json!("arn:aws:acm:eu-west-1:123456789012:certificate/1234"),
        );
        ctx.insert("production.db.ami".into(), json!("ami-0aaaabbbbccccdddd"));
        let set = Settings::from_context(Environment::Production, &ctx).unwrap();
        assert!(set.warnings().is_empty(), "{:?}", set.warnings());

        ctx.insert("staging.imageTag".into(), json!("main"));
        let staging = Settings::from_context(Environment::Staging, &ctx).unwrap();
        assert_eq!(keys(&staging), ["db.ami", "imageTag"]);
        let tag = &staging.warnings()[1];
        assert_eq!(tag.stack, WarningStack::Services);
        assert!(tag.message.contains("is mutable"), "{}", tag.message);
    }

    fn ctx(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn fields(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn defaults_of_both_environments_are_valid() {
        for env in Environment::ALL {
            Settings::defaults(env).validate().unwrap();
        }
    }

    #[test]
    fn environment_keys_override_global_keys_and_strings_parse() {
        let s = Settings::from_context(
            Environment::Production,
            &ctx(json!({
                "imageTag": "v2.0.0",
                "production.imageTag": "v2.0.1",
                "staging.imageTag": "latest",
                "production.api.maxCount": "10",
                "production.db.volumeGiB": 200,
                "adminAllowList": "198.51.100.0/24, 192.0.2.7/32",
                "@aws-cdk/core:newStyleStackSynthesis": true,
            })),
        )
        .unwrap();
        assert_eq!(s.image_tag, "v2.0.1");
        assert_eq!(s.sizing("api").max, 10);
        assert_eq!(s.db_volume_gib, 200);
        assert_eq!(s.admin_allow_list, ["198.51.100.0/24", "192.0.2.7/32"]);
        assert_eq!(s.registry_account, s.account);
    }

    #[test]
    fn fails_on_a_mutable_production_image_tag() {
        for tag in ["latest", "main", "feature-login"] {
            let err =
                Settings::from_context(Environment::Production, &ctx(json!({ "imageTag": tag })))
                    .unwrap_err();
            assert_eq!(fields(err), ["production.imageTag"], "{tag}");
        }
    }

    #[test]
    fn staging_accepts_a_mutable_tag_and_flags_it() {
        let s = Settings::from_context(Environment::Staging, &ctx(json!({ "imageTag": "latest" })))
            .unwrap();
        assert!(s.image_tag_is_mutable());
        for tag in [
            "v1.4.2",
            "1.4.2-rc.1",
            "2024-06-01",
            "3f9c2ab",
            "sha256:".to_owned().as_str(),
        ]
        .iter()
        .take(4)
        {
            assert_eq!(tag_kind(tag), TagKind::Immutable, "{tag}");
        }
        assert_eq!(
            tag_kind(&format!("sha256:{}", "a".repeat(64))),
            TagKind::Immutable
        );
        assert_eq!(tag_kind("sha256:abc"), TagKind::Invalid);
    }

    #[test]
    fn fails_on_every_bad_setting_at_once() {
        let err = Settings::from_context(
            Environment::Production,
            &ctx(json!({
                "account": "12345",
                "production.region": "Ireland",
                "production.certificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
                "production.adminAllowList": ["0.0.0.0/0"],
                "production.api.cpu": 300,
                "production.tracker-fetcher.desiredCount": 2,
                "production.tracker-fetcher.maxCount": 2,
                "production.apii.cpu": 256,
                "production.db.volumeGiB": "lots",
            })),
        )
        .unwrap_err();
        let f = fields(err);
        for expected in [
            "production.account",
            "production.region",
            "production.certificateArn",
            "production.adminAllowList[0]",
            "production.api.cpu",
            "production.tracker-fetcher.desiredCount",
            "production.apii.cpu",
            "production.db.volumeGiB",
        ] {
            assert!(
                f.iter().any(|x| x == expected),
                "{expected} missing in {f:?}"
            );
        }
    }

    #[test]
    fn fails_on_an_empty_or_overlong_description() {
        for bad in [String::new(), "x".repeat(1025)] {
            let err = Settings::from_context(
                Environment::Staging,
                &ctx(json!({ "staging.description": bad })),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(r#"Settings "staging""#), "{err}");
            assert!(err.contains("`staging.description`"), "{err}");
            assert!(err.contains("1-1024 characters"), "{err}");
        }
        let s = Settings::from_context(
            Environment::Staging,
            &ctx(json!({ "staging.description": "tracker staging (team A)" })),
        )
        .unwrap();
        assert_eq!(s.description.as_deref(), Some("tracker staging (team A)"));
    }

    #[test]
    fn fails_on_patroni_ips_outside_their_private_subnets() {
        let err = Settings::from_context(
            Environment::Production,
            &ctx(json!({ "production.db.privateIps": "10.0.16.10,10.0.16.11,10.0.48.1" })),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            ["production.db.privateIps[1]", "production.db.privateIps[2]"]
        );
    }

    #[test]
    fn fails_on_an_unknown_key_naming_the_allowed_ones() {
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({ "staging.imagetag": "v1.0.0" })),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("staging.imagetag"), "{text}");
        assert!(text.contains("imageTag"), "{text}");
    }

    #[test]
    fn tags_exec_and_disabled_services_parse_and_fail_on_bad_values() {
        let s = Settings::from_context(
            Environment::Production,
            &ctx(json!({
                "tags": "owner=platform,cost-center=42",
                "production.ecsExec": "true",
                "production.disabledServices": ["admin"],
            })),
        )
        .unwrap();
        assert_eq!(s.tags["owner"], "platform");
        assert!(s.ecs_exec && !s.enabled("admin") && s.enabled("api"));
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({
                "staging.tags": "project=other,novalue",
                "staging.disabledServices": "api",
            })),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "staging.tags",
                "staging.disabledServices[0]",
                "staging.tags.project"
            ]
        );
    }

    #[test]
    fn health_commands_default_for_workers_and_are_set_per_service() {
        let s = Settings::from_context(
            Environment::Staging,
            &ctx(json!({ "staging.api.healthCommand": "python -m tracker.health" })),
        )
        .unwrap();
        let api = s.container_health_check("api").unwrap();
        assert_eq!(api.command, ["CMD-SHELL", "python -m tracker.health"]);
        let fetcher = s.container_health_check("tracker-fetcher").unwrap();
        assert_eq!(fetcher.command, ["CMD-SHELL", WORKER_HEARTBEAT_COMMAND]);
        assert!(s.container_health_check("frontend").is_none());
    }

    #[test]
    fn fails_on_an_empty_health_command_and_on_one_for_anisette() {
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({
                "staging.tracker-fetcher.healthCommand": " ",
                "staging.anisette-v3.healthCommand": "true",
            })),
        )
        .unwrap_err();
        assert_eq!(
            fields(err.clone()),
            [
                "staging.tracker-fetcher.healthCommand",
                "staging.anisette-v3.healthCommand"
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("exits 0 while the service is healthy"),
            "{text}"
        );
        assert!(
            text.contains("<service>.healthCommand for a service in api"),
            "{text}"
        );
    }

    #[test]
    fn alert_subscriptions_parse_per_environment_and_fail_on_bad_values() {
        let s = Settings::from_context(
            Environment::Production,
            &ctx(json!({
                "alertEmails": "team@example.com",
                "production.alertEmails": ["oncall@example.com", "db@example.com"],
                "production.alertHttpsEndpoints": "https://events.example.com/sns",
            })),
        )
        .unwrap();
        assert_eq!(s.alert_emails, ["oncall@example.com", "db@example.com"]);
        assert_eq!(s.alert_https_endpoints, ["https://events.example.com/sns"]);
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({
                "staging.alertEmails": "oncall",
                "staging.alertHttpsEndpoints": "http://events.example.com",
            })),
        )
        .unwrap_err();
        assert_eq!(
            fields(err.clone()),
            ["staging.alertEmails[0]", "staging.alertHttpsEndpoints[0]"]
        );
        let text = err.to_string();
        assert!(text.contains(alerts::EMAIL_ALLOWED), "{text}");
        assert!(text.contains(alerts::HTTPS_ALLOWED), "{text}");
    }

    #[test]
    fn container_environment_and_secrets_parse_per_target() {
        let arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tracker/notify-AbCdEf";
        let s = Settings::from_context(
            Environment::Production,
            &ctx(json!({
                "production.tracker-fetcher.env.LOG_LEVEL": "info",
                "production.tracker-fetcher.env.WORKERS": 4,
                "production.tracker-fetcher.secrets.APPLE_ID": "tracker/apple:username",
                "production.notification-service.secrets.PUSH_API_KEY": arn,
                "production.migrate.secrets.DJANGO_SECRET_KEY": "tracker/django",
                "staging.api.env.LOG_LEVEL": "debug",
            })),
        )
        .unwrap();
        let fetcher = s.environment_of("tracker-fetcher");
        assert_eq!(fetcher["LOG_LEVEL"], "info");
        assert_eq!(fetcher["WORKERS"], "4");
        assert!(s.environment_of("api").is_empty(), "staging keys leak");
        assert_eq!(
            s.secrets_of("tracker-fetcher")["APPLE_ID"].to_string(),
            "tracker/apple:username"
        );
        assert_eq!(
            s.secrets_of("notification-service")["PUSH_API_KEY"].to_string(),
            arn
        );
        assert!(s.secrets_of(MIGRATE).contains_key("DJANGO_SECRET_KEY"));
    }

    #[test]
    fn fails_on_a_plain_value_named_like_a_credential_pointing_to_secrets() {
        for name in [
            "DB_PASSWORD",
            "GITHUB_TOKEN",
            "client_secret_id",
            "API_KEY",
            "Stripe_Key",
        ] {
            let key = format!("production.api.env.{name}");
            let err = Settings::from_context(
                Environment::Production,
                &ctx(json!({ key.clone(): "hunter2" })),
            )
            .unwrap_err();
            let text = err.to_string();
            assert_eq!(fields(err), std::slice::from_ref(&key), "{name}");
            assert!(
                text.contains(&format!("use `production.api.secrets.{name}=")),
                "{text}"
            );
            assert!(!text.contains("hunter2"), "the value is echoed: {text}");
        }
        // Names that merely contain KEY are plain settings.
        Settings::from_context(
            Environment::Production,
            &ctx(json!({ "production.api.env.KEYBOARD_LAYOUT": "us", "production.api.env.MONKEY": "1" })),
        )
        .unwrap();
    }

    #[test]
    fn fails_on_names_the_stacks_or_ecs_set() {
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({
                "staging.api.env.DATABASE_NAME": "other",
                "staging.api.env.AWS_REGION": "us-east-1",
                "staging.tracker-fetcher.env.ANISETTE_URL": "http://x",
                "staging.migrate.secrets.DATABASE_PASSWORD": "mine",
            })),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(
            fields(err),
            [
                "staging.api.env.AWS_REGION",
                "staging.api.env.DATABASE_NAME",
                "staging.migrate.secrets.DATABASE_PASSWORD",
                "staging.tracker-fetcher.env.ANISETTE_URL",
            ]
        );
        assert!(
            text.contains("reserved: ENVIRONMENT, PUBLIC_DOMAIN"),
            "{text}"
        );
    }

    #[test]
    fn fails_on_bad_secret_references_names_and_targets_all_at_once() {
        let err = Settings::from_context(
            Environment::Production,
            &ctx(json!({
                "production.api.secrets.APPLE_ID":
                    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tracker/apple",
                "production.api.secrets.EMPTY_KEY": "tracker/apple:",
                "production.api.env.lower_case": "x",
                "production.api.env.BOTH": "x",
                "production.api.secrets.BOTH": "tracker/both",
                "production.worker.env.LOG_LEVEL": "info",
                "production.anisette-v3.env.LOG_LEVEL": "info",
                "production.api.env.LIST": ["a"],
            })),
        )
        .unwrap_err();
        let text = err.to_string();
        let f = fields(err);
        for expected in [
            "production.api.secrets.APPLE_ID",
            "production.api.secrets.EMPTY_KEY",
            "production.api.env.lower_case",
            "production.api.env.BOTH",
            "production.worker.env.LOG_LEVEL",
            "production.anisette-v3.env.LOG_LEVEL",
            "production.api.env.LIST",
        ] {
            assert!(
                f.iter().any(|x| x == expected),
                "{expected} missing in {f:?}"
            );
        }
        assert_eq!(f.len(), 7, "{text}");
        assert!(text.contains("6-character suffix"), "{text}");
        assert!(text.contains("either plain or secret"), "{text}");
        assert!(text.contains("[A-Z_][A-Z0-9_]*"), "{text}");
        assert!(
            text.contains("<target>.env.<NAME>|secrets.<NAME> for a target in api"),
            "{text}"
        );
    }

    #[test]
    fn cpu_architecture_per_environment_and_per_service_and_migrate_follows_api() {
        let s = Settings::from_context(
            Environment::Production,
            &ctx(json!({
                "cpuArchitecture": "ARM64",
                "production.anisette-v3.cpuArchitecture": "X86_64",
            })),
        )
        .unwrap();
        assert_eq!(s.architecture_of("api"), CpuArchitecture::Arm64);
        assert_eq!(s.architecture_of(MIGRATE), CpuArchitecture::Arm64);
        assert_eq!(s.architecture_of("anisette-v3"), CpuArchitecture::X86_64);
        let s = Settings::from_context(
            Environment::Staging,
            &ctx(json!({ "staging.api.cpuArchitecture": "arm64" })),
        )
        .unwrap();
        assert_eq!(s.architecture_of(MIGRATE), CpuArchitecture::Arm64);
        assert_eq!(s.architecture_of("frontend"), CpuArchitecture::X86_64);
    }

    #[test]
    fn fails_on_an_unknown_cpu_architecture() {
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({
                "staging.cpuArchitecture": "riscv64",
                "staging.api.cpuArchitecture": 64,
            })),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(
            fields(err),
            ["staging.cpuArchitecture", "staging.api.cpuArchitecture"]
        );
        assert!(text.contains("X86_64 or ARM64"), "{text}");
    }

    #[test]
    fn ci_settings_parse_and_fail_on_bad_values_under_their_keys() {
        let s = Settings::from_context(
            Environment::Staging,
            &ctx(json!({ "ciRepository": "example-org/tracker", "ciRefs": "refs/heads/release" })),
        )
        .unwrap();
        let ci = s.ci_push_access().unwrap();
        assert_eq!(ci.repository, "example-org/tracker");
        assert_eq!(ci.refs, ["refs/heads/release"]);
        assert_eq!(ci.role_name.as_deref(), Some(CI_ROLE_NAME));
        assert!(Settings::defaults(Environment::Staging)
            .ci_push_access()
            .is_none());
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({
                "ciRepository": "tracker",
                "ciRefs": ["main"],
                "ciOidcProviderArn":
                    "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com",
                "staging.ciRepository": "org/other",
            })),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "staging.ciRepository",
                "ciRepository",
                "ciRefs",
                "ciOidcProviderArn"
            ]
        );
    }

    #[test]
    fn fails_on_production_only_keys_in_staging() {
        let err = Settings::from_context(
            Environment::Staging,
            &ctx(json!({ "staging.redis.nodeType": "cache.t4g.micro" })),
        )
        .unwrap_err();
        assert_eq!(fields(err), ["staging.redis.nodeType"]);
    }
}
