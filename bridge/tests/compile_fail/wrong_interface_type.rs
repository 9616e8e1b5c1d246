// An `App` is not an `IStackSynthesizer`: the handle conversions follow the jsii type hierarchy.
use cdk_from_rust::aws_cdk_lib::{App, StackProps};

fn main() {
    let app = App::new();
    let _ = StackProps::new().synthesizer(&app);
}
