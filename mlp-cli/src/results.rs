//! The results table (`results.md`): one row per trained model with its parameter count,
//! the last epoch's metrics, the best validation loss and the epoch it was reached at,
//! and the median wall-clock seconds per epoch.

use std::fmt::Write as _;

use mlp_runtime::History;

/// One model's line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What the row is called (the spec's file stem, `baseline`).
    pub name: String,
    /// Total parameter count (trainable and not), as `model.summary()` counts it.
    pub params: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Training loss of the last epoch.
    pub loss: Option<f32>,
    /// Training accuracy of the last epoch.
    pub accuracy: Option<f32>,
    /// Validation loss after the last epoch.
    pub val_loss: Option<f32>,
    /// Validation accuracy after the last epoch.
    pub val_accuracy: Option<f32>,
    /// Lowest validation loss and its 1-based epoch.
    pub best_val_loss: Option<(f32, usize)>,
    /// Median wall-clock seconds of an epoch (training plus validation).
    pub seconds_per_epoch: Option<f64>,
}

impl Row {
    /// The row of a model called `name` with `params` parameters that trained as
    /// `history` says.
    #[must_use]
    pub fn new(name: &str, params: usize, history: &History) -> Row {
        let best_val_loss = history
            .val_loss
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(epoch, &v)| (v, epoch + 1));
        Row {
            name: name.to_owned(),
            params,
            epochs: history.loss.len(),
            loss: history.loss.last().copied(),
            accuracy: history.accuracy().last().copied(),
            val_loss: history.val_loss.last().copied(),
            val_accuracy: history.val_accuracy().last().copied(),
            best_val_loss,
            seconds_per_epoch: median(&history.epoch_seconds),
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count).
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        f64::midpoint(sorted[mid - 1], sorted[mid])
    } else {
        sorted[mid]
    })
}

/// The Markdown table of `rows`, in their order.
#[must_use]
pub fn table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| model | params | epochs | loss | accuracy | val_loss | val_accuracy | best val_loss (epoch) | s/epoch |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let best = row
            .best_val_loss
            .map_or_else(|| "–".to_owned(), |(v, epoch)| format!("{v:.4} ({epoch})"));
        let seconds = row
            .seconds_per_epoch
            .map_or_else(|| "–".to_owned(), |s| format!("{s:.2}"));
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} | {} | {best} | {seconds} |",
            row.name,
            thousands(row.params),
            row.epochs,
            metric(row.loss),
            metric(row.accuracy),
            metric(row.val_loss),
            metric(row.val_accuracy),
        );
    }
    text
}

/// A metric with four decimals, as Keras prints them; `–` when absent.
fn metric(value: Option<f32>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.4}"))
}

/// `52650` as `52,650`.
#[must_use]
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_takes_the_last_epoch_and_the_best_validation_loss() {
        let history = History {
            loss: vec![2.0, 1.0, 0.5],
            val_loss: vec![1.5, 0.25, 0.5],
            epoch_seconds: vec![3.0, 1.0, 2.0],
            ..History::default()
        }
        .with_metric("accuracy", vec![0.5, 0.75, 0.875])
        .with_metric("val_accuracy", vec![0.5, 0.875, 0.75]);
        let row = Row::new("baseline", 52_650, &history);
        assert_eq!(row.epochs, 3);
        assert_eq!(row.loss, Some(0.5));
        assert_eq!(row.val_accuracy, Some(0.75));
        assert_eq!(row.best_val_loss, Some((0.25, 2)));
        assert_eq!(row.seconds_per_epoch, Some(2.0));
        assert_eq!(
            table(&[row]),
            "| model | params | epochs | loss | accuracy | val_loss | val_accuracy | best val_loss (epoch) | s/epoch |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | baseline | 52,650 | 3 | 0.5000 | 0.8750 | 0.5000 | 0.7500 | 0.2500 (2) | 2.00 |\n"
        );
    }

    #[test]
    fn a_history_without_validation_leaves_dashes() {
        let history = History {
            loss: vec![1.0],
            ..History::default()
        }
        .with_metric("accuracy", vec![0.5]);
        let row = Row::new("m", 7, &history);
        assert_eq!(row.best_val_loss, None);
        assert!(table(&[row]).ends_with("| m | 7 | 1 | 1.0000 | 0.5000 | – | – | – | – |\n"));
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[5.0, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn thousands_separators() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (53_034, "53,034"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), s);
        }
    }
}
