//! Copies, `Dropout`, `LeakyReLU`, activation layers and `Rescale`: forward and backward.

use super::Body;
use crate::emit::Gen;
use crate::ir_lit;
use mlp_spec::ir::Activation;
use mlp_spec::plan::{BufferId, Value};
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
    let rows = g.rows_expr(i, rows);
    let cols = g.features(i, cols_of(g, i));
    let a = ir_lit::activation(act);
    Body {
        what: format!("`y = {}(x)` over the last axis.", act_name(act)),
        code: quote! {
            #layers::activation_forward(#rows, #cols, #a, #s, &mut self.#d);
        },
    }
}

pub(super) fn activation_backward(
    g: &Gen,
    i: usize,
    y: BufferId,
    dy: BufferId,
    dx: BufferId,
    rows: usize,
    act: Activation,
) -> Body {
    let layers = g.module("layers");
    let (y, dy, dx) = (g.buf(y), g.buf(dy), g.buf(dx));
    let rows = g.rows_expr(i, rows);
    let cols = g.features(i, cols_of(g, i));
    let a = ir_lit::activation(act);
    Body {
        what: format!("`dx = dy ⊙ {}'`, from the forward output.", act_name(act)),
        code: quote! {
            #layers::activation_backward(#rows, #cols, #a, &self.#y, &self.#dy, &mut self.#dx);
        },
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

/// The last axis of layer `i`'s output.
fn cols_of(g: &Gen, i: usize) -> usize {
    g.layer(i).output_shape.last().copied().unwrap_or(1).max(1)
}

/// The activation's Keras name.
pub(super) fn act_name(a: Activation) -> &'static str {
    match a {
        Activation::Linear => "linear",
        Activation::Relu => "relu",
        Activation::Sigmoid => "sigmoid",
        Activation::Tanh => "tanh",
        Activation::Softmax => "softmax",
    }
}
