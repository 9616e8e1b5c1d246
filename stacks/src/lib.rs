//! The tracker's stacks, built from the construct library.

pub mod sample;

use cdk_from_rust::aws_cdk_lib::App;
use cdk_from_rust::program::Program;

/// Records the whole CDK app: every stack of this repository, and the App marked for synthesis.
pub fn app_program() -> Program {
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new(None);
        sample::sample(&app);
        cdk_from_rust::synthesize(&app);
    });
    program
}
