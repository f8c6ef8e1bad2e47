//! The macros' compile errors, pinned with trybuild (the toolchain is pinned in
//! `rust-toolchain.toml`, so the `.stderr` files stay stable): each mistake is reported at
//! the offending token of the user's source, and a correct crate using both macros builds
//! and trains a step.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/unknown_layer.rs");
    t.compile_fail("tests/ui/misspelt_initializer.rs");
    t.compile_fail("tests/ui/dense_before_flatten.rs");
    t.compile_fail("tests/ui/wrong_argument_type.rs");
    t.compile_fail("tests/ui/missing_spec_file.rs");
    t.compile_fail("tests/ui/syntax_error.rs");
    t.compile_fail("tests/ui/several_mistakes_and_no_cascade.rs");
    t.pass("tests/ui/train_a_step.rs");
}
