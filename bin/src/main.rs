//! `tracker-cdk`: the CDK app that `cdk.json` runs, and a few tools around it.
//!
//! `main` parses, calls the libraries, and maps errors to the exit codes below.

use std::path::PathBuf;
use std::process::ExitCode;

use cdk_from_rust::runner::{RunError, Runner};
use clap::{Parser, Subcommand};

/// Exit codes. 2 is clap's usage error.
mod exit {
    /// The infrastructure was rejected: by a construct's validation, by aws-cdk-lib, or at synthesis.
    pub const INFRASTRUCTURE: u8 = 1;
    /// The toolchain is not usable: Node.js missing, shim and Program versions disagree, shim crashed.
    pub const TOOLCHAIN: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "tracker-cdk",
    version,
    about = "The tracker's infrastructure, in Rust on aws-cdk-lib"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Synthesize the cloud assembly (the CDK app contract: what `cdk.json` runs).
    Synth {
        /// Output directory. Default: `$CDK_OUTDIR` as set by the CDK CLI, else `cdk.out`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the recorded Program (the JSON the Node shim replays).
    Program,
    /// Print the JSON Schema of the Program wire format.
    Schema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Synth { out } => {
            let (program, env) = match tracker_stacks::app_program_from_env() {
                Ok(found) => found,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(exit::INFRASTRUCTURE);
                }
            };
            let mut runner = Runner {
                env,
                ..Runner::default()
            };
            if let Some(out) = out {
                runner.outdir = out;
            }
            match runner.run(&program) {
                Ok(done) => {
                    for app in done.synthesized {
                        eprintln!("synthesized {} into {}", app.stacks.join(", "), app.outdir);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(match e {
                        RunError::Operation { .. } | RunError::Synthesis { .. } => {
                            exit::INFRASTRUCTURE
                        }
                        _ => exit::TOOLCHAIN,
                    })
                }
            }
        }
        Command::Program => match tracker_stacks::app_program_from_env() {
            Ok((program, _)) => {
                println!("{}", program.to_json());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(exit::INFRASTRUCTURE)
            }
        },
        Command::Schema => {
            print!("{}", cdk_from_rust::program::json_schema());
            ExitCode::SUCCESS
        }
    }
}
