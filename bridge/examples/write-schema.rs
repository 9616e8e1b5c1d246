//! Writes the Program's JSON Schema to `bridge/schema/program.schema.json`.
fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/program.schema.json");
    std::fs::write(&path, cdk_from_rust::program::json_schema()).expect("write schema");
    eprintln!("wrote {}", path.display());
}
