//! The placeholder type emitted beside the `compile_error!`s of a spec with mistakes.

use crate::lit::ident;
use proc_macro2::TokenStream;
use quote::quote;

/// See [`crate::stub`].
pub fn stub(name: &str) -> TokenStream {
    let ty = ident(name);
    quote! {
        #[doc = " Placeholder: the spec of this model has errors (see the compiler's messages)."]
        pub struct #ty;

        const _: () = {
            impl #ty {
                #[doc = " Placeholder of the generated constructor; never runs."]
                #[must_use]
                pub fn new(seed: u64) -> Self {
                    Self::with_max_batch(1, seed)
                }

                #[doc = " Placeholder of the generated constructor; never runs."]
                #[must_use]
                pub fn with_max_batch(max_batch: usize, seed: u64) -> Self {
                    let _ = (max_batch, seed);
                    ::core::unimplemented!("the spec of this model has errors")
                }
            }

            impl ::mlp::runtime::Model for #ty {
                fn ir(&self) -> &::mlp::spec::ir::Model { ::core::unimplemented!() }
                fn max_batch(&self) -> usize { ::core::unimplemented!() }
                fn params(&self) -> &[f32] { ::core::unimplemented!() }
                fn params_mut(&mut self) -> &mut [f32] { ::core::unimplemented!() }
                fn state(&self) -> &[f32] { ::core::unimplemented!() }
                fn state_mut(&mut self) -> &mut [f32] { ::core::unimplemented!() }
                fn grads(&self) -> &[f32] { ::core::unimplemented!() }
                fn iterations(&self) -> u64 { ::core::unimplemented!() }
                fn forward(&mut self, _: &[f32], _: usize) -> &[f32] { ::core::unimplemented!() }
                fn outputs(&self, _: usize) -> &[f32] { ::core::unimplemented!() }
                fn evaluate_batch(&mut self, _: &[f32], _: ::mlp::runtime::Targets<'_>, _: usize) -> ::mlp::runtime::StepStats {
                    ::core::unimplemented!()
                }
                fn compute_gradients(&mut self, _: &[f32], _: ::mlp::runtime::Targets<'_>, _: usize) -> ::mlp::runtime::StepStats {
                    ::core::unimplemented!()
                }
                fn train_step(&mut self, _: &[f32], _: ::mlp::runtime::Targets<'_>, _: usize) -> ::mlp::runtime::StepStats {
                    ::core::unimplemented!()
                }
            }
        };
    }
}
