//! `TrackerStaging` and `TrackerProduction`: the whole tracker in one environment, and
//! `TrackerRegistry`, the ECR repositories both pull from.
//!
//! Construct ids are public API (they make the logical ids): renaming one replaces its resources.

use std::collections::BTreeMap;

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    Alarm, AlarmProps, ComparisonOperator, Metric, MetricProps, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ecr::{IRepository, Repository, RepositoryAttributes};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{ContainerImage, FargateService};
use cdk_from_rust::aws_cdk_lib::{
    Annotations, App, CfnOutput, CfnOutputProps, Duration, Environment as CdkEnvironment, Stack,
    StackProps, Tags,
};
use cdk_from_rust::constructs::Construct;
use tracker_constructs::anisette::{AnisetteProps, AnisetteWithEfs};
use tracker_constructs::container_registry::{ContainerRegistry, ContainerRegistryProps};
use tracker_constructs::managed_redis::{ManagedRedis, ManagedRedisProps};
use tracker_constructs::one_off_task::{OneOffTask, OneOffTaskProps};
use tracker_constructs::patroni::{PatroniCluster, PatroniClusterProps};
use tracker_constructs::private_worker_service::{
    PrivateWorkerService, PrivateWorkerServiceProps, WorkerScaling,
};
use tracker_constructs::public_alb_service::{
    AlbAutoscaling, AlbWaf, PublicAlbService, PublicAlbServiceProps,
};
use tracker_constructs::service::{CapacityShare, Image, ServiceProps};
use tracker_constructs::staging_data_host::{StagingDataHost, StagingDataHostProps};
use tracker_constructs::static_site::{CustomDomain, StaticSite, StaticSiteProps};
use tracker_constructs::validation::ValidationErrors;
use tracker_constructs::wiring::{ContainerSecret, Dependency};
use tracker_constructs::{Network, NetworkProps, Platform, PlatformProps};

use crate::nag;
use crate::settings::{repositories, Environment, Settings, MIGRATE};

const TAG_PROJECT: &str = "tracker";

/// The data plane's secrets as the services see them.
struct DataPlane {
    /// The application database login: JSON with username, password, host, port, dbname.
    db_secret: ContainerSecret,
    db_user: ContainerSecret,
    /// The application database's name (plain: `DATABASE_NAME`).
    db_name: String,
    redis_password: ContainerSecret,
    /// Whether Redis must be reached over TLS (the endpoint's own fact).
    redis_tls: bool,
}

/// Adds `TrackerRegistry` to `app`: the ECR repositories, in the registry account and region
/// (`environments` share them), the CI role when `ciRepository` is set, and a pull grant for each
/// environment account other than the registry's.
pub fn registry_stack(app: &App, environments: &[&Settings]) -> Result<Stack, ValidationErrors> {
    let settings = environments[0];
    let stack = Stack::new(
        app,
        "TrackerRegistry",
        Some(
            StackProps::new()
                .description("tracker: the container image repositories both environments pull")
                .env(
                    CdkEnvironment::new()
                        .account(settings.registry_account.as_str())
                        .region(settings.registry_region.as_str()),
                )
                .termination_protection(true),
        ),
    );
    // The repositories serve both environments: `environment=shared`, plus the extra tags.
    Tags::of(stack).add("project", TAG_PROJECT, None);
    Tags::of(stack).add("environment", "shared", None);
    for (key, value) in &settings.tags {
        Tags::of(stack).add(key.as_str(), value.as_str(), None);
    }
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
    Ok(stack)
}

/// Adds the environment's stack (`TrackerStaging` / `TrackerProduction`) to `app`.
pub fn environment_stack(app: &App, s: &Settings) -> Result<Stack, ValidationErrors> {
    let env = s.environment;
    let production = env == Environment::Production;
    let stack = Stack::new(
        app,
        env.stack_name(),
        Some(
            StackProps::new()
                .description(s.description.clone().unwrap_or_else(|| {
                    format!(
                        "tracker {env}: ECS Fargate services, ALB, Anisette on EFS, {}",
                        if production {
                            "Patroni PostgreSQL cluster and ElastiCache"
                        } else {
                            "single-host PostgreSQL and Valkey"
                        }
                    )
                }))
                .env(
                    CdkEnvironment::new()
                        .account(s.account.as_str())
                        .region(s.region.as_str()),
                )
                .termination_protection(s.termination_protection),
        ),
    );
    Tags::of(stack).add("project", TAG_PROJECT, None);
    Tags::of(stack).add("environment", env.name(), None);
    for (key, value) in &s.tags {
        Tags::of(stack).add(key.as_str(), value.as_str(), None);
    }
    if s.image_tag_is_mutable() {
        let message = format!(
            "imageTag {:?} is mutable: a redeploy may run a different image. Pin a version, \
             commit SHA or digest (production refuses mutable tags).",
            s.image_tag
        );
        eprintln!("warning: {}: {message}", env.stack_name());
        Annotations::of(stack).add_warning_v2("tracker:mutable-image-tag", message, None);
    }

    let network = Network::new(
        stack,
        "Network",
        NetworkProps {
            max_azs: if production { 3 } else { 2 },
            nat_gateways: if production { 3 } else { 1 },
            ..NetworkProps::default()
        },
    )?;
    let platform = Platform::new(
        stack,
        "Platform",
        network,
        PlatformProps {
            alb_deletion_protection: production,
            ..PlatformProps::new(env.name(), &s.certificate_arn)
        },
    )?;

    // The data plane first: services declare what they connect to, and it must exist.
    let data = if production {
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
        let db_name = db.database_name.clone();
        let db = PatroniCluster::new(stack, "Database", &platform, db)?;
        let redis = ManagedRedis::new(
            stack,
            "Redis",
            &platform,
            ManagedRedisProps {
                node_type: s.redis_node_type.clone(),
                ..ManagedRedisProps::new()
            },
        )?;
        DataPlane {
            db_secret: ContainerSecret::field(db.app_secret, "password"),
            db_user: ContainerSecret::field(db.app_secret, "username"),
            db_name,
            redis_password: ContainerSecret::whole(redis.auth_token),
            redis_tls: redis.endpoint.tls,
        }
    } else {
        let mut host = StagingDataHostProps::new(&s.region, &s.db_ami);
        host.instance_type = s.db_instance_type.clone();
        host.data_volume_gib = s.db_volume_gib;
        let db_name = host.database_name.clone();
        let host = StagingDataHost::new(stack, "Data", &platform, host)?;
        output(
            stack,
            "DatabaseHostPrivateIp",
            host.instance.instance_private_ip(),
            "The staging data host (PostgreSQL 5432, Valkey 6379); reach it with SSM",
        );
        DataPlane {
            db_secret: ContainerSecret::field(host.app_secret, "password"),
            db_user: ContainerSecret::field(host.app_secret, "username"),
            db_name,
            redis_password: ContainerSecret::whole(host.valkey_secret),
            redis_tls: host.redis_endpoint.tls,
        }
    };
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
                RepositoryAttributes::new(s.repository_arn(service), format!("tracker/{service}")),
            );
            (service, repository)
        })
        .collect();
    let image = |service: &str| -> Image {
        Image::handle(ContainerImage::from_ecr_repository(
            repositories[service],
            Some(s.image_tag.as_str().into()),
        ))
    };

    // Anisette: private, EFS-backed; its endpoint `anisette-v3` is what the fetcher connects to.
    let anisette_size = s.sizing("anisette-v3");
    let anisette = AnisetteWithEfs::new(
        stack,
        "Anisette",
        &platform,
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

    // Public services on the shared ALB.
    // Deployment alarms are referenced by name: a literal name, so the service does not depend on
    // the alarm resource (whose metric depends on the service).
    let mut deployment_alarms: Vec<(FargateService, String)> = Vec::new();
    let public = [
        ("Api", "api", "api", 8000, 10, vec![&db, &redis]),
        ("Frontend", "frontend", "app", 3000, 20, vec![]),
        ("Admin", "admin", "admin", 8000, 30, vec![&db, &redis]),
    ];
    for (id, name, host, port, priority, deps) in public {
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
        common(&mut props.service, &deps);
        props.service.desired_count = sizing.desired;
        if name == "frontend" {
            props.service.connects_to.push(Dependency::new("api", 8000));
        }
        if name == "admin" {
            props.source_ip_allow_list = s.admin_allow_list.clone();
            props.waf = Some(AlbWaf::default());
        }
        if sizing.autoscales() {
            let mut scaling = AlbAutoscaling::new(sizing.min, sizing.max);
            if name == "api" {
                scaling.memory_percent = Some(75);
                scaling.requests_per_target = Some(1000);
            }
            props.autoscaling = Some(scaling);
        }
        let svc = PublicAlbService::new(stack, id, &platform, props)?;
        output(
            stack,
            &format!("{id}Url"),
            format!("https://{host}.{}", s.domain),
            &format!("The public URL of {name}"),
        );
        if production {
            let alarm_name = format!("tracker-{env}-{name}-target-5xx");
            Alarm::new(
                svc.service,
                "TargetErrors",
                AlarmProps::new(
                    2,
                    Metric::new(
                        MetricProps::new("HTTPCode_Target_5XX_Count", "AWS/ApplicationELB")
                            .dimensions_map(BTreeMap::from([
                                (
                                    "LoadBalancer".to_string(),
                                    platform.alb.load_balancer_full_name(),
                                ),
                                (
                                    "TargetGroup".to_string(),
                                    svc.target_group.target_group_full_name(),
                                ),
                            ]))
                            .statistic("Sum")
                            .period(Duration::minutes(1)),
                    ),
                    10,
                )
                .alarm_name(alarm_name.as_str())
                .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                .treat_missing_data(TreatMissingData::NotBreaching)
                .alarm_description(format!(
                    "{env} {name}: 10+ target 5xx a minute for 2 minutes (rolls a deployment back)"
                )),
            );
            deployment_alarms.push((svc.service, alarm_name));
        }
    }

    // Private workers.
    let workers = [
        ("TrackerFetcher", "tracker-fetcher", true, vec![&db, &redis]),
        (
            "UnifiedGeofence",
            "unified-geofence",
            false,
            vec![&db, &redis],
        ),
        (
            "NotificationService",
            "notification-service",
            false,
            vec![&db, &redis],
        ),
        (
            "MaterializedViewService",
            "materialized-view-service",
            true,
            vec![&db],
        ),
    ];
    for (id, name, singleton, deps) in workers {
        if !s.enabled(name) {
            continue;
        }
        let sizing = s.sizing(name);
        let mut props = if singleton {
            PrivateWorkerServiceProps::singleton(name, sizing.task_size(), image(name))
        } else {
            PrivateWorkerServiceProps::new(name, sizing.task_size(), image(name))
        };
        common(&mut props.service, &deps);
        if name == "tracker-fetcher" {
            props
                .service
                .connects_to
                .push(Dependency::new("anisette-v3", 6969));
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
            let spot = s.spot_workers || name == "unified-geofence";
            if !spot {
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
        let svc = PrivateWorkerService::new(stack, id, &platform, props)?;
        if production {
            let alarm_name = format!("tracker-{env}-{name}-memory-high");
            Alarm::new(
                svc.service,
                "MemoryHigh",
                AlarmProps::new(3, svc.service.metric_memory_utilization(None), 90)
                    .alarm_name(alarm_name.as_str())
                    .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
                    .treat_missing_data(TreatMissingData::NotBreaching)
                    .alarm_description(format!(
                        "{env} {name}: memory at 90 %+ for 3 minutes (rolls a deployment back)"
                    )),
            );
            deployment_alarms.push((svc.service, alarm_name));
        }
    }
    for (service, alarm) in deployment_alarms {
        service.enable_deployment_alarms([alarm], None);
    }

    // Migrations: a one-off task on the api image, run before a release is rolled out.
    let mut migrate = OneOffTaskProps::new(image("api"), s.migration_command.clone());
    migrate.cpu_architecture = s.architecture_of(MIGRATE);
    migrate.connects_to = vec![db.clone()];
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
    OneOffTask::new(stack, "Migrate", &platform, migrate)?;

    // Docs and ReDoc: static sites, published by CI.
    for (id, host) in [("Docs", "docs"), ("Redoc", "redoc")] {
        let site = StaticSite::new(
            stack,
            id,
            StaticSiteProps {
                custom_domain: s
                    .cloudfront_certificate_arn
                    .as_ref()
                    .map(|arn| CustomDomain::new([format!("{host}.{}", s.domain)], arn.as_str())),
                ..StaticSiteProps::new()
            },
        )?;
        output(
            stack,
            &format!("{id}Url"),
            site.distribution.distribution_domain_name(),
            &format!("The CloudFront name of {host}.{} (CNAME it)", s.domain),
        );
    }

    nag::acknowledge(stack, s);
    Ok(stack)
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
