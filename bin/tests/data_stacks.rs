//! `tracker-cdk stack-policy` on the committed data-stack templates, and `tracker-cdk review` of
//! several stacks at once reporting a resource that moves between them.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn tracker_cdk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracker-cdk"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn denied(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .flat_map(|s| s["Resource"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

/// `tracker-cdk stack-policy TrackerProductionData` on the golden template, with `extra`.
fn production_data_policy(extra: &[&str]) -> Value {
    let golden = "stacks/golden/TrackerProductionData.template.json";
    let mut args = vec![
        "stack-policy",
        "TrackerProductionData",
        "--template",
        golden,
    ];
    args.extend(extra);
    let out = tracker_cdk(repo_root(), &args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stack_policy_denies_replacing_or_deleting_the_production_data_and_allows_an_override() {
    let policy = production_data_policy(&[]);
    let deny = denied(&policy);
    for id in [
        "DatabaseNodeADataAB7870DE",
        "DatabaseBackups204EFA11",
        "RedisReplicationGroup3B65AB4E",
        "AnisetteFileSystemE1342D7B",
        "NetworkVpc7FB7348F",
    ] {
        assert!(
            deny.contains(&format!("LogicalResourceId/{id}")),
            "{id} not protected: {deny:?}"
        );
    }
    let statement = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .unwrap();
    assert_eq!(
        statement["Action"],
        json!(["Update:Replace", "Update:Delete"])
    );
    // The override: one resource allowed, the rest still denied.
    let overridden = denied(&production_data_policy(&[
        "--allow",
        "DatabaseNodeADataAB7870DE",
    ]));
    assert_eq!(overridden.len(), deny.len() - 1);
    assert!(!overridden.contains(&"LogicalResourceId/DatabaseNodeADataAB7870DE".to_string()));
    // No template: exit 4, saying what to do.
    let empty = tempfile::tempdir().unwrap();
    let out = tracker_cdk(empty.path(), &["stack-policy", "TrackerStagingData"]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("npx cdk synth TrackerStagingData"),
        "{stderr}"
    );
}

#[test]
fn reviewing_two_stacks_reports_a_moved_file_system_as_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, t: Value| {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t.to_string()).unwrap();
    };
    let fs = |stack: &str| {
        json!({"Type": "AWS::EFS::FileSystem", "DeletionPolicy": "Retain",
               "Metadata": {"aws:cdk:path": format!("{stack}/Anisette/FileSystem/Resource")}})
    };
    let topic = json!({"Type": "AWS::SNS::Topic"});
    // The file system moves from the services stack to the data stack.
    write(
        "stacks/golden/Svc.template.json",
        json!({"Resources": {"AnisetteFileSystemE1342D7B": fs("Svc"), "Topic": topic}}),
    );
    write(
        "cdk.out/Svc.template.json",
        json!({"Resources": {"Topic": topic}}),
    );
    write(
        "stacks/golden/SvcData.template.json",
        json!({"Resources": {}}),
    );
    write(
        "cdk.out/SvcData.template.json",
        json!({"Resources": {"AnisetteFileSystemE1342D7B": fs("SvcData")}}),
    );
    let out = tracker_cdk(
        dir.path(),
        &["review", "SvcData", "Svc", "--format", "json"],
    );
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let moved: Vec<&Value> = reports
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["changes"].as_array().unwrap())
        .filter(|c| c["moved"] == "Svc -> SvcData")
        .collect();
    assert_eq!(moved.len(), 2, "{reports:#}");
    // Still data loss until done with cdk refactor or an import: exit 10.
    assert_eq!(out.status.code(), Some(10));
    let text = tracker_cdk(dir.path(), &["review", "SvcData", "Svc"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("MOVE Svc -> SvcData (delete)"), "{text}");
    assert!(text.contains("cdk refactor"), "{text}");
}
