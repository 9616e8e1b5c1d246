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
    /// `review`: a template or change-set file is missing, unreadable or not what it claims.
    pub const REVIEW_INPUT: u8 = 4;
    /// `review`: CloudFormation could not be asked (credentials, region, network), refused, or the
    /// change set is not reviewable.
    pub const REVIEW_AWS: u8 = 5;
    // `review` also exits with `tracker_review::EXIT_DATA_LOSS` (10) and `EXIT_WIDENING` (11).
}

const REVIEW_HELP: &str = "\
Baselines: `golden` = stacks/golden/<STACK>.template.json (default offline), `deployed` = the
stack's template in CloudFormation (GetTemplate; default with --change-set), or a template file.
Run `npx cdk synth <STACK>` first: the review reads cdk.out/<STACK>.template.json.

AWS (only for `deployed` and --change-set), through the AWS SDK's standard chain, as the AWS CLI:
region from --region, AWS_REGION, AWS_DEFAULT_REGION or the profile; credentials from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, web identity (AWS_WEB_IDENTITY_TOKEN_FILE
+ AWS_ROLE_ARN), AWS_PROFILE (SSO after `aws sso login`, assumed roles, credential_process), or
container/instance metadata; endpoint AWS_ENDPOINT_URL_CLOUDFORMATION or AWS_ENDPOINT_URL when set.

Exit codes:
   0  safe: no data loss, no widened access
  10  data loss: a stateful resource is replaced or deleted (wins over 11)
  11  widening: IAM grants, security-group rules or source-IP conditions widen access
   2  usage error
   4  a template or change-set file is missing or invalid
   5  CloudFormation could not be asked or refused, or the change set is not reviewable";

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
    /// Review a stack's changes: replacements, deletions, data loss, widened access.
    #[command(after_help = REVIEW_HELP)]
    Review {
        /// The stack (its CloudFormation name), e.g. TrackerStaging.
        stack: String,
        /// What to compare against: golden, deployed, or a template file.
        #[arg(long)]
        baseline: Option<tracker_review::Baseline>,
        /// The new template. Default: cdk.out/<STACK>.template.json.
        #[arg(long)]
        template: Option<PathBuf>,
        /// Review this change set (e.g. from `cdk deploy --method=prepare-change-set`) through
        /// the CloudFormation API.
        #[arg(long, conflicts_with = "change_set_file")]
        change_set: Option<String>,
        /// Review the JSON of `aws cloudformation describe-change-set --output json`.
        #[arg(long)]
        change_set_file: Option<PathBuf>,
        /// The AWS region. Default: AWS_REGION, else AWS_DEFAULT_REGION.
        #[arg(long)]
        region: Option<String>,
        /// Output format: text, markdown (a pull-request comment) or json (for CI).
        #[arg(long, default_value = "text")]
        format: tracker_review::Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Synth { out } => {
            let mut runner = Runner::default();
            if let Some(out) = out {
                runner.outdir = out;
            }
            match tracker_stacks::app_program_from_env() {
                Ok((program, env)) => {
                    runner.env = env;
                    synth(&runner, &program)
                }
                Err(e) => {
                    // Rejected before the shim ran (settings, construct validation): an assembly
                    // from an earlier run must not be left looking like this run's.
                    cdk_from_rust::runner::remove_assembly(&runner.outdir);
                    eprintln!("error: {e}");
                    ExitCode::from(exit::INFRASTRUCTURE)
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
        Command::Review {
            stack,
            baseline,
            template,
            change_set,
            change_set_file,
            region,
            format,
        } => {
            let opts = tracker_review::Options {
                stack,
                baseline,
                template,
                change_set: change_set
                    .map(tracker_review::ChangeSetSource::Name)
                    .or(change_set_file.map(tracker_review::ChangeSetSource::File)),
                region,
                root: PathBuf::from("."),
            };
            match tracker_review::run(&opts) {
                Ok(report) => {
                    print!("{}", report.render(format));
                    ExitCode::from(report.exit_code())
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(match e.kind() {
                        tracker_review::ErrorKind::Usage => 2,
                        tracker_review::ErrorKind::Input => exit::REVIEW_INPUT,
                        tracker_review::ErrorKind::Aws => exit::REVIEW_AWS,
                    })
                }
            }
        }
    }
}

/// Replays `program` into the runner's output directory (the runner removes the assembly on
/// failure).
fn synth(runner: &Runner, program: &cdk_from_rust::program::Program) -> ExitCode {
    match runner.run(program) {
        Ok(done) => {
            for app in done.synthesized {
                eprintln!("synthesized {} into {}", app.stacks.join(", "), app.outdir);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                RunError::Operation { .. } | RunError::Synthesis { .. } => exit::INFRASTRUCTURE,
                _ => exit::TOOLCHAIN,
            })
        }
    }
}
