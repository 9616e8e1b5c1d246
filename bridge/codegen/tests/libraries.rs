//! Any jsii library in node_modules binds given its name: cdk-monitoring-constructs 10.2.0 (a
//! devDependency, bound only here, not committed) next to the committed cdk-nag.

use std::path::Path;

use std::collections::BTreeSet;

use cdk_from_rust_codegen::gen::{self, ModuleSpec};
use cdk_from_rust_codegen::{feature_table, load, modules, read_libraries, Library};

#[test]
fn cdk_monitoring_constructs_binds_given_its_name_and_changes_no_other_module() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let node_modules = bridge.parent().unwrap().join("node_modules");
    let committed = read_libraries(bridge).unwrap();
    assert_eq!(
        committed,
        [Library {
            package: "cdk-nag".into(),
            in_all: true
        }]
    );
    let library = Library {
        package: "cdk-monitoring-constructs".into(),
        in_all: false,
    };
    assert_eq!(library.feature(), "cdk_monitoring_constructs");
    let mut libraries = committed.clone();
    libraries.push(library);
    let assemblies =
        load(&node_modules, &libraries).expect("cdk-monitoring-constructs is installed (npm ci)");
    let emitted: BTreeSet<&str> = [
        "aws_ecs",
        "aws_cloudwatch",
        "cdk_nag",
        "cdk_monitoring_constructs",
    ]
    .into();
    let emit = |m: &ModuleSpec| m.feature.as_deref().is_none_or(|f| emitted.contains(f));
    let dir = Path::new("/out/generated");
    let with = gen::generate(
        &assemblies,
        &modules(&assemblies[1], &libraries),
        &emit,
        dir,
    );
    let file = |path: &str| {
        &with
            .files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} is generated"))
            .contents
    };

    let module = file("cdk_monitoring_constructs.rs");
    for expected in [
        "//! Bindings for jsii module `cdk-monitoring-constructs`.",
        "pub struct MonitoringFacade(",
        "pub fn monitor_fargate_service(",
        "pub struct DefaultMetricAdjuster(",
        // Its `adjustMetric(metric, _, props)` parameter named `_` gets a Rust name.
        "unnamed: ",
    ] {
        assert!(module.contains(expected), "no `{expected}` in the bindings");
    }
    assert!(
        !module.contains("(: ") && !module.contains(", : "),
        "an empty parameter name"
    );
    assert!(
        module.len() > 500_000,
        "the whole library: {} bytes",
        module.len()
    );

    let root = file("mod.rs");
    // Compiled in the last shard's crate, from the core's generated tree.
    assert!(root.contains(
        "#[path = \"/out/generated/cdk_monitoring_constructs.rs\"]\n        pub mod cdk_monitoring_constructs;"
    ));
    assert!(root.contains("(\"cdk-monitoring-constructs\", \"10.2.0\"),"));

    // Its own feature, with the aws-cdk-lib modules it uses, and not in `all`.
    let cargo = feature_table(bridge, &assemblies, &libraries)
        .unwrap()
        .into_iter()
        .find(|f| f.path == "Cargo.toml")
        .unwrap()
        .contents;
    let feature = cargo
        .lines()
        .find(|l| l.starts_with("cdk_monitoring_constructs = ["))
        .expect("the library's feature");
    assert!(feature.contains("\"aws_cloudwatch\""), "{feature}");
    let all = cargo.lines().find(|l| l.starts_with("all = [")).unwrap();
    assert!(!all.contains("cdk_monitoring_constructs"), "{all}");
    assert!(all.contains("\"cdk_nag\""), "{all}");

    // Binding it changes no other module.
    let without = gen::generate(
        &assemblies[..assemblies.len() - 1],
        &modules(&assemblies[1], &committed),
        &emit,
        dir,
    );
    for f in &without.files {
        if f.path != "mod.rs" {
            assert!(with.files.contains(f), "{} changed", f.path);
        }
    }
}

#[test]
fn library_names_become_rust_module_names() {
    let feature = |package: &str| {
        Library {
            package: package.into(),
            in_all: false,
        }
        .feature()
    };
    assert_eq!(feature("cdk-nag"), "cdk_nag");
    assert_eq!(feature("@scope/My-Lib"), "scope_my_lib");
}
