//! Adapting `Normalization` layers before training (Keras's `layer.adapt(x)`): each one's
//! `mean` and `variance` become the population statistics of its input over the data,
//! per feature of the last axis ([`crate::layers::normalization::adapt_statistics`]).
//!
//! A checked spec puts a `Normalization` before any layer with parameters, after nothing
//! but `Flatten` and `Rescale`, so its input is the raw features with those applied, and
//! that is what is measured here. `count` stays 0, as Keras 3 leaves it when adapting on
//! an array.

use crate::data::Dataset;
use crate::layers::normalization::adapt_statistics;
use crate::layout::{ParamLayout, Role, TensorInfo};
use crate::model::Model;
use crate::train::TrainError;
use mlp_spec::ir::LayerKind;

/// Adapts every `Normalization` layer of `model` on the features of `data`'s samples
/// `rows` (clipped to `0..len()`; see the module docs); returns how many layers were
/// adapted. Call it on the training split only, before `fit` (a resumed run keeps the
/// statistics of its checkpoint instead).
///
/// # Errors
/// [`TrainError::FeatureMismatch`] when the data's features differ from the model's
/// input; [`TrainError::Targets`] when a `Normalization` follows a layer other than
/// `Flatten` or `Rescale` (a hand-built IR: the spec checks refuse it).
pub fn adapt<M: Model + ?Sized>(
    model: &mut M,
    data: &Dataset,
    rows: std::ops::Range<usize>,
) -> Result<usize, TrainError> {
    let rows = rows.start.min(data.len())..rows.end.min(data.len());
    let ir = model.ir().clone();
    let expected = ir.input_size();
    if data.features() != expected {
        return Err(TrainError::FeatureMismatch {
            expected,
            found: data.features(),
        });
    }
    let layout = ParamLayout::new(&ir);
    let mut adapted = 0;
    for (i, layer) in ir.layers.iter().enumerate() {
        if !matches!(layer.kind, LayerKind::Normalization { .. }) {
            continue;
        }
        // The affine maps before it, in order.
        let mut before = Vec::new();
        for earlier in &ir.layers[..i] {
            match earlier.kind {
                LayerKind::Flatten => {}
                LayerKind::Rescale { scale, offset } => before.push((scale, offset)),
                _ => {
                    return Err(TrainError::Targets(format!(
                        "`{}` cannot be adapted: it follows `{}`, and only `Flatten` and `Rescale` may come before a `Normalization`",
                        layer.name, earlier.name
                    )))
                }
            }
        }
        let (Some(mean), Some(variance)) = (
            layout.tensor(i, Role::Mean).map(TensorInfo::range),
            layout.tensor(i, Role::Variance).map(TensorInfo::range),
        ) else {
            continue;
        };
        let mut m = vec![0.0f32; mean.len()];
        let mut v = vec![0.0f32; variance.len()];
        let mut row = vec![0.0f32; expected];
        let row_cell = std::cell::RefCell::new(&mut row);
        let for_each_row = |f: &mut dyn FnMut(&[f32])| {
            let mut row = row_cell.borrow_mut();
            for r in rows.clone() {
                data.gather_batch(&[r], &mut row[..]);
                for (scale, offset) in &before {
                    for x in row.iter_mut() {
                        *x = *x * scale + offset;
                    }
                }
                f(&row[..]);
            }
        };
        adapt_statistics(&for_each_row, &mut m, &mut v);
        let state = model.state_mut();
        state[mean].copy_from_slice(&m);
        state[variance].copy_from_slice(&v);
        if let Some(count) = layout.tensor(i, Role::Count).map(TensorInfo::range) {
            state[count].iter_mut().for_each(|c| *c = 0.0);
        }
        adapted += 1;
    }
    Ok(adapted)
}
