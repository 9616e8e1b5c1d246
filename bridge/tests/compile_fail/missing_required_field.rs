// A struct with two or more required fields takes them named; leaving one out names it.
use cdk_from_rust::aws_cdk_lib::{CfnTag, CfnTagRequired};

fn main() {
    let _ = CfnTag::new(CfnTagRequired { key: "team" });
}
