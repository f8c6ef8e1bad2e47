//! Library side of the `mlp` command: what the binary shares with the notebook example
//! (progress display, History files, the results table, plots).
