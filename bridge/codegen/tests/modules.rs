//! Every aws-cdk-lib submodule is a module behind its own feature, generated only when enabled,
//! and a module's code does not depend on which other modules are enabled.

use std::collections::BTreeSet;
use std::path::Path;

use cdk_from_rust_codegen::generate_enabled;

fn enabled(features: &[&str]) -> BTreeSet<String> {
    features.iter().map(|f| f.to_string()).collect()
}

#[test]
fn enabling_one_more_module_changes_no_other_and_disabled_modules_are_not_generated() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let node_modules = bridge.parent().unwrap().join("node_modules");
    let minimal = ["aws_sqs", "aws_cloudwatch", "aws_iam", "aws_kms"];
    let base = generate_enabled(&node_modules, bridge, &enabled(&minimal)).expect("npm ci");
    let mut more = minimal.to_vec();
    // A module unrelated to the others.
    more.push("aws_quicksight");
    let plus = generate_enabled(&node_modules, bridge, &enabled(&more)).unwrap();

    let paths = |g: &cdk_from_rust_codegen::gen::Generated| -> BTreeSet<String> {
        g.files.iter().map(|f| f.path.clone()).collect()
    };
    assert_eq!(
        paths(&base),
        [
            "mod.rs",
            "constructs.rs",
            "aws_cdk_lib.rs",
            "aws_cdk_lib/aws_cloudwatch.rs",
            "aws_cdk_lib/aws_iam.rs",
            "aws_cdk_lib/aws_kms.rs",
            "aws_cdk_lib/aws_sqs.rs",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect(),
        "only the enabled modules (and the always-on roots) are generated"
    );
    assert!(paths(&plus).contains("aws_cdk_lib/aws_quicksight.rs"));
    for f in &base.files {
        let other = plus.files.iter().find(|p| p.path == f.path).unwrap();
        assert!(
            other.contents == f.contents,
            "{} changed when aws_quicksight was enabled",
            f.path
        );
    }

    // Every submodule is declared behind its feature, nested ones too.
    let core = &base
        .files
        .iter()
        .find(|f| f.path == "aws_cdk_lib.rs")
        .unwrap()
        .contents;
    for decl in [
        "#[cfg(feature = \"aws_lambda\")]\npub mod aws_lambda;",
        "#[cfg(feature = \"aws_elasticloadbalancingv2_targets\")]\npub mod aws_elasticloadbalancingv2_targets;",
        "#[cfg(feature = \"interfaces\")]\npub mod interfaces;",
    ] {
        assert!(core.contains(decl), "no `{decl}`");
    }
}

#[test]
fn every_submodule_has_a_feature_with_its_closure_in_the_committed_table() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::fs::read_to_string(bridge.join("Cargo.toml")).unwrap();
    let feature = |name: &str| {
        cargo
            .lines()
            .find(|l| l.starts_with(&format!("{name} = [")))
            .unwrap_or_else(|| panic!("no feature {name}"))
            .to_string()
    };
    assert!(feature("aws_lambda").contains("\"aws_iam\""));
    assert!(
        feature("aws_elasticloadbalancingv2_targets").contains("\"aws_elasticloadbalancingv2\"")
    );
    // A nested module needs its parent.
    assert!(feature("interfaces_aws_s3").contains("\"interfaces\""));
    assert!(feature("aws_ecs_mixins").contains("\"aws_ecs\""));
}

#[test]
fn other_installed_versions_or_no_node_modules_fail_with_what_to_run() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let node_modules = bridge.parent().unwrap().join("node_modules");
    // A bridge whose feature table was generated from another aws-cdk-lib.
    let other = std::env::temp_dir().join(format!("cdk-from-rust-versions-{}", std::process::id()));
    std::fs::create_dir_all(other.join("codegen")).unwrap();
    std::fs::copy(
        bridge.join("codegen/libraries.txt"),
        other.join("codegen/libraries.txt"),
    )
    .unwrap();
    let cargo = std::fs::read_to_string(bridge.join("Cargo.toml")).unwrap();
    std::fs::write(
        other.join("Cargo.toml"),
        cargo.replace("aws-cdk-lib@2.276.0", "aws-cdk-lib@2.275.0"),
    )
    .unwrap();
    let err = generate_enabled(&node_modules, &other, &enabled(&[]))
        .unwrap_err()
        .to_string();
    std::fs::remove_dir_all(&other).unwrap();
    assert!(
        err.contains("aws-cdk-lib@2.276.0")
            && err.contains("generated from constructs@10.8.1, aws-cdk-lib@2.275.0")
            && err.contains("run `npm ci`"),
        "{err}"
    );

    let none = cdk_from_rust_codegen::find_node_modules(Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(
        none.contains("no node_modules with aws-cdk-lib found"),
        "{none}"
    );
    assert!(none.contains("CDK_FROM_RUST_NODE_MODULES"), "{none}");
}
