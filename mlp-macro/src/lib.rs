//! The `mlp!` and `include_mlp!` procedural macros: glue over mlp-spec and mlp-codegen.
