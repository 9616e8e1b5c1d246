//! `tracker-cdk diagram` and `tracker-cdk cost` as a person or CI runs them: what they print and
//! their exit codes (0, 2 usage, 4 no template or region, 9 output not made).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tracker_cdk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracker-cdk"))
        .args(args)
        .current_dir(dir)
        .env_remove("CDK_CONTEXT_JSON")
        .env_remove("CONTEXT_OVERFLOW_LOCATION_ENV")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn diagram_draws_an_environment_and_names_its_exit_codes() {
    // From the project directory: cdk.json's context, as synthesis reads it.
    let out = tracker_cdk(&repo(), &["diagram", "TrackerProductionData"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(
        svg.contains("<svg") && svg.contains("Patroni node 2"),
        "{svg}"
    );

    let dir = tempfile::tempdir().unwrap();
    let dot = dir.path().join("staging.dot");
    let out = tracker_cdk(
        &repo(),
        &["diagram", "staging", "-o", dot.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(
        text.contains("\"api\" -> \"db\" [label=\"db:5432\""),
        "{text}"
    );

    let out = tracker_cdk(&repo(), &["diagram", "TrackerRegistry"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("one of staging, TrackerStaging"),
        "{}",
        stderr(&out)
    );
    let out = tracker_cdk(&repo(), &["diagram", "staging", "-o", "x.jpg"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    if !cfg!(feature = "png") {
        let out = tracker_cdk(&repo(), &["diagram", "staging", "--format", "png"]);
        assert_eq!(out.status.code(), Some(9));
        assert!(stderr(&out).contains("--features png"), "{}", stderr(&out));
    }
    let help = tracker_cdk(&repo(), &["diagram", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("   9  the picture could not be made"));
}

/// An assembly with one stack `S` in eu-west-1: `resources` as its template.
fn assembly(resources: Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cdk.out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(
        out.join("S.template.json"),
        json!({ "Resources": resources }).to_string(),
    )
    .unwrap();
    std::fs::write(
        out.join("manifest.json"),
        json!({"artifacts": {"S": {"environment": "aws://111111111111/eu-west-1"}}}).to_string(),
    )
    .unwrap();
    dir
}

#[test]
fn cost_prints_the_estimate_as_text_and_json() {
    let dir = assembly(json!({
        "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {},
                "Metadata": {"aws:cdk:path": "S/Network/Nat"}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}}
    }));
    // 730 h x $0.048 + 100 GB x $0.048 = $39.84, + a key $1.00 = $40.84.
    let out = tracker_cdk(dir.path(), &["cost", "S"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("S in eu-west-1"), "{text}");
    assert!(text.contains("$40.84/month"), "{text}");
    assert!(text.contains("$39.84  S/Network"), "{text}");

    // 1000 GB: 35.04 + 48.00 = $83.04, + $1.00.
    let out = tracker_cdk(
        dir.path(),
        &["cost", "S", "--json", "--assume", "natGbPerGateway=1000"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["monthlyTotal"], 84.04);
    assert_eq!(v["byKind"][0]["kind"], "NAT gateway");
    assert_eq!(v["assumptions"]["natGbPerGateway"], 1000.0);

    let out = tracker_cdk(dir.path(), &["cost", "S", "--assume", "nat=1"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tracker_cdk(dir.path(), &["cost", "Missing"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("npx cdk synth Missing"),
        "{}",
        stderr(&out)
    );
    let out = tracker_cdk(dir.path(), &["cost", "S", "--region", "ap-south-2"]);
    assert_eq!(out.status.code(), Some(9));
    assert!(
        stderr(&out).contains("vpc.nat-hour in ap-south-2"),
        "{}",
        stderr(&out)
    );
}
