//! Synthesizes the sample stack alone (the differential test's stack) into `$CDK_OUTDIR` or
//! `cdk.out`: the Rust side of the Rust-vs-JavaScript benchmark in `bench/synth.py`.
//! `--program` only records and prints the Program.

fn main() -> std::process::ExitCode {
    let (program, ()) = cdk_from_rust::record(|| {
        let app = cdk_from_rust::aws_cdk_lib::App::new();
        tracker_stacks::sample::sample(&app);
        cdk_from_rust::synthesize(&app);
    });
    if std::env::args().any(|a| a == "--program") {
        println!("{}", program.to_json());
        return std::process::ExitCode::SUCCESS;
    }
    match cdk_from_rust::runner::Runner::default().run(&program) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
