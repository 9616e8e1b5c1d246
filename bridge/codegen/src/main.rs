//! `cargo run -p cdk-from-rust-codegen [-- --verify | --library <npm package>]`: regenerates (or
//! verifies) the bindings in `bridge/` from the jsii assemblies in the repository's
//! `node_modules`. `--library` binds one more jsii library (installed in `node_modules` first, e.g.
//! `npm install --save-exact cdk-monitoring-constructs@10.2.0`): it is added to
//! `bridge/codegen/libraries.txt` and gets its own module and cargo feature, outside `all`.

use std::path::Path;
use std::process::ExitCode;

use cdk_from_rust_codegen::{CodegenError, Library};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verify = args.iter().any(|a| a == "--verify");
    let library = match args.iter().position(|a| a == "--library") {
        Some(i) => match args.get(i + 1) {
            Some(name) => Some(name.clone()),
            None => {
                eprintln!("error: --library needs the npm package name of a jsii library");
                return ExitCode::from(2);
            }
        },
        None => None,
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
        let files = cdk_from_rust_codegen::generate_with(&node_modules, bridge, &libraries)?;
        let lines: usize = files.iter().map(|f| f.contents.lines().count()).sum();
        if verify {
            cdk_from_rust_codegen::verify(bridge, &files)?;
            eprintln!(
                "bindings are up to date ({} files, {lines} lines)",
                files.len()
            );
        } else {
            cdk_from_rust_codegen::write(bridge, &files)?;
            if let Some(package) = &library {
                cdk_from_rust_codegen::add_library(bridge, package)?;
            }
            eprintln!("wrote {} files, {lines} lines", files.len());
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
