//! Real MNIST (from `$MLP_DATA/mnist`, else `../../shared/data/mnist`): every notebook spec
//! trained one epoch reaches `val_accuracy` ≥ 0.80 (Keras's lowest first-epoch value over
//! three seeds is 0.81), and baseline trained ten epochs ends with `val_accuracy` ≥ 0.945
//! (Keras: 0.949–0.960). Prints seconds per epoch (run with `--nocapture` to see them).

mod common;

use mlp_runtime::data::load_idx_dir;
use mlp_runtime::{fit, FitOptions, Network};

#[test]
fn notebook_specs_one_epoch_then_baseline_ten() {
    let mnist = load_idx_dir(&common::mnist_dir()).unwrap();
    for (stem, model) in common::notebook(&[28, 28], 64, 32) {
        let mut net = Network::new(&model, 0, model.train.batch).unwrap();
        let opts = FitOptions {
            epochs: if stem == "baseline" { 10 } else { 1 },
            ..FitOptions::from_config(&model.train)
        };
        let h = fit(&mut net, &mnist.train, Some(&mnist.test), &opts).unwrap();
        println!(
            "{stem}: val_accuracy {:?} val_loss {:?} seconds/epoch {:?}",
            h.val_accuracy(),
            h.val_loss,
            h.epoch_seconds
        );
        assert!(
            h.val_accuracy()[0] >= 0.80,
            "{stem}: first epoch val_accuracy {}",
            h.val_accuracy()[0]
        );
        if stem == "baseline" {
            assert!(
                h.val_accuracy()[9] >= 0.945,
                "baseline: final val_accuracy {}",
                h.val_accuracy()[9]
            );
        }
    }
}
