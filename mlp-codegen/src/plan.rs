//! Which buffer each layer reads and writes, decided the way `Network::new` decides it.
//!
//! Every layer owns an output buffer (and a gradient buffer mirroring it) named after the
//! layer, except a `Flatten`, which only renames its input and shares its buffer (or the
//! caller's `x`), unless it is the output layer reading `x` directly. A layer computes an
//! input gradient only when a layer with trainable parameters comes before it and its
//! input is not `x`. When the loss is a cross-entropy after a final softmax, the final
//! `Dense` runs linear (or the final `Softmax` layer just copies) and the loss works on
//! the logits.

use mlp_spec::ir::{self, LayerKind};

/// Where a layer reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// The caller's `x`.
    Input,
    /// The output buffer of layer `k`.
    Buf(usize),
}

/// One layer's place in the data flow.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub src: Src,
    /// `None` for a `Flatten` sharing its input's buffer.
    pub dst: Option<usize>,
    pub needs_dx: bool,
}

/// The data flow of a whole model.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The loss works on the logits of a final softmax.
    pub logits_head: bool,
    /// Where the last layer's output (the logits for a logits head) lives.
    pub out: Src,
}

impl Plan {
    pub fn new(model: &ir::Model) -> Plan {
        let last = model.layers.len().saturating_sub(1);
        let mut steps = Vec::with_capacity(model.layers.len());
        let mut src = Src::Input;
        let mut seen_params = false;
        for (i, layer) in model.layers.iter().enumerate() {
            let alias =
                matches!(layer.kind, LayerKind::Flatten) && (src != Src::Input || i != last);
            let dst = (!alias).then_some(i);
            steps.push(Step {
                src,
                dst,
                needs_dx: seen_params && src != Src::Input,
            });
            if layer.params.trainable > 0 {
                seen_params = true;
            }
            if let Some(d) = dst {
                src = Src::Buf(d);
            }
        }
        Plan {
            steps,
            logits_head: model.loss_uses_softmax_logits(),
            out: src,
        }
    }
}
