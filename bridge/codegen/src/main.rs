//! `cargo run -p cdk-from-rust-codegen [-- --verify]`: regenerates (or verifies) the bindings in
//! `bridge/` from the jsii assemblies in the repository's `node_modules`.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let verify = std::env::args().any(|a| a == "--verify");
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen lives in bridge/");
    let node_modules = bridge
        .parent()
        .expect("bridge lives in the repository")
        .join("node_modules");
    let result = cdk_from_rust_codegen::generate(&node_modules, bridge).and_then(|files| {
        let lines: usize = files.iter().map(|f| f.contents.lines().count()).sum();
        if verify {
            cdk_from_rust_codegen::verify(bridge, &files)?;
            eprintln!(
                "bindings are up to date ({} files, {lines} lines)",
                files.len()
            );
        } else {
            cdk_from_rust_codegen::write(bridge, &files)?;
            eprintln!("wrote {} files, {lines} lines", files.len());
        }
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
