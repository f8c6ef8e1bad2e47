//! The loss head and the weight penalty.

use super::text::docs;
use super::Gen;
use crate::ir_lit;
use mlp_spec::ir::{Loss, Regularizer};
use mlp_spec::plan::{Logits, TensorId};
use proc_macro2::TokenStream;
use quote::quote;

/// `fn loss(&mut self, labels, batch, training) -> StepStats`: the plan's head.
pub fn loss_fn(g: &Gen) -> TokenStream {
    let loss = g.module("loss");
    let head = g.plan.head;
    let out = g.buf(head.out);
    let dout = g.buf(head.grad);
    let (out_name, grad_name) = (
        &g.plan.buffer(head.out).name,
        &g.plan.buffer(head.grad).name,
    );
    let penalty = has_penalty(g).then(|| quote!(+ self.penalty()));
    let (doc, call) = match (head.probs, head.logits) {
        (Some(probs), Some(logits)) => {
            let p = g.buf(probs);
            let (f, act) = match logits {
                Logits::Softmax => (quote!(softmax_cross_entropy), "softmax"),
                Logits::Sigmoid => (quote!(sigmoid_cross_entropy), "sigmoid"),
            };
            let grad_doc = match logits {
                Logits::Softmax => "`(p·Σt - t) / batch`",
                Logits::Sigmoid => "`(p - t) / (units·batch)`",
            };
            (
                format!(
                    "{} from the logits in `{out_name}` (writes their {act} into `{p}`), plus the weight penalty; in training also {grad_doc} into `{grad_name}`.",
                    loss_name(head.loss)
                ),
                quote! {
                    #loss::#f(batch, Self::OUTPUTS, &self.#out, y, &mut self.#p, grad)
                },
            )
        }
        _ => {
            let l = crate::ir_lit::loss(head.loss);
            (
                format!(
                    "{} of the output in `{out_name}`, plus the weight penalty; in training also its gradient into `{grad_name}`.",
                    loss_name(head.loss)
                ),
                quote! {
                    #loss::probability_loss(#l, batch, Self::OUTPUTS, &self.#out, y, grad)
                },
            )
        }
    };
    let doc = docs(&doc);
    quote! {
        #doc
        fn loss(&mut self, y: Targets<'_>, batch: usize, training: bool) -> StepStats {
            let n = batch * Self::OUTPUTS;
            let grad = if training {
                Some(&mut self.#dout[..n])
            } else {
                None
            };
            let data = #call;
            StepStats {
                loss: data.loss #penalty,
                correct: data.correct,
                batch,
            }
        }
    }
}

/// Whether any tensor carries a penalty.
fn has_penalty(g: &Gen) -> bool {
    g.plan.layout.trainable().any(|t| t.regularizer.is_some())
}

/// `fn penalty(&self) -> f32`, the sum of every regularised tensor's penalty in layout
/// order (what `regularize::total_penalty` computes).
pub fn penalty_fn(g: &Gen) -> TokenStream {
    if !has_penalty(g) {
        return TokenStream::new();
    }
    let regularize = g.module("regularize");
    let mut names = Vec::new();
    let terms: Vec<TokenStream> = g
        .plan
        .layout
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.trainable)
        .filter_map(|(i, t)| t.regularizer.map(|r| (TensorId(i), r)))
        .map(|(id, r)| {
            names.push(format!("`{}`", g.plan.tensor(id).name));
            let reg = g.regularizer_const(id, r);
            let c = g.tensor_const(id);
            quote!(#regularize::penalty(#reg, &self.core.params[Self::#c]))
        })
        .collect();
    let doc = docs(&format!(
        "The weight penalty `l1·Σ|w| + l2·Σw²` of {}, with the parameters before the step's update.",
        names.join(", ")
    ));
    quote! {
        #doc
        fn penalty(&self) -> f32 {
            #(#terms)+*
        }
    }
}

impl Gen<'_> {
    /// `Self::DENSE_KERNEL_REGULARIZER`: the penalty of tensor `t` as a named const.
    pub(super) fn regularizer_const(&self, t: TensorId, r: Regularizer) -> TokenStream {
        let c = self.tensor_const(t);
        let info = self.plan.tensor(t);
        self.konst_of(
            Some(info.layer),
            &format!("{c}_REGULARIZER"),
            quote!(ir::Regularizer),
            ir_lit::regularizer(r),
            format!(
                "The penalty on `{}` ({}).",
                info.name,
                self.cite(self.layer(info.layer).line)
            ),
        )
    }
}

fn loss_name(l: Loss) -> &'static str {
    match l {
        Loss::SparseCategoricalCrossentropy { .. } => "Sparse categorical cross-entropy",
        Loss::CategoricalCrossentropy { .. } => "Categorical cross-entropy",
        Loss::MeanSquaredError => "Mean squared error",
        Loss::MeanAbsoluteError => "Mean absolute error",
        Loss::Huber { .. } => "Huber loss",
        Loss::BinaryCrossentropy { .. } => "Binary cross-entropy",
    }
}
