//! The CSV reader's throughput on generated files of floats: 32 feature columns and a
//! numeric target, values printed as numpy's `savetxt(fmt='%.6g')` would (`0.123457`,
//! `-12.3457`, `3.5e-05`, …), written once into a temporary folder.
//!
//! Run with `cargo bench -p mlp-runtime --bench csv`. `read_csv` reads a file of
//! `rows` rows end to end (the throughput column counts the file's bytes); `records_only`
//! is the `csv` crate alone walking the same bytes through one `ByteRecord`, the floor
//! under any parser of the cells; `parse_cells` is the float parsing alone, on the cells of
//! one row repeated. The 1 000 000-row file (315 MB) is the "1M x 32 in <= 3 s"
//! target; its samples are few (each reads the whole file).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use mlp_runtime::data::{read_csv, CsvOptions, Limits};

fn main() {
    divan::main();
    // A static is never dropped: remove the generated files (about 330 MB) here.
    if let Some(dir) = DIR.get() {
        let _ = std::fs::remove_dir_all(dir.path());
    }
}

/// Feature columns of the generated files (a target column follows).
const FEATURES: usize = 32;

/// Row counts of the generated files.
const ROWS: [usize; 2] = [100_000, 1_000_000];

/// The folder holding the generated files, removed at the end of `main`.
static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fn folder() -> &'static Path {
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary folder"))
        .path()
}

/// Deterministic values spread over several magnitudes and both signs.
fn value(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let unit = (*state >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let scale = [1.0, 10.0, 100.0, 1e-4][(*state >> 3) as usize % 4];
    (unit * 2.0 - 1.0) * scale
}

/// One row as `%.6g` would print it, with the target last.
fn row(state: &mut u64, out: &mut String) {
    out.clear();
    for c in 0..=FEATURES {
        if c > 0 {
            out.push(',');
        }
        let v = value(state);
        // `%.6g`: 6 significant digits, exponent form outside [1e-4, 1e6).
        let magnitude = v.abs();
        if magnitude != 0.0 && magnitude < 1e-4 {
            let _ = write!(out, "{v:.5e}");
        } else {
            let digits = if magnitude == 0.0 {
                0
            } else {
                magnitude.log10().floor() as i32
            };
            let decimals = (5 - digits).max(0) as usize;
            let _ = write!(out, "{v:.decimals$}");
        }
    }
    out.push('\n');
}

/// The generated file of `rows` rows (made on first use) and its size in bytes.
fn file(rows: usize) -> (PathBuf, u64) {
    static FILES: OnceLock<std::sync::Mutex<Vec<(usize, PathBuf, u64)>>> = OnceLock::new();
    let files = FILES.get_or_init(Default::default);
    let mut files = files.lock().expect("not poisoned");
    if let Some((_, path, size)) = files.iter().find(|(r, _, _)| *r == rows) {
        return (path.clone(), *size);
    }
    let path = folder().join(format!("floats-{rows}.csv"));
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut state = 0x2545_f491_4f6c_dd1d;
    let mut line = String::new();
    for _ in 0..rows {
        row(&mut state, &mut line);
        writer.write_all(line.as_bytes()).expect("write");
    }
    writer.flush().expect("flush");
    drop(writer);
    let size = std::fs::metadata(&path).expect("stat").len();
    files.push((rows, path.clone(), size));
    (path, size)
}

fn options() -> CsvOptions {
    CsvOptions {
        has_header: false,
        ..CsvOptions::default()
    }
}

#[divan::bench(args = ROWS, sample_count = 5, sample_size = 1)]
fn read_csv_file(bencher: Bencher, rows: usize) {
    let (path, size) = file(rows);
    let opts = options();
    let limits = Limits { max_bytes: 1 << 32 };
    bencher.counter(BytesCount::new(size)).bench(|| {
        let table = read_csv(&path, &opts, limits).expect("the generated file reads");
        assert_eq!(table.features.dim(), (rows, FEATURES));
        black_box(table)
    });
}

#[divan::bench(args = [100_000], sample_count = 5, sample_size = 1)]
fn records_only(bencher: Bencher, rows: usize) {
    let (path, size) = file(rows);
    bencher.counter(BytesCount::new(size)).bench(|| {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .buffer_capacity(64 * 1024)
            .from_path(&path)
            .expect("open");
        let mut record = csv::ByteRecord::new();
        let mut fields = 0usize;
        while reader.read_byte_record(&mut record).expect("read") {
            fields += record.len();
        }
        assert_eq!(fields, rows * (FEATURES + 1));
        black_box(fields)
    });
}

/// The cells of 100 rows, and their bytes with one delimiter each.
fn cells() -> (Vec<String>, u64) {
    let mut state = 7;
    let mut text = String::new();
    let mut cells: Vec<String> = Vec::new();
    for _ in 0..100 {
        row(&mut state, &mut text);
        cells.extend(text.trim_end().split(',').map(str::to_owned));
    }
    let bytes = cells.iter().map(|c| c.len() as u64 + 1).sum();
    (cells, bytes)
}

/// The standard library's parser, as the reader would call it on bytes (UTF-8 check, then
/// `str::parse`).
#[divan::bench(sample_count = 20)]
fn parse_cells_std(bencher: Bencher) {
    let (cells, bytes) = cells();
    bencher.counter(BytesCount::new(bytes)).bench(|| {
        let mut sum = 0f32;
        for cell in &cells {
            let cell = black_box(cell.as_bytes());
            sum += std::str::from_utf8(cell)
                .ok()
                .and_then(|s| s.parse::<f32>().ok())
                .unwrap_or(0.0);
        }
        sum
    });
}

/// `fast-float2`, the reader's parser.
#[divan::bench(sample_count = 20)]
fn parse_cells_fast_float2(bencher: Bencher) {
    let (cells, bytes) = cells();
    bencher.counter(BytesCount::new(bytes)).bench(|| {
        let mut sum = 0f32;
        for cell in &cells {
            sum += fast_float2::parse::<f32, _>(black_box(cell.as_bytes())).unwrap_or(0.0);
        }
        sum
    });
}
