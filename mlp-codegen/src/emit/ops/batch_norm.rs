//! `BatchNorm` on its own: training forward (batch statistics), inference forward (moving
//! statistics) and backward. (Fused with a `Dense` and folded into one: see `dense`.)

use super::{opt_mut, Body};
use crate::emit::Gen;
use mlp_spec::plan::{BatchNormOp, BufferId};
use proc_macro2::TokenStream;
use quote::quote;

/// `(rows expression, features, epsilon)` of `BatchNorm` layer `i`.
fn extent(g: &Gen, i: usize, b: &BatchNormOp) -> (TokenStream, TokenStream, TokenStream) {
    (
        g.rows_expr(i, b.rows),
        g.features(i, b.features),
        g.layer_float(i, "EPSILON", b.epsilon, "Added to the variance"),
    )
}

pub(super) fn train(g: &Gen, i: usize, b: &BatchNormOp) -> Body {
    let layers = g.module("layers");
    let (rows, features, epsilon) = extent(g, i, b);
    let momentum = g.layer_float(i, "MOMENTUM", b.momentum, "The moving-statistics momentum");
    let one_minus = g.layer_float(
        i,
        "ONE_MINUS_MOMENTUM",
        b.one_minus_momentum,
        "`1 - momentum`, taken in f64 from the written momentum as Keras takes it",
    );
    let split = g.split_tensors(
        b.moving_mean,
        b.moving_variance,
        ("moving_mean", "moving_var"),
    );
    let src = g.value(b.src);
    let (gamma, beta) = (g.tensor(b.gamma), g.tensor(b.beta));
    let (mean, inv, dst) = (g.buf(b.mean), g.buf(b.inv_std), g.buf(b.dst));
    Body {
        what: format!(
            "batch normalisation over {} features on batch statistics (moving statistics updated, momentum {}).",
            b.features, b.momentum
        ),
        code: quote! {
            #split
            #layers::batch_norm_forward_train(#rows, #features, #src, #gamma, #beta, #epsilon, #momentum, #one_minus, moving_mean, moving_var, &mut self.#mean, &mut self.#inv, &mut self.#dst);
        },
    }
}

pub(super) fn infer(g: &Gen, i: usize, b: &BatchNormOp) -> Body {
    let layers = g.module("layers");
    let (rows, features, epsilon) = extent(g, i, b);
    let src = g.value(b.src);
    let (gamma, beta) = (g.tensor(b.gamma), g.tensor(b.beta));
    let (mm, mv) = (g.tensor(b.moving_mean), g.tensor(b.moving_variance));
    let dst = g.buf(b.dst);
    Body {
        what: format!(
            "batch normalisation over {} features on the moving statistics.",
            b.features
        ),
        code: quote! {
            #layers::batch_norm_forward_infer(#rows, #features, #src, #gamma, #beta, #epsilon, #mm, #mv, &mut self.#dst);
        },
    }
}

pub(super) fn backward(
    g: &Gen,
    i: usize,
    b: &BatchNormOp,
    dy: BufferId,
    dx: Option<BufferId>,
) -> Body {
    let layers = g.module("layers");
    let (rows, features, _) = extent(g, i, b);
    let xin = g.value(b.src);
    let split = g.split_grads(b.gamma, b.beta, ("dgamma", "dbeta"));
    let gamma = g.tensor(b.gamma);
    let (mean, inv, dy) = (g.buf(b.mean), g.buf(b.inv_std), g.buf(dy));
    let dx_arg = opt_mut(g, dx);
    let what = match dx {
        Some(dx) => format!(
            "`dgamma`, `dbeta` and `{}` from the batch statistics of the forward step.",
            g.plan.buffer(dx).name
        ),
        None => "`dgamma` and `dbeta` from the batch statistics of the forward step (no input gradient).".to_owned(),
    };
    Body {
        what,
        code: quote! {
            #split
            #layers::batch_norm_backward(#rows, #features, #xin, #gamma, &self.#mean, &self.#inv, &self.#dy, dgamma, dbeta, #dx_arg);
        },
    }
}
