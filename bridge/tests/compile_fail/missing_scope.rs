// A construct needs its scope and id, as in the TypeScript `new Stack(app, 'Name')`: leaving the
// scope out (as a `new Stack()` with no arguments would in TypeScript) does not compile, and the
// message names both parameters with their types.
use cdk_from_rust::aws_cdk_lib::Stack;

fn main() {
    let _ = Stack::new();
}
