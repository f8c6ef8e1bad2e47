//! The `mlp` command.

fn main() {}
