//! `scale N`: a data stack (`ScaleData`: a Network and a Platform) and N private workers spread
//! over as many services stacks (`Scale1`, `Scale2`, ...) as CloudFormation's quotas need, at most
//! [`WORKERS_PER_STACK`] each, synthesized into `$CDK_OUTDIR` (or `cdk.out`): how synthesis grows
//! with the number of services (`bench/synth.py`). Every synthesized stack is then checked against
//! 80 % of each quota (`tracker_stacks::limits`), so what it measures could be deployed; it fails
//! otherwise. `scale N --program` only records the Program; `scale --check DIR` only checks the
//! assembly in `DIR` against the quotas (the benchmark replays the Program in the shim itself, to
//! measure the Node process alone), with the environment `scale --shim-env` prints (JSON).

use cdk_from_rust::aws_cdk_lib::{App, Environment, Stack, StackProps};
use tracker_constructs::private_worker_service::{PrivateWorkerService, PrivateWorkerServiceProps};
use tracker_constructs::task_size::TaskSize;
use tracker_constructs::{Network, NetworkProps, Platform, PlatformProps};

const CERT: &str =
    "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

/// Workers in one services stack. A worker is 14 resources (4 of them alarms) and about 13 KB of
/// template (measured on aws-cdk-lib 2.276): 25 make 350 resources and about 330 KB, under 80 %
/// of 500 resources and of 1 MB, with room for the per-stack rest.
const WORKERS_PER_STACK: usize = 25;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--shim-env") {
        let env: serde_json::Map<String, serde_json::Value> =
            shim_env().into_iter().map(|(k, v)| (k, v.into())).collect();
        println!("{}", serde_json::Value::Object(env));
        return std::process::ExitCode::SUCCESS;
    }
    if args.get(1).is_some_and(|a| a == "--check") {
        return match args.get(2) {
            Some(dir) => check(std::path::Path::new(dir)),
            None => {
                eprintln!("usage: scale --check <assembly directory>");
                std::process::ExitCode::from(2)
            }
        };
    }
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        let stack = |name: &str| {
            Stack::new_with(
                app,
                name,
                StackProps::new().env(
                    Environment::new()
                        .account("111111111111")
                        .region("eu-west-1"),
                ),
            )
        };
        let data = stack("ScaleData");
        let network = Network::new(data, "Network", NetworkProps::default()).unwrap();
        let platform =
            Platform::new(data, "Platform", network, PlatformProps::new("bench", CERT)).unwrap();
        let mut services = data;
        for i in 0..n {
            if i % WORKERS_PER_STACK == 0 {
                services = stack(&format!("Scale{}", i / WORKERS_PER_STACK + 1));
            }
            let name = format!("worker-{i}");
            PrivateWorkerService::new(
                services,
                &format!("Worker{i}"),
                &platform,
                PrivateWorkerServiceProps::new(
                    &name,
                    TaskSize::QUARTER_HALF,
                    format!("111111111111.dkr.ecr.eu-west-1.amazonaws.com/{name}:v1.0.0"),
                )
                .with_health_command("test -f /tmp/worker-heartbeat"),
            )
            .unwrap();
        }
        cdk_from_rust::synthesize(&app);
    });
    if args.iter().any(|a| a == "--program") {
        println!("{}", program.to_json());
        return std::process::ExitCode::SUCCESS;
    }
    let runner = cdk_from_rust::runner::Runner {
        env: shim_env(),
        ..Default::default()
    };
    if let Err(e) = runner.run(&program) {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    check(&runner.outdir)
}

/// The environment the shim gets beyond this process's: the context (the example account's
/// availability zones).
fn shim_env() -> Vec<(String, String)> {
    tracker_stacks::shim_env(
        serde_json::json!({
            "availability-zones:account=111111111111:region=eu-west-1":
                ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
        })
        .as_object()
        .expect("a JSON object"),
    )
}

/// Checks every stack of the assembly in `dir` against 80 % of each CloudFormation quota,
/// printing a line per stack.
fn check(dir: &std::path::Path) -> std::process::ExitCode {
    match tracker_stacks::limits::check_assembly(dir) {
        Ok((problems, lines)) => {
            for line in lines {
                eprintln!("{line}");
            }
            if problems.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                eprintln!(
                    "error: over CloudFormation's quotas:\n{}",
                    problems.join("\n")
                );
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: reading {}: {e}", dir.display());
            std::process::ExitCode::FAILURE
        }
    }
}
