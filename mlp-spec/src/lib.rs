//! The `.mlp` language: text -> AST (with spans) -> checks -> IR.

pub mod ir;
pub mod summary;
