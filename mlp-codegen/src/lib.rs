//! IR -> Rust code generation (quote + prettyplease). No I/O.
