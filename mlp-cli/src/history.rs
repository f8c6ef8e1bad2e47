//! A training `History` as a file: JSON with Keras's `history.history` keys, or CSV with
//! one row per epoch. The format follows the file name's extension.
//!
//! JSON: `{"loss": [...], "accuracy": [...], "val_loss": [...], "val_accuracy": [...],
//! "epoch_seconds": [...]}`, one key per metric (the `History` type's own serde form, so it
//! reads back into one). CSV: a header `epoch,loss,<metrics>,val_loss,<val_ metrics>,
//! epoch_seconds` (metrics in name order; the validation columns only when there was
//! validation), epochs numbered from 1 as in the progress output and the plots. Floats are
//! written in their shortest exact form.

use std::fmt::Write as _;
use std::path::Path;

use mlp_runtime::History;

use crate::OutputError;

/// The two history file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `*.json`: Keras's `history.history` dictionary.
    Json,
    /// `*.csv`: one row per epoch.
    Csv,
}

impl Format {
    /// The format named by `path`'s extension (case-insensitive).
    ///
    /// # Errors
    ///
    /// [`OutputError::HistoryFormat`] if the extension is neither `json` nor `csv`.
    pub fn from_path(path: &Path) -> Result<Format, OutputError> {
        let extension = path
            .extension()
            .map(|extension| extension.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            _ => Err(OutputError::HistoryFormat {
                path: path.to_owned(),
            }),
        }
    }
}

/// `history` as pretty-printed JSON, ending with a newline.
#[must_use]
pub fn to_json(history: &History) -> String {
    // Serialising plain vectors of numbers cannot fail; NaN and infinities become `null`.
    let mut text = serde_json::to_string_pretty(history).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// `history` as CSV, one row per epoch (see the module docs).
#[must_use]
pub fn to_csv(history: &History) -> String {
    let validated = !history.val_loss.is_empty();
    let train: Vec<&String> = history
        .metrics
        .keys()
        .filter(|k| !k.starts_with("val_"))
        .collect();
    let val: Vec<&String> = history
        .metrics
        .keys()
        .filter(|k| k.starts_with("val_"))
        .collect();
    let mut text = String::from("epoch,loss");
    for k in &train {
        let _ = write!(text, ",{k}");
    }
    if validated {
        text.push_str(",val_loss");
        for k in &val {
            let _ = write!(text, ",{k}");
        }
    }
    text.push_str(",epoch_seconds\n");
    for epoch in 0..history.loss.len() {
        let _ = write!(text, "{},{}", epoch + 1, history.loss[epoch]);
        for k in &train {
            let _ = write!(text, ",{}", cell(history.metric(k), epoch));
        }
        if validated {
            let _ = write!(text, ",{}", cell(&history.val_loss, epoch));
            for k in &val {
                let _ = write!(text, ",{}", cell(history.metric(k), epoch));
            }
        }
        let seconds = history
            .epoch_seconds
            .get(epoch)
            .map_or_else(String::new, |s| format!("{s:.6}"));
        let _ = writeln!(text, ",{seconds}");
    }
    text
}

/// The value of `column` at `epoch`, or an empty cell if it has none.
fn cell(column: &[f32], epoch: usize) -> String {
    column.get(epoch).map_or_else(String::new, f32::to_string)
}

/// Writes `history` to `path` atomically, in the format of its extension.
///
/// # Errors
///
/// [`OutputError::HistoryFormat`] for another extension, [`OutputError::Write`] if the
/// file cannot be written.
pub fn write(path: &Path, history: &History) -> Result<(), OutputError> {
    let text = match Format::from_path(path)? {
        Format::Json => to_json(history),
        Format::Csv => to_csv(history),
    };
    mlp_runtime::fs::write_atomic(path, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> History {
        History {
            loss: vec![1.5, 0.25],
            val_loss: vec![0.75, 0.125],
            epoch_seconds: vec![1.25, 2.0],
            ..History::default()
        }
        .with_metric("accuracy", vec![0.5, 0.875])
        .with_metric("val_accuracy", vec![0.625, 0.9375])
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            Format::from_path(Path::new("h.json")).ok(),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_path(Path::new("dir/h.CSV")).ok(),
            Some(Format::Csv)
        );
        for bad in ["h.txt", "h", "json"] {
            assert!(matches!(
                Format::from_path(Path::new(bad)),
                Err(OutputError::HistoryFormat { .. })
            ));
        }
    }

    #[test]
    fn csv_has_one_row_per_epoch_numbered_from_one() {
        assert_eq!(
            to_csv(&history()),
            "epoch,loss,accuracy,val_loss,val_accuracy,epoch_seconds\n\
             1,1.5,0.5,0.75,0.625,1.250000\n\
             2,0.25,0.875,0.125,0.9375,2.000000\n"
        );
    }

    #[test]
    fn csv_without_validation_has_no_validation_columns() {
        let mut h = history();
        h.val_loss.clear();
        h.metrics.remove("val_accuracy");
        assert_eq!(
            to_csv(&h),
            "epoch,loss,accuracy,epoch_seconds\n1,1.5,0.5,1.250000\n2,0.25,0.875,2.000000\n"
        );
    }

    #[test]
    fn json_uses_keras_keys_and_reads_back() {
        let text = to_json(&history());
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["val_accuracy"][1], 0.9375);
        assert_eq!(value["loss"][0], 1.5);
        let back: History = serde_json::from_str(&text).expect("a History");
        assert_eq!(back, history());
    }

    #[test]
    fn write_is_atomic_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.csv");
        write(&path, &history()).expect("written");
        assert_eq!(
            std::fs::read_to_string(&path).ok(),
            Some(to_csv(&history()))
        );
        let missing = dir.path().join("no/such/dir/h.json");
        assert!(matches!(
            write(&missing, &history()),
            Err(OutputError::Write { .. })
        ));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("listing")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("h.csv")]);
    }
}
