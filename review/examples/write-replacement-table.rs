//! Regenerates the tables generated from the provider schemas of the cfn-lint installed in
//! `.venv` (`make setup`): `review/data/create-only-properties.json` (replacement) and
//! `review/data/policy-properties.json` (policy documents). Usage:
//! `cargo run -p tracker-review --example write-replacement-table` (optionally `-- <path to venv>`).

use std::path::PathBuf;
use std::process::ExitCode;

use tracker_review::spec;

fn main() -> ExitCode {
    let venv = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(spec::workspace_venv);
    let tables = [
        (spec::table_path(), spec::generate_table(&venv)),
        (
            spec::policy_table_path(),
            spec::generate_policy_table(&venv),
        ),
    ];
    for (path, text) in tables {
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
