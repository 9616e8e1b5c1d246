//! Each environment is two stacks: the data stack (`TrackerStagingData`, `TrackerProductionData`:
//! network, platform, data plane, file systems, secrets) and the services stack (`TrackerStaging`,
//! `TrackerProduction`: services, alarms, static sites, outputs), which refers to the data stack
//! through CloudFormation exports and so is deployed after it. `TrackerRegistry` holds the ECR
//! repositories both pull from. When the stacks create the docs sites' CloudFront certificate (a
//! hosted zone and no `cloudfrontCertificateArn`), a third stack per environment holds it in
//! us-east-1 (`TrackerStagingCdnCertificate`, `TrackerProductionCdnCertificate`): CloudFront only
//! reads certificates there, and the services stack refers to it across regions.
//!
//! An environment is built in named steps, each taking the settings and what the earlier steps
//! produced: [`network_and_platform`], [`data_plane`], [`services`], [`operations`], [`edge`],
//! [`outputs`].
//!
//! Construct ids are public API (they make the logical ids): renaming one replaces its resources.
//! Logical ids do not include the stack, so a construct keeps its id (`Network`, `Data`,
//! `Anisette`) in whichever stack it lives.

use std::collections::BTreeMap;

use cdk_from_rust::aws_cdk_lib::aws_certificatemanager::{
    Certificate as AcmCertificate, CertificateProps, CertificateValidation,
};
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    Alarm, AlarmProps, AlarmPropsRequired, ComparisonOperator, IMetric, MathExpression,
    MathExpressionProps, Metric, MetricProps, MetricPropsRequired, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ecr::{
    IRepository, Repository, RepositoryAttributes, RepositoryAttributesRequired,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{ContainerImage, FargateService};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2::ApplicationTargetGroup;
use cdk_from_rust::aws_cdk_lib::aws_route53::{
    CfnRecordSet, CfnRecordSetAliasTargetProperty, CfnRecordSetAliasTargetPropertyRequired,
    CfnRecordSetProps, CfnRecordSetPropsRequired, HostedZone, HostedZoneAttributes,
    HostedZoneAttributesRequired,
};
use cdk_from_rust::aws_cdk_lib::{
    Annotations, App, Aws, CfnOutput, CfnOutputProps, Duration, Environment as CdkEnvironment, Fn,
    Stack, StackProps, Tags,
};
use cdk_from_rust::constructs::Construct;
use tracker_constructs::alerts::{AlertTopic, AlertTopicProps, Alerts};
use tracker_constructs::anisette::{AnisetteProps, AnisetteStorage, AnisetteWithEfs};
use tracker_constructs::container_registry::{ContainerRegistry, ContainerRegistryProps};
use tracker_constructs::managed_redis::{ManagedRedis, ManagedRedisProps};
use tracker_constructs::monitoring;
use tracker_constructs::one_off_task::{OneOffTask, OneOffTaskProps};
use tracker_constructs::patroni::{PatroniCluster, PatroniClusterProps};
use tracker_constructs::private_worker_service::{
    PrivateWorkerService, PrivateWorkerServiceProps, WorkerScaling,
};
use tracker_constructs::public_alb_service::{
    AlbAutoscaling, AlbWaf, PublicAlbService, PublicAlbServiceProps,
};
use tracker_constructs::scheduled_task::{ScheduledTask, ScheduledTaskProps};
use tracker_constructs::service::{CapacityShare, Image, ServiceProps};
use tracker_constructs::staging_data_host::{StagingDataHost, StagingDataHostProps};
use tracker_constructs::static_site::{CustomDomain, StaticSite, StaticSiteProps};
use tracker_constructs::validation::ValidationErrors;
use tracker_constructs::wiring::{ContainerSecret, Dependency};
use tracker_constructs::work_queue::WorkQueue;
use tracker_constructs::{Network, NetworkProps, Platform, PlatformProps, TaskSize};

use crate::settings::{repositories, Certificate, Environment, Settings, WarningStack, MIGRATE};
use crate::{checkov, nag, workloads};

const TAG_PROJECT: &str = "tracker";

/// The construct id of production's `PatroniCluster` (public API: it makes the logical ids).
pub const DATABASE_ID: &str = "Database";
/// The construct id of staging's `StagingDataHost` (public API: it makes the logical ids).
pub const DATA_HOST_ID: &str = "Data";

/// The props of production's `PatroniCluster`, as [`data_plane`] builds them (also what the
/// data-plane suite renders and boots).
pub fn database_props(s: &Settings) -> PatroniClusterProps {
    let mut db = PatroniClusterProps::new(
        [(s.region.as_str(), s.db_ami.as_str())],
        [
            s.patroni_private_ips[0].as_str(),
            s.patroni_private_ips[1].as_str(),
            s.patroni_private_ips[2].as_str(),
        ],
    );
    db.instance_type = s.db_instance_type.clone();
    db.data_volume_gib = s.db_volume_gib;
    db
}

/// The props of staging's `StagingDataHost`, as [`data_plane`] builds them (also what the
/// data-plane suite renders and boots).
pub fn data_host_props(s: &Settings) -> StagingDataHostProps {
    let mut host = StagingDataHostProps::new(&s.region, &s.db_ami);
    host.instance_type = s.db_instance_type.clone();
    host.data_volume_gib = s.db_volume_gib;
    host
}

/// The name of the environment's alert topic (fixed, so the services stack imports it by ARN
/// without a CloudFormation export).
pub fn alert_topic_name(s: &Settings) -> String {
    format!("tracker-{}-alerts", s.environment)
}

/// Adds `TrackerRegistry` to `app`: the ECR repositories, in the registry account and region
/// (`environments` share them), the CI role when `ciRepository` is set, and a pull grant for each
/// environment account other than the registry's.
pub fn registry_stack(app: &App, environments: &[&Settings]) -> Result<Stack, ValidationErrors> {
    let settings = environments[0];
    // The repositories serve both environments: `environment=shared`, plus the extra tags.
    let stack = tagged_stack(
        app,
        "TrackerRegistry",
        stack_props(
            "tracker: the container image repositories both environments pull".into(),
            (&settings.registry_account, &settings.registry_region),
            true,
        ),
        "shared",
        settings,
    );
    let mut props = ContainerRegistryProps::new(repositories());
    props.ci = settings.ci_push_access();
    props.pull_accounts = environments
        .iter()
        .map(|e| e.account.clone())
        .filter(|a| *a != settings.registry_account)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let registry = ContainerRegistry::new(stack, "Images", props)?;
    if let Some(role) = registry.ci_role {
        output(
            stack,
            "CiRoleArn",
            role.role_arn(),
            "The role GitHub Actions assumes to push images (aws-actions/configure-aws-credentials role-to-assume)",
        );
    }
    nag::acknowledge_registry(stack, settings);
    checkov::acknowledge(app, checkov::registry_acknowledgments());
    Ok(stack)
}

/// The data plane as the services see it.
pub struct DataPlane {
    /// The application database login: JSON with username, password, host, port, dbname.
    pub db_secret: ContainerSecret,
    pub db_user: ContainerSecret,
    /// The application database's name (plain: `DATABASE_NAME`).
    pub db_name: String,
    pub redis_password: ContainerSecret,
    /// Whether Redis must be reached over TLS (the endpoint's own fact).
    pub redis_tls: bool,
    /// Anisette's file system, in the data stack; the service mounts it.
    pub anisette: AnisetteStorage,
}

/// The stacks of one environment.
#[derive(Clone, Copy, Debug)]
pub struct EnvironmentStacks {
    /// `TrackerStagingData` / `TrackerProductionData`: what holds data (termination protection
    /// always on).
    pub data: Stack,
    /// `TrackerStaging` / `TrackerProduction`: the services (depends on `data`).
    pub services: Stack,
    /// `TrackerStagingCdnCertificate` / `TrackerProductionCdnCertificate`, in us-east-1: the docs
    /// sites' certificate, when the stacks create it (`services` depends on it and refers to it
    /// across regions); `None` otherwise.
    pub cdn_certificate: Option<Stack>,
}

/// What the services step built: each service with the alarm the operations step gives it.
pub struct Services {
    /// Public services: Service Connect name, service, target group.
    pub public: Vec<(&'static str, FargateService, ApplicationTargetGroup)>,
    /// The alternate target group of each public service with a traffic-shifting deployment.
    pub alternate_target_groups: BTreeMap<&'static str, ApplicationTargetGroup>,
    /// Private workers: Service Connect name, service.
    pub workers: Vec<(&'static str, FargateService)>,
}

/// Adds the environment's two stacks to `app`, built step by step.
pub fn environment_stacks(app: &App, s: &Settings) -> Result<EnvironmentStacks, ValidationErrors> {
    let stacks = new_environment_stacks(app, s);
    let mut platform = network_and_platform(stacks.data, s)?;
    let data = data_plane(stacks.data, s, &platform)?;
    work_queues(stacks.data, s, &platform)?;
    // From here on, alarms are made in the services stack: they reach the topic by its ARN.
    platform.alerts = imported_alerts(stacks.services, s);
    let services = services(stacks.services, s, &platform, &data)?;
    operations(stacks.services, s, &platform, &services);
    let sites = edge(stacks, s)?;
    outputs(stacks, s, &platform, &sites);
    nag::acknowledge(app, s);
    checkov::acknowledge(app, checkov::acknowledgments(s));
    Ok(stacks)
}

/// The props of a stack bound to `(account, region)`.
fn stack_props(
    description: String,
    (account, region): (&str, &str),
    termination_protection: bool,
) -> StackProps {
    StackProps::new()
        .description(description)
        .env(CdkEnvironment::new().account(account).region(region))
        .termination_protection(termination_protection)
}

/// A stack `name` with `props`, tagged `project=tracker`, `environment=<environment>` and the
/// settings' extra tags.
fn tagged_stack(
    app: &App,
    name: &str,
    props: StackProps,
    environment: &str,
    s: &Settings,
) -> Stack {
    let stack = Stack::new_with(app, name, props);
    Tags::of(stack).add("project", TAG_PROJECT);
    Tags::of(stack).add("environment", environment);
    for (key, value) in &s.tags {
        Tags::of(stack).add(key.as_str(), value.as_str());
    }
    stack
}

/// The stacks, tagged; the services stack depends on the data stack (the CLI deploys the data
/// stack first when asked for the services stack) and on the us-east-1 certificate stack, when
/// there is one.
fn new_environment_stacks(app: &App, s: &Settings) -> EnvironmentStacks {
    let env = s.environment;
    let production = env == Environment::Production;
    let data_plane = if production {
        "Patroni PostgreSQL cluster and ElastiCache"
    } else {
        "single-host PostgreSQL and Valkey"
    };
    let new_stack = |name: &str, props: StackProps| tagged_stack(app, name, props, env.name(), s);
    let here = (s.account.as_str(), s.region.as_str());
    let data = new_stack(
        env.data_stack_name(),
        stack_props(
            format!(
                "tracker {env} data: VPC, ECS cluster and ALB, Anisette EFS, {data_plane}; \
                 termination-protected, replaced or deleted only on purpose"
            ),
            here,
            true,
        ),
    );
    // CloudFront reads certificates in us-east-1 only: a certificate the stacks create for the
    // docs sites lives in a stack of its own there, which the services stack refers to across
    // regions (aws-cdk-lib's `crossRegionReferences`: an SSM parameter in the services stack's
    // region, written by a custom resource of the certificate stack).
    let cross_region = s.cloudfront_certificate() == Some(Certificate::Created);
    let cdn_certificate = cross_region.then(|| {
        new_stack(
            env.cdn_certificate_stack_name(),
            stack_props(
                format!(
                    "tracker {env}: the ACM certificate of docs. and redoc.{} for CloudFront \
                     (us-east-1), validated in the hosted zone",
                    s.domain
                ),
                (&s.account, CLOUDFRONT_CERTIFICATE_REGION),
                false,
            )
            .cross_region_references(true),
        )
    });
    let mut services_props = stack_props(
        s.description.clone().unwrap_or_else(|| {
            format!(
                "tracker {env}: ECS Fargate services, alarms and static sites (data in {})",
                env.data_stack_name()
            )
        }),
        here,
        s.termination_protection,
    );
    if cross_region {
        services_props = services_props.cross_region_references(true);
    }
    let services = new_stack(env.stack_name(), services_props);
    services.add_stack_dependency_with(
        data,
        "the services run in the data stack's network and reach its data plane",
    );
    if let Some(certificate) = cdn_certificate {
        services.add_stack_dependency_with(
            certificate,
            "the docs sites' distributions use the certificate it holds",
        );
    }
    for warning in s.warnings() {
        let (stack, name) = match warning.stack {
            WarningStack::Data => (data, env.data_stack_name()),
            WarningStack::Services => (services, env.stack_name()),
        };
        eprintln!("warning: {name}: {}", warning.message);
        Annotations::of(stack).add_warning_v2(warning.id, warning.message);
    }
    EnvironmentStacks {
        data,
        services,
        cdn_certificate,
    }
}

/// The props of the environment's `Network`, as [`network_and_platform`] builds them (also what
/// the topology draws): 3 AZs and a NAT gateway in each in production, 2 AZs and one NAT in
/// staging.
pub fn network_props(s: &Settings) -> NetworkProps {
    let production = s.environment == Environment::Production;
    NetworkProps {
        max_azs: if production { 3 } else { 2 },
        nat_gateways: if production { 3 } else { 1 },
        ..NetworkProps::default()
    }
}

/// Step 1, in the data stack: the VPC and the platform (cluster, namespace, ALB).
pub fn network_and_platform(stack: Stack, s: &Settings) -> Result<Platform, ValidationErrors> {
    let production = s.environment == Environment::Production;
    let network = Network::new(stack, "Network", network_props(s))?;
    // Every alarm of the environment goes to this topic (subscriptions from the settings). The
    // data stack owns it; the services stack imports it by its fixed name's ARN.
    let alert_topic = AlertTopic::new(
        stack,
        "Alerts",
        &AlertTopicProps {
            emails: s.alert_emails.clone(),
            https_endpoints: s.alert_https_endpoints.clone(),
            ..AlertTopicProps::new(&alert_topic_name(s))
        },
    )?;
    // Failed AWS Backup jobs of the account and region (the staging host's snapshots, EFS's
    // automatic backups) reach the same topic.
    monitoring::backup_failed_rule(stack.into(), &alert_topic.alerts, s.environment.name());
    // With a hosted zone, its records (and the ALB's certificate, unless given by ARN) live under
    // `Dns`.
    let dns = s
        .hosted_zone_id
        .as_ref()
        .map(|_| Construct::new(stack, "Dns"));
    let certificate_arn = match (s.alb_certificate(), dns) {
        (Certificate::Existing(arn), _) => arn.into(),
        (Certificate::Created, Some(dns)) => {
            let hosts = PUBLIC.map(|(_, _, host, ..)| host);
            dns_validated_certificate(dns, s, "alb", &hosts).certificate_arn()
        }
        (Certificate::Created, None) => unreachable!("a certificate is created only with a zone"),
    };
    let platform = Platform::new(
        stack,
        "Platform",
        network,
        PlatformProps {
            alb_deletion_protection: production,
            alerts: Some(alert_topic.alerts),
            ..PlatformProps::new(s.environment.name(), certificate_arn)
        },
    )?;
    public_dns(stack, dns, s, &platform);
    Ok(platform)
}

/// Where CloudFront reads certificates from (the only region it reads them from).
const CLOUDFRONT_CERTIFICATE_REGION: &str = "us-east-1";

/// The settings' hosted zone, imported by its id and name under `scope` as `Zone` (no lookup,
/// so synthesis stays offline; no resource).
fn hosted_zone(
    scope: Construct,
    s: &Settings,
) -> cdk_from_rust::aws_cdk_lib::aws_route53::IHostedZone {
    let (Some(id), Some(name)) = (&s.hosted_zone_id, &s.hosted_zone_name) else {
        unreachable!("the settings validate hostedZoneId and hostedZoneName together")
    };
    HostedZone::from_hosted_zone_attributes(
        scope,
        "Zone",
        HostedZoneAttributes::new(HostedZoneAttributesRequired {
            hosted_zone_id: id.as_str(),
            zone_name: name.as_str(),
        }),
    )
}

/// An ACM certificate `Certificate` under `scope` for `<host>.<domain>` of each of `hosts` (the
/// first its domain name, the others alternative names), named `tracker-<environment>-<name>`
/// and validated by DNS: ACM's validation records are created in the settings' hosted zone by
/// CloudFormation (`DomainValidationOptions`), and the stack waits until ACM issues it.
fn dns_validated_certificate(
    scope: Construct,
    s: &Settings,
    name: &str,
    hosts: &[&str],
) -> AcmCertificate {
    let names: Vec<String> = hosts.iter().map(|h| format!("{h}.{}", s.domain)).collect();
    let zone = hosted_zone(scope, s);
    AcmCertificate::new(
        scope,
        "Certificate",
        CertificateProps::new(names[0].as_str())
            .subject_alternative_names(names[1..].iter())
            .certificate_name(format!("tracker-{}-{name}", s.environment))
            .validation(CertificateValidation::from_dns_with(zone)),
    )
}

/// CloudFront's hosted zone id: the alias target zone of every distribution (fixed by AWS).
const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// An alias `A` record `<host>.<domain>` to `target` (a DNS name, the id of its hosted zone) in
/// the settings' hosted zone, as `<id>` under `scope` (a stack's `Dns`). Plain
/// `AWS::Route53::RecordSet`s: the zone is known by id, so synthesis needs no lookup.
fn alias_record(
    scope: Construct,
    s: &Settings,
    id: &str,
    host: &str,
    target: (cdk_from_rust::JsString, cdk_from_rust::JsString),
) {
    let zone = s
        .hosted_zone_id
        .as_deref()
        .expect("records only with a zone");
    CfnRecordSet::new(
        scope,
        id,
        CfnRecordSetProps::new(CfnRecordSetPropsRequired {
            name: format!("{host}.{}.", s.domain),
            r#type: "A",
        })
        .hosted_zone_id(zone)
        .alias_target(CfnRecordSetAliasTargetProperty::new(
            CfnRecordSetAliasTargetPropertyRequired {
                dns_name: target.0,
                hosted_zone_id: target.1,
            },
        )),
    );
}

/// The public names of the ALB's hosts (`api.`, `app.`, `admin.`, those enabled): alias records
/// under `dns` (the stack's `Dns`, present when the settings name a hosted zone); otherwise
/// outputs with the ALB's DNS name and the exact CNAME records to create where the domain's DNS
/// is kept.
fn public_dns(stack: Stack, dns: Option<Construct>, s: &Settings, platform: &Platform) {
    let hosts = PUBLIC
        .iter()
        .filter(|(_, name, ..)| s.enabled(name))
        .map(|(id, _, host, ..)| (*id, *host));
    match dns {
        Some(dns) => {
            for (id, host) in hosts {
                let alb = &platform.alb;
                alias_record(
                    dns,
                    s,
                    id,
                    host,
                    (
                        alb.load_balancer_dns_name(),
                        alb.load_balancer_canonical_hosted_zone_id(),
                    ),
                );
            }
        }
        None => {
            output(
                stack,
                "AlbDnsName",
                platform.alb.load_balancer_dns_name(),
                "The ALB's DNS name: point the public hosts at it (no hostedZoneId is set)",
            );
            for (id, host) in hosts {
                output(
                    stack,
                    &format!("{id}DnsRecord"),
                    Fn::join(
                        "",
                        [
                            format!("{host}.{}. CNAME ", s.domain).into(),
                            platform.alb.load_balancer_dns_name(),
                        ],
                    ),
                    &format!(
                        "Create this record where {} is served (or set hostedZoneId and \
                         hostedZoneName)",
                        s.domain
                    ),
                );
            }
        }
    }
}

/// The alert topic as the services stack sees it: imported by ARN (built from its fixed name),
/// so no alarm of the services stack needs a CloudFormation export of the data stack.
pub fn imported_alerts(stack: Stack, s: &Settings) -> Alerts {
    let arn = Fn::join(
        "",
        [
            "arn:".into(),
            Aws::partition(),
            format!(":sns:{}:{}:{}", s.region, s.account, alert_topic_name(s)).into(),
        ],
    );
    Alerts::from_topic_arn(stack, "AlertTopic", arn)
}

/// Step 2, in the data stack: PostgreSQL and Redis/Valkey (a Patroni cluster and ElastiCache in
/// production, one host in staging), their secrets, and Anisette's file system. Services declare
/// what they connect to, so the data plane comes first.
pub fn data_plane(
    stack: Stack,
    s: &Settings,
    platform: &Platform,
) -> Result<DataPlane, ValidationErrors> {
    let anisette = AnisetteStorage::new(stack, "Anisette", platform);
    if s.environment == Environment::Production {
        let props = database_props(s);
        let db_name = props.database_name.clone();
        let db = PatroniCluster::new(stack, DATABASE_ID, platform, props)?;
        let redis = ManagedRedis::new(
            stack,
            "Redis",
            platform,
            ManagedRedisProps {
                node_type: s.redis_node_type.clone(),
                ..ManagedRedisProps::new()
            },
        )?;
        Ok(DataPlane {
            db_secret: ContainerSecret::field(db.app_secret, "password"),
            db_user: ContainerSecret::field(db.app_secret, "username"),
            db_name,
            redis_password: ContainerSecret::whole(redis.auth_token),
            redis_tls: redis.endpoint.tls,
            anisette,
        })
    } else {
        let props = data_host_props(s);
        let db_name = props.database_name.clone();
        let host = StagingDataHost::new(stack, DATA_HOST_ID, platform, props)?;
        output(
            stack,
            "DatabaseHostPrivateIp",
            host.instance.instance_private_ip(),
            "The staging data host (PostgreSQL 5432, Valkey 6379); reach it with SSM",
        );
        Ok(DataPlane {
            db_secret: ContainerSecret::field(host.app_secret, "password"),
            db_user: ContainerSecret::field(host.app_secret, "username"),
            db_name,
            redis_password: ContainerSecret::whole(host.valkey_secret),
            redis_tls: host.redis_endpoint.tls,
            anisette,
        })
    }
}

/// Step 2b, in the data stack (a queue holding messages is state: work accepted and not yet
/// done, which must outlive a release of the services stack, like the data plane): the work
/// queues of `<environment>.queues`, under `Queues/<name>`, each with its dead-letter queue, key
/// and alarms, registered for the services' `sends_to` / `consumes`. Nothing without queues.
pub fn work_queues(
    stack: Stack,
    s: &Settings,
    platform: &Platform,
) -> Result<(), ValidationErrors> {
    if s.queues.is_empty() {
        return Ok(());
    }
    let scope = Construct::new(stack, "Queues");
    let results = s
        .queues
        .iter()
        .map(|(name, q)| WorkQueue::new(scope, name, platform, &q.props(name)).map(|_| ()));
    ValidationErrors::collect(results.collect::<Vec<_>>())
}

/// A service's declared connections (`connects_to`): endpoint name and port, in order.
pub type Connections = &'static [(&'static str, u16)];

/// The public services: construct id, Service Connect name, host label, port, listener rule
/// priority, what it connects to (`db` and `redis` also bring their credentials). The services
/// step builds them from this table, and so does the topology ([`crate::topology`]).
pub const PUBLIC: [(&str, &str, &str, u16, u32, Connections); 3] = [
    (
        "Api",
        "api",
        "api",
        8000,
        10,
        &[("db", 5432), ("redis", 6379)],
    ),
    ("Frontend", "frontend", "app", 3000, 20, &[("api", 8000)]),
    (
        "Admin",
        "admin",
        "admin",
        8000,
        30,
        &[("db", 5432), ("redis", 6379)],
    ),
];

/// The private workers: construct id, Service Connect name, singleton (one task, on-demand,
/// 0/100 deployments), what it connects to. Built from this table by the services step and the
/// topology.
pub const WORKERS: [(&str, &str, bool, Connections); 4] = [
    (
        "TrackerFetcher",
        "tracker-fetcher",
        true,
        &[("db", 5432), ("redis", 6379), ("anisette-v3", 6969)],
    ),
    (
        "UnifiedGeofence",
        "unified-geofence",
        false,
        &[("db", 5432), ("redis", 6379)],
    ),
    (
        "NotificationService",
        "notification-service",
        false,
        &[("db", 5432), ("redis", 6379)],
    ),
    (
        "MaterializedViewService",
        "materialized-view-service",
        true,
        &[("db", 5432)],
    ),
];

/// The migration task's construct id and what it connects to.
pub const MIGRATION: (&str, Connections) = ("Migrate", &[("db", 5432)]);

/// Whether a non-singleton worker runs on Fargate Spot: with `spotWorkers`, and
/// `unified-geofence` always.
pub fn worker_on_spot(s: &Settings, name: &str) -> bool {
    s.spot_workers || name == "unified-geofence"
}

fn dependencies(connections: Connections) -> Vec<Dependency> {
    connections
        .iter()
        .map(|(name, port)| Dependency::new(name, *port))
        .collect()
}

/// Step 3, in the services stack: Anisette, the public services, the workers and the migration
/// task, each wired to the data plane it declares.
pub fn services(
    stack: Stack,
    s: &Settings,
    platform: &Platform,
    data: &DataPlane,
) -> Result<Services, ValidationErrors> {
    let env = s.environment;
    let production = env == Environment::Production;
    let db = Dependency::new("db", 5432);
    let redis = Dependency::new("redis", 6379);
    let common = |service: &mut ServiceProps, deps: &[&Dependency]| {
        service.environment.extend([
            ("ENVIRONMENT".to_string(), env.name().to_string()),
            ("PUBLIC_DOMAIN".to_string(), s.domain.clone()),
        ]);
        service.connects_to = deps.iter().map(|d| (*d).clone()).collect();
        if deps.contains(&&db) {
            service
                .secrets
                .insert("DATABASE_PASSWORD".into(), data.db_secret.clone());
            service
                .secrets
                .insert("DATABASE_USER".into(), data.db_user.clone());
            service
                .environment
                .insert("DATABASE_NAME".into(), data.db_name.clone());
        }
        if deps.contains(&&redis) {
            service
                .secrets
                .insert("REDIS_PASSWORD".into(), data.redis_password.clone());
            service
                .environment
                .insert("REDIS_TLS".into(), data.redis_tls.to_string());
        }
        let name = service.name.clone();
        configure(
            stack,
            s,
            &name,
            &mut service.environment,
            &mut service.secrets,
        );
        service.cpu_architecture = s.architecture_of(&name);
        service.execute_command = s.ecs_exec;
        workloads::apply_to_service(s, service);
        service.deployment = s.deployment_of(&name);
        service.log_errors = Some(s.log_errors_of(&name));
        // Workers get their health command from the settings; a public service without one
        // derives its container check from its target group's.
        service.health_check = s.container_health_check(&service.name);
        if !production {
            // Staging rolls half the tasks at a time.
            service.min_healthy_percent = 50;
        }
    };
    // The ECR repositories of `TrackerRegistry`, imported by ARN (no cross-stack export): each
    // service's execution role is granted pull on its own repository.
    let repositories: BTreeMap<&str, IRepository> = crate::settings::SERVICES
        .iter()
        .map(|&service| {
            let repository = Repository::from_repository_attributes(
                stack,
                format!("Repository-{service}"),
                RepositoryAttributes::new(RepositoryAttributesRequired {
                    repository_arn: s.repository_arn(service),
                    repository_name: format!("tracker/{service}"),
                }),
            );
            (service, repository)
        })
        .collect();
    let image_at = |service: &str, tag: &str| -> Image {
        Image::handle(ContainerImage::from_ecr_repository_with(
            repositories[service],
            tag,
        ))
    };
    let image = |service: &str| image_at(service, &s.image_tag);

    // Anisette: private, its state on the data stack's EFS; its endpoint `anisette-v3` is what
    // the fetcher connects to.
    let anisette_size = s.sizing("anisette-v3");
    let anisette = AnisetteWithEfs::with_storage(
        stack,
        "Anisette",
        platform,
        &data.anisette,
        AnisetteProps {
            task_size: anisette_size.task_size(),
            cpu_architecture: s.architecture_of("anisette-v3"),
            ..AnisetteProps::new(&format!(
                "{}{}{}",
                s.repository_uri("anisette-v3"),
                // A digest follows `@`, a tag `:`.
                if s.anisette_image_tag.starts_with("sha256:") {
                    "@"
                } else {
                    ":"
                },
                s.anisette_image_tag
            ))
        },
    )?;
    repositories["anisette-v3"].grant_pull(anisette.task_definition.obtain_execution_role());

    let mut built = Services {
        public: Vec::new(),
        alternate_target_groups: BTreeMap::new(),
        workers: Vec::new(),
    };
    // Each service's container settings, for the scheduled commands that run on its image.
    let mut configured: BTreeMap<&str, ServiceProps> = BTreeMap::new();
    // Public services on the shared ALB.
    for (id, name, host, port, priority, connections) in PUBLIC {
        if !s.enabled(name) {
            continue;
        }
        let sizing = s.sizing(name);
        let mut props = PublicAlbServiceProps::new(
            name,
            sizing.task_size(),
            image(name),
            port,
            &format!("{host}.{}", s.domain),
            priority,
        );
        let deps = dependencies(connections);
        common(&mut props.service, &deps.iter().collect::<Vec<_>>());
        props.service.desired_count = sizing.desired;
        if name == "admin" {
            props.source_ip_allow_list = s.admin_allow_list.clone();
            props.waf = Some(AlbWaf::default());
        }
        if sizing.autoscales() {
            let mut scaling = AlbAutoscaling::new(sizing.min, sizing.max);
            if name == "api" {
                scaling.memory_percent = Some(75);
                // Request-count scaling tracks one target group: rolling deployments only.
                if !props.service.deployment.shifts_traffic() {
                    scaling.requests_per_target = Some(1000);
                }
            }
            props.autoscaling = Some(scaling);
        }
        if production && props.service.deployment.shifts_traffic() {
            // Set with the construct's own: see `PublicAlbServiceProps::deployment_alarms`.
            props.deployment_alarms = vec![target_5xx_alarm_name(env, name)];
        }
        props.service.off_hours = s.off_hours_of(name);
        configured.insert(name, props.service.clone());
        let svc = PublicAlbService::new(stack, id, platform, props)?;
        built.public.push((name, svc.service, svc.target_group));
        if let Some(alternate) = svc.alternate_target_group {
            built.alternate_target_groups.insert(name, alternate);
        }
    }

    // Private workers.
    for (id, name, singleton, connections) in WORKERS {
        if !s.enabled(name) {
            continue;
        }
        let sizing = s.sizing(name);
        let mut props = if singleton {
            PrivateWorkerServiceProps::singleton(name, sizing.task_size(), image(name))
        } else {
            PrivateWorkerServiceProps::new(name, sizing.task_size(), image(name))
        };
        let deps = dependencies(connections);
        common(&mut props.service, &deps.iter().collect::<Vec<_>>());
        if name == "tracker-fetcher" {
            props.service.environment.insert(
                "ANISETTE_URL".into(),
                format!(
                    "http://{}:6969",
                    anisette
                        .endpoint
                        .host
                        .as_literal()
                        .expect("a Service Connect name")
                ),
            );
        }
        if singleton {
            props.service.min_healthy_percent = 0;
        } else {
            props.service.desired_count = sizing.desired;
            if !worker_on_spot(s, name) {
                props.service.capacity = CapacityShare::fargate_only();
            }
            if sizing.autoscales() {
                props.scaling = WorkerScaling::Cpu {
                    min: sizing.min,
                    max: sizing.max,
                    target_percent: 60,
                };
            }
        }
        if let Some((queue, setting)) = workloads::consumed_by(s, name) {
            props.consumes = Some(queue.clone());
            // A consumer that may scale scales on its queue's depth instead of CPU.
            if let (Some(q), true) = (
                platform.queues.get(queue),
                !singleton && sizing.autoscales(),
            ) {
                props.scaling = workloads::queue_scaling(&q, setting, sizing.min, sizing.max);
            }
        }
        props.service.off_hours = s.off_hours_of(name);
        configured.insert(name, props.service.clone());
        let svc = PrivateWorkerService::new(stack, id, platform, props)?;
        built.workers.push((name, svc.service));
    }

    // Migrations: a one-off task on the api image at `migrationImageTag` (default `imageTag`),
    // run by `tracker-cdk release` before the services move to that tag.
    let mut migrate = OneOffTaskProps::new(
        image_at("api", s.migration_image_tag()),
        s.migration_command.clone(),
    );
    migrate.cpu_architecture = s.architecture_of(MIGRATE);
    migrate.connects_to = dependencies(MIGRATION.1);
    migrate
        .secrets
        .insert("DATABASE_PASSWORD".into(), data.db_secret.clone());
    migrate
        .secrets
        .insert("DATABASE_USER".into(), data.db_user.clone());
    migrate
        .environment
        .insert("ENVIRONMENT".into(), env.name().into());
    migrate
        .environment
        .insert("DATABASE_NAME".into(), data.db_name.clone());
    configure(
        stack,
        s,
        MIGRATE,
        &mut migrate.environment,
        &mut migrate.secrets,
    );
    let task = OneOffTask::new(stack, MIGRATION.0, platform, migrate)?;
    release_outputs(stack, s, platform, &task);
    scheduled_tasks(stack, s, platform, &configured)?;
    Ok(built)
}

/// The scheduled commands (`scheduledTasks`), under `ScheduledTasks/<name>`: each runs on its
/// service's image with the service's architecture, environment, secrets and data-plane
/// connections (a task run by EventBridge Scheduler does not join Service Connect, so
/// connections to other services are left out).
fn scheduled_tasks(
    stack: Stack,
    s: &Settings,
    platform: &Platform,
    configured: &BTreeMap<&str, ServiceProps>,
) -> Result<(), ValidationErrors> {
    if s.scheduled_tasks.is_empty() {
        return Ok(());
    }
    let scope = Construct::new(stack, "ScheduledTasks");
    let mut results = Vec::new();
    for t in &s.scheduled_tasks {
        let service = &configured[t.service.as_str()];
        let mut task = OneOffTaskProps::new(service.image.clone(), t.command.clone());
        let (cpu, memory) = s
            .scheduled_task_size(t)
            .expect("the service was validated with the settings");
        task.task_size = TaskSize::new(cpu, memory).expect("validated with the settings");
        task.cpu_architecture = service.cpu_architecture;
        task.environment = service.environment.clone();
        task.secrets = service.secrets.clone();
        task.connects_to = service
            .connects_to
            .iter()
            .filter(|d| {
                platform
                    .registry
                    .get(&d.name)
                    .is_some_and(|e| !e.service_connect_only)
            })
            .cloned()
            .collect();
        let props = ScheduledTaskProps {
            task,
            schedule: t.schedule.clone(),
        };
        results.push(ScheduledTask::new(scope, &t.name, platform, props).map(drop));
    }
    ValidationErrors::collect(results)
}

/// What `tracker-cdk release` reads from the services stack (DescribeStacks): the tags deployed,
/// and where and how to run the migration task. Output names are its interface: renaming one
/// breaks releases of stacks deployed before.
fn release_outputs(stack: Stack, s: &Settings, platform: &Platform, task: &OneOffTask) {
    let outputs: [(&str, cdk_from_rust::JsString, &str); 7] = [
        (
            "ImageTag",
            s.image_tag.as_str().into(),
            "The image tag the services run (imageTag)",
        ),
        (
            "MigrationImageTag",
            s.migration_image_tag().into(),
            "The api image tag the migration task runs (migrationImageTag)",
        ),
        (
            "MigrationCluster",
            platform.cluster.cluster_name(),
            "The ECS cluster the migration task runs in",
        ),
        (
            "MigrationTaskDefinition",
            task.task_definition.task_definition_arn(),
            "The migration task definition (this revision)",
        ),
        (
            "MigrationSubnets",
            task.subnet_ids.clone(),
            "The private subnets of the migration task (comma-separated)",
        ),
        (
            "MigrationSecurityGroup",
            task.security_group.security_group_id(),
            "The migration task's security group",
        ),
        (
            "MigrationLogGroup",
            task.log_group.log_group_name(),
            "The migration task's log group (streams task/task/<task id>)",
        ),
    ];
    for (id, value, description) in outputs {
        output(stack, id, value, description);
    }
}

/// Step 4, in the services stack: the environment's dashboard (the rows every construct added,
/// data plane included), and production's deployment alarms (target 5xx of public services,
/// memory of workers), each under its service and rolling a failing deployment back.
pub fn operations(stack: Stack, s: &Settings, platform: &Platform, services: &Services) {
    let env = s.environment;
    platform
        .dashboard
        .build(stack, "Dashboard", &format!("tracker-{env}"));
    if env != Environment::Production {
        return;
    }
    // Deployment alarms are referenced by name: a literal name, so the service does not depend on
    // the alarm resource (whose metric depends on the service).
    let mut deployment_alarms: Vec<(FargateService, String)> = Vec::new();
    for (name, service, target_group) in &services.public {
        let alarm_name = target_5xx_alarm_name(env, name);
        let target_5xx = |group: &ApplicationTargetGroup| {
            Metric::new(
                MetricProps::new(MetricPropsRequired {
                    metric_name: "HTTPCode_Target_5XX_Count",
                    namespace: "AWS/ApplicationELB",
                })
                .dimensions_map(BTreeMap::from([
                    (
                        "LoadBalancer".to_string(),
                        platform.alb.load_balancer_full_name(),
                    ),
                    ("TargetGroup".to_string(), group.target_group_full_name()),
                ]))
                .statistic("Sum")
                .period(Duration::minutes(1)),
            )
        };
        // With a traffic-shifting deployment the new revision serves from the alternate group.
        let metric: IMetric = match services.alternate_target_groups.get(name) {
            None => target_5xx(target_group).into(),
            Some(alternate) => MathExpression::new(
                MathExpressionProps::new("FILL(blue, 0) + FILL(green, 0)")
                    .label("target 5xx")
                    .period(Duration::minutes(1))
                    .using_metrics([
                        ("blue", IMetric::from(target_5xx(target_group))),
                        ("green", target_5xx(alternate).into()),
                    ]),
            )
            .into(),
        };
        let alarm = Alarm::new(
            *service,
            "TargetErrors",
            AlarmProps::new(AlarmPropsRequired {
                evaluation_periods: 2,
                metric,
                threshold: 10,
            })
            .alarm_name(alarm_name.as_str())
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .treat_missing_data(TreatMissingData::NotBreaching)
            .alarm_description(format!(
                "{env} {name}: 10+ target 5xx a minute for 2 minutes (rolls a deployment back)"
            )),
        );
        platform.alerts.notify(alarm);
        // A traffic-shifting service got the name with its construct's deployment alarms.
        if !services.alternate_target_groups.contains_key(name) {
            deployment_alarms.push((*service, alarm_name));
        }
    }
    for (name, service) in &services.workers {
        let alarm_name = format!("tracker-{env}-{name}-memory-high");
        let alarm = Alarm::new(
            *service,
            "MemoryHigh",
            AlarmProps::new(AlarmPropsRequired {
                evaluation_periods: 3,
                metric: service.metric_memory_utilization(),
                threshold: 90,
            })
            .alarm_name(alarm_name.as_str())
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .treat_missing_data(TreatMissingData::NotBreaching)
            .alarm_description(format!(
                "{env} {name}: memory at 90 %+ for 3 minutes (rolls a deployment back)"
            )),
        );
        platform.alerts.notify(alarm);
        deployment_alarms.push((*service, alarm_name));
    }
    for (service, alarm) in deployment_alarms {
        service.enable_deployment_alarms([alarm]);
    }
}

/// The name of production's target-5xx deployment alarm of the public service `name`.
fn target_5xx_alarm_name(env: Environment, name: &str) -> String {
    format!("tracker-{env}-{name}-target-5xx")
}

/// The docs sites: construct id, host label.
pub const SITES: [(&str, &str); 2] = [("Docs", "docs"), ("Redoc", "redoc")];

/// Step 5, in the services stack: docs and ReDoc as static sites (S3 + CloudFront, published by
/// CI; their files are rebuilt from the repository, so they are not data the data stack keeps).
/// A certificate the stacks create for them is made in `stacks.cdn_certificate` (us-east-1).
pub fn edge(
    stacks: EnvironmentStacks,
    s: &Settings,
) -> Result<Vec<(&'static str, StaticSite)>, ValidationErrors> {
    let stack = stacks.services;
    let certificate_arn: Option<cdk_from_rust::JsString> = match s.cloudfront_certificate() {
        None => None,
        Some(Certificate::Existing(arn)) => Some(arn.into()),
        Some(Certificate::Created) => {
            let scope = stacks
                .cdn_certificate
                .expect("the certificate stack exists when the certificate is created");
            let hosts = SITES.map(|(_, host)| host);
            Some(dns_validated_certificate(scope.into(), s, "docs", &hosts).certificate_arn())
        }
    };
    let mut sites = Vec::new();
    // With a certificate the distributions answer on `<host>.<domain>`: alias them in the hosted
    // zone, when there is one.
    let dns = match (&s.hosted_zone_id, &certificate_arn) {
        (Some(_), Some(_)) => Some(Construct::new(stack, "Dns")),
        _ => None,
    };
    for (id, host) in SITES {
        let site = StaticSite::new(
            stack,
            id,
            StaticSiteProps {
                custom_domain: certificate_arn
                    .as_ref()
                    .map(|arn| CustomDomain::new([format!("{host}.{}", s.domain)], arn)),
                ..StaticSiteProps::new()
            },
        )?;
        if let Some(scope) = dns {
            alias_record(
                scope,
                s,
                id,
                host,
                (
                    site.distribution.distribution_domain_name(),
                    CLOUDFRONT_HOSTED_ZONE_ID.into(),
                ),
            );
        }
        sites.push((id, site));
    }
    Ok(sites)
}

/// Step 6, in the services stack: what a person needs (URLs, endpoints). The data stack's own
/// output (the staging host's address) is written by [`data_plane`].
pub fn outputs(
    stacks: EnvironmentStacks,
    s: &Settings,
    platform: &Platform,
    sites: &[(&'static str, StaticSite)],
) {
    let stack = stacks.services;
    output(
        stack,
        "DatabaseEndpoint",
        format!("db.{}:5432", platform.namespace),
        "PostgreSQL for the services (Service Connect / Cloud Map name `db`)",
    );
    output(
        stack,
        "RedisEndpoint",
        format!("redis.{}:6379", platform.namespace),
        "Redis/Valkey for the services (Cloud Map name `redis`)",
    );
    for (id, name, host, ..) in PUBLIC {
        if s.enabled(name) {
            output(
                stack,
                &format!("{id}Url"),
                format!("https://{host}.{}", s.domain),
                &format!("The public URL of {name}"),
            );
        }
    }
    for (id, site) in sites {
        let host = id.to_ascii_lowercase();
        output(
            stack,
            &format!("{id}Url"),
            site.distribution.distribution_domain_name(),
            &format!("The CloudFront name of {host}.{} (CNAME it)", s.domain),
        );
    }
}

/// Adds what the settings `<env>.<target>.env.*` / `.secrets.*` give `target` (validated with the
/// settings): plain values, and secrets imported by name or ARN (no resource; the container's
/// execution role alone is granted read).
fn configure(
    stack: Stack,
    s: &Settings,
    target: &str,
    environment: &mut BTreeMap<String, String>,
    secrets: &mut BTreeMap<String, ContainerSecret>,
) {
    environment.extend(s.environment_of(target));
    for (name, reference) in s.secrets_of(target) {
        let secret = reference.import(stack, &format!("Secret-{target}-{name}"));
        secrets.insert(name, secret);
    }
}

fn output(scope: Stack, id: &str, value: impl Into<cdk_from_rust::JsString>, description: &str) {
    CfnOutput::new(
        Construct::from(scope),
        id,
        CfnOutputProps::new(value).description(description),
    );
}
