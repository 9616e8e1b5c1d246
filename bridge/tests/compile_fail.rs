//! The call-site rules of the generated bindings, as programs that must not compile (trybuild).
//! Each `compile_fail/*.rs` has its expected error in the `.stderr` file beside it: the message a
//! user sees, reviewed for saying what to write instead. `TRYBUILD=overwrite cargo test -p
//! cdk-from-rust --test compile_fail` rewrites them after a deliberate change (review the diff).
//! An expectation must not depend on which modules are enabled: `cargo test --workspace` unifies
//! the members' features, so a message that lists a trait's implementors (`Construct: From<&str>`)
//! or qualifies a path differs from a `-p cdk-from-rust` run (what `make test` runs: the cases use
//! only the core module). Each case is written to fail with a message that names only the types it
//! uses; both runs must pass.

#[test]
fn call_site_rules_reject_wrong_programs_with_actionable_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
