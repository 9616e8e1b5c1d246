//! Regenerates the feature tables of bridge/Cargo.toml and bridge/core/Cargo.toml and the shard
//! crates (bridge/shards/*) from the pinned assemblies and `SHARDS`, and fails on any difference
//! with the committed copies (biome's `Mode::Verify`). The bindings themselves are not committed:
//! bridge/core/build.rs generates them, so they cannot drift.

use std::path::Path;

#[test]
fn committed_feature_table_matches_the_pinned_assemblies() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let node_modules = bridge.parent().unwrap().join("node_modules");
    let libraries = cdk_from_rust_codegen::read_libraries(bridge).unwrap();
    let assemblies = cdk_from_rust_codegen::load(&node_modules, &libraries)
        .expect("assemblies load (run `npm ci`)");
    let files = cdk_from_rust_codegen::feature_table(bridge, &assemblies, &libraries).unwrap();
    assert!(files.iter().any(|f| f.path == "shards/top/src/lib.rs"));
    if let Err(e) = cdk_from_rust_codegen::verify(bridge, &files) {
        panic!("{e}");
    }
}
