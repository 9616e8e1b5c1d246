//! The tracker stacks, synthesized through the real aws-cdk-lib with cdk.json's context, checked
//! by cfn-lint, cdk-nag (at synthesis), checkov, golden templates, determinism and property
//! assertions.
//!
//! Update the goldens after an intended change: `UPDATE_GOLDEN=1 cargo test -p tracker-stacks
//! --test tracker` (or `make golden`), then review the diff like code.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use tracker_stacks::{cdk_json_context, synth_to, AppSettings, Environment};

const STACKS: [&str; 5] = [
    "TrackerRegistry",
    "TrackerStagingData",
    "TrackerStaging",
    "TrackerProductionData",
    "TrackerProduction",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn context() -> Map<String, Value> {
    cdk_json_context(&repo().join("cdk.json")).expect("cdk.json context")
}

/// One synthesis of the app with cdk.json's context, shared by the tests of this file.
fn assembly() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context();
        let settings = AppSettings::from_context(&ctx).unwrap();
        synth_to(&settings, &ctx, dir.path()).unwrap_or_else(|e| panic!("synthesis failed: {e}"));
        dir
    })
    .path()
}

/// The app synthesized with another context, in a directory of its own.
struct Assembly {
    dir: tempfile::TempDir,
}

impl Assembly {
    fn of(ctx: &Map<String, Value>) -> Assembly {
        let settings = AppSettings::from_context(ctx).unwrap();
        let dir = tempfile::tempdir().unwrap();
        synth_to(&settings, ctx, dir.path()).unwrap_or_else(|e| panic!("synthesis failed: {e}"));
        Assembly { dir }
    }

    fn template(&self, stack: &str) -> Value {
        let path = self.dir.path().join(format!("{stack}.template.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
}

fn template(stack: &str) -> Value {
    let text = std::fs::read_to_string(assembly().join(format!("{stack}.template.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn resources<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

fn by_path<'a>(t: &'a Value, path: &str) -> &'a Value {
    t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| r["Metadata"]["aws:cdk:path"] == path)
        .unwrap_or_else(|| panic!("no resource at {path}"))
}

/// What differs between runs and machines: the CLI's analytics resource (only when the CLI asks
/// for version reporting). Everything else is deterministic.
fn normalize(mut t: Value) -> Value {
    if let Some(r) = t["Resources"].as_object_mut() {
        r.remove("CDKMetadata");
    }
    if let Some(c) = t.get_mut("Conditions").and_then(Value::as_object_mut) {
        c.remove("CDKMetadataAvailable");
        if c.is_empty() {
            t.as_object_mut().unwrap().remove("Conditions");
        }
    }
    t
}

#[test]
fn golden_templates_match() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for stack in STACKS {
        let actual = serde_json::to_string_pretty(&normalize(template(stack))).unwrap() + "\n";
        let golden = repo().join(format!("stacks/golden/{stack}.template.json"));
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &actual).unwrap();
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(actual.as_str()) {
            stale.push(golden.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "the synthesized templates differ from the goldens {stale:?}: review the change with \
         `git diff` after `UPDATE_GOLDEN=1 cargo test -p tracker-stacks --test tracker`"
    );
}

#[test]
fn synthesizing_twice_is_byte_identical() {
    let again = tempfile::tempdir().unwrap();
    let ctx = context();
    synth_to(
        &AppSettings::from_context(&ctx).unwrap(),
        &ctx,
        again.path(),
    )
    .unwrap();
    for stack in STACKS {
        let name = format!("{stack}.template.json");
        let a = std::fs::read(assembly().join(&name)).unwrap();
        let b = std::fs::read(again.path().join(&name)).unwrap();
        assert!(a == b, "{name} differs between two syntheses");
    }
}

#[test]
fn cfn_lint_finds_no_errors() {
    let files: Vec<PathBuf> = STACKS
        .iter()
        .map(|s| assembly().join(format!("{s}.template.json")))
        .collect();
    assert_cfn_lint_clean(&files);
}

/// Asserts cfn-lint reports no error (warnings are printed) on `files`.
fn assert_cfn_lint_clean(files: &[PathBuf]) {
    let cfn_lint = repo().join(".venv/bin/cfn-lint");
    assert!(
        cfn_lint.exists(),
        "cfn-lint missing at {}: run `make setup`",
        cfn_lint.display()
    );
    let out = Command::new(&cfn_lint)
        .args(["--format", "parseable", "--"])
        .args(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Parseable lines: file:line:col:line:col:RULE:message. Errors are rules E*, warnings W*.
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.split(':')
                .nth(5)
                .is_some_and(|rule| rule.starts_with('E'))
        })
        .collect();
    println!("cfn-lint (exit {:?}):\n{stdout}", out.status.code());
    assert!(
        errors.is_empty() && matches!(out.status.code(), Some(0) | Some(4)),
        "cfn-lint errors:\n{}\n{}",
        errors.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// checkov, pinned in the Makefile (`make setup`), in its own venv inside `.venv`.
fn checkov() -> PathBuf {
    let path = repo().join(".venv/checkov/bin/checkov");
    assert!(
        path.exists(),
        "checkov missing at {}: run `make setup` (it installs the pinned checkov into \
         .venv/checkov)",
        path.display()
    );
    path
}

/// `(stack, logical id, check id)`: one checkov result.
type Finding = (String, String, String);

/// Runs checkov once over `dir` (CloudFormation only, offline) and returns its report.
fn run_checkov(dir: &Path) -> Value {
    let out = Command::new(checkov())
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ])
        .arg("--directory")
        .arg(dir)
        // No calls to the vendor's API or to PyPI for a newer version.
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .output()
        .expect("checkov runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit code 0: no failed check; 1: failed checks. Anything else is checkov failing.
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "checkov did not run (exit {:?}):\n{stderr}\n{stdout}",
        out.status.code()
    );
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("checkov printed no JSON report ({e}):\n{stderr}\n{stdout}"));
    // One framework gives one report; be lenient about a list of them.
    match report {
        Value::Array(mut reports) if reports.len() == 1 => reports.remove(0),
        report => report,
    }
}

/// The results of `kind` (`failed_checks`, `skipped_checks`, `passed_checks`) in `report`, for
/// the templates in the folder `folder` of the scanned directory.
fn checkov_results(report: &Value, kind: &str, folder: &str) -> Vec<Finding> {
    let prefix = format!("/{folder}/");
    let mut found: Vec<Finding> = report["results"][kind]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            let file = r["file_path"].as_str()?.strip_prefix(&prefix)?;
            let stack = file.strip_suffix(".template.json")?.to_string();
            let logical = r["resource"].as_str()?.split_once('.')?.1.to_string();
            Some((stack, logical, r["check_id"].as_str()?.to_string()))
        })
        .collect();
    found.sort();
    found
}

/// The stack whose template is also scanned as synthesized: the smallest carrying
/// acknowledgments, to show checkov reads them from `Metadata.checkov.skip`.
const AS_SYNTHESIZED: &str = "TrackerRegistry";

#[test]
fn checkov_finds_no_unacknowledged_failure_and_every_acknowledgment_is_needed() {
    // Every template is scanned with `Metadata.checkov` removed (`bare/`): its failed checks must
    // be exactly the acknowledged ones, so nothing fails unexplained and no acknowledgment is
    // stale. One template is also scanned as synthesized (`as-is/`), where checkov must skip
    // exactly its acknowledgments and fail nothing: what an auditor sees on every template, since
    // every skip is written by the same `checkov::acknowledge`. (Scanning all five twice would
    // double the run.)
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<Finding> = Vec::new();
    let mut stacks = Vec::new();
    for (stack, t) in all_templates() {
        let mut bare = t.clone();
        for (logical, r) in bare["Resources"].as_object_mut().unwrap() {
            let Some(meta) = r.get_mut("Metadata").and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(checkov) = meta.remove(tracker_stacks::checkov::METADATA_KEY) else {
                continue;
            };
            for skip in checkov["skip"]
                .as_array()
                .expect("Metadata.checkov.skip is a list")
            {
                let id = skip["id"].as_str().expect("skip id").to_string();
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    comment.len() > 40,
                    "{stack} {logical} {id}: reason too thin"
                );
                acknowledged.push((stack.clone(), logical.clone(), id));
            }
        }
        let write = |folder: &str, template: &Value| {
            let file = dir
                .path()
                .join(folder)
                .join(format!("{stack}.template.json"));
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, serde_json::to_string_pretty(template).unwrap()).unwrap();
        };
        write("bare", &bare);
        if stack == AS_SYNTHESIZED {
            write("as-is", &t);
        }
        stacks.push(stack);
    }
    acknowledged.sort();
    assert!(stacks.iter().any(|s| s == AS_SYNTHESIZED));

    let started = std::time::Instant::now();
    let report = run_checkov(dir.path());
    println!(
        "checkov: {} templates and {AS_SYNTHESIZED} as synthesized, in {:.1} s",
        stacks.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        report["summary"]["parsing_errors"], 0,
        "checkov could not parse a template: {}",
        report["summary"]
    );
    let results = |kind: &str, folder: &str| checkov_results(&report, kind, folder);
    let bare_failures = results("failed_checks", "bare");
    let scanned: BTreeSet<String> = results("passed_checks", "bare")
        .into_iter()
        .map(|f| f.0)
        .collect();
    for stack in &stacks {
        assert!(scanned.contains(stack), "checkov passed nothing in {stack}");
        let count = |list: &[Finding]| list.iter().filter(|f| &f.0 == stack).count();
        let failed = count(&bare_failures);
        let accepted = count(&acknowledged);
        println!(
            "checkov {stack}: {} passed, {} failed unacknowledged, {accepted} acknowledged",
            count(&results("passed_checks", "bare")),
            failed.saturating_sub(accepted),
        );
    }

    let unacknowledged: Vec<&Finding> = bare_failures
        .iter()
        .filter(|f| !acknowledged.contains(f))
        .collect();
    assert!(
        unacknowledged.is_empty(),
        "checkov failed checks that are not acknowledged (fix the construct, or add a row with \
         the reason to stacks/src/checkov.rs): {unacknowledged:#?}"
    );
    let stale: Vec<&Finding> = acknowledged
        .iter()
        .filter(|a| !bare_failures.contains(a))
        .collect();
    assert!(
        stale.is_empty(),
        "acknowledged checks that no longer fail (remove their rows from stacks/src/checkov.rs): \
         {stale:#?}"
    );
    // checkov reads the acknowledgments from the metadata.
    assert_eq!(results("failed_checks", "as-is"), vec![]);
    let expected: Vec<Finding> = acknowledged
        .iter()
        .filter(|a| a.0 == AS_SYNTHESIZED)
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        results("skipped_checks", "as-is"),
        expected,
        "checkov's skipped checks on {AS_SYNTHESIZED} differ from its Metadata.checkov.skip"
    );
}

#[test]
fn every_checkov_acknowledgment_reaches_its_resource() {
    let settings = AppSettings::from_context(&context()).unwrap();
    let rows = [
        tracker_stacks::checkov::acknowledgments(&settings.staging),
        tracker_stacks::checkov::acknowledgments(&settings.production),
        tracker_stacks::checkov::registry_acknowledgments(),
    ]
    .concat();
    for (path, check, reason) in rows {
        let stack = path.split('/').next().unwrap();
        let t = template(stack);
        let r = by_path(&t, &path);
        let skips = r["Metadata"][tracker_stacks::checkov::METADATA_KEY]["skip"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no Metadata.checkov.skip"));
        assert!(
            skips.contains(&json!({"id": check, "comment": reason})),
            "{path}: {check} is not in its Metadata.checkov.skip: {skips:?}"
        );
    }
}

#[test]
fn cdk_nag_runs_and_every_acknowledgment_carries_a_reason_into_the_template() {
    // That the plugin runs at all is `fails_synthesis_on_an_unacknowledged_cdk_nag_finding`.
    for env in Environment::ALL {
        let settings = tracker_stacks::Settings::defaults(env);
        for (path, rule, reason) in tracker_stacks::nag::acknowledgments(&settings) {
            assert!(reason.len() > 40, "{rule} at {path}: reason too thin");
            if rule.starts_with("CloudFormation-Validate") {
                continue;
            }
            // The path starts with its stack's name.
            let stack = path.split('/').next().unwrap();
            let t = template(stack);
            let prefix = format!("{path}/");
            let carried = t["Resources"].as_object().unwrap().values().any(|r| {
                r["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(&prefix))
                    && r["Metadata"]["cdk_nag"]["rules_to_suppress"]
                        .as_array()
                        .is_some_and(|rules| {
                            rules
                                .iter()
                                .any(|x| x["id"] == rule.as_str() && x["reason"] == reason.as_str())
                        })
            });
            assert!(
                carried,
                "{stack}: {rule} on {path} is not in any resource's cdk_nag metadata"
            );
        }
    }
}

#[test]
fn fails_synthesis_on_an_unacknowledged_cdk_nag_finding() {
    use cdk_from_rust::aws_cdk_lib::aws_s3::Bucket;
    use cdk_from_rust::aws_cdk_lib::{App, Stack};
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        tracker_stacks::nag::apply(&app);
        let stack = Stack::new(app, "Bare");
        Bucket::new(stack, "Plain");
        cdk_from_rust::synthesize(&app);
    });
    let dir = tempfile::tempdir().unwrap();
    let runner = cdk_from_rust::runner::Runner {
        outdir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let err = runner.run(&program).unwrap_err().to_string();
    for rule in ["AwsSolutions-S1", "AwsSolutions-S10"] {
        assert!(err.contains(rule), "{rule} not reported: {err}");
    }
    assert!(
        !dir.path().join("manifest.json").exists(),
        "a failed synthesis left an assembly"
    );
}

#[test]
fn staging_and_production_have_their_deployment_settings() {
    let staging = template("TrackerStaging");
    let api = by_path(&staging, "TrackerStaging/Api/Service/Service");
    let dc = &api["Properties"]["DeploymentConfiguration"];
    assert_eq!(dc["MinimumHealthyPercent"], 50);
    assert_eq!(dc["MaximumPercent"], 200);
    assert_eq!(api["Properties"]["DesiredCount"], 1);

    let production = template("TrackerProduction");
    let api = by_path(&production, "TrackerProduction/Api/Service/Service");
    let dc = &api["Properties"]["DeploymentConfiguration"];
    assert_eq!(dc["MinimumHealthyPercent"], 100);
    assert_eq!(dc["MaximumPercent"], 200);
    assert_eq!(
        dc["DeploymentCircuitBreaker"],
        json!({"Enable": true, "Rollback": true})
    );
    assert_eq!(
        dc["Alarms"]["AlarmNames"],
        json!(["tracker-production-api-target-5xx"])
    );
    assert_eq!(dc["Alarms"]["Enable"], true);
    // api: 2-6 tasks on CPU 60 %, memory 75 %, 1000 requests per target.
    let target = resources(&production, "AWS::ApplicationAutoScaling::ScalableTarget")
        .into_iter()
        .find(|(_, r)| {
            r["Metadata"]["aws:cdk:path"]
                .as_str()
                .unwrap()
                .starts_with("TrackerProduction/Api/")
        })
        .unwrap()
        .1;
    assert_eq!(target["Properties"]["MinCapacity"], 2);
    assert_eq!(target["Properties"]["MaxCapacity"], 6);
    let policies: Vec<String> =
        resources(&production, "AWS::ApplicationAutoScaling::ScalingPolicy")
            .into_iter()
            .filter(|(_, r)| {
                r["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .unwrap()
                    .starts_with("TrackerProduction/Api/")
            })
            .map(|(_, r)| {
                let c = &r["Properties"]["TargetTrackingScalingPolicyConfiguration"];
                format!(
                    "{} {}",
                    c["PredefinedMetricSpecification"]["PredefinedMetricType"]
                        .as_str()
                        .unwrap(),
                    c["TargetValue"]
                )
            })
            .collect();
    for expected in [
        "ECSServiceAverageCPUUtilization 60",
        "ECSServiceAverageMemoryUtilization 75",
        "ALBRequestCountPerTarget 1000",
    ] {
        assert!(
            policies.iter().any(|p| p == expected),
            "{expected} not in {policies:?}"
        );
    }

    // Production stacks are protected; staging is not.
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(assembly().join("manifest.json")).unwrap())
            .unwrap();
    let protection =
        |s: &str| manifest["artifacts"][s]["properties"]["terminationProtection"].clone();
    assert_eq!(protection("TrackerProduction"), true);
    assert_eq!(protection("TrackerRegistry"), true);
    assert_ne!(protection("TrackerStaging"), true);
    // Data stacks are protected in every environment.
    assert_eq!(protection("TrackerStagingData"), true);
    assert_eq!(protection("TrackerProductionData"), true);
}

#[test]
fn admin_is_restricted_by_source_ip_and_waf() {
    for stack in ["TrackerStaging", "TrackerProduction"] {
        let t = template(stack);
        let rule = by_path(&t, &format!("{stack}/Admin/ListenerRule/Resource"));
        let conditions = rule["Properties"]["Conditions"].to_string();
        assert!(conditions.contains("source-ip"), "{stack}: {conditions}");
        assert!(
            conditions.contains("203.0.113.0/24"),
            "{stack}: {conditions}"
        );
        assert_eq!(
            resources(&t, "AWS::WAFv2::WebACLAssociation").len(),
            1,
            "{stack}"
        );
    }
}

#[test]
fn every_service_has_its_service_connect_name_and_the_data_plane_is_reachable() {
    for stack in ["TrackerStaging", "TrackerProduction"] {
        let t = template(stack);
        let mut names: Vec<String> = resources(&t, "AWS::ECS::Service")
            .into_iter()
            .filter_map(|(_, r)| {
                let sc = &r["Properties"]["ServiceConnectConfiguration"];
                sc["Services"][0]["ClientAliases"][0]["DnsName"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["admin", "anisette-v3", "api", "frontend"],
            "{stack}"
        );
        // The fetcher talks to anisette, the db and redis through the environment it is given.
        let fetcher = by_path(
            &t,
            &format!("{stack}/TrackerFetcher/TaskDefinition/Resource"),
        );
        let env = fetcher["Properties"]["ContainerDefinitions"][0]["Environment"].to_string();
        for var in ["ANISETTE_V3_HOST", "DB_HOST", "REDIS_HOST", "ANISETTE_URL"] {
            assert!(env.contains(var), "{stack}: {var} missing in {env}");
        }
        // PostgreSQL refuses connections without TLS in both environments: clients are told.
        assert!(
            env.contains(r#"{"Name":"DB_SSLMODE","Value":"require"}"#),
            "{stack}: DB_SSLMODE=require missing in {env}"
        );
    }
}

#[test]
fn production_services_reach_redis_by_its_primary_endpoint_the_name_in_its_certificate() {
    let t = template("TrackerProduction");
    let api = by_path(&t, "TrackerProduction/Api/TaskDefinition/Resource");
    let env = api["Properties"]["ContainerDefinitions"][0]["Environment"]
        .as_array()
        .unwrap();
    let value = |name: &str| {
        env.iter()
            .find(|e| e["Name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))["Value"]
            .clone()
    };
    // Imported from the data stack, which exports the replication group's primary endpoint.
    let host = value("REDIS_HOST");
    let export = host["Fn::ImportValue"].as_str().unwrap_or_default();
    assert!(
        export.starts_with("TrackerProductionData:ExportsOutputFnGetAttRedisReplicationGroup"),
        "{host}"
    );
    let data = template("TrackerProductionData");
    let exported = data["Outputs"]
        .as_object()
        .unwrap()
        .values()
        .find(|o| o["Export"]["Name"] == export)
        .unwrap_or_else(|| panic!("{export} not exported"));
    assert_eq!(
        exported["Value"]["Fn::GetAtt"][1], "PrimaryEndPoint.Address",
        "{exported}"
    );
    assert_eq!(value("REDIS_TLS"), "true");
    // Staging's Valkey speaks plain TCP on the data host.
    let staging = template("TrackerStaging");
    let api = by_path(&staging, "TrackerStaging/Api/TaskDefinition/Resource");
    let env = api["Properties"]["ContainerDefinitions"][0]["Environment"].to_string();
    assert!(
        env.contains(r#"{"Name":"REDIS_TLS","Value":"false"}"#),
        "{env}"
    );
}

#[test]
fn every_resource_is_tagged_with_project_and_environment() {
    for (stack, environment) in [
        ("TrackerRegistry", "shared"),
        ("TrackerStagingData", "staging"),
        ("TrackerStaging", "staging"),
        ("TrackerProductionData", "production"),
        ("TrackerProduction", "production"),
    ] {
        let t = template(stack);
        let mut tagged = 0;
        for (id, r) in t["Resources"].as_object().unwrap() {
            let Some(tags) = r["Properties"].get("Tags") else {
                continue;
            };
            // A list of {Key, Value} (most types) or a map (SSM, some L1s).
            let has = |key: &str, value: &str| match tags {
                Value::Array(items) => items.iter().any(|t| t["Key"] == key && t["Value"] == value),
                Value::Object(map) => map.get(key).is_some_and(|v| v == value),
                _ => false,
            };
            assert!(has("project", "tracker"), "{stack} {id}: {tags}");
            assert!(has("environment", environment), "{stack} {id}: {tags}");
            tagged += 1;
        }
        assert!(tagged >= 8, "{stack}: only {tagged} tagged resources");
    }
    for path in [
        "TrackerStagingData/Data/DataVolume/Resource",
        "TrackerStagingData/Network/Vpc/Resource",
        "TrackerStagingData/Platform/Alb/Resource",
    ] {
        let tags = by_path(&template("TrackerStagingData"), path)["Properties"]["Tags"].to_string();
        assert!(tags.contains(r#""Key":"environment""#), "{path}: {tags}");
    }
}

#[test]
fn stateful_resources_are_retained_or_snapshotted() {
    for stack in STACKS {
        let t = template(stack);
        for (ty, allowed) in [
            ("AWS::EC2::Volume", &["Snapshot"][..]),
            ("AWS::EFS::FileSystem", &["Retain"][..]),
            ("AWS::S3::Bucket", &["Retain"][..]),
            ("AWS::Logs::LogGroup", &["Retain"][..]),
            ("AWS::ECR::Repository", &["Retain"][..]),
            (
                "AWS::ElastiCache::ReplicationGroup",
                &["Snapshot", "Retain"][..],
            ),
        ] {
            for (id, r) in resources(&t, ty) {
                let policy = r["DeletionPolicy"].as_str().unwrap_or("Delete");
                assert!(
                    allowed.contains(&policy),
                    "{stack} {id} ({ty}): DeletionPolicy {policy}"
                );
            }
        }
    }
}

#[test]
fn patroni_nodes_sit_in_their_private_subnets() {
    let t = template("TrackerProductionData");
    let subnets = t["Resources"].as_object().unwrap();
    for (id, node) in resources(&t, "AWS::EC2::Instance") {
        let ip = node["Properties"]["PrivateIpAddress"].as_str().unwrap();
        let subnet = node["Properties"]["SubnetId"]["Ref"].as_str().unwrap();
        let cidr = subnets[subnet]["Properties"]["CidrBlock"].as_str().unwrap();
        let (base, len) = cidr.split_once('/').unwrap();
        let to_u32 = |s: &str| {
            s.split('.')
                .fold(0u32, |acc, o| (acc << 8) | o.parse::<u32>().unwrap())
        };
        let mask = u32::MAX << (32 - len.parse::<u32>().unwrap());
        assert_eq!(to_u32(ip) & mask, to_u32(base), "{id}: {ip} outside {cidr}");
    }
}

#[test]
fn outputs_give_urls_endpoints_and_the_migration_command() {
    for (stack, domain) in [
        ("TrackerStaging", "staging.tracker.example.com"),
        ("TrackerProduction", "tracker.example.com"),
    ] {
        let outputs = template(stack)["Outputs"].clone();
        assert_eq!(outputs["ApiUrl"]["Value"], format!("https://api.{domain}"));
        assert_eq!(
            outputs["AdminUrl"]["Value"],
            format!("https://admin.{domain}")
        );
        assert_eq!(
            outputs["FrontendUrl"]["Value"],
            format!("https://app.{domain}")
        );
        assert!(outputs["DatabaseEndpoint"]["Value"]
            .as_str()
            .unwrap()
            .starts_with("db."));
        let text = outputs.to_string();
        assert!(
            text.contains("aws ecs run-task"),
            "{stack}: no run-task output"
        );
    }
}

#[test]
fn fails_on_a_mutable_production_tag_and_warns_on_staging() {
    let mut ctx = context();
    ctx.insert("imageTag".into(), json!("latest"));
    let err = AppSettings::from_context(&ctx).unwrap_err().to_string();
    assert!(err.contains("production.imageTag"), "{err}");
    assert!(!err.contains(r#"Settings "staging""#), "{err}");
    assert!(
        err.contains("set `staging.imageTag`"),
        "no hint for staging alone: {err}"
    );

    // Staging alone with a mutable tag synthesizes, with a warning in the assembly.
    ctx.insert("production.imageTag".into(), json!("v1.0.0"));
    let settings = AppSettings::from_context(&ctx).unwrap();
    assert!(settings.staging.image_tag_is_mutable());
    let dir = tempfile::tempdir().unwrap();
    synth_to(&settings, &ctx, dir.path()).unwrap();
    let metadata = std::fs::read_to_string(dir.path().join("TrackerStaging.metadata.json"))
        .or_else(|_| std::fs::read_to_string(dir.path().join("manifest.json")))
        .unwrap();
    assert!(metadata.contains("is mutable"), "no warning recorded");
}

/// The warning annotations recorded on `stack` in the shared assembly's manifest.
fn warnings(stack: &str) -> Vec<String> {
    // Recent assemblies keep a stack's metadata in `<stack>.metadata.json`, older ones in the
    // manifest; read both.
    let read = |name: String| -> Value {
        std::fs::read_to_string(assembly().join(name))
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(Value::Null)
    };
    let manifest = read("manifest.json".to_string());
    let sources = [
        read(format!("{stack}.metadata.json")),
        manifest["artifacts"][stack]["metadata"].clone(),
    ];
    sources
        .iter()
        .flat_map(|m| m.as_object().into_iter())
        .flat_map(|m| m.values())
        .flat_map(|entries| entries.as_array().into_iter().flatten())
        .filter(|e| e["type"] == "aws:cdk:warning")
        .map(|e| e["data"].to_string())
        .collect()
}

#[test]
fn placeholder_settings_are_synthesis_warnings_naming_the_key() {
    // cdk.json ships the example account and certificate and no AMI: each data stack carries a
    // warning naming the key to set; the services stacks carry none (their image tag is pinned).
    for env in Environment::ALL {
        let data = warnings(env.data_stack_name());
        for (id, key) in [
            ("tracker:example-account", "`account` (or"),
            ("tracker:example-certificate", "`certificateArn` (or"),
            ("tracker:placeholder-ami", &format!("`{env}.db.ami`")),
        ] {
            assert!(
                data.iter().any(|w| w.contains(id) && w.contains(key)),
                "{}: no {id} warning naming {key}: {data:?}",
                env.data_stack_name()
            );
        }
        let services = warnings(env.stack_name());
        assert!(
            !services.iter().any(|w| w.contains("[ack: tracker:")),
            "{}: {services:?}",
            env.stack_name()
        );
    }
}

#[test]
fn dns_records_with_a_hosted_zone_and_cname_outputs_without() {
    // Without a zone (cdk.json): no records; the data stack outputs the ALB's name and the
    // exact CNAME record of each host.
    for env in Environment::ALL {
        let data = template(env.data_stack_name());
        assert!(resources(&data, "AWS::Route53::RecordSet").is_empty());
        assert!(resources(&template(env.stack_name()), "AWS::Route53::RecordSet").is_empty());
        let outputs = &data["Outputs"];
        assert!(outputs["AlbDnsName"].is_object(), "{outputs}");
        for (id, host) in [("Api", "api"), ("Frontend", "app"), ("Admin", "admin")] {
            let record = outputs[format!("{id}DnsRecord")]["Value"].to_string();
            assert!(
                record.contains(&format!("{host}.{}. CNAME ", domain(env))),
                "{id}: {record}"
            );
            assert!(record.contains("DNSName"), "{id}: {record}");
        }
    }

    // With a zone (and a CloudFront certificate, so the sites answer on their names): alias
    // records in it, and no CNAME outputs.
    let mut ctx = context();
    ctx.insert(
        "staging.hostedZoneId".into(),
        json!("Z0123456789ABCDEFGHIJ"),
    );
    ctx.insert(
        "staging.hostedZoneName".into(),
        json!("tracker.example.com"),
    );
    ctx.insert(
        "staging.cloudfrontCertificateArn".into(),
        json!(
            "arn:aws:acm:us-east-1:111111111111:certificate/11111111-1111-1111-1111-111111111111"
        ),
    );
    let assembly = Assembly::of(&ctx);
    let read = |stack: &str| assembly.template(stack);
    let dir = &assembly.dir;
    let names = |t: &Value| -> Vec<String> {
        let mut names: Vec<String> = resources(t, "AWS::Route53::RecordSet")
            .iter()
            .map(|(_, r)| {
                let p = &r["Properties"];
                assert_eq!(p["Type"], "A");
                assert_eq!(p["HostedZoneId"], "Z0123456789ABCDEFGHIJ");
                assert!(p["AliasTarget"]["DNSName"].is_object(), "{p}");
                p["Name"].as_str().unwrap().to_string()
            })
            .collect();
        names.sort();
        names
    };
    let data = read("TrackerStagingData");
    assert_eq!(
        names(&data),
        ["admin", "api", "app"].map(|h| format!("{h}.staging.tracker.example.com."))
    );
    assert!(data["Outputs"].get("AlbDnsName").is_none());
    let services = read("TrackerStaging");
    assert_eq!(
        names(&services),
        ["docs", "redoc"].map(|h| format!("{h}.staging.tracker.example.com."))
    );
    for (_, r) in resources(&services, "AWS::Route53::RecordSet") {
        assert_eq!(
            r["Properties"]["AliasTarget"]["HostedZoneId"],
            "Z2FDTNDATAQYW2"
        );
    }
    // Production has no zone set: unchanged.
    assert!(resources(&read("TrackerProductionData"), "AWS::Route53::RecordSet").is_empty());
    // Both certificates are given by ARN (certificateArn from cdk.json): none is created, no
    // us-east-1 stack appears, and the listener keeps the ARN.
    for stack in STACKS {
        let t = read(stack);
        assert!(
            resources(&t, "AWS::CertificateManager::Certificate").is_empty(),
            "{stack}"
        );
    }
    assert!(!dir
        .path()
        .join("TrackerStagingCdnCertificate.template.json")
        .exists());
    assert_eq!(
        https_certificate(&data),
        json!(context()["certificateArn"].as_str().unwrap())
    );
}

/// The certificate ARN of the shared ALB's HTTPS listener in a data stack's template.
fn https_certificate(data: &Value) -> Value {
    resources(data, "AWS::ElasticLoadBalancingV2::Listener")
        .into_iter()
        .find(|(_, l)| l["Properties"]["Port"] == 443)
        .expect("an HTTPS listener")
        .1["Properties"]["Certificates"][0]["CertificateArn"]
        .clone()
}

#[test]
fn certificates_are_created_and_validated_in_the_zone_when_none_is_given() {
    // Without a zone (cdk.json): no certificate anywhere, and no us-east-1 stack.
    for (name, t) in all_templates() {
        assert!(
            resources(&t, "AWS::CertificateManager::Certificate").is_empty(),
            "{name}"
        );
        assert!(!name.contains("CdnCertificate"), "{name}");
    }

    // A zone for production, and no certificate ARN (cdk.json's example unset).
    const ZONE: &str = "Z0123456789ABCDEFGHIJ";
    let mut ctx = context();
    ctx.insert("production.hostedZoneId".into(), json!(ZONE));
    ctx.insert(
        "production.hostedZoneName".into(),
        json!("tracker.example.com"),
    );
    ctx.insert("production.certificateArn".into(), json!(""));
    let assembly = Assembly::of(&ctx);
    let read = |stack: &str| assembly.template(stack);
    let dir = &assembly.dir;
    // The certificate's names, each validated by a DNS record CloudFormation makes in the zone.
    let validated_names = |t: &Value| -> (String, Vec<String>) {
        let certificates = resources(t, "AWS::CertificateManager::Certificate");
        assert_eq!(certificates.len(), 1, "{certificates:?}");
        let (id, c) = certificates[0];
        let p = &c["Properties"];
        assert_eq!(p["ValidationMethod"], "DNS");
        let names = p["DomainValidationOptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                assert_eq!(o["HostedZoneId"], ZONE, "{o}");
                o["DomainName"].as_str().unwrap().to_string()
            })
            .collect();
        (id.clone(), names)
    };

    // The ALB's, in the data stack (in the environment's region), on the HTTPS listener.
    let data = read("TrackerProductionData");
    let (alb_certificate, names) = validated_names(&data);
    assert_eq!(
        names,
        ["api", "app", "admin"].map(|h| format!("{h}.tracker.example.com"))
    );
    assert_eq!(https_certificate(&data), json!({ "Ref": alb_certificate }));

    // CloudFront's, in a stack of its own in us-east-1.
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap())
            .unwrap();
    let artifacts = &manifest["artifacts"];
    assert_eq!(
        artifacts["TrackerProductionCdnCertificate"]["environment"],
        "aws://111111111111/us-east-1"
    );
    assert!(
        artifacts["TrackerProduction"]["dependencies"]
            .as_array()
            .unwrap()
            .contains(&json!("TrackerProductionCdnCertificate")),
        "{}",
        artifacts["TrackerProduction"]
    );
    let cdn = read("TrackerProductionCdnCertificate");
    let (_, names) = validated_names(&cdn);
    assert_eq!(
        names,
        ["docs", "redoc"].map(|h| format!("{h}.tracker.example.com"))
    );
    // The distributions take it across regions (an SSM parameter the certificate stack writes in
    // the services stack's region), answer on their names, and are aliased in the zone.
    let services = read("TrackerProduction");
    for site in ["Docs", "Redoc"] {
        let config = &by_path(
            &services,
            &format!("TrackerProduction/{site}/Distribution/Resource"),
        )["Properties"]["DistributionConfig"];
        // An attribute of the custom resource that reads the parameter (and tags it as in use).
        let arn = &config["ViewerCertificate"]["AcmCertificateArn"]["Fn::GetAtt"];
        let reader = &services["Resources"][arn[0].as_str().unwrap()];
        assert_eq!(
            reader["Type"], "Custom::CrossRegionExportReader",
            "{site}: {arn}"
        );
        let parameter = arn[1].as_str().unwrap();
        assert!(
            parameter.starts_with("/cdk/exports/TrackerProduction/"),
            "{site}: {parameter}"
        );
        assert_eq!(
            reader["Properties"]["ReaderProps"]["imports"][parameter],
            format!("{{{{resolve:ssm:{parameter}}}}}")
        );
        assert_eq!(
            config["ViewerCertificate"]["MinimumProtocolVersion"],
            "TLSv1.2_2021"
        );
        assert_eq!(
            config["Aliases"],
            json!([format!("{}.tracker.example.com", site.to_ascii_lowercase())])
        );
    }
    let mut aliases: Vec<&str> = resources(&services, "AWS::Route53::RecordSet")
        .iter()
        .map(|(_, r)| r["Properties"]["Name"].as_str().unwrap())
        .collect();
    aliases.sort();
    assert_eq!(
        aliases,
        ["docs.tracker.example.com.", "redoc.tracker.example.com."]
    );
    // No certificate is created in staging (no zone), nor in the services stack.
    for stack in ["TrackerStagingData", "TrackerStaging", "TrackerProduction"] {
        assert!(
            resources(&read(stack), "AWS::CertificateManager::Certificate").is_empty(),
            "{stack}"
        );
    }
    assert!(!dir
        .path()
        .join("TrackerStagingCdnCertificate.template.json")
        .exists());
    // The new stack keeps to the quotas, and cfn-lint finds no error in what changed (the
    // cross-region custom resources of aws-cdk-lib carry a W3005 warning).
    let (problems, _) = tracker_stacks::limits::check_assembly(dir.path()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_cfn_lint_clean(
        &[
            "TrackerProductionCdnCertificate",
            "TrackerProductionData",
            "TrackerProduction",
        ]
        .map(|s| dir.path().join(format!("{s}.template.json"))),
    );
}

fn domain(env: Environment) -> &'static str {
    match env {
        Environment::Staging => "staging.tracker.example.com",
        Environment::Production => "tracker.example.com",
    }
}

#[test]
fn an_image_digest_is_referenced_with_an_at_sign() {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let mut ctx = context();
    ctx.insert("imageTag".into(), json!(digest));
    ctx.insert("production.anisetteImageTag".into(), json!(digest));
    let settings = AppSettings::from_context(&ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synth_to(&settings, &ctx, dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("TrackerProduction.template.json")).unwrap();
    let t: Value = serde_json::from_str(&text).unwrap();
    for path in [
        "TrackerProduction/Api/TaskDefinition/Resource",
        "TrackerProduction/Anisette/TaskDefinition/Resource",
    ] {
        let image = by_path(&t, path)["Properties"]["ContainerDefinitions"][0]["Image"].to_string();
        assert!(image.contains(&format!("@{digest}")), "{path}: {image}");
        assert!(!image.contains(&format!(":{digest}")), "{path}: {image}");
    }
}

/// Every template the app synthesizes (whatever the stacks are called).
fn all_templates() -> Vec<(String, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(assembly())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".template.json").map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (n.clone(), template(&n)))
        .collect()
}

#[test]
fn every_service_container_has_a_health_check_and_a_stop_timeout() {
    let mut containers = 0;
    for (stack, t) in all_templates() {
        // The task definitions of services (a one-off task runs to completion: no check needed).
        let services: Vec<&Value> = resources(&t, "AWS::ECS::Service")
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        for service in services {
            let td_ref = &service["Properties"]["TaskDefinition"]["Ref"];
            let td = &t["Resources"][td_ref.as_str().expect("a task definition Ref")];
            let waived = service["Metadata"]
                .get("tracker:healthCheckWaiver")
                .is_some();
            for c in td["Properties"]["ContainerDefinitions"].as_array().unwrap() {
                containers += 1;
                let name = format!("{stack} {}", c["Name"]);
                assert!(
                    waived
                        || c["HealthCheck"]["Command"]
                            .as_array()
                            .is_some_and(|a| !a.is_empty()),
                    "{name}: no container health check and no waiver"
                );
                let stop = c["StopTimeout"].as_u64().unwrap_or(0);
                assert!((2..=120).contains(&stop), "{name}: StopTimeout {stop}");
            }
        }
    }
    // api, frontend, admin, anisette-v3 and the four workers in each environment.
    assert_eq!(containers, 16);
}

#[test]
fn workers_on_spot_get_the_whole_interruption_notice_and_public_targets_drain_first() {
    let (mut workers, mut drained) = (0, 0);
    for (_, t) in all_templates() {
        for (_, td) in resources(&t, "AWS::ECS::TaskDefinition") {
            for c in td["Properties"]["ContainerDefinitions"].as_array().unwrap() {
                let heartbeat = c["HealthCheck"]["Command"][1]
                    .as_str()
                    .is_some_and(|cmd| cmd.contains("/tmp/worker-heartbeat"));
                if heartbeat {
                    workers += 1;
                    assert_eq!(c["StopTimeout"], 120, "{}", c["Name"]);
                }
            }
        }
        for (_, tg) in resources(&t, "AWS::ElasticLoadBalancingV2::TargetGroup") {
            let attrs = tg["Properties"]["TargetGroupAttributes"].as_array();
            let Some(attrs) = attrs else { continue };
            if let Some(delay) = attrs
                .iter()
                .find(|a| a["Key"] == "deregistration_delay.timeout_seconds")
            {
                let secs: u32 = delay["Value"].as_str().unwrap().parse().unwrap();
                assert!(secs <= 30, "{tg}: drains {secs} s");
                drained += 1;
            }
        }
    }
    assert_eq!(workers, 8, "four workers in each environment");
    assert!(
        drained >= 6,
        "the public services' target groups: {drained}"
    );
}

#[test]
fn every_alarm_has_an_action_and_every_alarm_for_people_reaches_the_alert_topic() {
    let mut for_people = 0;
    for (stack, t) in all_templates() {
        let topics: Vec<&String> = resources(&t, "AWS::SNS::Topic")
            .into_iter()
            .filter(|(_, r)| {
                r["Properties"]["TopicName"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-alerts"))
            })
            .map(|(id, _)| id)
            .collect();
        for (id, alarm) in resources(&t, "AWS::CloudWatch::Alarm") {
            let actions = alarm["Properties"]["AlarmActions"].as_array();
            assert!(
                actions.is_some_and(|a| !a.is_empty()),
                "{stack} {id}: an alarm without an action"
            );
            // Alarms that drive autoscaling act on a scaling policy; every other one is for people.
            let scaling = actions.unwrap().iter().all(|a| {
                a.get("Ref").and_then(|r| r.as_str()).is_some_and(|r| {
                    t["Resources"][r]["Type"]
                        .as_str()
                        .is_some_and(|ty| ty.ends_with("ScalingPolicy"))
                })
            });
            if scaling {
                continue;
            }
            for_people += 1;
            // The data stack refers to its own topic; the services stack imports it by the ARN
            // of its fixed name (`tracker-<env>-alerts`), without an export.
            let is_alert_topic = |action: &Value| {
                topics.iter().any(|t| action == &json!({ "Ref": t }))
                    || action.to_string().contains("-alerts\"")
                        && action.to_string().contains(":sns:")
            };
            for key in ["AlarmActions", "OKActions"] {
                let list = alarm["Properties"][key].as_array();
                assert!(
                    list.is_some_and(|l| l.iter().any(is_alert_topic)),
                    "{stack} {id}: {key} lacks the alert topic: {list:?}"
                );
            }
            for key in ["AlarmActions", "OKActions"] {
                assert!(
                    !alarm["Properties"][key]
                        .to_string()
                        .contains("Fn::ImportValue"),
                    "{stack} {id}: the alert topic through an export"
                );
            }
        }
    }
    assert!(for_people >= 10, "{for_people} alarms for people");
}

#[test]
fn alert_subscriptions_come_from_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context();
    ctx.insert(
        "production.alertEmails".into(),
        json!(["oncall@example.com"]),
    );
    ctx.insert(
        "production.alertHttpsEndpoints".into(),
        json!("https://events.example.com/sns"),
    );
    let settings = AppSettings::from_context(&ctx).unwrap();
    synth_to(&settings, &ctx, dir.path()).unwrap();
    let read = |stack: &str| -> Value {
        let text =
            std::fs::read_to_string(dir.path().join(format!("{stack}.template.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let production = read("TrackerProductionData");
    let mut subscriptions: Vec<(String, String)> = resources(&production, "AWS::SNS::Subscription")
        .into_iter()
        .map(|(_, s)| {
            (
                s["Properties"]["Protocol"].as_str().unwrap().into(),
                s["Properties"]["Endpoint"].as_str().unwrap().into(),
            )
        })
        .collect();
    subscriptions.sort();
    assert_eq!(
        subscriptions,
        [
            ("email".to_string(), "oncall@example.com".to_string()),
            (
                "https".to_string(),
                "https://events.example.com/sns".to_string()
            )
        ]
    );
    assert!(resources(&read("TrackerStagingData"), "AWS::SNS::Subscription").is_empty());
}

/// The types that hold data or identity others depend on: they live in the data stacks only.
const DATA_TYPES: [&str; 10] = [
    "AWS::EC2::VPC",
    "AWS::EC2::Instance",
    "AWS::EC2::Volume",
    "AWS::EFS::FileSystem",
    "AWS::EFS::AccessPoint",
    "AWS::SecretsManager::Secret",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ECS::Cluster",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::Backup::BackupVault",
];

#[test]
fn each_environment_is_a_data_stack_and_a_services_stack_that_depends_on_it() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(assembly().join("manifest.json")).unwrap())
            .unwrap();
    for env in Environment::ALL {
        let (data, services) = (env.data_stack_name(), env.stack_name());
        // The services stack depends on the data stack (the CLI deploys it first), never the
        // other way round.
        let deps = |s: &str| manifest["artifacts"][s]["dependencies"].clone();
        assert!(
            deps(services).as_array().unwrap().contains(&json!(data)),
            "{services}: {}",
            deps(services)
        );
        assert!(
            !deps(data).as_array().unwrap().contains(&json!(services)),
            "{data}: {}",
            deps(data)
        );
        let data_t = template(data);
        let services_t = template(services);
        assert!(
            !data_t.to_string().contains("Fn::ImportValue"),
            "{data} imports a value: a data stack must not depend on any other stack"
        );
        assert!(services_t.to_string().contains("Fn::ImportValue"));
        for ty in DATA_TYPES {
            assert!(
                resources(&services_t, ty).is_empty(),
                "{services} holds a {ty}: it belongs in {data}"
            );
        }
        for ty in ["AWS::EC2::VPC", "AWS::EFS::FileSystem", "AWS::ECS::Cluster"] {
            assert_eq!(resources(&data_t, ty).len(), 1, "{data}: {ty}");
        }
        assert!(resources(&data_t, "AWS::ECS::Service").is_empty(), "{data}");
        assert!(
            resources(&data_t, "AWS::ECS::TaskDefinition").is_empty(),
            "{data}"
        );
        // Construct ids kept: a resource's logical id is what it was in the single stack.
        let data_ids = data_t["Resources"].as_object().unwrap();
        let shared: Vec<&String> = services_t["Resources"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|id| *id != "CDKMetadata" && data_ids.contains_key(*id))
            .collect();
        assert!(shared.is_empty(), "{data} and {services} share {shared:?}");
        let vpc = resources(&data_t, "AWS::EC2::VPC")[0].0;
        assert!(vpc.starts_with("NetworkVpc"), "{vpc}");
        let fs = resources(&data_t, "AWS::EFS::FileSystem")[0].0;
        assert!(fs.starts_with("AnisetteFileSystem"), "{fs}");
    }
}

#[test]
fn every_stack_stays_under_80_percent_of_each_cloudformation_quota() {
    let (problems, lines) = tracker_stacks::limits::check_assembly(assembly()).unwrap();
    println!("{}", lines.join("\n"));
    assert_eq!(lines.len(), STACKS.len(), "{lines:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every container's variables (plain and secret), by construct path of its task definition.
fn container_variables(t: &Value) -> Vec<(String, Vec<String>)> {
    resources(t, "AWS::ECS::TaskDefinition")
        .into_iter()
        .map(|(_, r)| {
            let c = &r["Properties"]["ContainerDefinitions"][0];
            let names = ["Environment", "Secrets"]
                .iter()
                .flat_map(|k| c[*k].as_array().cloned().unwrap_or_default())
                .map(|v| v["Name"].as_str().unwrap().to_string())
                .collect();
            let path = r["Metadata"]["aws:cdk:path"].as_str().unwrap().to_string();
            (path, names)
        })
        .collect()
}

#[test]
fn every_container_variable_is_in_the_container_contract() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for stack in ["TrackerStaging", "TrackerProduction"] {
        for (path, names) in container_variables(&template(stack)) {
            for name in names {
                assert!(
                    tracker_stacks::settings::STACK_VARIABLES.contains(&name.as_str()),
                    "{path}: {name} is not in settings::STACK_VARIABLES (settings could reuse it)"
                );
                assert!(
                    readme.contains(&format!("`{name}`")),
                    "{path}: {name} is not in the README's container contract"
                );
            }
        }
    }
}

#[test]
fn configured_variables_and_secrets_reach_their_container_and_execution_role_only() {
    let arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tracker/notify-AbCdEf";
    let mut ctx = context();
    for (k, v) in [
        ("production.tracker-fetcher.env.LOG_LEVEL", "debug"),
        (
            "production.tracker-fetcher.secrets.APPLE_ID",
            "tracker/apple:username",
        ),
        ("production.notification-service.secrets.PUSH_KEY", arn),
        (
            "production.migrate.secrets.DJANGO_SECRET_KEY",
            "tracker/django",
        ),
    ] {
        ctx.insert(k.into(), json!(v));
    }
    let settings = AppSettings::from_context(&ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synth_to(&settings, &ctx, dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("TrackerProduction.template.json")).unwrap();
    let t: Value = serde_json::from_str(&text).unwrap();

    // Each variable on its own container only.
    let owners = |var: &str| -> Vec<String> {
        container_variables(&t)
            .into_iter()
            .filter(|(_, names)| names.iter().any(|n| n == var))
            .map(|(path, _)| path)
            .collect()
    };
    let td = |id: &str| format!("TrackerProduction/{id}/TaskDefinition/Resource");
    assert_eq!(owners("LOG_LEVEL"), [td("TrackerFetcher")]);
    assert_eq!(owners("APPLE_ID"), [td("TrackerFetcher")]);
    assert_eq!(owners("PUSH_KEY"), [td("NotificationService")]);
    assert_eq!(owners("DJANGO_SECRET_KEY"), [td("Migrate")]);
    let fetcher =
        by_path(&t, &td("TrackerFetcher"))["Properties"]["ContainerDefinitions"][0].clone();
    let apple = fetcher["Secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Name"] == "APPLE_ID")
        .unwrap()
        .to_string();
    assert!(
        apple.contains(":secret:tracker/apple:username::"),
        "{apple}"
    );

    // Each secret granted to its execution role only: a name on `<name>-??????` (the suffix
    // Secrets Manager adds), a complete ARN exactly.
    let grants = |needle: &str| -> Vec<String> {
        resources(&t, "AWS::IAM::Policy")
            .into_iter()
            .filter(|(_, r)| {
                r["Properties"]["PolicyDocument"]
                    .to_string()
                    .contains(needle)
            })
            .map(|(_, r)| r["Metadata"]["aws:cdk:path"].as_str().unwrap().to_string())
            .collect()
    };
    let role = |id: &str| {
        format!("TrackerProduction/{id}/TaskDefinition/ExecutionRole/DefaultPolicy/Resource")
    };
    assert_eq!(
        grants(":secret:tracker/apple-??????"),
        [role("TrackerFetcher")]
    );
    assert_eq!(grants(&format!("\"{arn}\"")), [role("NotificationService")]);
    assert_eq!(grants(":secret:tracker/django-??????"), [role("Migrate")]);
    // No wildcard beyond the suffix, no task role.
    assert!(grants(":secret:tracker/apple*").is_empty());
    assert!(grants(":secret:tracker/apple\"").is_empty());

    // DATABASE_NAME is passed beside the other database settings.
    assert_eq!(owners("DATABASE_NAME"), owners("DATABASE_PASSWORD"));
    assert!(!owners("DATABASE_NAME").is_empty());
}

#[test]
fn a_separate_registry_account_lets_each_environment_account_pull_and_architectures_follow_settings(
) {
    let mut ctx = context();
    for (k, v) in [
        ("registryAccount", json!("999999999999")),
        ("staging.account", json!("222222222222")),
        (
            "availability-zones:account=222222222222:region=eu-west-1",
            json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ),
        ("production.cpuArchitecture", json!("ARM64")),
        ("production.anisette-v3.cpuArchitecture", json!("X86_64")),
    ] {
        ctx.insert(k.into(), v);
    }
    let settings = AppSettings::from_context(&ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synth_to(&settings, &ctx, dir.path()).unwrap();
    let read = |stack: &str| -> Value {
        let text = std::fs::read_to_string(dir.path().join(format!("{stack}.template.json")));
        serde_json::from_str(&text.unwrap()).unwrap()
    };

    let registry = read("TrackerRegistry");
    let repositories = resources(&registry, "AWS::ECR::Repository");
    assert_eq!(repositories.len(), 8);
    for (id, r) in repositories {
        let statements = r["Properties"]["RepositoryPolicyText"]["Statement"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: no repository policy"));
        let sids: Vec<&str> = statements
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(
            sids,
            ["PullFrom111111111111", "PullFrom222222222222"],
            "{id}"
        );
        for s in statements {
            let actions = s["Action"].to_string();
            assert!(
                !actions.contains("PutImage") && !actions.contains('*'),
                "{actions}"
            );
        }
    }
    // The CI role (cdk.json names example-org/tracker) and its ARN as an output.
    assert_eq!(resources(&registry, "AWS::IAM::Role").len(), 1);
    assert!(registry["Outputs"]["CiRoleArn"].is_object());

    // Production on ARM64, Anisette kept on X86_64 (its mirrored image); staging the default.
    let production = read("TrackerProduction");
    let staging = read("TrackerStaging");
    for (t, stack, id, expected) in [
        (&production, "TrackerProduction", "Api", "ARM64"),
        (&production, "TrackerProduction", "TrackerFetcher", "ARM64"),
        (&production, "TrackerProduction", "Migrate", "ARM64"),
        (&production, "TrackerProduction", "Anisette", "X86_64"),
        (&staging, "TrackerStaging", "Api", "X86_64"),
        (&staging, "TrackerStaging", "Migrate", "X86_64"),
    ] {
        let td = by_path(t, &format!("{stack}/{id}/TaskDefinition/Resource"));
        assert_eq!(
            td["Properties"]["RuntimePlatform"],
            json!({"CpuArchitecture": expected, "OperatingSystemFamily": "LINUX"}),
            "{stack}/{id}"
        );
    }
}

#[test]
fn fails_when_the_environments_name_different_registries() {
    let mut ctx = context();
    ctx.insert("production.registryAccount".into(), json!("999999999999"));
    let err = AppSettings::from_context(&ctx).unwrap_err().to_string();
    assert!(err.contains("`production.registryAccount`"), "{err}");
    assert!(err.contains("one TrackerRegistry serves both"), "{err}");
}

// Work queues and sidecars configured through context (issue 15, items 4 and 5).
#[path = "tracker/workloads.rs"]
mod workloads;

/// A context with scheduled commands and off hours in both environments.
fn schedules_context() -> Map<String, Value> {
    let mut ctx = context();
    for (k, v) in [
        (
            "staging.scheduledTasks",
            json!([
                {
                    "name": "clear-sessions",
                    "service": "api",
                    "command": ["python", "manage.py", "clearsessions"],
                    "schedule": "cron(0 3 * * ? *)",
                    "timeZone": "Europe/Berlin",
                    "flexibleWindowMinutes": 15
                },
                {
                    "name": "refresh-views",
                    "service": "materialized-view-service",
                    "command": ["python", "-m", "views.refresh", "--all"],
                    "schedule": "rate(6 hours)",
                    "retryAttempts": 0,
                    "cpu": 512,
                    "memoryMiB": 1024
                }
            ]),
        ),
        (
            "production.offHours",
            json!({"timeZone": "America/New_York", "down": "cron(0 22 ? * * *)", "up": "cron(0 6 ? * * *)", "min": 1}),
        ),
        ("production.api.offHours", json!(false)),
        (
            "production.materialized-view-service.offHours",
            json!({"min": 0}),
        ),
        (
            "staging.admin.offHours",
            json!("{\"down\": \"cron(0 18 ? * MON-FRI *)\"}"),
        ),
    ] {
        ctx.insert(k.into(), v);
    }
    ctx
}

#[test]
fn scheduled_tasks_and_off_hours_follow_the_settings_and_pass_cfn_lint_and_cdk_nag() {
    // cdk-nag runs during synthesis: an unacknowledged finding fails it.
    let a = Assembly::of(&schedules_context());
    let files: Vec<PathBuf> = ["TrackerStaging", "TrackerProduction"]
        .iter()
        .map(|s| a.dir.path().join(format!("{s}.template.json")))
        .collect();
    assert_cfn_lint_clean(&files);

    let staging = a.template("TrackerStaging");
    let schedules = resources(&staging, "AWS::Scheduler::Schedule");
    assert_eq!(schedules.len(), 2);
    let clear = &by_path(
        &staging,
        "TrackerStaging/ScheduledTasks/clear-sessions/Schedule/Resource",
    )["Properties"];
    assert_eq!(clear["ScheduleExpression"], "cron(0 3 * * ? *)");
    assert_eq!(clear["ScheduleExpressionTimezone"], "Europe/Berlin");
    assert_eq!(clear["FlexibleTimeWindow"]["MaximumWindowInMinutes"], 15);
    let refresh = &by_path(
        &staging,
        "TrackerStaging/ScheduledTasks/refresh-views/Schedule/Resource",
    )["Properties"];
    assert_eq!(refresh["ScheduleExpression"], "rate(6 hours)");
    assert_eq!(refresh["ScheduleExpressionTimezone"], "UTC");
    assert_eq!(refresh["FlexibleTimeWindow"], json!({"Mode": "OFF"}));
    assert_eq!(refresh["Target"]["RetryPolicy"]["MaximumRetryAttempts"], 0);
    // Each runs on its service's image with its data-plane settings and a size of its own.
    let td = |name: &str| {
        by_path(
            &staging,
            &format!("TrackerStaging/ScheduledTasks/{name}/TaskDefinition/Resource"),
        )["Properties"]
            .clone()
    };
    let clear_td = td("clear-sessions");
    assert_eq!(clear_td["Family"], "staging-clear-sessions");
    let image = clear_td["ContainerDefinitions"][0]["Image"].to_string();
    assert!(image.contains("tracker/api:v1.0.0"), "{image}");
    let names = |t: &Value, key: &str| -> Vec<String> {
        t["ContainerDefinitions"][0][key]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|e| e["Name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    for var in ["DB_HOST", "REDIS_HOST", "DATABASE_NAME", "ENVIRONMENT"] {
        assert!(
            names(&clear_td, "Environment").iter().any(|n| n == var),
            "{var}"
        );
    }
    assert!(names(&clear_td, "Secrets")
        .iter()
        .any(|n| n == "DATABASE_PASSWORD"));
    let refresh_td = td("refresh-views");
    assert_eq!(
        (&refresh_td["Cpu"], &refresh_td["Memory"]),
        (&json!("512"), &json!("1024"))
    );
    let image = refresh_td["ContainerDefinitions"][0]["Image"].to_string();
    assert!(
        image.contains("tracker/materialized-view-service"),
        "{image}"
    );
    // Three alarms each, all to the topic; the failed-run rule per family.
    let alarms = resources(&staging, "AWS::CloudWatch::Alarm")
        .into_iter()
        .filter(|(_, r)| {
            r["Metadata"]["aws:cdk:path"]
                .as_str()
                .unwrap()
                .contains("/ScheduledTasks/")
        })
        .count();
    assert_eq!(alarms, 6);

    // Staging's admin overrides `down` only; its other fields come from staging's default.
    let target = |t: &Value, path: &str| by_path(t, path)["Properties"].clone();
    let admin = target(
        &staging,
        "TrackerStaging/Admin/Service/TaskCount/Target/Resource",
    );
    assert_eq!(
        admin["ScheduledActions"][0]["Schedule"],
        "cron(0 18 ? * MON-FRI *)"
    );
    assert_eq!(admin["ScheduledActions"][0]["Timezone"], "Europe/Berlin");
    // Singletons are not scheduled unless asked.
    assert!(
        resources(&staging, "AWS::ApplicationAutoScaling::ScalableTarget")
            .iter()
            .all(|(_, r)| !r["Metadata"]["aws:cdk:path"]
                .as_str()
                .unwrap()
                .contains("TrackerFetcher"))
    );

    // Production: api opted out; frontend (autoscaling 2-4) keeps 1-1 at night and its bounds
    // by day; the singleton asked to stop at night.
    let production = a.template("TrackerProduction");
    let api = target(
        &production,
        "TrackerProduction/Api/Service/TaskCount/Target/Resource",
    );
    assert!(api.get("ScheduledActions").is_none(), "{api}");
    let frontend = target(
        &production,
        "TrackerProduction/Frontend/Service/TaskCount/Target/Resource",
    );
    assert_eq!(
        frontend["ScheduledActions"],
        json!([
            {
                "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1},
                "Schedule": "cron(0 22 ? * * *)",
                "ScheduledActionName": "OffHoursDown",
                "Timezone": "America/New_York"
            },
            {
                "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 4},
                "Schedule": "cron(0 6 ? * * *)",
                "ScheduledActionName": "OffHoursUp",
                "Timezone": "America/New_York"
            }
        ])
    );
    let views = target(
        &production,
        "TrackerProduction/MaterializedViewService/Service/TaskCount/Target/Resource",
    );
    assert_eq!(views["MaxCapacity"], 1);
    assert_eq!(
        views["ScheduledActions"][0]["ScalableTargetAction"],
        json!({"MinCapacity": 0, "MaxCapacity": 0})
    );
}

#[test]
fn fails_on_bad_schedule_settings_naming_each_key() {
    let mut ctx = context();
    for (k, v) in [
        (
            "staging.offHours",
            json!({"timeZone": "Berlin", "down": "cron(0 20 * * MON-FRI *)", "up": "rate(1 day)", "min": 0, "when": 1}),
        ),
        ("production.tracker-fetcher.offHours", json!(true)),
        ("staging.anisette-v3.offHours", json!(false)),
        ("staging.api.offHours", json!({"min": 0, "max": 3})),
        (
            "staging.scheduledTasks",
            json!([
                {"name": "migrate", "service": "anisette-v3", "command": [], "schedule": "daily", "timeZone": "CET", "retryAttempts": 200, "extra": true},
                {"name": "ok-name", "service": "api", "command": ["x"], "schedule": "rate(1 hour)", "flexibleWindowMinutes": 2000, "cpu": 300}
            ]),
        ),
    ] {
        ctx.insert(k.into(), v);
    }
    let err = AppSettings::from_context(&ctx).unwrap_err().to_string();
    for part in [
        "`staging.offHours.when` = \"when\" is not allowed: one of timeZone, down, up, min, max",
        "`staging.offHours.timeZone` = \"Berlin\" is not allowed: an IANA time zone name",
        "`staging.offHours.down` = \"cron(0 20 * * MON-FRI *)\" is not allowed: cron(",
        "`staging.offHours.up` = \"rate(1 day)\"",
        "`production.tracker-fetcher.offHours` = true is not allowed: `production.offHours` to be set",
        "`staging.anisette-v3.offHours` = \"anisette-v3\" is not allowed",
        "`staging.api.offHours.max` = 3 is not allowed: at least min (0) and at most the service's working maximum (1)",
        "`staging.scheduledTasks[0].name` = \"migrate\"",
        "`staging.scheduledTasks[0].service` = \"anisette-v3\"",
        "`staging.scheduledTasks[0].command` = []",
        "`staging.scheduledTasks[0].schedule` = \"daily\"",
        "`staging.scheduledTasks[0].timeZone` = \"CET\"",
        "`staging.scheduledTasks[0].retryAttempts` = 200",
        "`staging.scheduledTasks[0].extra` = \"extra\" is not allowed: one of name, service",
        "`staging.scheduledTasks[1].flexibleWindowMinutes` = 2000",
        "`staging.scheduledTasks[1].cpu` = \"300 / 1024 MiB\"",
    ] {
        assert!(err.contains(part), "missing {part} in:\n{err}");
    }
}
