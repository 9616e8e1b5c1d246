// The old positional form, with a same-typed pair swapped (`value` before `key`), no longer
// compiles: the required fields are named.
use cdk_from_rust::aws_cdk_lib::CfnTag;

fn main() {
    let _ = CfnTag::new("platform", "team");
}
