//! `--threads N`, shared by `mlp train` and `mlp bench`.

use clap::Args;
use mlp_runtime::kernels::parallel;

/// How many threads the kernels split each step across.
#[derive(Debug, Clone, Copy, Args)]
pub struct ThreadsArg {
    /// Threads the kernels split each step across (at most one per core); results do not
    /// depend on it.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = mlp_cli::parse_positive,
        allow_negative_numbers = true
    )]
    pub threads: usize,
}

impl ThreadsArg {
    /// Puts the count into effect for the kernels; returns the count in effect (lower
    /// when the machine has fewer cores).
    pub fn apply(self) -> usize {
        parallel::set_threads(self.threads)
    }
}
