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

#[test]
fn every_shard_crate_builds_without_incremental_cache_or_debug_info() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for shard in cdk_from_rust_codegen::SHARDS {
        let section = format!(
            "[profile.dev.package.cdk-from-rust-{}]\nincremental = false\ndebug = false\n",
            shard.name
        );
        assert!(
            cargo.contains(&section),
            "Cargo.toml has no `{section}`: the shard would keep rustc's incremental cache (0.7-2 GB)"
        );
    }
    // And no shard directory outlives its entry in SHARDS (a stale one would stay a member).
    for dir in std::fs::read_dir(root.join("bridge/shards")).unwrap() {
        let name = dir.unwrap().file_name().into_string().unwrap();
        assert!(
            cdk_from_rust_codegen::SHARDS.iter().any(|s| s.name == name),
            "bridge/shards/{name} is not in SHARDS: delete it"
        );
    }
}
