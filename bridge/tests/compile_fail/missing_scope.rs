// A construct needs its scope (and id), as in the TypeScript `new Stack(app, 'Name')`.
use cdk_from_rust::aws_cdk_lib::Stack;

fn main() {
    let _ = Stack::new("Name");
}
