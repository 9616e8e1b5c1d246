//! Any jsii library in node_modules binds given its name: cdk-monitoring-constructs 10.2.0 (a
//! devDependency, bound only here, not committed) next to the committed cdk-nag.

use std::path::Path;

use cdk_from_rust_codegen::{generate_with, read_libraries, Library};

#[test]
fn cdk_monitoring_constructs_binds_given_its_name_and_changes_no_other_module() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let node_modules = bridge.parent().unwrap().join("node_modules");
    let mut libraries = read_libraries(bridge).unwrap();
    assert_eq!(
        libraries,
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
    libraries.push(library);
    let files = generate_with(&node_modules, bridge, &libraries)
        .expect("cdk-monitoring-constructs is installed (npm ci)");
    let file = |path: &str| {
        &files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} is generated"))
            .contents
    };

    let module = file("src/generated/cdk_monitoring_constructs.rs");
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

    let root = file("src/generated/mod.rs");
    assert!(root.contains(
        "#[cfg(feature = \"cdk_monitoring_constructs\")]\npub mod cdk_monitoring_constructs;"
    ));
    assert!(root.contains("(\"cdk-monitoring-constructs\", \"10.2.0\"),"));

    // Its own feature, with the aws-cdk-lib modules it uses, and not in `all`.
    let cargo = file("Cargo.toml");
    let feature = cargo
        .lines()
        .find(|l| l.starts_with("cdk_monitoring_constructs = ["))
        .expect("the library's feature");
    assert!(feature.contains("\"aws_cloudwatch\""), "{feature}");
    let all = cargo.lines().find(|l| l.starts_with("all = [")).unwrap();
    assert!(!all.contains("cdk_monitoring_constructs"), "{all}");
    assert!(all.contains("\"cdk_nag\""), "{all}");

    // Binding it changes no committed module.
    for f in &files {
        if f.path.starts_with("src/generated/")
            && f.path.ends_with(".rs")
            && f.path != "src/generated/mod.rs"
            && !f.path.contains("cdk_monitoring")
        {
            let committed = std::fs::read_to_string(bridge.join(&f.path)).unwrap();
            assert!(committed == f.contents, "{} changed", f.path);
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
