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
    /// Puts the count into effect for the kernels; returns the count in effect, and warns
    /// on standard error when it is lower than asked (the machine has fewer cores, or the
    /// system refused a thread).
    pub fn apply(self) -> usize {
        let effective = parallel::set_threads(self.threads);
        if effective < self.threads {
            eprintln!("{}", capped_warning(self.threads, effective));
        }
        effective
    }
}

/// The warning for `--threads asked` running on `effective` threads.
fn capped_warning(asked: usize, effective: usize) -> String {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    format!(
        "warning: --threads {asked} capped at {effective}: this machine has {cores} core{} \
         available (at most one thread per core)",
        if cores == 1 { "" } else { "s" }
    )
}
