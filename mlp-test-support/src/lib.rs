//! Helpers the workspace's tests share, so each lives once: running the `mlp` binary and
//! checking its exit code ([`Cli`], [`assert_exit`], [`stdout`], [`stderr`], [`text`]), where real MNIST lies
//! ([`data_dir`], [`mnist_dir`]) and the tabular sets ([`tabular_dir`]), folder listings
//! ([`listing`]), and IDX and `.npy` files written from the formats' descriptions ([`idx`],
//! [`npy`]).
//!
//! A dev-dependency only (`publish = false`). Helpers panic with a message naming what
//! failed: they run in tests, where a panic is the failure report.

#![forbid(unsafe_code)]

pub mod idx;
pub mod npy;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `mlp` binary of the crate under test. Its path is only known to that crate's
/// integration tests, as `env!("CARGO_BIN_EXE_mlp")`:
///
/// ```text
/// const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));
/// let output = MLP.run(dir, &["check", "tiny.mlp"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Cli {
    bin: &'static str,
}

/// Environment variables that change what `mlp` prints or draws; a test that wants one sets
/// it on the [`Command`] again.
const OUTPUT_SETTINGS: [&str; 4] = ["NO_COLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "MLP_FONT"];

impl Cli {
    /// The binary at `bin`.
    #[must_use]
    pub const fn new(bin: &'static str) -> Cli {
        Cli { bin }
    }

    /// A command running the binary in `dir`, without the environment variables that change
    /// its output (colour settings, `MLP_FONT`): standard error is a pipe, so diagnostics
    /// come out without colour and plots use the default font.
    #[must_use]
    pub fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(self.bin);
        command.current_dir(dir);
        for name in OUTPUT_SETTINGS {
            command.env_remove(name);
        }
        command
    }

    /// Runs `mlp args…` in `dir` (see [`Cli::command`]) and returns what it did.
    #[must_use]
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        output(self.command(dir).args(args))
    }
}

/// Runs `command` to completion, capturing both streams.
///
/// # Panics
/// When the program cannot be started.
#[must_use]
pub fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", command.get_program().display()))
}

/// `bytes` (a captured stream) as text, invalid UTF-8 replaced.
#[must_use]
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The standard output of `output`, as [`text`].
#[must_use]
pub fn stdout(output: &Output) -> String {
    text(&output.stdout)
}

/// The standard error of `output`, as [`text`].
#[must_use]
pub fn stderr(output: &Output) -> String {
    text(&output.stderr)
}

/// Asserts the exit code, showing both streams when it differs.
///
/// # Panics
/// When the process did not exit with `code` (or was killed by a signal).
#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// The folder that holds `mnist/`: `$MLP_DATA` when set and not empty, else the
/// repository's sibling `shared/data`, as in CI.
#[must_use]
pub fn data_dir() -> PathBuf {
    match std::env::var_os("MLP_DATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

/// Real MNIST's folder, `data_dir()/mnist`.
///
/// # Panics
/// When it is not a folder, with a hint to set `MLP_DATA`.
#[must_use]
pub fn mnist_dir() -> PathBuf {
    let dir = data_dir().join("mnist");
    assert!(
        dir.is_dir(),
        "MNIST not found at {} (set MLP_DATA to the folder containing mnist/)",
        dir.display()
    );
    dir
}

/// The folder of scikit-learn's bundled tabular sets (`iris.csv`, `wine_data.csv`,
/// `boston_house_prices.csv`), `data_dir()/tabular`.
///
/// # Panics
/// When it is not a folder, with a hint to set `MLP_DATA`.
#[must_use]
pub fn tabular_dir() -> PathBuf {
    let dir = data_dir().join("tabular");
    assert!(
        dir.is_dir(),
        "tabular data not found at {} (set MLP_DATA to the folder containing tabular/)",
        dir.display()
    );
    dir
}

/// The names in `dir` (not recursive), sorted.
///
/// # Panics
/// When `dir` cannot be listed.
#[must_use]
pub fn listing(dir: &Path) -> Vec<String> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}
