//! Straight-line initialisers: each tensor from the random stream of its index in the
//! layout, as `init::init_params` does for `Network`.

use super::Gen;
use crate::ir_lit;
use crate::lit::{float, size};
use mlp_spec::ir::{Initializer, LayerKind};
use proc_macro2::TokenStream;
use quote::quote;

/// `fn initialize(&mut self)`.
pub fn initialize(g: &Gen) -> TokenStream {
    let seed_used = g.plan.layout.tensors.iter().any(|t| draws(t.init));
    let lines: Vec<TokenStream> = g
        .plan
        .layout
        .tensors
        .iter()
        .enumerate()
        .filter_map(|(index, t)| {
            let id = mlp_spec::plan::TensorId(index);
            let c = g.tensor_const(id);
            let buf = if t.trainable {
                quote!(self.core.params)
            } else {
                quote!(self.core.state)
            };
            match t.init {
                // The buffers start at zero.
                Initializer::Zeros => None,
                Initializer::Ones => Some(quote!(#buf[Self::#c].fill(1.0);)),
                Initializer::Constant(v) => {
                    let v = float(v);
                    Some(quote!(#buf[Self::#c].fill(#v);))
                }
                init => {
                    let init_mod = g.module("init");
                    let lit = ir_lit::initializer(init);
                    let (fan_in, fan_out) = fans(g, t.layer, t.fan_in, t.fan_out, t.shape.len());
                    let index = size(index);
                    Some(quote! {
                        #init_mod::fill(#lit, #fan_in, #fan_out, &mut #init_mod::tensor_rng(self.core.seed, #index), &mut #buf[Self::#c]);
                    })
                }
            }
        })
        .collect();
    let doc = super::text::docs(if seed_used {
        "Keras initialisers: each drawn tensor from its own random stream of `seed` (keyed by its index in the layout, as `Network` does); zeros are already there."
    } else {
        "Keras initialisers (nothing here draws from `seed`); zeros are already there."
    });
    let receiver = if lines.is_empty() {
        quote!(&self)
    } else {
        quote!(&mut self)
    };
    quote! {
        #doc
        fn initialize(#receiver) {
            #(#lines)*
        }
    }
}

/// The Keras fans of a tensor of layer `i`, as named consts where the layer has them.
fn fans(
    g: &Gen,
    i: usize,
    fan_in: usize,
    fan_out: usize,
    rank: usize,
) -> (TokenStream, TokenStream) {
    match &g.layer(i).kind {
        LayerKind::Dense(_) if rank == 2 => (
            g.layer_size(i, "INPUTS", fan_in, "Input features"),
            g.row_len(i),
        ),
        LayerKind::Dense(_) => (g.row_len(i), g.row_len(i)),
        LayerKind::BatchNorm(_) | LayerKind::Normalization { .. } => {
            (g.features(i, fan_in), g.features(i, fan_out))
        }
        // Layers without tensors: never asked.
        LayerKind::Flatten
        | LayerKind::Dropout { .. }
        | LayerKind::LeakyRelu { .. }
        | LayerKind::Activation { .. }
        | LayerKind::Rescale { .. } => (size(fan_in), size(fan_out)),
    }
}

/// Whether `init` draws random numbers.
fn draws(init: Initializer) -> bool {
    !matches!(
        init,
        Initializer::Zeros | Initializer::Ones | Initializer::Constant(_)
    )
}
