//! `tracker-cdk review` as a pipeline runs it: the exit-code table in `--help`, refused inputs
//! (exit 4), and acceptances (exit 0 when every risk is accepted, 12 for a stale one).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn tracker_cdk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracker-cdk"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn review_help_prints_the_one_exit_code_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = tracker_cdk(dir.path(), &["review", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains(&tracker_review::exit_code_table()), "{help}");
}

#[test]
fn fails_an_unreadable_or_wrong_change_set_file_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.json", "{}");
    write(dir.path(), "template.json", r#"{"Resources": {}}"#);
    std::fs::create_dir_all(dir.path().join("a-directory.json")).unwrap();
    for (file, says) in [
        ("empty.json", "found an empty object"),
        ("template.json", "found a CloudFormation template"),
        ("a-directory.json", "reading a-directory.json"),
        ("missing.json", "missing.json: not found"),
    ] {
        let out = tracker_cdk(dir.path(), &["review", "S", "--change-set-file", file]);
        assert_eq!(out.status.code(), Some(4), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
    }
}

fn volume_removed(dir: &Path) {
    let vol = json!({"Type": "AWS::EC2::Volume", "DeletionPolicy": "Delete",
        "Properties": {"AvailabilityZone": "eu-west-1a", "Size": 50},
        "Metadata": {"aws:cdk:path": "Svc/Data/DataVolume/Resource"}});
    let topic = json!({"Type": "AWS::SNS::Topic"});
    let t = |r: Value| r.to_string();
    write(
        dir,
        "stacks/golden/Svc.template.json",
        &t(json!({"Resources": {"DataVolume1": vol, "Topic": topic}})),
    );
    write(
        dir,
        "cdk.out/Svc.template.json",
        &t(json!({"Resources": {"Topic": topic}})),
    );
}

#[test]
fn an_accepted_risk_exits_0_with_its_reason_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    volume_removed(dir.path());
    let out = tracker_cdk(dir.path(), &["review", "Svc"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    write(
        dir.path(),
        "accepted.txt",
        "# accepted risks, reviewed in REL-7\nData/DataVolume = data moved to RDS (REL-7)\n",
    );
    let out = tracker_cdk(
        dir.path(),
        &[
            "review",
            "Svc",
            "--accept-file",
            "accepted.txt",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["verdict"], "safe");
    assert_eq!(report["summary"]["accepted"], 1);
    assert_eq!(
        report["acceptances"][0],
        json!({"target": "Data/DataVolume", "reason": "data moved to RDS (REL-7)",
               "origin": "accepted.txt:2", "matched": ["DataVolume1"]})
    );
    let out = tracker_cdk(
        dir.path(),
        &["review", "Svc", "--accept", "DataVolume1=data moved to RDS"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DELETE — data loss (accepted)"), "{text}");
    assert!(
        text.contains("accepted (--accept): data moved to RDS"),
        "{text}"
    );
}

#[test]
fn fails_a_stale_acceptance_with_exit_12_and_a_bad_one_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    volume_removed(dir.path());
    let out = tracker_cdk(
        dir.path(),
        &[
            "review",
            "Svc",
            "--accept",
            "DataVolume1=ok",
            "--accept",
            "Topic=gone",
        ],
    );
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert!(stderr(&out).contains("acceptance(s) matching no risky change: Topic (--accept)"));
    for bad in ["no-reason", "DataVolume1="] {
        let out = tracker_cdk(dir.path(), &["review", "Svc", "--accept", bad]);
        assert_eq!(out.status.code(), Some(4), "{bad}: {}", stderr(&out));
    }
}
