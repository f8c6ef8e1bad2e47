//! The optimiser pass: one fused call per run of adjacent tensors sharing a regulariser
//! (`ParamLayout::update_runs`, the runs `optim::step` takes for `Network`).

use super::Gen;
use crate::lit::float;
use mlp_spec::ir::Optimizer;
use mlp_spec::plan::TensorId;
use proc_macro2::TokenStream;
use quote::quote;

/// `fn optimizer_step(&mut self)`.
pub fn optimizer_fn(g: &Gen) -> TokenStream {
    let optim = g.module("optim");
    let opt = g.m.train.optimizer;
    let layout = &g.plan.layout;
    let trainable: Vec<TensorId> = layout
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.trainable)
        .map(|(i, _)| TensorId(i))
        .collect();
    let mut next = 0;
    let mut lines = Vec::new();
    for run in layout.update_runs() {
        let ids = &trainable[next..next + run.tensors];
        next += run.tensors;
        let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
            continue;
        };
        let (cf, cl) = (g.tensor_const(first), g.tensor_const(last));
        let range = if first == last {
            quote!(Self::#cf)
        } else {
            quote!(Self::#cf.start..Self::#cl.end)
        };
        let reg = match run.regularizer {
            Some(r) => {
                let c = g.regularizer_const(first, r);
                quote!(Some(#c))
            }
            None => quote!(None),
        };
        let w = quote!(&mut self.core.params[#range]);
        let grad = quote!(&self.core.grads[#range]);
        lines.push(match opt {
            Optimizer::Adam { .. } => quote! {
                #optim::adam_update(#w, #grad, &mut m[#range], &mut v[#range], #reg, &coeffs);
            },
            Optimizer::Sgd { momentum, .. } => {
                let vel = if momentum == 0.0 {
                    quote!(None)
                } else {
                    quote!(Some(&mut self.core.slots[#range]))
                };
                quote! {
                    #optim::sgd_update(#w, #grad, #vel, #reg, Self::LEARNING_RATE, Self::MOMENTUM, Self::NESTEROV);
                }
            }
            Optimizer::RmsProp { momentum, .. } => {
                let mom = if momentum > 0.0 {
                    quote!(Some(&mut momentum[#range]))
                } else {
                    quote!(None)
                };
                quote! {
                    #optim::rmsprop_update(#w, #grad, &mut mean_square[#range], #mom, #reg, Self::LEARNING_RATE, Self::RHO, Self::MOMENTUM, Self::EPSILON);
                }
            }
        });
    }
    let prelude = hyper_parameters(g, opt, lines.is_empty());
    let doc = super::text::docs(&format!(
        "Optimiser step ({}): {}; one fused pass per run of adjacent tensors sharing a regulariser, in layout order, adding its regularisation gradient.",
        g.cite_train(),
        super::strukt::optimizer_name(&opt)
    ));
    let receiver = if lines.is_empty() {
        quote!(&self)
    } else {
        quote!(&mut self)
    };
    quote! {
        #doc
        fn optimizer_step(#receiver) {
            #prelude
            #(#lines)*
        }
    }
}

/// Registers the optimiser's named consts and returns the lines the pass starts with.
fn hyper_parameters(g: &Gen, opt: Optimizer, empty: bool) -> TokenStream {
    // Listed after every layer's consts.
    let after_layers = Some(g.m.layers.len());
    let f = |name: &str, v: f32, what: &str| {
        g.konst_of(
            after_layers,
            name,
            quote!(f32),
            float(v),
            format!("{what} ({}).", g.cite_train()),
        )
    };
    match opt {
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            epsilon,
        } => {
            let optim = g.module("optim");
            let lr = f("LEARNING_RATE", lr, "Adam's learning rate");
            let b1 = f("BETA_1", beta1, "Adam's first-moment decay");
            let b2 = f("BETA_2", beta2, "Adam's second-moment decay");
            let eps = f("EPSILON", epsilon, "Adam's epsilon, added to `sqrt(v)`");
            if empty {
                return TokenStream::new();
            }
            quote! {
                let coeffs = #optim::AdamCoeffs::new(#lr, #b1, #b2, #eps, self.core.iterations + 1);
                let (m, v) = self.core.slots.split_at_mut(Self::PARAMS);
            }
        }
        Optimizer::Sgd {
            lr,
            momentum,
            nesterov,
        } => {
            f("LEARNING_RATE", lr, "SGD's learning rate");
            f("MOMENTUM", momentum, "SGD's momentum");
            g.konst_of(
                after_layers,
                "NESTEROV",
                quote!(bool),
                quote!(#nesterov),
                format!("Whether SGD uses Nesterov momentum ({}).", g.cite_train()),
            );
            TokenStream::new()
        }
        Optimizer::RmsProp {
            lr,
            rho,
            momentum,
            epsilon,
        } => {
            f("LEARNING_RATE", lr, "RMSprop's learning rate");
            f("RHO", rho, "RMSprop's decay of the mean square");
            f("MOMENTUM", momentum, "RMSprop's momentum");
            f(
                "EPSILON",
                epsilon,
                "RMSprop's epsilon, added to `sqrt(mean square)`",
            );
            if empty {
                TokenStream::new()
            } else if momentum > 0.0 {
                quote!(let (mean_square, momentum) = self.core.slots.split_at_mut(Self::PARAMS);)
            } else {
                quote!(let mean_square = &mut self.core.slots[..];)
            }
        }
    }
}
