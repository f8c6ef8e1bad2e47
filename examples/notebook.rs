//! Reproduces the Keras notebook this project started from: seven MNIST MLPs that compare
//! weight initialisation, L1/L2 penalties, dropout, batch normalisation and leaky rectifier
//! units, trained with Adam for 10 epochs and compared by their validation-loss curves.
//!
//! ```text
//! cargo run --release --example notebook                      # everything, into target/notebook/
//! cargo run --release --example notebook -- --epochs 1 --models baseline,l2 --jobs 1
//! ```
//!
//! The models are the generated types of `specs/notebook/*.mlp` (see `notebook/models.rs`);
//! the run itself (summaries, parallel training with Keras-like progress, histories,
//! `results.md`, the five plots) is `mlp_cli::notebook::run`.

#![forbid(unsafe_code)]

#[path = "notebook/models.rs"]
mod models;

use std::process::ExitCode;

fn main() -> ExitCode {
    mlp_cli::notebook::main(&models::MODELS)
}
