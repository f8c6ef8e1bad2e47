//! Copies, `Dropout`, `LeakyReLU`, activation layers and `Rescale`: forward and backward.

use super::Body;
use crate::emit::Gen;
use mlp_spec::ir::Activation;
use mlp_spec::plan::{BufferId, TensorId, Value};
use proc_macro2::TokenStream;
use quote::quote;

pub(super) fn copy(g: &Gen, i: usize, src: Value, dst: BufferId) -> Body {
    let (s, d) = (g.value(src), g.buf(dst));
    let n = g.row_len(i);
    Body {
        what: format!(
            "a copy of `{}` (the layer changes nothing here).",
            g.value_name(src)
        ),
        code: quote! {
            let n = batch * #n;
            self.#d[..n].copy_from_slice(&#s[..n]);
        },
    }
}

pub(super) fn copy_backward(g: &Gen, i: usize, dy: BufferId, dx: BufferId) -> Body {
    let (dy, dx) = (g.buf(dy), g.buf(dx));
    let n = g.row_len(i);
    Body {
        what: format!("`{dx} = {dy}`."),
        code: quote! {
            let n = batch * #n;
            self.#dx[..n].copy_from_slice(&self.#dy[..n]);
        },
    }
}

pub(super) fn dropout(g: &Gen, i: usize, src: Value, dst: BufferId, rate: f32) -> Body {
    let (layers, rng) = (g.module("layers"), g.module("rng"));
    let (s, d) = (g.value(src), g.buf(dst));
    let n = g.row_len(i);
    let r = g.layer_float(i, "RATE", rate, "The drop probability");
    let index = g.layer_size(i, "INDEX", i, "The layer index (keys the dropout masks)");
    Body {
        what: format!(
            "inverted dropout (rate {rate}), the mask keyed by the seed, the layer index and the step."
        ),
        code: quote! {
            let key = #rng::dropout_key(self.core.seed, #index, self.core.iterations);
            #layers::dropout_forward(batch * #n, #r, key, #s, &mut self.#d);
        },
    }
}

pub(super) fn dropout_backward(g: &Gen, i: usize, dy: BufferId, dx: BufferId, rate: f32) -> Body {
    let (layers, rng) = (g.module("layers"), g.module("rng"));
    let (dy, dx) = (g.buf(dy), g.buf(dx));
    let n = g.row_len(i);
    let r = g.layer_float(i, "RATE", rate, "The drop probability");
    let index = g.layer_size(i, "INDEX", i, "The layer index (keys the dropout masks)");
    Body {
        what: "the forward step's mask (recomputed from its key) applied to the gradient."
            .to_owned(),
        code: quote! {
            let key = #rng::dropout_key(self.core.seed, #index, self.core.iterations);
            #layers::dropout_backward(batch * #n, #r, key, &self.#dy, &mut self.#dx);
        },
    }
}

pub(super) fn leaky_relu(g: &Gen, i: usize, src: Value, dst: BufferId, slope: f32) -> Body {
    let layers = g.module("layers");
    let (s, d) = (g.value(src), g.buf(dst));
    let n = g.row_len(i);
    let k = g.layer_float(i, "SLOPE", slope, "The slope for negative inputs");
    Body {
        what: format!("`y = x` for `x ≥ 0`, `{slope}·x` otherwise."),
        code: quote! {
            #layers::leaky_relu_forward(batch * #n, #k, #s, &mut self.#d);
        },
    }
}

pub(super) fn leaky_relu_backward(
    g: &Gen,
    i: usize,
    x: Value,
    dy: BufferId,
    dx: BufferId,
    slope: f32,
) -> Body {
    let layers = g.module("layers");
    let xin = g.value(x);
    let (dy, dx) = (g.buf(dy), g.buf(dx));
    let n = g.row_len(i);
    let k = g.layer_float(i, "SLOPE", slope, "The slope for negative inputs");
    Body {
        what: format!("`dx = dy` where `x > 0`, `{slope}·dy` elsewhere."),
        code: quote! {
            #layers::leaky_relu_backward(batch * #n, #k, #xin, &self.#dy, &mut self.#dx);
        },
    }
}

pub(super) fn activation(
    g: &Gen,
    i: usize,
    src: Value,
    dst: BufferId,
    rows: usize,
    act: Activation,
) -> Body {
    let layers = g.module("layers");
    let (s, d) = (g.value(src), g.buf(dst));
    let cols = cols_expr(g, i, rows);
    let rows = g.rows_expr(i, rows);
    let a = g.activation(i, act);
    Body {
        what: format!(
            "`{} = {}({})` over the last axis.",
            g.plan.buffer(dst).name,
            act_name(act),
            g.value_name(src)
        ),
        code: quote! {
            #layers::activation_forward(#rows, #cols, #a, #s, &mut self.#d);
        },
    }
}

#[allow(clippy::too_many_arguments)] // the fields of one `BackKind::Activation`
pub(super) fn activation_backward(
    g: &Gen,
    i: usize,
    x: Value,
    y: BufferId,
    dy: BufferId,
    dx: BufferId,
    rows: usize,
    act: Activation,
) -> Body {
    let layers = g.module("layers");
    let dx_name = &g.plan.buffer(dx).name;
    let from = if act.derivative_needs_input() {
        format!("from the forward input `{}`", g.value_name(x))
    } else {
        format!("from the forward output `{}`", g.plan.buffer(y).name)
    };
    let (xin, y, dy, dx) = (g.value(x), g.buf(y), g.buf(dy), g.buf(dx));
    let cols = cols_expr(g, i, rows);
    let rows = g.rows_expr(i, rows);
    let a = g.activation(i, act);
    Body {
        what: format!("`{dx_name} = dy ⊙ {}'`, {from}.", act_name(act)),
        code: quote! {
            #layers::activation_backward(#rows, #cols, #a, #xin, &self.#y, &self.#dy, &mut self.#dx);
        },
    }
}

/// The columns of an activation op of layer `i` with `rows` rows per sample: the layer's
/// row length for one row (a `Dense`'s units, an activation layer's features), else its
/// last axis.
fn cols_expr(g: &Gen, i: usize, rows: usize) -> TokenStream {
    if rows == 1 {
        g.row_len(i)
    } else {
        g.features(i, cols_of(g, i))
    }
}

pub(super) fn rescale(
    g: &Gen,
    i: usize,
    src: Value,
    dst: BufferId,
    scale: f32,
    offset: f32,
) -> Body {
    let layers = g.module("layers");
    let (s, d) = (g.value(src), g.buf(dst));
    let n = g.row_len(i);
    let k = g.layer_float(i, "SCALE", scale, "The multiplier");
    let o = g.layer_float(i, "OFFSET", offset, "The offset added after scaling");
    Body {
        what: format!("`y = x·{scale} + {offset}`."),
        code: quote! {
            #layers::rescale_forward(batch * #n, #k, #o, #s, &mut self.#d);
        },
    }
}

pub(super) fn rescale_backward(g: &Gen, i: usize, dy: BufferId, dx: BufferId, scale: f32) -> Body {
    let layers = g.module("layers");
    let (dy, dx) = (g.buf(dy), g.buf(dx));
    let n = g.row_len(i);
    let k = g.layer_float(i, "SCALE", scale, "The multiplier");
    Body {
        what: format!("`dx = dy·{scale}`."),
        code: quote! {
            #layers::rescale_backward(batch * #n, #k, &self.#dy, &mut self.#dx);
        },
    }
}

pub(super) fn normalize(
    g: &Gen,
    i: usize,
    src: Value,
    dst: BufferId,
    mean: TensorId,
    variance: TensorId,
) -> Body {
    let layers = g.module("layers");
    let (s, d) = (g.value(src), g.buf(dst));
    let n = g.row_len(i);
    let (m, v) = (g.tensor(mean), g.tensor(variance));
    Body {
        what: "`y = (x - mean) / max(sqrt(variance), 1e-7)` per feature, the statistics adapted from the training data.".to_owned(),
        code: quote! {
            #layers::normalization_forward(batch, #n, #m, #v, #s, &mut self.#d);
        },
    }
}

pub(super) fn normalize_backward(
    g: &Gen,
    i: usize,
    dy: BufferId,
    dx: BufferId,
    variance: TensorId,
) -> Body {
    let layers = g.module("layers");
    let (dy, dx) = (g.buf(dy), g.buf(dx));
    let n = g.row_len(i);
    let v = g.tensor(variance);
    Body {
        what: "`dx = dy / max(sqrt(variance), 1e-7)`.".to_owned(),
        code: quote! {
            #layers::normalization_backward(batch, #n, #v, &self.#dy, &mut self.#dx);
        },
    }
}

/// The last axis of layer `i`'s output.
fn cols_of(g: &Gen, i: usize) -> usize {
    g.layer(i).output_shape.last().copied().unwrap_or(1).max(1)
}

pub(super) use crate::lit::act_name;
