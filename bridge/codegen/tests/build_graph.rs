//! The AWS SDK (tracker-cdk's `aws` feature) must not change how the bindings are built. Every
//! package the bindings depend on has to resolve to the same features with and without it, or
//! `cargo run -p tracker-cdk` (what cdk.json runs) and `cargo run -p tracker-cdk --features aws`
//! (the online review, the release) each compile the bindings: two builds of about 50 s and
//! 280 MB instead of one. The SDK's proc macros turn on features of `syn`, which serde's,
//! thiserror's and schemars' derives are built with; bridge/Cargo.toml's build dependencies name
//! them too (`syn2`, `syn3`). This test fails when an upgrade brings another such feature: name it
//! there.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// `cargo tree` lines (`--prefix none`, duplicates' `(*)` marks removed) of the workspace.
fn tree(args: &[&str]) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args([
            "tree",
            "--quiet",
            "--locked",
            "--offline",
            "--prefix",
            "none",
            "-e",
            "normal,build",
        ])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| l.trim_end_matches(" (*)").to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_aws_sdk_leaves_the_bindings_build_unchanged() {
    // The packages the bindings are built from (names and versions; features vary by caller).
    let closure = tree(&["-p", "cdk-from-rust", "-f", "{p}"]);
    let of_closure = |lines: BTreeSet<String>| -> BTreeSet<String> {
        lines
            .into_iter()
            .filter(|l| closure.iter().any(|p| l.starts_with(&format!("{p} "))))
            .collect()
    };
    let plain = of_closure(tree(&["-p", "tracker-cdk", "-f", "{p} [{f}]"]));
    let aws = of_closure(tree(&[
        "-p",
        "tracker-cdk",
        "--features",
        "aws",
        "-f",
        "{p} [{f}]",
    ]));
    assert!(
        plain.len() >= closure.len(),
        "every package of the bindings is listed: {plain:?}"
    );
    let only_plain: Vec<_> = plain.difference(&aws).collect();
    let only_aws: Vec<_> = aws.difference(&plain).collect();
    assert!(
        only_plain.is_empty() && only_aws.is_empty(),
        "the AWS SDK changes the features of packages the bindings are built from, so the \
         bindings would be compiled twice; name these features in bridge/Cargo.toml's [build-dependencies]:\n\
         without --features aws: {only_plain:#?}\nwith --features aws: {only_aws:#?}"
    );
}
