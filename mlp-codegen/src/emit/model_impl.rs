//! `impl Model for Net`: the accessors shared from the runtime, and the four entry points
//! in the order `mlp_runtime::network` documents.

use super::Gen;
use crate::lit::size;
use proc_macro2::TokenStream;
use quote::quote;

/// The `Model` implementation.
pub fn model_impl(g: &Gen) -> TokenStream {
    let ty = &g.ty;
    // Every computation runs with denormals flushed, as TensorFlow's kernels do.
    let kernels = g.module("kernels");
    let head = g.plan.head;
    let out = g.buf(head.out);
    let fold = (!g.plan.folds.is_empty()).then(|| quote!(self.fold_batch_norms();));
    let (forward_tail, outputs) = match (head.probs, head.logits) {
        (Some(probs), Some(logits)) if head.from_logits => {
            let epilogue = g.module("epilogue");
            let p = g.buf(probs);
            let act = crate::ir_lit::activation(logits.activation());
            (
                quote! {
                    self.#p[..n].copy_from_slice(&self.#out[..n]);
                    #epilogue::bias_activation(batch, Self::OUTPUTS, None, #act, &mut self.#p);
                    &self.#p[..n]
                },
                quote!(&self.#p[..n]),
            )
        }
        _ => (quote!(&self.#out[..n]), quote!(&self.#out[..n])),
    };
    // Each layer's own output of the last forward pass, in layer order (aliases skipped).
    let non_finite = (0..g.m.layers.len()).filter_map(|i| {
        let b = g.plan.own_output(i)?;
        let buf = g.buf(b);
        let n = g.row_len(i);
        let index = size(i);
        Some(quote! {
            if self.#buf[..batch * #n].iter().any(|v| !v.is_finite()) {
                return Some(#index);
            }
        })
    });
    quote! {
        impl Model for #ty {
            ::mlp::runtime::model_core_accessors!(core);

            fn forward(&mut self, x: &[f32], batch: usize) -> &[f32] {
                let _denormals = #kernels::FlushDenormals::new();
                #fold
                self.run_infer(x, batch);
                let n = batch * Self::OUTPUTS;
                #forward_tail
            }

            fn outputs(&self, batch: usize) -> &[f32] {
                let n = batch.min(self.core.max_batch) * Self::OUTPUTS;
                #outputs
            }

            fn evaluate_batch(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
                let _denormals = #kernels::FlushDenormals::new();
                #fold
                self.run_infer(x, batch);
                self.loss(y, batch, false)
            }

            fn compute_gradients(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
                let _denormals = #kernels::FlushDenormals::new();
                // The training forward updates the moving statistics.
                self.core.folded = false;
                self.run_train(x, batch);
                let stats = self.loss(y, batch, true);
                self.run_backward(x, batch);
                stats
            }

            fn train_step(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
                let _denormals = #kernels::FlushDenormals::new();
                let stats = self.compute_gradients(x, y, batch);
                self.optimizer_step();
                self.core.folded = false;
                self.core.iterations += 1;
                stats
            }

            fn first_non_finite_layer(&self, batch: usize) -> Option<usize> {
                let batch = batch.min(self.core.max_batch);
                #(#non_finite)*
                None
            }
        }
    }
}
