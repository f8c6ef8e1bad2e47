//! One function per op of the plan, and the three sequences that call them.
//!
//! An op that runs the same in training and inference gets one `forward_<layer>`; one that
//! differs gets `train_<layer>` and `infer_<layer>`. Backward ops are `backward_<layer>`,
//! folds `fold_<batch norm>_into_<dense>`. The op families mirror
//! `mlp-runtime/src/layers/`: [`dense`] (with the fused `Dense` → `BatchNorm` and the
//! folds), [`batch_norm`], and the element-wise layers in [`elementwise`].

mod batch_norm;
mod dense;
mod elementwise;

use super::text::docs;
use super::Gen;
use mlp_spec::plan::{BackKind, BackOp, Op, OpKind, Value};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// What an op function's body does: its description and its statements.
pub(super) struct Body {
    what: String,
    code: TokenStream,
}

/// Every op function, the fold driver and the three sequences.
pub fn functions(g: &Gen) -> TokenStream {
    let mut items = Vec::new();
    // Folds.
    let mut fold_calls = Vec::new();
    for fold in &g.plan.folds {
        let name = format_ident!(
            "fold_{}_into_{}",
            g.layer(fold.batch_norm_layer).name,
            g.layer(fold.dense).name
        );
        let body = dense::fold(g, fold);
        let doc = docs(&body.what);
        let code = &body.code;
        items.push(quote! {
            #doc
            fn #name(&mut self) {
                #code
            }
        });
        fold_calls.push(quote!(self.#name();));
    }
    if !fold_calls.is_empty() {
        items.push(quote! {
            #[doc = " Recomputes every inference fold of a `BatchNorm` into a `Dense`, unless `core.folded`"]
            #[doc = " says they match the parameters and state."]
            fn fold_batch_norms(&mut self) {
                if self.core.folded {
                    return;
                }
                #(#fold_calls)*
                self.core.folded = true;
            }
        });
    }
    // Forward ops: shared when the same op runs in both modes.
    let mut train_calls = Vec::new();
    let mut infer_calls = Vec::new();
    for (mode, ops) in [(Mode::Train, &g.plan.train), (Mode::Infer, &g.plan.infer)] {
        for op in ops {
            let shared = shared(g, op);
            let name = fn_name(g, op, mode, shared);
            let reads_x = srcs(&op.kind).contains(&Value::Input);
            let x_arg = reads_x.then(|| quote!(x,));
            let call = quote!(self.#name(#x_arg batch););
            match mode {
                Mode::Train => train_calls.push(call),
                Mode::Infer => infer_calls.push(call),
            }
            if shared && mode == Mode::Infer {
                continue;
            }
            let body = forward_body(g, op);
            let when = match (shared, mode) {
                (true, _) => "in training and inference",
                (false, Mode::Train) => "in training",
                (false, Mode::Infer) => "in inference",
            };
            let layer = g.layer(op.layer);
            let doc = docs(&format!(
                "Forward through `{}` ({}), {when}:\n{}",
                layer.name,
                g.cite(op.line),
                body.what
            ));
            let x_param = reads_x.then(|| quote!(x: &[f32],));
            let code = &body.code;
            items.push(quote! {
                #doc
                fn #name(&mut self, #x_param batch: usize) {
                    #code
                }
            });
        }
    }
    // Backward ops.
    let mut back_calls = Vec::new();
    let mut back_reads_x = false;
    for op in &g.plan.backward {
        let name = back_fn_name(g, op);
        let reads_x = back_input(op) == Some(Value::Input);
        back_reads_x |= reads_x;
        let body = backward_body(g, op);
        let layer = g.layer(op.layer);
        let doc = docs(&format!(
            "Backward through `{}` ({}):\n{}",
            layer.name,
            g.cite(op.line),
            body.what
        ));
        let x_param = reads_x.then(|| quote!(x: &[f32],));
        let x_arg = reads_x.then(|| quote!(x,));
        let code = &body.code;
        items.push(quote! {
            #doc
            fn #name(&mut self, #x_param batch: usize) {
                #code
            }
        });
        back_calls.push(quote!(self.#name(#x_arg batch);));
    }
    let sequences = sequences(g, &train_calls, &infer_calls, &back_calls, back_reads_x);
    quote! {
        #sequences
        #(#items)*
    }
}

fn sequences(
    g: &Gen,
    train: &[TokenStream],
    infer: &[TokenStream],
    back: &[TokenStream],
    back_reads_x: bool,
) -> TokenStream {
    let head = &g.plan.buffer(g.plan.head.out).name;
    let leaves = if g.plan.head.from_logits {
        format!("leaving the logits in `{head}`")
    } else {
        format!("leaving the output in `{head}`")
    };
    let train_doc = docs(&format!(
        "The training forward (dropout active, `BatchNorm` on batch statistics, moving statistics updated), {leaves}."
    ));
    let infer_doc = docs(&format!(
        "The inference forward (`BatchNorm` folded or on its moving statistics), {leaves}."
    ));
    let x_back = if back_reads_x { quote!(x) } else { quote!(_x) };
    quote! {
        #train_doc
        fn run_train(&mut self, x: &[f32], batch: usize) {
            #(#train)*
        }

        #infer_doc
        fn run_infer(&mut self, x: &[f32], batch: usize) {
            #(#infer)*
        }

        #[doc = " Every backward op, last layer first, from the loss gradient to `core.grads`."]
        fn run_backward(&mut self, #x_back: &[f32], batch: usize) {
            #(#back)*
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Train,
    Infer,
}

/// Whether `op` (of either sequence) runs identically in the other one.
fn shared(g: &Gen, op: &Op) -> bool {
    let in_train = g.plan.train.iter().any(|o| o == op);
    let in_infer = g.plan.infer.iter().any(|o| o == op);
    in_train && in_infer
}

fn fn_name(g: &Gen, op: &Op, mode: Mode, shared: bool) -> Ident {
    let layer = &g.layer(op.layer).name;
    let preact = matches!(op.kind, OpKind::Activation { src, .. } if g.is_preact(src));
    let suffix = if preact { "_activation" } else { "" };
    match (shared, mode) {
        (true, _) => format_ident!("forward_{layer}{suffix}"),
        (false, Mode::Train) => format_ident!("train_{layer}{suffix}"),
        (false, Mode::Infer) => format_ident!("infer_{layer}{suffix}"),
    }
}

/// `backward_<layer>`, and `backward_<dense>_activation` for the activation's backward of
/// a `Dense` that keeps its pre-activation (the plan's rule 7: two ops of one layer).
fn back_fn_name(g: &Gen, op: &BackOp) -> Ident {
    let layer = &g.layer(op.layer).name;
    if matches!(op.kind, BackKind::Activation { x, .. } if g.is_preact(x)) {
        format_ident!("backward_{layer}_activation")
    } else {
        format_ident!("backward_{layer}")
    }
}

/// The values a forward op reads.
fn srcs(kind: &OpKind) -> Vec<Value> {
    match kind {
        OpKind::Copy { src, .. }
        | OpKind::Dropout { src, .. }
        | OpKind::LeakyRelu { src, .. }
        | OpKind::Activation { src, .. }
        | OpKind::Rescale { src, .. }
        | OpKind::Normalize { src, .. } => vec![*src],
        OpKind::Dense(d) => vec![d.src],
        OpKind::DenseBatchNorm { dense, .. } => vec![dense.src],
        OpKind::BatchNormTrain(b) | OpKind::BatchNormInfer(b) => vec![b.src],
    }
}

/// The forward input a backward op reads, if any.
fn back_input(op: &BackOp) -> Option<Value> {
    match &op.kind {
        BackKind::Dense { x, .. }
        | BackKind::LeakyRelu { x, .. }
        | BackKind::Activation { x, .. } => Some(*x),
        BackKind::BatchNorm { op, .. } => Some(op.src),
        BackKind::Dropout { .. }
        | BackKind::Copy { .. }
        | BackKind::Rescale { .. }
        | BackKind::Normalize { .. } => None,
    }
}

fn forward_body(g: &Gen, op: &Op) -> Body {
    let i = op.layer;
    match &op.kind {
        OpKind::Copy { src, dst, .. } => elementwise::copy(g, i, *src, *dst),
        OpKind::Dense(d) => dense::forward(g, i, d),
        OpKind::DenseBatchNorm {
            dense,
            batch_norm,
            after,
        } => dense::forward_with_batch_norm(g, i, dense, batch_norm, after.as_ref()),
        OpKind::Dropout { src, dst, rate, .. } => elementwise::dropout(g, i, *src, *dst, *rate),
        OpKind::BatchNormTrain(b) => batch_norm::train(g, i, b),
        OpKind::BatchNormInfer(b) => batch_norm::infer(g, i, b),
        OpKind::LeakyRelu {
            src, dst, slope, ..
        } => elementwise::leaky_relu(g, i, *src, *dst, *slope),
        OpKind::Activation {
            src,
            dst,
            rows,
            act,
            ..
        } => elementwise::activation(g, i, *src, *dst, *rows, *act),
        OpKind::Rescale {
            src,
            dst,
            scale,
            offset,
            ..
        } => elementwise::rescale(g, i, *src, *dst, *scale, *offset),
        OpKind::Normalize {
            src,
            dst,
            mean,
            variance,
            ..
        } => elementwise::normalize(g, i, *src, *dst, *mean, *variance),
    }
}

fn backward_body(g: &Gen, op: &BackOp) -> Body {
    let i = op.layer;
    match &op.kind {
        BackKind::Dense { .. } => dense::backward(g, i, &op.kind),
        BackKind::BatchNorm { op: b, dy, dx } => batch_norm::backward(g, i, b, *dy, *dx),
        BackKind::Dropout { dy, dx, rate, .. } => {
            elementwise::dropout_backward(g, i, *dy, *dx, *rate)
        }
        BackKind::Copy { dy, dx, .. } => elementwise::copy_backward(g, i, *dy, *dx),
        BackKind::LeakyRelu {
            x, dy, dx, slope, ..
        } => elementwise::leaky_relu_backward(g, i, *x, *dy, *dx, *slope),
        BackKind::Activation {
            x,
            y,
            dy,
            dx,
            rows,
            act,
            ..
        } => elementwise::activation_backward(g, i, *x, *y, *dy, *dx, *rows, *act),
        BackKind::Rescale { dy, dx, scale, .. } => {
            elementwise::rescale_backward(g, i, *dy, *dx, *scale)
        }
        BackKind::Normalize {
            dy, dx, variance, ..
        } => elementwise::normalize_backward(g, i, *dy, *dx, *variance),
    }
}

/// `Some(&mut self.d_dense)` or `None`.
fn opt_mut(g: &Gen, b: Option<mlp_spec::plan::BufferId>) -> TokenStream {
    match b {
        Some(b) => {
            let f = g.buf(b);
            quote!(Some(&mut self.#f))
        }
        None => quote!(None),
    }
}
