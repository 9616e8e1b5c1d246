//! The AWS SDK (tracker-cdk's `aws` feature) must not change how the bindings, the constructs
//! and the stacks are built. Every compilation unit they depend on has to be the same with and
//! without it, or `cargo run -p tracker-cdk` (what cdk.json runs) and `cargo run -p tracker-cdk
//! --features aws` (the online review, the release) each compile them: two builds of the bindings
//! (about 50 s and 280 MB each) instead of one. The SDK turns on features of `syn` (which serde's,
//! thiserror's and schemars' derives parse with) and the default feature of `crc32fast`;
//! bridge/Cargo.toml's build dependencies and constructs/Cargo.toml name them too. This test fails
//! when an upgrade brings another such feature: name it there.
//!
//! It compares cargo's unit graphs (`--unit-graph`, which tells host units from target units,
//! unlike `cargo tree`); the flag is unstable, so the test sets RUSTC_BOOTSTRAP for that one call.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The units tracker-stacks' library is built from (itself included): package, target, mode,
/// features and platform of each.
fn stacks_units(features: &[&str]) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args([
            "build",
            "--quiet",
            "--locked",
            "--offline",
            "-p",
            "tracker-cdk",
        ])
        .args(features)
        .args(["--unit-graph", "-Z", "unstable-options"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build --unit-graph {features:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let graph: Value = serde_json::from_slice(&out.stdout).expect("a unit graph");
    let units = graph["units"].as_array().expect("units");
    let start = units
        .iter()
        .position(|u| {
            u["pkg_id"]
                .as_str()
                .unwrap_or_default()
                .contains("tracker-stacks")
                && u["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "lib"))
        })
        .expect("tracker-stacks' library is a unit of tracker-cdk");
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    let mut described = BTreeSet::new();
    while let Some(i) = todo.pop() {
        if !seen.insert(i) {
            continue;
        }
        let u = &units[i];
        described.insert(format!(
            "{} {} {} {} [{}]",
            u["pkg_id"].as_str().unwrap_or_default(),
            u["target"]["name"].as_str().unwrap_or_default(),
            u["mode"].as_str().unwrap_or_default(),
            u["platform"].as_str().unwrap_or("host"),
            u["features"]
                .as_array()
                .map(|f| f
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default()
        ));
        for d in u["dependencies"].as_array().into_iter().flatten() {
            todo.push(d["index"].as_u64().expect("a unit index") as usize);
        }
    }
    described
}

#[test]
fn the_aws_sdk_leaves_the_stacks_build_unchanged() {
    let plain = stacks_units(&[]);
    let aws = stacks_units(&["--features", "aws"]);
    assert!(
        plain.iter().any(|u| u.contains("cdk-from-rust")),
        "the bindings are among the units: {plain:#?}"
    );
    let only_plain: Vec<_> = plain.difference(&aws).collect();
    let only_aws: Vec<_> = aws.difference(&plain).collect();
    assert!(
        only_plain.is_empty() && only_aws.is_empty(),
        "the AWS SDK changes units the stacks are built from, so the bindings, the constructs or \
         the stacks would be compiled twice; name these features in bridge/Cargo.toml's \
         [build-dependencies] (for proc macros and build scripts) or constructs/Cargo.toml:\n\
         without --features aws: {only_plain:#?}\nwith --features aws: {only_aws:#?}"
    );
}
