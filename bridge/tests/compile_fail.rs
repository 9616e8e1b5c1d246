//! The call-site rules of the generated bindings, as programs that must not compile (trybuild).
//! Each `compile_fail/*.rs` has its expected error in the `.stderr` file beside it: the message a
//! user sees, reviewed for saying what to write instead. `TRYBUILD=overwrite cargo test -p
//! cdk-from-rust --test compile_fail` rewrites them after a deliberate change (review the diff).

#[test]
fn call_site_rules_reject_wrong_programs_with_actionable_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
