//! `tracker-cdk synth` as the CDK CLI runs it: settings rejected before the shim runs fail with
//! exit code 1, every problem named, and no assembly from an earlier run left looking valid.

use std::path::Path;
use std::process::Command;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn fails_on_rejected_settings_and_removes_a_stale_assembly() {
    let out = tempfile::tempdir().unwrap();
    for stale in [
        "manifest.json",
        "tree.json",
        "TrackerStaging.template.json",
        "TrackerProduction.assets.json",
    ] {
        std::fs::write(out.path().join(stale), "{}").unwrap();
    }
    // The CLI's own lock file is not ours to remove.
    std::fs::write(out.path().join("synth.lock"), "").unwrap();

    // The context the CDK CLI would pass for `-c imageTag=latest -c staging.api.cpu=300`, on
    // top of cdk.json's.
    let cdk_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("cdk.json")).unwrap())
            .unwrap();
    let mut context = cdk_json["context"].clone();
    context["imageTag"] = "latest".into();
    context["staging.api.cpu"] = "300".into();

    let run = Command::new(env!("CARGO_BIN_EXE_tracker-cdk"))
        .arg("synth")
        .current_dir(repo_root())
        .env("CDK_OUTDIR", out.path())
        .env("CDK_CONTEXT_JSON", context.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    // Both problems, each naming its key.
    assert!(stderr.contains("production.imageTag"), "{stderr}");
    assert!(stderr.contains("staging.api.cpu"), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["synth.lock"], "a stale assembly survived");
}
