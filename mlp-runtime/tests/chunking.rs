//! `evaluate` and `predict` on more rows than the model's largest batch: split into batches
//! of at most `max_batch()` rows internally, as Keras's `batch_size` splits any amount of
//! data, with the same results as a loop over those batches by hand.

mod common;

use mlp_runtime::data::Dataset;
use mlp_runtime::Targets;
use mlp_runtime::{evaluate, predict, Model, Network};
use ndarray::{Array1, Array2};

/// Rows of 12 features with labels in 0..3 (any values do: only the bookkeeping is tested).
fn data(n: usize) -> Dataset {
    let pixels = common::values(n * 12, 5, 0.0, 255.0);
    let images = Array2::from_shape_fn((n, 12), |(r, c)| pixels[r * 12 + c] as u8);
    let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    Dataset::from_u8(images, vec![12], Array1::from(labels), 3).unwrap()
}

fn network(max_batch: usize) -> Network {
    let model = common::compile(
        "model Small {
            input [12]
            Dense(8, activation = relu)
            Dense(3, activation = softmax)
        }",
    );
    Network::new(&model, 1, max_batch).unwrap()
}

#[test]
fn evaluate_with_a_batch_above_max_batch_equals_a_loop_over_max_batch_rows() {
    let set = data(37);
    let mut net = network(8);
    let whole = evaluate(&mut net, &set, 1000).unwrap();
    let (loss, accuracy) = (whole.loss, whole.accuracy());

    // By hand: batches of 8 rows, each loss weighted by its size.
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    let x = set.images().expect("u8 features").mapv(f32::from);
    let mut start = 0;
    while start < set.len() {
        let end = (start + 8).min(set.len());
        let rows: Vec<f32> = x
            .slice(ndarray::s![start..end, ..])
            .iter()
            .copied()
            .collect();
        let labels: Vec<u32> = set
            .labels()
            .expect("class targets")
            .slice(ndarray::s![start..end])
            .to_vec();
        let stats = net.evaluate_batch(&rows, Targets::Classes(&labels), end - start);
        loss_sum += f64::from(stats.loss) * (end - start) as f64;
        correct += stats.correct;
        start = end;
    }
    let n = set.len() as f64;
    assert_eq!(loss.to_bits(), ((loss_sum / n) as f32).to_bits());
    assert_eq!(accuracy.to_bits(), ((correct as f64 / n) as f32).to_bits());
    // And the same as asking for max_batch rows per batch.
    assert_eq!(evaluate(&mut net, &set, 8).unwrap(), whole);
}

#[test]
fn predict_on_more_rows_than_max_batch_equals_a_loop_over_forward() {
    let set = data(37);
    let x = set.images().expect("u8 features").mapv(f32::from);
    let mut net = network(8);
    let out = predict(&mut net, x.view()).unwrap();
    assert_eq!(out.dim(), (37, 3));
    for start in (0..37).step_by(8) {
        let end = (start + 8).min(37);
        let rows: Vec<f32> = x
            .slice(ndarray::s![start..end, ..])
            .iter()
            .copied()
            .collect();
        let y = net.forward(&rows, end - start).to_vec();
        let got: Vec<f32> = out
            .slice(ndarray::s![start..end, ..])
            .iter()
            .copied()
            .collect();
        assert_eq!(got, y, "rows {start}..{end}");
    }
}
