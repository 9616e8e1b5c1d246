//! `scale N`: one env-bound stack with a Network, a Platform and N private workers, synthesized into
//! `$CDK_OUTDIR` (or `cdk.out`): how synthesis grows with the number of services
//! (`bench/synth.py`). `scale N --program` only records the Program.

use cdk_from_rust::aws_cdk_lib::{App, Environment, Stack, StackProps};
use tracker_constructs::private_worker_service::{PrivateWorkerService, PrivateWorkerServiceProps};
use tracker_constructs::task_size::TaskSize;
use tracker_constructs::{Network, NetworkProps, Platform, PlatformProps};

const CERT: &str =
    "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

fn main() -> std::process::ExitCode {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new(None);
        let stack = Stack::new(
            app,
            "Scale",
            Some(
                StackProps::new().env(
                    Environment::new()
                        .account("111111111111")
                        .region("eu-west-1"),
                ),
            ),
        );
        let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
        let platform = Platform::new(
            stack,
            "Platform",
            network,
            PlatformProps::new("bench", CERT),
        )
        .unwrap();
        for i in 0..n {
            let name = format!("worker-{i}");
            PrivateWorkerService::new(
                stack,
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
    if std::env::args().any(|a| a == "--program") {
        println!("{}", program.to_json());
        return std::process::ExitCode::SUCCESS;
    }
    let runner = cdk_from_rust::runner::Runner {
        env: tracker_stacks::shim_env(
            &serde_json::json!({
                "availability-zones:account=111111111111:region=eu-west-1":
                    ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
            })
            .as_object()
            .unwrap()
            .clone(),
        ),
        ..Default::default()
    };
    match runner.run(&program) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
