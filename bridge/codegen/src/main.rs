//! `cargo run -p cdk-from-rust-codegen [-- --verify | --library <npm package> | --emit-all <dir>]`:
//! regenerates (or verifies) the committed feature tables of `bridge/Cargo.toml` and
//! `bridge/core/Cargo.toml` from the jsii assemblies in the repository's `node_modules`, and the
//! shard crates `bridge/shards/*` from `SHARDS`. The bindings themselves are generated at build
//! time by `bridge/core/build.rs`, for the enabled features only.
//!
//! `--library` binds one more jsii library (installed in `node_modules` first, e.g.
//! `npm install --save-exact cdk-monitoring-constructs@10.2.0`): it is added to
//! `bridge/codegen/libraries.txt` and gets its own module and cargo feature, outside `all`.
//! `--emit-all <dir>` writes every module's code to `<dir>` (to read or measure the whole library).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use cdk_from_rust_codegen::{CodegenError, Library};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verify = args.iter().any(|a| a == "--verify");
    let value = |flag: &str| match args.iter().position(|a| a == flag) {
        Some(i) => match args.get(i + 1) {
            Some(v) => Ok(Some(v.clone())),
            None => Err(format!("{flag} needs a value")),
        },
        None => Ok(None),
    };
    let (library, emit_all) = match (value("--library"), value("--emit-all")) {
        (Ok(l), Ok(e)) => (l, e.map(PathBuf::from)),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen lives in bridge/");
    let node_modules = bridge
        .parent()
        .expect("bridge lives in the repository")
        .join("node_modules");
    let result = cdk_from_rust_codegen::read_libraries(bridge).and_then(|mut libraries| {
        if let Some(package) = &library {
            if !libraries.iter().any(|l| &l.package == package) {
                libraries.push(Library {
                    package: package.clone(),
                    in_all: false,
                });
            }
        }
        let start = Instant::now();
        let assemblies = cdk_from_rust_codegen::load(&node_modules, &libraries)?;
        let loaded = start.elapsed();
        if let Some(dir) = &emit_all {
            let all = cdk_from_rust_codegen::generate_all(&assemblies, &libraries, dir);
            let generated = start.elapsed();
            cdk_from_rust_codegen::write(dir, &all.files)?;
            let lines: usize = all.files.iter().map(|f| f.contents.lines().count()).sum();
            let bytes: usize = all.files.iter().map(|f| f.contents.len()).sum();
            eprintln!(
                "wrote {} files, {lines} lines, {bytes} bytes to {} (load {:.1?}, generate {:.1?})",
                all.files.len(),
                dir.display(),
                loaded,
                generated - loaded
            );
            return Ok(());
        }
        let files = cdk_from_rust_codegen::feature_table(bridge, &assemblies, &libraries)?;
        if verify {
            cdk_from_rust_codegen::verify(bridge, &files)?;
            eprintln!("the feature tables and shard crates under bridge/ are up to date");
        } else {
            cdk_from_rust_codegen::write(bridge, &files)?;
            if let Some(package) = &library {
                cdk_from_rust_codegen::add_library(bridge, package)?;
            }
            eprintln!("wrote the feature tables of bridge/Cargo.toml and bridge/core/Cargo.toml, and bridge/shards/");
        }
        Ok::<(), CodegenError>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let (Some(package), CodegenError::Load(_)) = (&library, &e) {
                eprintln!("(install it first: `npm install --save-exact {package}@<version>`)");
            }
            ExitCode::from(1)
        }
    }
}
