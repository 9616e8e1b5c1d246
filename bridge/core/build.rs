//! Generates the bindings of the enabled modules into `OUT_DIR`, once for all the crates that
//! compile them: constructs and aws-cdk-lib's core always (`src/lib.rs` includes them), every
//! other module only when its cargo feature is on (its shard's crate includes it from here, through
//! the `__shard_<name>!` macro of the generated root). The jsii assemblies come from
//! `node_modules` (README.md, "Regenerating the bindings"): `CDK_FROM_RUST_NODE_MODULES` if set,
//! else the nearest ancestor of the bridge with `node_modules/aws-cdk-lib/.jsii`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cdk_from_rust_codegen::{CodegenError, NODE_MODULES_ENV};

fn main() {
    let core = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    // The bridge: its Cargo.toml names the pinned versions, its codegen/ the bound libraries.
    let bridge = core.parent().expect("core lives in bridge/").to_path_buf();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-env-changed={NODE_MODULES_ENV}");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!(
        "cargo:rerun-if-changed={}",
        bridge.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        bridge.join(cdk_from_rust_codegen::LIBRARIES_FILE).display()
    );
    if let Err(e) = run(&bridge, &out_dir) {
        // A message, not a panic backtrace: cargo prints the build script's stderr.
        eprintln!("error: cannot generate the cdk-from-rust bindings: {e}");
        std::process::exit(1);
    }
}

fn run(bridge: &Path, out_dir: &Path) -> Result<(), CodegenError> {
    let node_modules = cdk_from_rust_codegen::find_node_modules(bridge)?;
    for package in cdk_from_rust_codegen::packages(&cdk_from_rust_codegen::read_libraries(bridge)?)
    {
        for file in [".jsii", ".jsii.gz"] {
            let path = node_modules.join(&package).join(file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let enabled: BTreeSet<String> = std::env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_")
                .map(str::to_ascii_lowercase)
        })
        .collect();
    let root = out_dir.join("generated");
    let generated =
        cdk_from_rust_codegen::generate_enabled(&node_modules, bridge, &enabled, &root)?;
    // Modules of features switched off since the last build go.
    if root.exists() {
        let keep: BTreeSet<PathBuf> = generated.files.iter().map(|f| root.join(&f.path)).collect();
        remove_others(&root, &keep)?;
    }
    cdk_from_rust_codegen::write(&root, &generated.files)?;
    let include = format!(
        "#[rustfmt::skip]\n#[path = {:?}]\nmod generated;\n",
        root.join("mod.rs").to_string_lossy()
    );
    cdk_from_rust_codegen::write(
        out_dir,
        &[cdk_from_rust_codegen::File {
            path: "generated.rs".into(),
            contents: include,
        }],
    )
}

fn remove_others(dir: &Path, keep: &BTreeSet<PathBuf>) -> Result<(), CodegenError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CodegenError::Write {
        path: dir.into(),
        source,
    })?;
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            remove_others(&path, keep)?;
        } else if !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|source| CodegenError::Write { path, source })?;
        }
    }
    Ok(())
}
