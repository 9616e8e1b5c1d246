//! Deployment strategies of the public services and the error-log alarms, on the synthesized
//! stacks: the settings reach the templates, cdk-nag passes at synthesis (its plugin fails an
//! unacknowledged finding), and cfn-lint reports nothing on the templates with every strategy.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};
use tracker_stacks::{cdk_json_context, synth_to, AppSettings};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// cdk.json's context with `extra` set, synthesized into a directory of its own.
fn synth(extra: &[(&str, Value)]) -> tempfile::TempDir {
    let mut ctx: Map<String, Value> = cdk_json_context(&repo().join("cdk.json")).unwrap();
    for (k, v) in extra {
        ctx.insert(k.to_string(), v.clone());
    }
    let settings = AppSettings::from_context(&ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synth_to(&settings, &ctx, dir.path()).unwrap_or_else(|e| panic!("synthesis failed: {e}"));
    dir
}

fn template(dir: &Path, stack: &str) -> Value {
    let path = dir.join(format!("{stack}.template.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn by_path<'a>(t: &'a Value, path: &str) -> (&'a String, &'a Value) {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, r)| r["Metadata"]["aws:cdk:path"] == path)
        .unwrap_or_else(|| panic!("no resource at {path}"))
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

/// Every cfn-lint finding (errors and warnings) on `files`, as parseable lines.
fn cfn_lint(files: &[PathBuf]) -> Vec<String> {
    let cfn_lint = repo().join(".venv/bin/cfn-lint");
    assert!(cfn_lint.exists(), "cfn-lint missing: run `make setup`");
    let out = Command::new(&cfn_lint)
        .args(["--format", "parseable", "--"])
        .args(files)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn traffic_shifting_deployments_come_from_the_settings_with_rollback_alarms_and_lint_clean() {
    let dir = synth(&[
        ("production.api.deployment", json!("blue-green")),
        ("production.api.deployment.bakeMinutes", json!("20")),
        ("staging.frontend.deployment", json!("canary")),
        ("staging.frontend.deployment.stepPercent", json!("2.5")),
        ("staging.frontend.deployment.stepMinutes", json!(5)),
        ("staging.admin.deployment", json!("LINEAR")),
    ]);
    let production = template(dir.path(), "TrackerProduction");
    let staging = template(dir.path(), "TrackerStaging");

    // Production api: blue/green, 20 minutes of bake, no circuit breaker, the alternate group.
    let (_, api) = by_path(&production, "TrackerProduction/Api/Service/Service");
    let dc = &api["Properties"]["DeploymentConfiguration"];
    assert_eq!(dc["Strategy"], "BLUE_GREEN");
    assert_eq!(dc["BakeTimeInMinutes"], 20);
    assert!(dc.get("DeploymentCircuitBreaker").is_none(), "{dc}");
    let (alternate, _) = by_path(
        &production,
        "TrackerProduction/Api/AlternateTargetGroup/Resource",
    );
    let (rule, _) = by_path(&production, "TrackerProduction/Api/ListenerRule/Resource");
    let advanced = &api["Properties"]["LoadBalancers"][0]["AdvancedConfiguration"];
    assert_eq!(
        advanced["AlternateTargetGroupArn"],
        json!({"Ref": alternate})
    );
    assert_eq!(advanced["ProductionListenerRule"], json!({"Ref": rule}));
    // Rollback on the construct's alarms and production's own target-5xx alarm, which now sums
    // both target groups.
    assert_eq!(
        dc["Alarms"]["AlarmNames"],
        json!([
            "production-api-unhealthy-targets",
            "production-api-target-5xx-rate",
            "tracker-production-api-target-5xx"
        ])
    );
    assert_eq!(dc["Alarms"]["Rollback"], true);
    let (_, errors) = by_path(
        &production,
        "TrackerProduction/Api/Service/TargetErrors/Resource",
    );
    let metrics = errors["Properties"]["Metrics"].to_string();
    assert!(metrics.contains(alternate.as_str()), "{metrics}");
    assert!(
        metrics.contains("FILL(blue, 0) + FILL(green, 0)"),
        "{metrics}"
    );
    // Request-count scaling is left out with blue/green: CPU and memory only.
    let api_policies: Vec<String> =
        of_type(&production, "AWS::ApplicationAutoScaling::ScalingPolicy")
            .into_iter()
            .filter(|(_, p)| {
                p["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .unwrap()
                    .starts_with("TrackerProduction/Api/")
            })
            .map(|(_, p)| {
                p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
                    ["PredefinedMetricSpecification"]["PredefinedMetricType"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
    assert_eq!(
        api_policies.len(),
        2,
        "CPU and memory only: {api_policies:?}"
    );
    assert!(!api_policies.iter().any(|m| m == "ALBRequestCountPerTarget"));
    // The other production services still deploy rolling, with the circuit breaker.
    let (_, frontend) = by_path(&production, "TrackerProduction/Frontend/Service/Service");
    let dc = &frontend["Properties"]["DeploymentConfiguration"];
    assert!(dc.get("Strategy").is_none(), "{dc}");
    assert_eq!(dc["DeploymentCircuitBreaker"]["Rollback"], true);

    // Staging frontend: canary 2.5 % for 5 minutes, the default bake; admin linear by default.
    let (_, frontend) = by_path(&staging, "TrackerStaging/Frontend/Service/Service");
    let dc = &frontend["Properties"]["DeploymentConfiguration"];
    assert_eq!(dc["Strategy"], "CANARY");
    assert_eq!(
        dc["CanaryConfiguration"],
        json!({"CanaryPercent": 2.5, "CanaryBakeTimeInMinutes": 5})
    );
    assert_eq!(dc["BakeTimeInMinutes"], 15);
    let (_, admin) = by_path(&staging, "TrackerStaging/Admin/Service/Service");
    let dc = &admin["Properties"]["DeploymentConfiguration"];
    assert_eq!(dc["Strategy"], "LINEAR");
    assert_eq!(
        dc["LinearConfiguration"],
        json!({"StepPercent": 10, "StepBakeTimeInMinutes": 6})
    );
    // The traffic-shift role's managed policy is acknowledged for cdk-nag (synthesis passed),
    // with the reason in the template.
    let (_, role) = by_path(
        &staging,
        "TrackerStaging/Frontend/TrafficShiftRole/Resource",
    );
    assert!(role["Metadata"]["cdk_nag"].to_string().contains(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]"
    ));

    let files: Vec<PathBuf> = ["TrackerStaging", "TrackerProduction"]
        .iter()
        .map(|s| dir.path().join(format!("{s}.template.json")))
        .collect();
    // W6001 (an output that re-exports an import) is on the default templates too.
    let findings: Vec<String> = cfn_lint(&files)
        .into_iter()
        .filter(|l| l.split(':').nth(5) != Some("W6001"))
        .collect();
    assert!(findings.is_empty(), "cfn-lint:\n{}", findings.join("\n"));
}

#[test]
fn every_service_but_anisette_alarms_on_its_error_log_lines_with_the_settings() {
    let dir = synth(&[
        ("staging.logErrors.threshold", json!("5")),
        ("staging.api.logErrors.field", json!("$.severity")),
        ("staging.api.logErrors.values", json!("FATAL,CRITICAL")),
    ]);
    let staging = template(dir.path(), "TrackerStaging");
    let filters = of_type(&staging, "AWS::Logs::MetricFilter");
    let mut owners: Vec<&str> = filters
        .iter()
        .map(|(_, f)| {
            f["Metadata"]["aws:cdk:path"]
                .as_str()
                .unwrap()
                .split('/')
                .nth(1)
                .unwrap()
        })
        .collect();
    owners.sort();
    assert_eq!(
        owners,
        [
            "Admin",
            "Api",
            "Frontend",
            "MaterializedViewService",
            "NotificationService",
            "TrackerFetcher",
            "UnifiedGeofence"
        ]
    );
    let (_, api) = by_path(&staging, "TrackerStaging/Api/ErrorLogFilter/Resource");
    assert_eq!(
        api["Properties"]["FilterPattern"],
        "{ ($.severity = \"FATAL\") || ($.severity = \"CRITICAL\") }"
    );
    let (_, fetcher) = by_path(
        &staging,
        "TrackerStaging/TrackerFetcher/ErrorLogFilter/Resource",
    );
    assert_eq!(
        fetcher["Properties"]["FilterPattern"],
        "{ ($.level = \"ERROR\") || ($.level = \"error\") }"
    );
    assert_eq!(
        fetcher["Properties"]["MetricTransformations"][0]["MetricName"],
        "staging/tracker-fetcher/ErrorLines"
    );
    let (_, alarm) = by_path(
        &staging,
        "TrackerStaging/TrackerFetcher/ErrorLogAlarm/Resource",
    );
    assert_eq!(alarm["Properties"]["Threshold"], 5);
    assert_eq!(
        alarm["Properties"]["MetricName"],
        "staging/tracker-fetcher/ErrorLines"
    );
    // To the alert topic, imported by the ARN of its fixed name.
    assert!(alarm["Properties"]["AlarmActions"]
        .to_string()
        .contains("tracker-staging-alerts"));
    assert!(alarm["Properties"]["OKActions"]
        .to_string()
        .contains("tracker-staging-alerts"));
    // Production keeps the defaults.
    let production = template(dir.path(), "TrackerProduction");
    let (_, alarm) = by_path(&production, "TrackerProduction/Api/ErrorLogAlarm/Resource");
    assert_eq!(alarm["Properties"]["Threshold"], 10);
}

#[test]
fn fails_on_bad_deployment_and_log_settings_naming_every_key_at_once() {
    let mut ctx: Map<String, Value> = cdk_json_context(&repo().join("cdk.json")).unwrap();
    for (k, v) in [
        ("production.api.deployment", json!("big-bang")),
        ("production.frontend.deployment", json!("blue-green")),
        ("production.frontend.deployment.stepPercent", json!(10)),
        ("production.admin.deployment", json!("canary")),
        ("production.admin.deployment.stepPercent", json!("0.05")),
        ("production.admin.deployment.bakeMinutes", json!(2000)),
        ("production.tracker-fetcher.deployment", json!("canary")),
        ("production.logErrors.field", json!("level")),
        ("production.api.logErrors.threshold", json!(0)),
    ] {
        ctx.insert(k.into(), v);
    }
    let err = AppSettings::from_context(&ctx).unwrap_err().to_string();
    for (key, allowed) in [
        (
            "production.api.deployment` = \"big-bang\"",
            "rolling, blue-green, linear or canary",
        ),
        (
            "production.frontend.deployment.stepPercent`",
            "no stepPercent for a blue-green deployment",
        ),
        (
            "production.admin.deployment.stepPercent` = 0.05",
            "a multiple of 0.1 from 0.1 to 100.0 percent for a canary deployment",
        ),
        (
            "production.admin.deployment.bakeMinutes` = 2000",
            "0-1440 minutes",
        ),
        (
            "production.tracker-fetcher.deployment`",
            "a deployment strategy for a public service (api, frontend, admin)",
        ),
        ("production.logErrors.field` = \"level\"", "a JSON selector"),
        ("production.api.logErrors.threshold` = 0", "at least 1"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("no error for {key}: {err}"));
        assert!(line.contains(allowed), "{line}");
    }
}
