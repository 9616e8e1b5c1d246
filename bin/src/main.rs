//! `tracker-cdk`: the CDK app that `cdk.json` runs, and a few tools around it.
//!
//! `main` parses, calls the libraries, and maps errors to the exit codes below.

mod cache;

use std::path::PathBuf;
use std::process::ExitCode;

use cdk_from_rust::runner::{RunError, Runner};
use clap::{Parser, Subcommand};

/// Exit codes. 2 is clap's usage error.
mod exit {
    /// The infrastructure was rejected: by a construct's validation, by aws-cdk-lib, or at synthesis.
    pub const INFRASTRUCTURE: u8 = 1;
    /// The toolchain is not usable: shim and Program versions disagree, the shim could not be
    /// started or written to its cache directory, or it crashed.
    pub const TOOLCHAIN: u8 = 3;
    /// `stack-policy`: the template is missing or invalid (as `review`'s
    /// `tracker_review::EXIT_INPUT`).
    pub const REVIEW_INPUT: u8 = tracker_review::EXIT_INPUT;
    /// Node.js is not installed (no `node` on the PATH, or not where `CDK_FROM_RUST_NODE` points).
    pub const NODE_MISSING: u8 = 6;
    /// `node_modules` is missing or incomplete where the app runs: run `npm ci` in the project.
    pub const NODE_MODULES: u8 = 7;
    /// `node_modules` holds another aws-cdk-lib (or constructs, cdk-nag) version than the one the
    /// bindings were generated from.
    pub const PACKAGE_VERSIONS: u8 = 8;
    /// `diagram` / `cost`: the output could not be made or written (a PNG from a build without
    /// the `png` feature, an unwritable file).
    pub const OUTPUT: u8 = 9;
    // `review` exits with the codes of `tracker_review::EXIT_CODES` (0, 2, 4, 5, 10, 11, 12);
    // `release` with the codes of `tracker_release::exit` (5, 20-24).
}

const SYNTH_HELP: &str = "\
Run from the project directory (the one with package.json and node_modules; any subdirectory
works too): aws-cdk-lib is loaded from the node_modules found there. The Node shim is built into
this binary and written once to $XDG_CACHE_HOME/cdk-from-rust (else ~/.cache/cdk-from-rust).

Exit codes:
   0  synthesized
   1  the infrastructure was rejected (construct validation, aws-cdk-lib, synthesis); every
      problem is listed with its Rust file:line and construct path
   2  usage error
   3  the toolchain is not usable (shim and Program versions disagree, the shim crashed)
   6  Node.js is not installed: install Node.js 20+, or set CDK_FROM_RUST_NODE
   7  node_modules is missing or incomplete: run `npm ci` in the project directory
   8  node_modules has another aws-cdk-lib/constructs/cdk-nag version than the bindings:
      `npm ci` with the project's package-lock.json (or install the version the message names)
On any failure the assembly in the output directory is removed.

Synthesis cache: when the Program, the CDK_*/AWS_* environment (but CDK_OUTDIR), the context,
package-lock.json, the installed aws-cdk-lib/constructs/cdk-nag and the shim are all unchanged,
the assembly of the last such run is restored instead of replayed (what aws-cdk-lib prints during
synthesis is then not printed again). Kept in $TRACKER_CDK_CACHE_DIR, else
$XDG_CACHE_HOME/tracker-cdk/synth (else ~/.cache/tracker-cdk/synth), at most 8 assemblies; clear
it by deleting that directory.

Validation cache: aws-cdk-lib's CloudFormation validation runs per stack template, in worker
threads (CDK_FROM_RUST_VALIDATION_JOBS, default the cores, at most 4; 1 = one after another),
and a template whose bytes and validator inputs are unchanged keeps its earlier result (stderr
says which stacks were validated). Kept in $CDK_FROM_RUST_VALIDATION_CACHE, else
$XDG_CACHE_HOME/cdk-from-rust/validation (else ~/.cache/cdk-from-rust/validation), at most 256
small files; clear it by deleting that directory.

Off: --no-cache or TRACKER_CDK_NO_CACHE=1 (both caches); TRACKER_CDK_NO_CACHE=synth (the synthesis
cache only).";

const REVIEW_HELP: &str = "\
Baselines: `golden` = stacks/golden/<STACK>.template.json (default offline), `deployed` = the
stack's template in CloudFormation (GetTemplate; default with --change-set), or a template file.
Run `npx cdk synth <STACK>` first: the review reads cdk.out/<STACK>.template.json.
Several stacks are reviewed together (a resource moving between them is reported as a move); in a
data stack (a name ending in `Data`) any replacement or deletion is data loss, except of what its
construct declares replaceable compute.

A change-set file must be the whole JSON of `aws cloudformation describe-change-set
--include-property-values --output json` for the stack reviewed (not a template, not
`list-change-sets`, not one page with NextToken, no nested change sets); else exit 4.

Acceptances: `--accept TARGET=REASON` (repeatable) or `--accept-file FILE` (one TARGET=REASON a
line, # comments) accept a known risk: TARGET is a construct path (with or without the stack), a
prefix of one, or a logical id. Accepted risks are listed with their reasons; an acceptance that
matches no risky change is an error (exit 12).

AWS (only for `deployed` and --change-set), through the AWS SDK's standard chain, as the AWS CLI:
region from --region, AWS_REGION, AWS_DEFAULT_REGION or the profile; credentials from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, web identity (AWS_WEB_IDENTITY_TOKEN_FILE
+ AWS_ROLE_ARN), AWS_PROFILE (SSO after `aws sso login`, assumed roles, credential_process), or
container/instance metadata; endpoint AWS_ENDPOINT_URL_CLOUDFORMATION or AWS_ENDPOINT_URL when set.
";

/// `review --help`'s epilogue: [`REVIEW_HELP`] and the exit codes of `tracker_review::EXIT_CODES`.
fn review_help() -> String {
    format!("{REVIEW_HELP}\n{}", tracker_review::exit_code_table())
}

const DIAGRAM_HELP: &str = "\
Draws the environment from the model the stacks are built from (stacks/src/topology.rs): the same
settings (cdk.json's context, or the CDK CLI's), the same service tables, the same declared
connections (`api -> db:5432`). Solid edges are declared dependencies (each one a security-group
rule and the <NAME>_HOST/<NAME>_PORT variables), dashed edges traffic the infrastructure routes.
Laid out by layout-rs (pure Rust); PNG through resvg, in a build with `--features png`.
Offline: nothing is synthesized and AWS is not asked.

Exit codes:
   0  drawn
   1  the settings were rejected (as at synthesis)
   2  usage error (an unknown stack or environment, an unknown file extension)
   9  the picture could not be made or written (PNG without the `png` feature, an unwritable
      file)";

const COST_HELP: &str = "\
Prices the synthesized templates (run `npx cdk synth` first; cdk.out/<STACK>.template.json) with
the committed, dated price table cost/prices.json (on-demand list prices per region, each with the
AWS pricing page it comes from) and usage assumptions (traffic, stored data, capacity units),
printed with the estimate and overridden with --assume KEY=VALUE. The region is the stack's in
cdk.out/manifest.json (or --region). Fargate counts each service's desired tasks; the Spot share
follows its capacity-provider strategy at the table's Spot discount.

Exit codes:
   0  estimated
   2  usage error (an unknown stack, a bad --assume)
   4  a template is missing or not a template (run `npx cdk synth`), or no region is known
   9  the estimate could not be made: a price the table lacks (each named), a property that is
      not a literal";

const RELEASE_HELP: &str = "\
Order: (1) read the stack's outputs (the tag the services run); (2) `cdk deploy STACK
--exclusively -c <env>.imageTag=<current> -c <env>.migrationImageTag=<TAG>`: only the migration
task definition moves to TAG; (3) run it (ECS RunTask, Fargate, the subnets and security group of
the stack's outputs); (4) print its CloudWatch log until it stops; (5) only if it exited 0, `cdk
deploy STACK --exclusively -c <env>.imageTag=<TAG> -c <env>.migrationImageTag=<TAG>`.
Arguments after `--` go to both `cdk deploy`s (e.g. `-- --role-arn ARN`). The stack must have been
deployed once (`npx cdk deploy STACK`). AWS access as for `review` (the SDK's standard chain); a
build with `--features aws`.

Exit codes:
   0  released
   2  usage error
   5  AWS could not be asked or refused a call (or this build has no `aws` feature)
  20  the migration exited non-zero: the services were not deployed
  21  the migration task did not start its container: the services were not deployed
  22  the migration still ran at --timeout-minutes (left running): the services were not deployed
  23  a `cdk deploy` failed (the message says which)
  24  the stack is not deployed, lacks the release outputs, or the migration deploy did not
      leave the expected tags";

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
    #[command(after_help = SYNTH_HELP)]
    Synth {
        /// Output directory. Default: `$CDK_OUTDIR` as set by the CDK CLI, else `cdk.out`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replay this recorded Program (JSON, as `program` prints it) instead of the tracker app.
        #[arg(long, value_name = "FILE")]
        program: Option<PathBuf>,
        /// Always replay and validate: use neither the synthesis cache nor the validation cache
        /// (also `TRACKER_CDK_NO_CACHE=1`; `TRACKER_CDK_NO_CACHE=synth` turns off the synthesis
        /// cache only).
        #[arg(long)]
        no_cache: bool,
    },
    /// Print the recorded Program (the JSON the Node shim replays).
    Program,
    /// Print the JSON Schema of the Program wire format.
    Schema,
    /// Review a stack's changes: replacements, deletions, data loss, widened access.
    #[command(after_help = review_help())]
    Review {
        /// The stack (its CloudFormation name), e.g. TrackerStaging. Several stacks (e.g.
        /// TrackerStagingData TrackerStaging) are reviewed together: a resource leaving one and
        /// entering another under the same logical id is reported as a move.
        #[arg(required = true, num_args = 1..)]
        stacks: Vec<String>,
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
        /// Accept a known risk: TARGET=REASON (TARGET a construct path, a prefix of one, or a
        /// logical id). Repeatable.
        #[arg(long, value_name = "TARGET=REASON")]
        accept: Vec<String>,
        /// Acceptances from a (committed) file: one TARGET=REASON a line, # comments.
        #[arg(long, value_name = "FILE")]
        accept_file: Option<PathBuf>,
    },
    /// Release an image to a services stack: migrate on the new image first, then roll the
    /// services out (only if the migration exited 0).
    #[command(after_help = RELEASE_HELP)]
    Release {
        /// The services stack: TrackerStaging or TrackerProduction.
        stack: String,
        /// The image tag (or sha256: digest) to release, already pushed to the tracker
        /// repositories.
        #[arg(long)]
        image_tag: String,
        /// The CDK CLI command (split on spaces).
        #[arg(long, default_value = "npx cdk")]
        cdk: String,
        /// The AWS region. Default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's.
        #[arg(long)]
        region: Option<String>,
        /// Seconds between two looks at the migration task.
        #[arg(long, default_value_t = 6)]
        poll_seconds: u64,
        /// How long the migration may run, in minutes.
        #[arg(long, default_value_t = 30)]
        timeout_minutes: u64,
        /// Passed to both `cdk deploy`s.
        #[arg(last = true)]
        cdk_args: Vec<String>,
    },
    /// Draw an environment: the ALB and its hosts, services, workers, Anisette and its file
    /// system, the data plane, the static sites, and the connections services declare.
    #[command(after_help = DIAGRAM_HELP)]
    Diagram {
        /// The environment (staging, production) or one of its stacks (TrackerStaging,
        /// TrackerProductionData, ...).
        stack: String,
        /// Write the picture here; its format follows the extension (.svg, .png, .dot).
        /// Default: SVG on standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The format, when it is not the extension's: svg, png or dot.
        #[arg(long)]
        format: Option<DiagramFormat>,
    },
    /// Estimate the monthly cost of stacks from their synthesized templates.
    #[command(after_help = COST_HELP)]
    Cost {
        /// Stacks (TrackerProduction, TrackerProductionData, ...) or environments (staging,
        /// production: its data and services stacks).
        #[arg(required = true, num_args = 1..)]
        stacks: Vec<String>,
        /// The cloud assembly the templates are read from.
        #[arg(long, default_value = "cdk.out")]
        assembly: PathBuf,
        /// The region whose prices apply. Default: the stack's in the assembly's manifest.
        #[arg(long)]
        region: Option<String>,
        /// A usage assumption, KEY=VALUE (repeatable; the keys are listed with the estimate).
        #[arg(long, value_name = "KEY=VALUE")]
        assume: Vec<String>,
        /// Print JSON (lines, totals by kind and by construct, assumptions, price date).
        #[arg(long)]
        json: bool,
    },
    /// Print the CloudFormation stack policy of a data stack (JSON): replacement and deletion of
    /// its stateful and retained resources denied, every other update allowed. Apply it with
    /// `aws cloudformation set-stack-policy --stack-name STACK --stack-policy-body file://p.json`.
    StackPolicy {
        /// The stack, e.g. TrackerProductionData.
        stack: String,
        /// The template. Default: cdk.out/<STACK>.template.json (run `npx cdk synth` first).
        #[arg(long)]
        template: Option<PathBuf>,
        /// The documented override: leave this logical id out of the denial (repeatable), for the
        /// one update that replaces or deletes it on purpose.
        #[arg(long)]
        allow: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum DiagramFormat {
    Svg,
    Png,
    Dot,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Diagram { stack, out, format } => diagram(&stack, out.as_deref(), format),
        Command::Cost {
            stacks,
            assembly,
            region,
            assume,
            json,
        } => cost(&stacks, &assembly, region.as_deref(), &assume, json),
        Command::Synth {
            out,
            program,
            no_cache,
        } => {
            let mut runner = Runner::default();
            if let Some(out) = out {
                runner.outdir = out;
            }
            let off = if no_cache {
                cache::Off::All
            } else {
                cache::off_by_env()
            };
            if off == cache::Off::All {
                runner.validation_cache = None;
            }
            let cache =
                (off == cache::Off::Nothing).then(|| cache::SynthCache::new(cache::default_dir()));
            if let Some(file) = program {
                return match read_program(&file) {
                    Ok(program) => synth_cached(&runner, &program, cache.as_ref()),
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::from(2)
                    }
                };
            }
            match tracker_stacks::app_program_from_env() {
                Ok((program, env)) => {
                    runner.env = env;
                    synth_cached(&runner, &program, cache.as_ref())
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
        Command::Release {
            stack,
            image_tag,
            cdk,
            region,
            poll_seconds,
            timeout_minutes,
            cdk_args,
        } => {
            let Some(environment) = tracker_stacks::Environment::ALL
                .into_iter()
                .find(|e| e.stack_name() == stack)
            else {
                let stacks: Vec<&str> = tracker_stacks::Environment::ALL
                    .iter()
                    .map(|e| e.stack_name())
                    .collect();
                eprintln!(
                    "error: {stack} is not a services stack: release one of {}",
                    stacks.join(", ")
                );
                return ExitCode::from(2);
            };
            let mut plan = tracker_release::Release::new(&stack, environment.name(), &image_tag);
            plan.poll_interval = std::time::Duration::from_secs(poll_seconds.max(1));
            plan.timeout = std::time::Duration::from_secs(timeout_minutes * 60);
            let cli = tracker_release::cdk::CdkCli {
                command: cdk.split_whitespace().map(str::to_string).collect(),
                extra_args: cdk_args,
                ..Default::default()
            };
            let result = tracker_release::aws::AwsSteps::new(region.as_deref(), cli)
                .and_then(|mut steps| tracker_release::release(&mut steps, &plan));
            match result {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
        Command::StackPolicy {
            stack,
            template,
            allow,
        } => {
            let path =
                template.unwrap_or_else(|| PathBuf::from(format!("cdk.out/{stack}.template.json")));
            let hint = format!("Synthesize first: `npx cdk synth {stack}`; or pass --template.");
            match tracker_review::read_template(&path, &path.display().to_string(), &hint) {
                Ok(t) => {
                    let policy = tracker_review::policy::stack_policy(&t, &allow);
                    println!("{}", serde_json::to_string_pretty(&policy).expect("JSON"));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(exit::REVIEW_INPUT)
                }
            }
        }
        Command::Review {
            stacks,
            baseline,
            template,
            change_set,
            change_set_file,
            region,
            format,
            accept,
            accept_file,
        } => {
            if stacks.len() > 1
                && (template.is_some() || change_set.is_some() || change_set_file.is_some())
            {
                eprintln!(
                    "error: --template, --change-set and --change-set-file name one stack's \
                     files: review one stack with them"
                );
                return ExitCode::from(tracker_review::EXIT_USAGE);
            }
            let mut acceptances = Vec::new();
            let mut problems = Vec::new();
            for a in &accept {
                match tracker_review::accept::parse(a, "--accept") {
                    Ok(a) => acceptances.push(a),
                    Err(e) => problems.push(e),
                }
            }
            if let Some(file) = &accept_file {
                match tracker_review::accept::read_file(file, &file.display().to_string()) {
                    Ok(mut a) => acceptances.append(&mut a),
                    Err(e) => problems.push(e.to_string()),
                }
            }
            if !problems.is_empty() {
                eprintln!("error: {}", problems.join("\n"));
                return ExitCode::from(tracker_review::EXIT_INPUT);
            }
            let mut reports = Vec::new();
            for stack in stacks {
                let opts = tracker_review::Options {
                    stack,
                    baseline: baseline.clone(),
                    template: template.clone(),
                    change_set: change_set
                        .clone()
                        .map(tracker_review::ChangeSetSource::Name)
                        .or(change_set_file
                            .clone()
                            .map(tracker_review::ChangeSetSource::File)),
                    region: region.clone(),
                    root: PathBuf::from("."),
                };
                match tracker_review::run(&opts) {
                    Ok(report) => reports.push(report),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(e.exit_code());
                    }
                }
            }
            tracker_review::moves::link(&mut reports);
            if let Err(e) = tracker_review::accept::apply(&mut reports, &acceptances) {
                eprintln!("error: {e}");
                return ExitCode::from(e.exit_code());
            }
            if reports.len() == 1 || format != tracker_review::Format::Json {
                let rendered: Vec<String> = reports.iter().map(|r| r.render(format)).collect();
                print!("{}", rendered.join("\n"));
            } else {
                let all: Vec<serde_json::Value> = reports.iter().map(|r| r.to_json()).collect();
                println!("{}", serde_json::to_string_pretty(&all).expect("JSON"));
            }
            // Data loss wins over widening, widening over safe.
            let codes: Vec<u8> = reports.iter().map(|r| r.exit_code()).collect();
            ExitCode::from(
                [
                    tracker_review::EXIT_DATA_LOSS,
                    tracker_review::EXIT_WIDENING,
                ]
                .into_iter()
                .find(|c| codes.contains(c))
                .unwrap_or(tracker_review::EXIT_SAFE),
            )
        }
    }
}

/// `diagram`: the picture of the environment of `stack`, to `out` or standard output.
fn diagram(stack: &str, out: Option<&std::path::Path>, format: Option<DiagramFormat>) -> ExitCode {
    use tracker_stacks::topology::{self, Format};
    let Some(environment) = topology::environment_of(stack) else {
        eprintln!(
            "error: {stack} is neither an environment nor one of its stacks: one of {}",
            topology::environment_names()
        );
        return ExitCode::from(2);
    };
    let format = match (format, out) {
        (Some(DiagramFormat::Svg), _) => Format::Svg,
        (Some(DiagramFormat::Png), _) => Format::Png,
        (Some(DiagramFormat::Dot), _) => Format::Dot,
        (None, None) => Format::Svg,
        (None, Some(path)) => match Format::of_path(path) {
            Some(f) => f,
            None => {
                eprintln!(
                    "error: {}: the extension names no format: .svg, .png or .dot (or --format)",
                    path.display()
                );
                return ExitCode::from(2);
            }
        },
    };
    let settings = match topology::settings_from_env(environment) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::INFRASTRUCTURE);
        }
    };
    let picture = match topology::draw(&settings, format) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::OUTPUT);
        }
    };
    write_output(out, &picture)
}

/// `cost`: the estimate of `names` (stacks or environments) from the templates in `assembly`.
fn cost(
    names: &[String],
    assembly: &std::path::Path,
    region: Option<&str>,
    assume: &[String],
    json: bool,
) -> ExitCode {
    let assumptions = match tracker_cost::Assumptions::default().with_overrides(assume) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let stacks = tracker_stacks::topology::stacks_of(names);
    let mut templates = Vec::new();
    for stack in &stacks {
        let path = assembly.join(format!("{stack}.template.json"));
        let hint = format!("Synthesize first: `npx cdk synth {stack}` (or --assembly DIR).");
        match tracker_review::read_template(&path, &path.display().to_string(), &hint) {
            Ok(t) => templates.push((stack.as_str(), t)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(exit::REVIEW_INPUT);
            }
        }
    }
    let manifest = std::fs::read_to_string(assembly.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let region = match region.map(str::to_string).or_else(|| {
        stacks
            .iter()
            .find_map(|s| tracker_cost::region_from_manifest(&manifest, s))
    }) {
        Some(r) => r,
        None => {
            eprintln!(
                "error: no region for {} in {}: pass --region",
                stacks.join(", "),
                assembly.join("manifest.json").display()
            );
            return ExitCode::from(exit::REVIEW_INPUT);
        }
    };
    let refs: Vec<(&str, &serde_json::Value)> = templates.iter().map(|(s, t)| (*s, t)).collect();
    let prices = tracker_cost::PriceTable::committed();
    match tracker_cost::estimate(&refs, &region, &prices, &assumptions) {
        Ok(e) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&e.to_json()).expect("JSON")
            );
            ExitCode::SUCCESS
        }
        Ok(e) => {
            print!("{}", e.render_text());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::OUTPUT)
        }
    }
}

/// Writes `bytes` to `out`, or to standard output.
fn write_output(out: Option<&std::path::Path>, bytes: &[u8]) -> ExitCode {
    use std::io::Write as _;
    let written = match out {
        Some(path) => std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(bytes)
            .map_err(|e| format!("standard output: {e}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write {e}");
            ExitCode::from(exit::OUTPUT)
        }
    }
}

/// Reads a recorded Program from a JSON file.
fn read_program(file: &std::path::Path) -> anyhow::Result<cdk_from_rust::program::Program> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the Program {}", file.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a cdk-from-rust Program", file.display()))
}

/// [`synth`], unless `cache` holds the assembly of the same inputs: then that is restored into
/// the runner's output directory. A successful synthesis is stored. A cache that cannot be read
/// or written only warns.
fn synth_cached(
    runner: &Runner,
    program: &cdk_from_rust::program::Program,
    cache: Option<&cache::SynthCache>,
) -> ExitCode {
    let Some(cache) = cache else {
        return synth(runner, program);
    };
    let key = cache::Inputs::collect(&program.to_json(), &runner.env).key();
    match cache.restore(&key, &runner.outdir) {
        Ok(true) => {
            eprintln!(
                "restored the assembly of unchanged inputs from the synthesis cache {} into {} \
                 (--no-cache to synthesize anew)",
                cache.dir.display(),
                runner.outdir.display()
            );
            return ExitCode::SUCCESS;
        }
        Ok(false) => {}
        Err(e) => eprintln!(
            "warning: the synthesis cache {} could not be read ({e}); synthesizing",
            cache.dir.display()
        ),
    }
    let code = synth(runner, program);
    if code == ExitCode::SUCCESS {
        if let Err(e) = cache.store(&key, &runner.outdir) {
            eprintln!(
                "warning: the assembly was not stored in the synthesis cache {}: {e}",
                cache.dir.display()
            );
        }
    }
    code
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
                RunError::NodeMissing { .. } => exit::NODE_MISSING,
                RunError::Packages { .. } => exit::NODE_MODULES,
                RunError::PackageVersions { .. } => exit::PACKAGE_VERSIONS,
                RunError::Refused { .. }
                | RunError::Spawn { .. }
                | RunError::ShimCache { .. }
                | RunError::Crashed { .. } => exit::TOOLCHAIN,
            })
        }
    }
}
