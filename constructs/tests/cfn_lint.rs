//! cfn-lint (the CloudFormation resource specification) over one template holding every
//! construct of the library, synthesized through the real aws-cdk-lib.
//!
//! cfn-lint lives in the project venv `.venv` (pinned in the Makefile); `make setup` installs it.
//! Exit codes: 0 clean, 4 warnings only (accepted), 2 errors, other values for failures of
//! cfn-lint itself.

use std::path::PathBuf;
use std::process::Command;

use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret;
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
use tracker_constructs::service::ContainerHealthCheck;
use tracker_constructs::staging_data_host::{StagingDataHost, StagingDataHostProps};
use tracker_constructs::static_site::{CustomDomain, StaticSite, StaticSiteProps};
use tracker_constructs::task_size::TaskSize;
use tracker_constructs::testing::synth;
use tracker_constructs::wiring::ContainerSecret;
use tracker_constructs::wiring::Dependency;
use tracker_constructs::{Network, NetworkProps, Platform, PlatformProps};

const CERT: &str =
    "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";
const AMI: &str = "ami-0123456789abcdef0";
const CLOUDFRONT_CERT: &str =
    "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

fn cfn_lint() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/cfn-lint");
    assert!(
        path.exists(),
        "cfn-lint not found at {}: run `make setup` in the repository root (it creates the \
         Python venv .venv with the pinned cfn-lint)",
        path.display()
    );
    path
}

#[test]
fn every_construct_in_one_template_passes_cfn_lint() {
    let cfn_lint = cfn_lint();
    let template = synth(|stack| {
        // Three AZs: PatroniCluster needs one node per AZ.
        let network = Network::new(
            stack,
            "Network",
            NetworkProps {
                max_azs: 3,
                ..NetworkProps::default()
            },
        )
        .unwrap();
        let platform = Platform::new(
            stack,
            "Platform",
            network,
            PlatformProps::new("staging", CERT),
        )
        .unwrap();
        ContainerRegistry::new(
            stack,
            "Images",
            ContainerRegistryProps::new(["tracker/api", "tracker/frontend"]),
        )
        .unwrap();
        StaticSite::new(
            stack,
            "Docs",
            StaticSiteProps {
                custom_domain: Some(CustomDomain::new(["docs.example.com"], CLOUDFRONT_CERT)),
                ..StaticSiteProps::new()
            },
        )
        .unwrap();

        // The staging data plane registers `db` and `redis`; the production shapes register under
        // other names so both fit in one environment.
        StagingDataHost::new(
            stack,
            "Data",
            &platform,
            StagingDataHostProps::new("eu-west-1", AMI),
        )
        .unwrap();
        let mut patroni = PatroniClusterProps::new(
            [("eu-west-1", AMI)],
            ["10.0.16.10", "10.0.32.10", "10.0.48.10"],
        );
        patroni.endpoint_name = "pg".into();
        patroni.reader_endpoint = true;
        PatroniCluster::new(stack, "Patroni", &platform, patroni).unwrap();
        ManagedRedis::new(
            stack,
            "Cache",
            &platform,
            ManagedRedisProps {
                endpoint_name: "cache".into(),
                ..ManagedRedisProps::new()
            },
        )
        .unwrap();
        AnisetteWithEfs::new(
            stack,
            "Anisette",
            &platform,
            AnisetteProps::new(
                "111111111111.dkr.ecr.eu-west-1.amazonaws.com/anisette-v3:2024-06-01",
            ),
        )
        .unwrap();
        let mut api = PublicAlbServiceProps::new(
            "api",
            TaskSize::HALF_1,
            "111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2",
            8000,
            "api.example.com",
            10,
        );
        api.service.connects_to = vec![Dependency::new("db", 5432), Dependency::new("pg", 5432)];
        api.source_ip_allow_list = vec!["203.0.113.0/24".into()];
        api.waf = Some(AlbWaf::default());
        api.autoscaling = Some(AlbAutoscaling::new(1, 4));
        PublicAlbService::new(stack, "Api", &platform, api).unwrap();
        let mut fetcher = PrivateWorkerServiceProps::new(
            "tracker-fetcher",
            TaskSize::HALF_1,
            "111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/fetcher:v1.4.2",
        );
        fetcher.service.health_check = Some(ContainerHealthCheck::new([
            "CMD-SHELL",
            "test -n \"$(find /tmp/heartbeat -mmin -2)\"",
        ]));
        fetcher.service.connects_to = vec![
            Dependency::new("anisette-v3", 6969),
            Dependency::new("redis", 6379),
            Dependency::new("cache", 6379),
        ];
        fetcher.scaling = WorkerScaling::Cpu {
            min: 1,
            max: 3,
            target_percent: 60,
        };
        PrivateWorkerService::new(stack, "Fetcher", &platform, fetcher).unwrap();

        let credentials = Secret::new(stack, "AppSecrets");
        let mut migrate = OneOffTaskProps::new(
            "111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2",
            ["python", "manage.py", "migrate"],
        );
        migrate
            .environment
            .insert("DJANGO_SETTINGS_MODULE".into(), "tracker.settings".into());
        migrate.secrets.insert(
            "DATABASE_PASSWORD".into(),
            ContainerSecret::field(credentials, "password"),
        );
        OneOffTask::new(stack, "Migrate", &platform, migrate).unwrap();
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("Test.template.json");
    std::fs::write(&file, serde_json::to_string_pretty(&template.0).unwrap()).unwrap();
    let out = Command::new(&cfn_lint)
        .arg("--format")
        .arg("parseable")
        .arg("--")
        .arg(&file)
        .output()
        .expect("cfn-lint runs");
    let code = out.status.code();
    let report = format!(
        "cfn-lint exit code {code:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if code == Some(4) {
        // Warnings only: accepted, shown with --nocapture.
        println!("{report}");
    }
    assert!(
        matches!(code, Some(0) | Some(4)),
        "cfn-lint found errors in the synthesized template:\n{report}"
    );
}
