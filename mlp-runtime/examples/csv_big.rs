//! How fast `Dataset::from_csv` loads a large table, and how much memory it takes: the "a
//! generated 1,000,000 × 32 float CSV loads in ≤ 3 s" benchmark of docs/PERFORMANCE.md
//! (session 5).
//!
//! ```sh
//! # Generate 1,000,000 rows into a temporary folder, load them 3 times, remove the folder:
//! cargo run --release -p mlp-runtime --example csv_big
//! # Keep the generated file (for `mlp train` and scripts/torch_regressor.py):
//! cargo run --release -p mlp-runtime --example csv_big -- --out /tmp/big/regression.csv
//! # Load a file that already exists (any CSV of numbers with a header row):
//! cargo run --release -p mlp-runtime --example csv_big -- --in /tmp/big/regression.csv
//! ```
//!
//! Flags: `--rows N` (default 1,000,000), `--runs N` (loads, default 3), `--out PATH` or
//! `--in PATH`. The generated file has a header `x0,…,x31,y`, then one row per sample: 32
//! features uniform in [-1, 1) printed with 6 decimals, and the target `y`, a fixed
//! function of them plus noise that a 32-64-64-1 regressor (`benches/regressor32.mlp`) can
//! learn. The same seed gives the same file.
//!
//! Each load is timed on the wall clock from the call to `Dataset::from_csv` to its return
//! (the file is in the page cache: it was just written, or read by the run before); the
//! report gives rows, the file's size in MB (10⁶ bytes), MB/s, the size of the f32 data
//! (features and targets), and the process's peak resident memory (`VmHWM` of
//! `/proc/self/status`, Linux only) before the first load and after the last.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use mlp_runtime::data::{CsvOptions, Dataset};

/// Feature columns of the generated file (the target column follows).
const FEATURES: usize = 32;

/// The load-time target of issue 12, in seconds, for 1,000,000 rows.
const TARGET_SECONDS: f64 = 3.0;

/// What to do, from the command line.
struct Args {
    rows: usize,
    runs: usize,
    /// Where to write the generated file (kept), if given.
    out: Option<PathBuf>,
    /// An existing file to load instead of generating one.
    input: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rows: 1_000_000,
        runs: 3,
        out: None,
        input: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value (see the example's docs)"))
        };
        match flag.as_str() {
            "--rows" | "--runs" => {
                let text = value()?;
                let n: usize = text
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("{flag} `{text}`: expected a whole number ≥ 1"))?;
                if flag == "--rows" {
                    args.rows = n;
                } else {
                    args.runs = n;
                }
            }
            "--out" => args.out = Some(PathBuf::from(value()?)),
            "--in" => args.input = Some(PathBuf::from(value()?)),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (flags: --rows N, --runs N, --out PATH, --in PATH)"
                ))
            }
        }
    }
    if args.out.is_some() && args.input.is_some() {
        return Err("--out writes a new file and --in reads an existing one: give one".to_owned());
    }
    Ok(args)
}

/// A 64-bit linear congruential generator (Knuth's MMIX constants): deterministic, and
/// fast enough that generating is not the slow part.
struct Lcg(u64);

impl Lcg {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Writes the header and `rows` rows of generated data to `path`.
fn generate(path: &Path, rows: usize) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut line = String::new();
    for c in 0..FEATURES {
        let _ = write!(line, "x{c},");
    }
    line.push_str("y\n");
    file.write_all(line.as_bytes())?;
    // Fixed weights in [-0.75, 0.75] for the linear part of the target.
    let weights: Vec<f64> = (0..FEATURES)
        .map(|c| ((c % 7) as f64 - 3.0) / 4.0)
        .collect();
    let mut rng = Lcg(0x2545_f491_4f6c_dd1d);
    let mut x = [0f64; FEATURES];
    for _ in 0..rows {
        line.clear();
        for v in &mut x {
            *v = rng.unit() * 2.0 - 1.0;
            let _ = write!(line, "{v:.6},");
        }
        let linear: f64 = x.iter().zip(&weights).map(|(x, w)| x * w).sum();
        let noise = (rng.unit() - 0.5) * 0.1;
        let y = linear + 0.5 * (3.0 * x[0]).sin() * x[1] + x[2] * x[2] + noise;
        let _ = writeln!(line, "{y:.6}");
        file.write_all(line.as_bytes())?;
    }
    file.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .sync_all()
}

/// The process's peak resident set size in bytes (`VmHWM`), on Linux.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "n/a (no /proc/self/status)".to_owned(),
        |b| {
            format!(
                "{:.1} MiB ({:.1} MB)",
                b as f64 / 1_048_576.0,
                b as f64 / 1e6
            )
        },
    )
}

fn run(args: &Args) -> Result<(), String> {
    // Kept until the end of `run`: the generated file is removed with it.
    let mut temporary = None;
    let path = match (&args.input, &args.out) {
        (Some(input), _) => input.clone(),
        (None, out) => {
            let path = if let Some(out) = out {
                out.clone()
            } else {
                let dir = tempfile::tempdir()
                    .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
                let path = dir.path().join("regression.csv");
                temporary = Some(dir);
                path
            };
            let start = Instant::now();
            generate(&path, args.rows)
                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            println!(
                "generated {} rows × {FEATURES} features + 1 target into `{}` in {:.1} s",
                args.rows,
                path.display(),
                start.elapsed().as_secs_f64()
            );
            path
        }
    };
    let bytes = std::fs::metadata(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
        .len();
    let mb = bytes as f64 / 1e6;
    let before = peak_rss();
    println!("peak RSS before loading: {}", mib(before));
    let opts = CsvOptions::for_path(&path);
    let mut seconds = Vec::with_capacity(args.runs);
    let mut shape = (0, 0);
    for run in 1..=args.runs {
        let start = Instant::now();
        let data = Dataset::from_csv(&path, &opts).map_err(|e| e.to_string())?;
        let elapsed = start.elapsed().as_secs_f64();
        shape = (data.len(), data.features());
        println!(
            "load {run}/{}: {} rows × {} features in {elapsed:.3} s: {mb:.1} MB at {:.0} MB/s",
            args.runs,
            data.len(),
            data.features(),
            mb / elapsed
        );
        seconds.push(elapsed);
    }
    if args.input.is_none() && shape != (args.rows, FEATURES) {
        return Err(format!(
            "read {} rows × {} features, but {} × {FEATURES} were written",
            shape.0, shape.1, args.rows
        ));
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    // Features and one f32 target per row.
    let f32_bytes = (shape.0 * (shape.1 + 1) * 4) as u64;
    let after = peak_rss();
    println!(
        "median of {} loads: {median:.3} s ({:.0} MB/s); fastest {:.3} s",
        seconds.len(),
        mb / median,
        seconds[0]
    );
    println!("f32 data (features + targets): {}", mib(Some(f32_bytes)));
    println!(
        "peak RSS after loading: {}{}",
        mib(after),
        after.map_or_else(String::new, |a| format!(
            " = {:.2} × the f32 data",
            a as f64 / f32_bytes as f64
        ))
    );
    if shape.0 == 1_000_000 {
        let verdict = if median <= TARGET_SECONDS {
            "met"
        } else {
            "missed"
        };
        println!("target ≤ {TARGET_SECONDS} s for 1,000,000 rows: {verdict}");
    }
    drop(temporary);
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
