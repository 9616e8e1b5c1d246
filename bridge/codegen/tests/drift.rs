//! Regenerates the bindings from the pinned assemblies and fails on any difference with the
//! committed copy (biome's `Mode::Verify`).

use std::path::Path;

#[test]
fn committed_bindings_match_the_pinned_assemblies() {
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let node_modules = bridge.parent().unwrap().join("node_modules");
    let files = cdk_from_rust_codegen::generate(&node_modules, bridge)
        .expect("assemblies load (run `npm ci`)");
    if let Err(e) = cdk_from_rust_codegen::verify(bridge, &files) {
        panic!("{e}");
    }
}
