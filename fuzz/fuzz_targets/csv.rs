//! CSV/TSV reader on arbitrary bytes, with options drawn from the first byte (delimiter,
//! header, rows skipped, missing values dropped, which column is the target): errors, never
//! a panic; a table that is read is consistent (one target row per feature row, as many
//! names as columns, label indices in range and label names sorted and distinct, every
//! number finite, at least one row); cell errors name a line and a column from 1; an input
//! over the limit is never read; the same input reads the same twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_runtime::data::{read_csv_from, ColumnRef, CsvOptions, CsvTargets, DataError, Limits};
use std::path::Path;

fuzz_target!(|input: &[u8]| {
    let Some((&choice, data)) = input.split_first() else {
        return;
    };
    let target = match (choice >> 5) & 3 {
        0 => vec![],
        1 => vec![ColumnRef::Index(0)],
        2 => vec![ColumnRef::Name("y".to_owned())],
        _ => vec![ColumnRef::Index(1), ColumnRef::Index(0)],
    };
    let opts = CsvOptions {
        delimiter: if choice & 1 == 0 { b',' } else { b'\t' },
        has_header: choice & 2 == 0,
        skip_rows: usize::from((choice >> 2) & 1),
        drop_missing: choice & 8 != 0,
        features_only: choice & 32 != 0 && target.is_empty(),
        target,
        features: if choice & 16 != 0 {
            Some(vec![ColumnRef::Index(2)])
        } else {
            None
        },
    };
    // A small limit on some inputs, so that the limit itself is exercised.
    let limits = Limits {
        max_bytes: if choice & 128 != 0 { 64 } else { 1 << 20 },
    };
    let name = Path::new("fuzz.csv");
    let result = read_csv_from(data, name, &opts, limits);
    match &result {
        Ok(table) => {
            let plain = !data.starts_with(&[0x1f, 0x8b]);
            assert!(!plain || data.len() as u64 <= limits.max_bytes);
            let rows = table.rows();
            assert!(rows >= 1);
            assert_eq!(table.features.ncols(), table.feature_names.len());
            assert!(table.features.ncols() >= 1);
            assert!(table.features.iter().all(|v| v.is_finite()));
            match &table.targets {
                CsvTargets::Numbers(y) => {
                    assert_eq!(y.nrows(), rows);
                    assert_eq!(y.ncols(), table.target_names.len());
                    assert!(y.iter().all(|v| v.is_finite()));
                }
                CsvTargets::Labels { indices, names } => {
                    assert_eq!(indices.len(), rows);
                    assert_eq!(table.target_names.len(), 1);
                    assert!(indices.iter().all(|&i| (i as usize) < names.len()));
                    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
                }
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("fuzz.csv"), "{message}");
            match error {
                DataError::CsvNotANumber { line, column, .. }
                | DataError::CsvNonFinite { line, column, .. }
                | DataError::CsvMissing { line, column, .. }
                | DataError::CsvNotUtf8 { line, column, .. }
                | DataError::CsvTooManyLabels { line, column, .. } => {
                    assert!(*line >= 1 && *column >= 1, "{message}");
                }
                DataError::CsvRagged {
                    line,
                    fields,
                    expected,
                    ..
                } => {
                    assert!(*line >= 1 && fields != expected, "{message}");
                }
                _ => {}
            }
        }
    }
    let again = read_csv_from(data, name, &opts, limits);
    match (&result, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("two reads of the same input disagree"),
    }
});
