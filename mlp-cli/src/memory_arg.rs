//! `--max-memory SIZE`, shared by `mlp train`, `mlp compare` and `mlp bench`: a model whose
//! buffers need more is refused before anything is allocated, with both figures (the
//! machine's available memory is always checked too; see `mlp_runtime::memory`).

use clap::Args;

/// The memory a model may use.
#[derive(Debug, Clone, Copy, Args)]
pub struct MemoryArg {
    /// Refuse a model whose parameters, gradients, optimiser slots and buffers need more
    /// than this (e.g. `512M`, `4G`; binary units). The memory available is checked always.
    #[arg(long, value_name = "SIZE", value_parser = mlp_cli::parse_bytes)]
    pub max_memory: Option<u64>,
}
