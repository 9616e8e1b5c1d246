//! Regenerates `review/data/create-only-properties.json` from the cfn-lint installed in
//! `.venv` (`make setup`). Usage: `cargo run -p tracker-review --example write-replacement-table`
//! (optionally `-- <path to venv>`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let venv = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(tracker_review::spec::workspace_venv);
    match tracker_review::spec::generate_table(&venv) {
        Ok(text) => {
            let path = tracker_review::spec::table_path();
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("error: writing {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
