//! Regenerates the feature table of bridge/Cargo.toml from the pinned assemblies and fails on any
//! difference with the committed copy (biome's `Mode::Verify`). The bindings themselves are not
//! committed: bridge/build.rs generates them, so they cannot drift.

use std::path::Path;

#[test]
fn committed_feature_table_matches_the_pinned_assemblies() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let node_modules = bridge.parent().unwrap().join("node_modules");
    let libraries = cdk_from_rust_codegen::read_libraries(bridge).unwrap();
    let assemblies = cdk_from_rust_codegen::load(&node_modules, &libraries)
        .expect("assemblies load (run `npm ci`)");
    let cargo_toml = cdk_from_rust_codegen::feature_table(bridge, &assemblies, &libraries).unwrap();
    if let Err(e) = cdk_from_rust_codegen::verify(bridge, &cargo_toml) {
        panic!("{e}");
    }
}
