//! The CSV/TSV reader: scikit-learn's real tabular files under `$MLP_DATA/tabular/`
//! (iris, wine, boston), every column choice, text labels, and every kind of bad input
//! refused with its exact message naming `file:line:column`; memory stays about the size of
//! the `f32` data (an allocation tracker checks that).

// The allocation tracker is a `GlobalAlloc`, which is an unsafe trait.
#![allow(unsafe_code)]
// Exact comparisons are the point: a cell must parse to the nearest f32.
#![allow(clippy::float_cmp)]

mod alloc_tracker;
mod data_fixtures;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use data_fixtures::{gzip, write};
use mlp_runtime::data::{
    read_csv, read_csv_from, ColumnRef, CsvOptions, CsvTable, CsvTargets, DataError, Limits,
    MAX_LABELS,
};

#[global_allocator]
static ALLOCATOR: alloc_tracker::Tracker = alloc_tracker::Tracker;

/// A file of scikit-learn's bundled datasets.
fn tabular(name: &str) -> PathBuf {
    let path = mlp_test_support::data_dir().join("tabular").join(name);
    assert!(
        path.is_file(),
        "{} not found (set MLP_DATA to the folder holding tabular/)",
        path.display()
    );
    path
}

/// The options scikit-learn's files need: their first line is metadata.
fn sklearn(has_header: bool) -> CsvOptions {
    CsvOptions {
        skip_rows: 1,
        has_header,
        ..CsvOptions::default()
    }
}

fn numbers(targets: &CsvTargets) -> &ndarray::Array2<f32> {
    match targets {
        CsvTargets::Numbers(y) => y,
        CsvTargets::Labels { .. } => panic!("expected numeric targets, got {targets:?}"),
    }
}

/// Writes `text` as `name` in a fresh folder and reads it with `opts`.
fn read_text(
    name: &str,
    text: &[u8],
    opts: &CsvOptions,
) -> (Result<CsvTable, DataError>, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = write(dir.path(), name, text);
    (read_csv(&path, opts, Limits::default()), path, dir)
}

/// Reads `text` (as `t.csv`) with `opts`; it must be refused with exactly `message` after
/// `"<path>:"`.
fn refused(text: &str, opts: &CsvOptions, message: &str) -> DataError {
    let (table, path, _dir) = read_text("t.csv", text.as_bytes(), opts);
    let error = table.expect_err("bad input must be refused");
    assert_eq!(error.to_string(), format!("{}{message}", path.display()));
    error
}

fn ok(text: &str, opts: &CsvOptions) -> CsvTable {
    let (table, path, _dir) = read_text("t.csv", text.as_bytes(), opts);
    table.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn iris_reads_with_its_metadata_line_skipped() {
    let table = read_csv(&tabular("iris.csv"), &sklearn(false), Limits::default()).expect("iris");
    assert_eq!(table.features.dim(), (150, 4));
    assert_eq!(table.feature_names, ["0", "1", "2", "3"]);
    assert_eq!(table.target_names, ["4"]);
    assert_eq!(table.dropped_rows, 0);
    assert_eq!(table.features.row(0).to_vec(), [5.1, 3.5, 1.4, 0.2]);
    assert_eq!(table.features.row(149).to_vec(), [5.9, 3.0, 5.1, 1.8]);
    let y = numbers(&table.targets);
    assert_eq!(y.dim(), (150, 1));
    let mut counts = [0; 3];
    for &class in y {
        counts[class as usize] += 1;
    }
    assert_eq!(counts, [50, 50, 50]);
}

#[test]
fn wine_reads_with_its_metadata_line_skipped() {
    let table = read_csv(
        &tabular("wine_data.csv"),
        &sklearn(false),
        Limits::default(),
    )
    .expect("wine");
    assert_eq!(table.features.dim(), (178, 13));
    assert_eq!(table.features[[0, 0]], 14.23);
    assert_eq!(table.features[[0, 12]], 1065.0);
    let y = numbers(&table.targets);
    assert_eq!((y[[0, 0]], y[[177, 0]]), (0.0, 2.0));
    assert!(y.iter().all(|&c| [0.0, 1.0, 2.0].contains(&c)));
}

#[test]
fn boston_reads_its_header_after_the_metadata_line() {
    let path = tabular("boston_house_prices.csv");
    let opts = CsvOptions {
        target: vec![ColumnRef::Name("MEDV".to_owned())],
        ..sklearn(true)
    };
    let table = read_csv(&path, &opts, Limits::default()).expect("boston");
    assert_eq!(table.features.dim(), (506, 13));
    assert_eq!(
        table.feature_names,
        [
            "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B",
            "LSTAT"
        ]
    );
    assert_eq!(table.target_names, ["MEDV"]);
    assert_eq!(table.features[[0, 0]], 0.00632);
    let y = numbers(&table.targets);
    assert_eq!((y[[0, 0]], y[[1, 0]]), (24.0, 21.6));
    // MEDV is the last column: the default target, and index 13, read the same.
    for target in [vec![], vec![ColumnRef::Index(13)]] {
        let other = CsvOptions {
            target,
            ..sklearn(true)
        };
        assert_eq!(
            read_csv(&path, &other, Limits::default()).expect("boston"),
            table
        );
    }
    // A chosen subset of features, in the order asked, with another target.
    let opts = CsvOptions {
        target: vec!["MEDV".parse().expect("a name")],
        features: Some(vec!["LSTAT".parse().expect("a name"), ColumnRef::Index(0)]),
        ..sklearn(true)
    };
    let subset = read_csv(&path, &opts, Limits::default()).expect("boston subset");
    assert_eq!(subset.feature_names, ["LSTAT", "CRIM"]);
    assert_eq!(subset.features.row(0).to_vec(), [4.98, 0.00632]);
}

#[test]
fn a_misspelt_target_gets_the_closest_header_name() {
    let path = tabular("boston_house_prices.csv");
    let opts = CsvOptions {
        target: vec![ColumnRef::Name("medv".to_owned())],
        ..sklearn(true)
    };
    let error = read_csv(&path, &opts, Limits::default()).expect_err("no such column");
    assert_eq!(
        error.to_string(),
        format!(
            "{}:2: no column named `medv` in the header (did you mean `MEDV`?); the columns are \
             `CRIM`, `ZN`, `INDUS`, `CHAS`, `NOX`, `RM`, `AGE`, `DIS`, `RAD`, `TAX`, `PTRATIO`, \
             `B`, `LSTAT`, `MEDV`",
            path.display()
        )
    );
    assert!(
        matches!(&error, DataError::CsvUnknownColumn { suggestion: Some(s), .. } if s == "MEDV")
    );
    refused(
        "a,b,price\n1,2,3\n",
        &CsvOptions {
            target: vec!["cost".parse().expect("a name")],
            ..CsvOptions::default()
        },
        ":1: no column named `cost` in the header; the columns are `a`, `b`, `price`",
    );
}

#[test]
fn text_labels_become_sorted_class_indices() {
    let table = ok(
        "x,y,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n7,8, versicolor \n",
        &CsvOptions::default(),
    );
    let CsvTargets::Labels { indices, names } = &table.targets else {
        panic!("expected labels, got {:?}", table.targets);
    };
    assert_eq!(names, &["setosa", "versicolor", "virginica"]);
    assert_eq!(indices.to_vec(), [0, 2, 0, 1]);
    assert_eq!(table.target_names, ["species"]);
    // Numbers first and text later: every value is a label, sorted as text.
    let table = ok("x,y\n1,10\n2,2\n3,cat\n4,10\n", &CsvOptions::default());
    let CsvTargets::Labels { indices, names } = &table.targets else {
        panic!("expected labels, got {:?}", table.targets);
    };
    assert_eq!(names, &["10", "2", "cat"]);
    assert_eq!(indices.to_vec(), [0, 1, 2, 0]);
    // Several targets must all be numbers.
    let table = ok(
        "a,b,c,d\n1,2,3,4\n5,6,7,8\n",
        &CsvOptions {
            target: vec![ColumnRef::Index(3), ColumnRef::Index(1)],
            ..CsvOptions::default()
        },
    );
    assert_eq!(table.feature_names, ["a", "c"]);
    assert_eq!(table.target_names, ["d", "b"]);
    assert_eq!(numbers(&table.targets).row(1).to_vec(), [8.0, 6.0]);
    refused(
        "a,b,c\n1,2,3\n1,x,3\n",
        &CsvOptions {
            target: vec![ColumnRef::Index(1), ColumnRef::Index(2)],
            ..CsvOptions::default()
        },
        ":3:2: `x` in column `b` is not a number (text labels are read only when the target is a single column)",
    );
}

#[test]
fn too_many_distinct_labels_are_refused() {
    let mut text = String::from("x,y\n");
    for i in 0..=MAX_LABELS {
        let _ = writeln!(text, "{i},label{i}");
    }
    refused(
        &text,
        &CsvOptions::default(),
        &format!(
            ":{}:2: column `y` holds text and more than 65536 distinct values, too many for class labels",
            MAX_LABELS + 2
        ),
    );
    // Many distinct numbers, then text: the numbers were not all kept as labels.
    let mut text = String::from("x,y\n");
    for i in 0..=MAX_LABELS {
        let _ = writeln!(text, "{i},{i}.5");
    }
    text.push_str("0,cat\n");
    refused(
        &text,
        &CsvOptions::default(),
        &format!(
            ":{}:2: column `y` holds text and more than 65536 distinct values, too many for class labels",
            MAX_LABELS + 3
        ),
    );
}

#[test]
fn tsv_quotes_crlf_bom_spaces_and_gzip_read() {
    let opts = CsvOptions {
        delimiter: b'\t',
        ..CsvOptions::default()
    };
    let table = ok("a\tb\n1\t2\n3\t4\n", &opts);
    assert_eq!(table.features.column(0).to_vec(), [1.0, 3.0]);
    assert_eq!(CsvOptions::for_path(Path::new("x.tsv")), opts);
    let text = "\u{feff}\"first, name\",\"y\"\r\n\" 1.5 \",2\r\n-3e2, 4 \r\n";
    let table = ok(text, &CsvOptions::default());
    assert_eq!(table.feature_names, ["first, name"]);
    assert_eq!(table.features.column(0).to_vec(), [1.5, -300.0]);
    assert_eq!(numbers(&table.targets).column(0).to_vec(), [2.0, 4.0]);
    let (table, path, _dir) = read_text("t.csv.gz", &gzip(b"a,b\n1,2\n"), &CsvOptions::default());
    let table = table.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(table.features[[0, 0]], 1.0);
    // From a reader.
    let table = read_csv_from(
        &b"a,b\n1,2\n"[..],
        Path::new("stream"),
        &CsvOptions::default(),
        Limits::default(),
    )
    .expect("reads");
    assert_eq!(table.rows(), 1);
}

#[test]
fn ragged_rows_are_refused_where_they_end() {
    refused(
        "a,b,c\n1,2,3\n4,5\n",
        &CsvOptions::default(),
        ":3:3: row has 2 fields, expected 3 (as many as the header)",
    );
    refused(
        "1,2,3\n4,5,6,7\n",
        &CsvOptions {
            has_header: false,
            ..CsvOptions::default()
        },
        ":2:4: row has 4 fields, expected 3 (as many as the first row)",
    );
    // Lines count as in the file: a quoted cell spanning two lines, a skipped row.
    refused(
        "meta\n\"a\nb\",c\n1,2\n1,2,3\n",
        &CsvOptions {
            skip_rows: 1,
            ..CsvOptions::default()
        },
        ":5:3: row has 3 fields, expected 2 (as many as the header)",
    );
}

#[test]
fn cells_that_are_not_numbers_are_refused_with_their_place() {
    refused(
        "a,b,c\n1,2,3\n4,five,6\n",
        &CsvOptions::default(),
        ":3:2: `five` in column `b` is not a number (every feature must be a number; a column of text labels can only be the target)",
    );
    let long = "x".repeat(60);
    refused(
        &format!("1,{long},3\n"),
        &CsvOptions {
            has_header: false,
            ..CsvOptions::default()
        },
        &format!(
            ":1:2: `{}…` in column 2 is not a number (every feature must be a number; a column of text labels can only be the target)",
            "x".repeat(40)
        ),
    );
    for cell in ["nan", "NaN", "inf", "-Infinity", "1e39"] {
        refused(
            &format!("a,b\n{cell},1\n"),
            &CsvOptions::default(),
            &format!(":2:1: `{cell}` in column `a` is not a finite number (NaN, infinities and numbers beyond f32's range are refused; write an empty cell or NA for a missing value)"),
        );
    }
    // In a target of labels too.
    refused(
        "a,b\n1,cat\n2,nan\n",
        &CsvOptions::default(),
        ":3:2: `nan` in column `b` is not a finite number (NaN, infinities and numbers beyond f32's range are refused; write an empty cell or NA for a missing value)",
    );
    let (table, path, _dir) = read_text("t.csv", b"a,b\n1,cat\n2,\xff\n", &CsvOptions::default());
    assert_eq!(
        table.expect_err("not UTF-8").to_string(),
        format!(
            "{}:3:2: the label in column `b` is not UTF-8 text",
            path.display()
        )
    );
}

#[test]
fn missing_values_are_refused_or_their_rows_dropped() {
    for (cell, shown) in [
        ("", "an empty cell"),
        ("NA", "`NA`"),
        ("N/A", "`N/A`"),
        ("null", "`null`"),
        (" na ", "`na`"),
    ] {
        refused(
            &format!("a,b,c\n1,2,3\n4,{cell},6\n"),
            &CsvOptions::default(),
            &format!(":3:2: column `b` has a missing value ({shown}); drop_missing drops rows with missing values"),
        );
    }
    refused(
        "a,b\n1,2\n3,\n",
        &CsvOptions::default(),
        ":3:2: column `b` has a missing value (an empty cell); drop_missing drops rows with missing values",
    );
    let drop = CsvOptions {
        drop_missing: true,
        ..CsvOptions::default()
    };
    let table = ok("a,b,c\n1,2,x\nNA,3,y\n4,5,\n6,7,y\n8,N/A,z\n", &drop);
    assert_eq!(table.dropped_rows, 3);
    assert_eq!(table.features.column(0).to_vec(), [1.0, 6.0]);
    let CsvTargets::Labels { indices, names } = &table.targets else {
        panic!("expected labels, got {:?}", table.targets);
    };
    // `z` came only from a dropped row: not a label.
    assert_eq!(names, &["x", "y"]);
    assert_eq!(indices.to_vec(), [0, 1]);
    // An empty header cell: the message gives the column's number alone.
    refused(
        "a,b,\n1,2,3\n4,5,\n",
        &CsvOptions::default(),
        ":3:3: column 3 has a missing value (an empty cell); drop_missing drops rows with missing values",
    );
    // A column not read may hold anything.
    let table = ok(
        "a,notes,b\n1,,2\n3,hello,4\n",
        &CsvOptions {
            features: Some(vec![ColumnRef::Index(0)]),
            ..CsvOptions::default()
        },
    );
    assert_eq!(table.features.dim(), (2, 1));
    refused(
        "a,b\nNA,1\n,2\n",
        &drop,
        ": no data rows (the 2 rows each had a missing value and drop_missing dropped them)",
    );
}

#[test]
fn files_without_data_rows_are_refused() {
    refused(
        "",
        &CsvOptions::default(),
        ": no data rows (the file is empty)",
    );
    refused(
        "a,b\n",
        &CsvOptions::default(),
        ": no data rows (the file holds only a header)",
    );
    refused(
        "150,4,setosa\n",
        &sklearn(false),
        ": no data rows (the file holds only the 1 skipped row)",
    );
    refused(
        "150,4\na,b\n\n",
        &sklearn(true),
        ": no data rows (the file holds only the 1 skipped row and a header)",
    );
    refused("", &sklearn(true), ": no data rows (the file is empty)");
}

#[test]
fn bad_column_choices_are_refused() {
    refused(
        "a,b,c\n1,2,3\n",
        &CsvOptions {
            target: vec![ColumnRef::Index(3)],
            ..CsvOptions::default()
        },
        ":1: column index 3 is out of range: the file has 3 columns (indices 0 to 2)",
    );
    refused(
        "1,2,3\n",
        &CsvOptions {
            has_header: false,
            features: Some(vec![ColumnRef::Index(0), ColumnRef::Index(7)]),
            ..CsvOptions::default()
        },
        ":1: column index 7 is out of range: the file has 3 columns (indices 0 to 2)",
    );
    refused(
        "y\n1\n",
        &CsvOptions::default(),
        ": no feature columns left: the file has 1 column and 1 is the target",
    );
    refused(
        "a,b\n1,2\n",
        &CsvOptions {
            target: vec![ColumnRef::Index(0), ColumnRef::Index(1)],
            ..CsvOptions::default()
        },
        ": no feature columns left: the file has 2 columns and 2 are the targets",
    );
    refused(
        "1,2\n",
        &CsvOptions {
            has_header: false,
            target: vec![ColumnRef::Name("y".to_owned())],
            ..CsvOptions::default()
        },
        ": column `y` is named, but the file is read without a header (has_header is false): name columns by their 0-based index",
    );
    refused(
        "a,b,c\n1,2,3\n",
        &CsvOptions {
            features: Some(vec![ColumnRef::Index(0), ColumnRef::Name("c".to_owned())]),
            ..CsvOptions::default()
        },
        ": column `c` (column 3) is both a feature and a target",
    );
    refused(
        "a,b,c\n1,2,3\n",
        &CsvOptions {
            features: Some(vec![ColumnRef::Index(0), ColumnRef::Name("a".to_owned())]),
            ..CsvOptions::default()
        },
        ": column `a` (column 1) is named twice among the features",
    );
    refused(
        "x,x,y\n1,2,3\n",
        &CsvOptions {
            features: Some(vec![ColumnRef::Name("x".to_owned())]),
            ..CsvOptions::default()
        },
        ": the header names two columns `x` (columns 1 and 2): name the one meant by its 0-based index",
    );
}

#[test]
fn files_over_the_limit_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = write(dir.path(), "big.csv", b"a,b\n1,2\n3,4\n");
    let error = read_csv(&path, &CsvOptions::default(), Limits { max_bytes: 10 })
        .expect_err("over the limit");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: the file holds 12 bytes, more than the limit of 10 bytes",
            path.display()
        )
    );
    // A stream (or a gzip file, whose size on disk says nothing) is cut at the limit.
    let error = read_csv_from(
        &b"a,b\n1,2\n3,4\n"[..],
        Path::new("stream"),
        &CsvOptions::default(),
        Limits { max_bytes: 10 },
    )
    .expect_err("over the limit");
    assert_eq!(
        error.to_string(),
        "stream: the file holds more, more than the limit of 10 bytes"
    );
    let path = write(dir.path(), "big.csv.gz", &gzip(&b"1,2\n".repeat(1000)));
    let error = read_csv(&path, &CsvOptions::default(), Limits { max_bytes: 100 })
        .expect_err("decompresses past the limit");
    assert!(
        matches!(
            error,
            DataError::FileOverLimit {
                size: None,
                limit: 100,
                ..
            }
        ),
        "{error:?}"
    );
    // Exactly at the limit is fine.
    let table = read_csv_from(
        &b"a,b\n1,2\n3,4\n"[..],
        Path::new("stream"),
        &CsvOptions::default(),
        Limits { max_bytes: 12 },
    )
    .expect("at the limit");
    assert_eq!(table.rows(), 2);
}

#[test]
fn memory_stays_about_the_size_of_the_floats() {
    // 20 000 rows of 32 features and a target: 2.6 MB of f32.
    let mut text = String::new();
    for r in 0..20_000 {
        for c in 0..33 {
            let _ = write!(
                text,
                "{}{}",
                if c == 0 { "" } else { "," },
                (r * 33 + c) % 1000
            );
        }
        text.push('\n');
    }
    let opts = CsvOptions {
        has_header: false,
        ..CsvOptions::default()
    };
    let (table, usage) = alloc_tracker::track(|| {
        read_csv_from(text.as_bytes(), Path::new("m"), &opts, Limits::default())
    });
    let table = table.expect("reads");
    assert_eq!(table.features.dim(), (20_000, 32));
    let floats = 20_000 * 33 * 4;
    // The vectors double as they grow, so up to twice the data is allocated (not touched)
    // at the end; no per-cell strings.
    assert!(
        usage.peak_live < 2 * floats + (2 << 20),
        "{usage:?} for {floats} bytes of floats"
    );
}
