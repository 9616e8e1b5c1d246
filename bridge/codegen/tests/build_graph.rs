//! `cargo run -p tracker-cdk` (what cdk.json runs), `cargo run -p tracker-cdk --features aws` (the
//! online review, the release) and the tests' build in `make test` must build the bindings, the
//! constructs and the stacks from the same compilation units, or each compiles them again: a
//! build of the bindings is about 40 s and 250 MB. Two things made them differ, and would again
//! after an upgrade: the AWS SDK turns on features of `syn` (which serde's, thiserror's and
//! schemars' derives parse with) and the default feature of `crc32fast`, which the build
//! dependencies of bridge/core/Cargo.toml and constructs/Cargo.toml name too; and the code
//! generator, the bindings' build dependency and a workspace member, must have one profile either
//! way (Cargo.toml).
//!
//! It compares cargo's unit graphs (`--unit-graph`, which tells host units from target units,
//! unlike `cargo tree`); the flag is unstable, so the test sets RUSTC_BOOTSTRAP for those calls.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The units tracker-stacks' library is built from (itself included) by `cargo ARGS`: package,
/// target, mode, platform, features and profile of each.
fn stacks_units(args: &[&str]) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(args)
        .args(["--quiet", "--locked", "--offline"])
        .args(["--unit-graph", "-Z", "unstable-options"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?} --unit-graph failed:\n{}",
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
                && u["mode"] == "build"
                && u["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "lib"))
        })
        .expect("tracker-stacks' library is a unit of the build");
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    let mut described = BTreeSet::new();
    while let Some(i) = todo.pop() {
        if !seen.insert(i) {
            continue;
        }
        let u = &units[i];
        described.insert(format!(
            "{} {} {} {} [{}] {}",
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
                .unwrap_or_default(),
            u["profile"]
        ));
        for d in u["dependencies"].as_array().into_iter().flatten() {
            todo.push(d["index"].as_u64().expect("a unit index") as usize);
        }
    }
    described
}

/// Fails with the units only one of the two builds has.
fn assert_same(what: &str, a: &BTreeSet<String>, b: &BTreeSet<String>) {
    let only_a: Vec<_> = a.difference(b).collect();
    let only_b: Vec<_> = b.difference(a).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "{what} build the stacks from different units, so the bindings, the constructs or the \
         stacks are compiled twice (a feature: name it in bridge/core/Cargo.toml's \
         [build-dependencies] for proc macros and build scripts, or in constructs/Cargo.toml; a \
         profile setting: see Cargo.toml):\nonly the first: {only_a:#?}\nonly the second: \
         {only_b:#?}"
    );
}

#[test]
fn cdk_json_the_aws_build_and_the_tests_share_one_build_of_the_stacks() {
    let plain = stacks_units(&["build", "-p", "tracker-cdk"]);
    assert!(
        plain.iter().any(|u| u.contains("cdk-from-rust@")),
        "the bindings are among the units: {plain:#?}"
    );
    let aws = stacks_units(&["build", "-p", "tracker-cdk", "--features", "aws"]);
    assert_same(
        "`cargo build -p tracker-cdk` with and without --features aws",
        &plain,
        &aws,
    );
    // The tests' build, as the Makefile's `test` runs it.
    let tests = stacks_units(&[
        "test",
        "--workspace",
        "--exclude",
        "cdk-from-rust",
        "--exclude",
        "cdk-from-rust-core",
        "--features",
        "tracker-cdk/aws",
        "--profile",
        "dev",
        "--no-run",
    ]);
    assert_same(
        "`make test`'s cargo test and `cargo build -p tracker-cdk`",
        &tests,
        &plain,
    );
}
