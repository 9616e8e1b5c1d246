//! cfn-lint (the CloudFormation resource specification) over one template holding every
//! construct of the library, synthesized through the real aws-cdk-lib.
//!
//! cfn-lint lives in the project venv `.venv` (pinned in the Makefile); `make setup` installs it.
//! Exit codes: 0 clean, 4 warnings only (accepted), 2 errors, other values for failures of
//! cfn-lint itself.

use std::path::PathBuf;
use std::process::Command;

use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret;
use tracker_constructs::container_registry::{ContainerRegistry, ContainerRegistryProps};
use tracker_constructs::one_off_task::{OneOffTask, OneOffTaskProps};
use tracker_constructs::static_site::{CustomDomain, StaticSite, StaticSiteProps};
use tracker_constructs::testing::synth;
use tracker_constructs::wiring::ContainerSecret;
use tracker_constructs::{Network, NetworkProps, Platform, PlatformProps};

const CERT: &str =
    "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";
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
        let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
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

        // Every other construct goes here, one line (or one statement) each, in dependency order
        // (what a service `connects_to` must be declared before it), e.g.:
        //   StagingDataHost::new(stack, "Data", &platform, StagingDataHostProps::new(..)).unwrap();
        //   PublicAlbService::new(stack, "Api", &platform, PublicAlbServiceProps::new(..)).unwrap();
        //   PrivateWorkerService::new(stack, "Fetcher", &platform, ..).unwrap();
        //   AnisetteWithEfs::new(stack, "Anisette", &platform, ..).unwrap();
        //   PatroniCluster / ManagedRedis (production shapes) likewise.
        // Once a `db` endpoint is registered, add `props.connects_to = vec!["db:5432".parse()?]`
        // to the migration task below so the wiring is linted too.

        let credentials = Secret::new(stack, "AppSecrets", None);
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
