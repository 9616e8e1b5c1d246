//! The tracker stacks, synthesized through the real aws-cdk-lib with cdk.json's context, checked
//! by cfn-lint, cdk-nag (at synthesis), golden templates, determinism and property assertions.
//!
//! Update the goldens after an intended change: `UPDATE_GOLDEN=1 cargo test -p tracker-stacks
//! --test tracker` (or `make golden`), then review the diff like code.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use tracker_stacks::{cdk_json_context, synth_to, AppSettings, Environment};

const STACKS: [&str; 3] = ["TrackerRegistry", "TrackerStaging", "TrackerProduction"];

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
    let cfn_lint = repo().join(".venv/bin/cfn-lint");
    assert!(
        cfn_lint.exists(),
        "cfn-lint missing at {}: run `make setup`",
        cfn_lint.display()
    );
    let files: Vec<PathBuf> = STACKS
        .iter()
        .map(|s| assembly().join(format!("{s}.template.json")))
        .collect();
    let out = Command::new(&cfn_lint)
        .args(["--format", "parseable", "--"])
        .args(&files)
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

#[test]
fn cdk_nag_runs_and_every_acknowledgment_carries_a_reason_into_the_template() {
    // That the plugin runs at all is `fails_synthesis_on_an_unacknowledged_cdk_nag_finding`.
    for (stack, env) in [
        ("TrackerStaging", Environment::Staging),
        ("TrackerProduction", Environment::Production),
    ] {
        let t = template(stack);
        let settings = tracker_stacks::Settings::defaults(env);
        for (path, rule, reason) in tracker_stacks::nag::acknowledgments(&settings) {
            assert!(reason.len() > 40, "{rule} at {path}: reason too thin");
            if rule.starts_with("CloudFormation-Validate") {
                continue;
            }
            let prefix = format!("{stack}/{path}/");
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
        let app = App::new(None);
        tracker_stacks::nag::apply(&app);
        let stack = Stack::new(app, "Bare", None);
        Bucket::new(stack, "Plain", None);
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
    let host = value("REDIS_HOST");
    let target = host["Fn::GetAtt"][0].as_str().unwrap_or_default();
    assert!(target.starts_with("RedisReplicationGroup"), "{host}");
    assert_eq!(host["Fn::GetAtt"][1], "PrimaryEndPoint.Address", "{host}");
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
        ("TrackerStaging", "staging"),
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
        "TrackerStaging/Data/DataVolume/Resource",
        "TrackerStaging/Network/Vpc/Resource",
        "TrackerStaging/Platform/Alb/Resource",
    ] {
        let tags = by_path(&template("TrackerStaging"), path)["Properties"]["Tags"].to_string();
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
    let t = template("TrackerProduction");
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
