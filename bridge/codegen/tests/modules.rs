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
    let dir = Path::new("/out/generated");
    let base = generate_enabled(&node_modules, bridge, &enabled(&minimal), dir).expect("npm ci");
    let mut more = minimal.to_vec();
    // A module unrelated to the others.
    more.push("aws_quicksight");
    let plus = generate_enabled(&node_modules, bridge, &enabled(&more), dir).unwrap();

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
    // The root (`mod.rs`) lists the enabled modules in its shards' macros; no module file changes.
    for f in base.files.iter().filter(|f| f.path != "mod.rs") {
        let other = plus.files.iter().find(|p| p.path == f.path).unwrap();
        assert!(
            other.contents == f.contents,
            "{} changed when aws_quicksight was enabled",
            f.path
        );
    }

    // The root, which has the shards' macros, declares each enabled module in its shard's crate,
    // by absolute path, next to the re-exports of the shards below.
    let root = |g: &cdk_from_rust_codegen::gen::Generated| {
        g.files
            .iter()
            .find(|f| f.path == "mod.rs")
            .unwrap()
            .contents
            .clone()
    };
    let shard = |root: &str, name: &str| {
        let start = root
            .find(&format!("macro_rules! __shard_{name} {{"))
            .unwrap_or_else(|| panic!("no macro for shard {name}"));
        let end = start + root[start..].find("\n}\n").unwrap();
        root[start..end].to_string()
    };
    let base_shard = shard(&root(&base), "base");
    for decl in [
        "pub use $crate::*;",
        "pub use $crate::aws_cdk_lib::*;",
        "#[path = \"/out/generated/aws_cdk_lib/aws_sqs.rs\"]\n            pub mod aws_sqs;",
        "#[path = \"/out/generated/aws_cdk_lib/aws_iam.rs\"]\n            pub mod aws_iam;",
    ] {
        assert!(base_shard.contains(decl), "no `{decl}` in {base_shard}");
    }
    assert!(!shard(&root(&base), "top").contains("aws_quicksight"));
    let top = shard(&root(&plus), "top");
    for decl in [
        "pub use ::cdk_from_rust_ecs::*;",
        "pub use ::cdk_from_rust_edge::*;",
        "#[path = \"/out/generated/aws_cdk_lib/aws_quicksight.rs\"]\n            pub mod aws_quicksight;",
    ] {
        assert!(top.contains(decl), "no `{decl}` in {top}");
    }
    // A nested module is declared in its parent's file, relative to it.
    let nested = generate_enabled(
        &node_modules,
        bridge,
        &enabled(&[
            "aws_ecr",
            "aws_ecr_mixins",
            "aws_events",
            "aws_iam",
            "aws_kms",
            "aws_sqs",
            "aws_cloudwatch",
        ]),
        dir,
    )
    .unwrap();
    let ecr = &nested
        .files
        .iter()
        .find(|f| f.path == "aws_cdk_lib/aws_ecr.rs")
        .unwrap()
        .contents;
    assert!(
        ecr.contains("#[path = \"aws_ecr/mixins.rs\"]\npub mod mixins;"),
        "aws_ecr.rs does not declare its mixins"
    );
    assert!(!shard(&root(&nested), "top").contains("mixins"));
}

#[test]
fn fails_when_a_module_refers_to_a_shard_above_its_own() {
    let spec = |jsii: &str, shard: usize| cdk_from_rust_codegen::ModuleSpec {
        jsii: jsii.into(),
        path: vec![
            "aws_cdk_lib".into(),
            jsii.rsplit('.').next().unwrap().into(),
        ],
        feature: Some(jsii.rsplit('.').next().unwrap().into()),
        in_all: true,
        typed: true,
        shard,
    };
    let shard = |name: &str| {
        cdk_from_rust_codegen::SHARDS
            .iter()
            .position(|s| s.name == name)
            .unwrap()
    };
    let modules = [
        spec("aws-cdk-lib.aws_iam", shard("base")),
        spec("aws-cdk-lib.aws_ecs", shard("top")),
        spec("aws-cdk-lib.aws_lambda", shard("compute")),
    ];
    // aws_iam (base) refers to aws_ecs (top); aws_lambda (compute) to aws_iam (base): fine.
    let uses = [Some([1].into()), Some([0].into()), Some([0].into())];
    let err = cdk_from_rust_codegen::check_shards(&modules, &uses)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("aws-cdk-lib.aws_iam (shard base) refers to aws-cdk-lib.aws_ecs (shard top)"),
        "{err}"
    );
    assert!(!err.contains("aws_lambda"), "{err}");
    assert!(err.contains("SHARDS"), "{err}");
    // Compute and net are side by side: neither is below the other.
    let side = [
        spec("aws-cdk-lib.aws_lambda", shard("compute")),
        spec("aws-cdk-lib.aws_route53", shard("net")),
    ];
    assert!(cdk_from_rust_codegen::check_shards(&side, &[Some([1].into()), None]).is_err());
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
    let err = generate_enabled(&node_modules, &other, &enabled(&[]), &other)
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
