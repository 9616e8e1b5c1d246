// Omitted optional arguments are left out (no `None`); `new_with` passes them.
use cdk_from_rust::aws_cdk_lib::{App, Stack};

fn main() {
    let app = App::new();
    let _ = Stack::new(&app, "Name", None);
}
