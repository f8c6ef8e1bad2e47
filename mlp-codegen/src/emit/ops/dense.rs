//! `Dense`: its forward (plain or on folded weights), the training forward fused with the
//! `BatchNorm` after it, its backward, and the inference folds of a `BatchNorm` into it.

use super::{opt_mut, Body};
use crate::emit::Gen;
use mlp_spec::ir::Activation;
use mlp_spec::plan::{
    AfterKind, AfterOp, BackKind, BatchNormOp, DenseOp, DenseWeights, Fold, FoldSide, Value,
};
use proc_macro2::TokenStream;
use quote::quote;
use std::fmt::Write as _;

/// `(Self::DENSE_INPUTS, Self::DENSE_UNITS)` of `Dense` layer `i`.
fn extent(g: &Gen, i: usize, inputs: usize) -> (TokenStream, TokenStream) {
    (
        g.layer_size(i, "INPUTS", inputs, "Input features"),
        g.row_len(i),
    )
}

/// `(kernel, bias)` argument expressions of a dense op.
fn weights(g: &Gen, d: &DenseOp) -> (TokenStream, TokenStream) {
    match d.weights {
        DenseWeights::Params { kernel, bias } => (g.tensor(kernel), g.opt_tensor(bias)),
        DenseWeights::Folded { kernel, bias, .. } => {
            let (k, b) = (g.buf(kernel), g.buf(bias));
            (quote!(&self.#k), quote!(Some(&self.#b)))
        }
    }
}

fn formula(g: &Gen, i: usize, d: &DenseOp) -> String {
    let bias = match d.weights {
        DenseWeights::Params { bias: None, .. } => "",
        DenseWeights::Params { bias: Some(_), .. } | DenseWeights::Folded { .. } => " + bias",
    };
    let logits =
        d.act == Activation::Linear && g.plan.head.from_logits && i + 1 == g.m.layers.len();
    let preact = g.is_preact(Value::Buffer(d.dst));
    let mut what = if logits {
        format!(
            "`{} = x · kernel{bias}` (the logits: the loss applies the softmax), one GEMM with a fused bias epilogue.",
            g.plan.buffer(d.dst).name
        )
    } else if preact {
        format!(
            "`{} = x · kernel{bias}` (the pre-activation, which the activation's derivative needs), one GEMM with a fused bias epilogue.",
            g.plan.buffer(d.dst).name
        )
    } else {
        format!(
            "`{} = {}(x · kernel{bias})`, one GEMM with a fused bias + activation epilogue.",
            g.plan.buffer(d.dst).name,
            super::elementwise::act_name(d.act)
        )
    };
    if let DenseWeights::Folded { batch_norm, .. } = d.weights {
        let _ = write!(
            what,
            " `{}` is folded in (see `fold_batch_norms`), so `x` is `{}`.",
            g.layer(batch_norm).name,
            g.value_name(d.src)
        );
    }
    what
}

pub(super) fn forward(g: &Gen, i: usize, d: &DenseOp) -> Body {
    let layers = g.module("layers");
    let (inputs, units) = extent(g, i, d.inputs);
    let src = g.value(d.src);
    let dst = g.buf(d.dst);
    let (kernel, bias) = weights(g, d);
    let act = g.activation(i, d.act);
    let check = matches!(d.weights, DenseWeights::Folded { .. }).then(|| {
        quote!(debug_assert!(self.core.folded, "fold_batch_norms runs before an inference forward");)
    });
    Body {
        what: formula(g, i, d),
        code: quote! {
            #check
            #layers::dense_forward(batch, #inputs, #units, #src, #kernel, #bias, #act, &mut self.#dst);
        },
    }
}

pub(super) fn forward_with_batch_norm(
    g: &Gen,
    i: usize,
    d: &DenseOp,
    b: &BatchNormOp,
    after: Option<&AfterOp>,
) -> Body {
    let layers = g.module("layers");
    let bn = i + 1;
    let (inputs, units) = extent(g, i, d.inputs);
    let x = match d.src {
        mlp_spec::plan::Value::Input => quote!(x),
        src @ mlp_spec::plan::Value::Buffer(_) => {
            let v = g.value(src);
            quote!(x: #v)
        }
    };
    let (kernel, bias) = weights(g, d);
    let act = g.activation(i, d.act);
    let (gamma, beta) = (g.tensor(b.gamma), g.tensor(b.beta));
    let epsilon = g.layer_float(bn, "EPSILON", b.epsilon, "Added to the variance");
    let momentum = g.layer_float(bn, "MOMENTUM", b.momentum, "The moving-statistics momentum");
    let one_minus = g.layer_float(
        bn,
        "ONE_MINUS_MOMENTUM",
        b.one_minus_momentum,
        "`1 - momentum`, taken in f64 from the written momentum as Keras takes it",
    );
    let split = g.split_tensors(
        b.moving_mean,
        b.moving_variance,
        ("moving_mean", "moving_var"),
    );
    let (mean, inv) = (g.buf(b.mean), g.buf(b.inv_std));
    let (z, y) = (g.buf(d.dst), g.buf(b.dst));
    let (fused, out, also) = match after {
        Some(a) => {
            let o = g.buf(a.dst);
            let fused = match a.kind {
                AfterKind::LeakyRelu { slope } => {
                    let s = g.layer_float(a.layer, "SLOPE", slope, "The slope for negative inputs");
                    quote!(#layers::AfterBatchNorm::LeakyRelu(#s))
                }
                AfterKind::Activation(act) => {
                    let act = g.activation(a.layer, act);
                    quote!(#layers::AfterBatchNorm::Activation(#act))
                }
            };
            let layer = g.layer(a.layer);
            (
                fused,
                quote!(Some(&mut self.#o[..])),
                format!(" and `{}` ({}) run", layer.name, g.cite(layer.line)),
            )
        }
        None => (
            quote!(#layers::AfterBatchNorm::Nothing),
            quote!(None),
            " runs".to_owned(),
        ),
    };
    let bn_layer = g.layer(bn);
    Body {
        what: format!(
            "{} Then `{}` ({}){also} in the same call (`dense_batch_norm_forward_train`: the same operations as the separate layers, in fewer passes over memory).",
            formula(g, i, d),
            bn_layer.name,
            g.cite(bn_layer.line)
        ),
        code: quote! {
            #split
            #layers::dense_batch_norm_forward_train(#layers::DenseBatchNormTrain {
                batch,
                inputs: #inputs,
                units: #units,
                #x,
                kernel: #kernel,
                bias: #bias,
                act: #act,
                gamma: #gamma,
                beta: #beta,
                epsilon: #epsilon,
                momentum: #momentum,
                one_minus_momentum: #one_minus,
                moving_mean,
                moving_var,
                mean: &mut self.#mean,
                inv_std: &mut self.#inv,
                z: &mut self.#z,
                y: &mut self.#y,
                after: #fused,
                out: #out,
            });
        },
    }
}

pub(super) fn backward(g: &Gen, i: usize, op: &BackKind) -> Body {
    let BackKind::Dense {
        x,
        y,
        dy,
        dx,
        inputs,
        act,
        kernel,
        bias,
        ..
    } = op
    else {
        return Body {
            what: String::new(),
            code: TokenStream::new(),
        };
    };
    let layers = g.module("layers");
    let (inputs_c, units) = extent(g, i, *inputs);
    let xin = g.value(*x);
    let (y, dy_f) = (g.buf(*y), g.buf(*dy));
    let dy_name = &g.plan.buffer(*dy).name;
    let act_back = (*act != Activation::Linear).then(|| {
        let epilogue = g.module("epilogue");
        let a = g.activation(i, *act);
        quote! {
            #epilogue::activation_backward(batch, #units, #a, &self.#y, &mut self.#dy_f[..batch * #units]);
        }
    });
    let (grads, dbias) = match bias {
        Some(b) => (
            g.split_grads(*kernel, *b, ("dkernel", "dbias")),
            quote!(Some(dbias)),
        ),
        None => {
            let c = g.tensor_const(*kernel);
            (
                quote!(let dkernel = &mut self.core.grads[Self::#c];),
                quote!(None),
            )
        }
    };
    let kernel_t = g.tensor(*kernel);
    let dx_arg = opt_mut(g, *dx);
    let mut what = String::new();
    if *act != Activation::Linear {
        let _ = write!(
            what,
            "{}' into `{dy_name}`, then ",
            super::elementwise::act_name(*act)
        );
    }
    what.push_str("`dkernel = xᵀ · dy`");
    if bias.is_some() {
        what.push_str(", `dbias = Σ dy`");
    }
    match dx {
        Some(dx) => {
            let _ = write!(what, " and `{} = dy · kernelᵀ`.", g.plan.buffer(*dx).name);
        }
        None => what.push_str(" (no input gradient: nothing before it learns)."),
    }
    Body {
        what,
        code: quote! {
            #act_back
            #grads
            #layers::dense_backward(batch, #inputs_c, #units, #xin, #kernel_t, &self.#dy_f, dkernel, #dbias, #dx_arg);
        },
    }
}

/// One inference fold of a `BatchNorm` into the `Dense` next to it.
pub(super) fn fold(g: &Gen, f: &Fold) -> Body {
    let layers = g.module("layers");
    let i = f.dense;
    let (inputs, units) = extent(g, i, f.inputs);
    let kernel = g.tensor(f.kernel);
    let bias = g.opt_tensor(f.bias);
    let b = &f.batch_norm;
    let epsilon = g.layer_float(
        f.batch_norm_layer,
        "EPSILON",
        b.epsilon,
        "Added to the variance",
    );
    let (gamma, beta) = (g.tensor(b.gamma), g.tensor(b.beta));
    let (mm, mv) = (g.tensor(b.moving_mean), g.tensor(b.moving_variance));
    let (fk, fb) = (g.buf(f.folded_kernel), g.buf(f.folded_bias));
    let (dense, bn) = (&g.layer(i).name, &g.layer(f.batch_norm_layer).name);
    match f.side {
        FoldSide::IntoPrevious => Body {
            what: format!(
                "Folds `{bn}` into the `{dense}` before it for inference, with `g = gamma / sqrt(moving_var + epsilon)`: `{fk} = kernel·g`, `{fb} = bias·g + beta - moving_mean·g`."
            ),
            code: quote! {
                #layers::batch_norm_fold_into_dense(#inputs, #units, #kernel, #bias, #gamma, #beta, #epsilon, #mm, #mv, &mut self.#fk, &mut self.#fb);
            },
        },
        FoldSide::IntoNext => Body {
            what: format!(
                "Folds `{bn}` into the `{dense}` after it for inference, with `g = gamma / sqrt(moving_var + epsilon)`: `{fk} = g·kernel` per input row, `{fb} = bias + Σ (beta - moving_mean·g)·kernel`."
            ),
            code: quote! {
                #layers::batch_norm_fold_into_next_dense(#inputs, #units, #gamma, #beta, #epsilon, #mm, #mv, #kernel, #bias, &mut self.#fk, &mut self.#fb);
            },
        },
    }
}
