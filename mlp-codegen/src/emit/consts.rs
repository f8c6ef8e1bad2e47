//! The named consts of a generated model: its shapes, the range of every tensor, and the
//! shapes and hyper-parameters each op uses (registered as the ops are written, so only
//! those the code names exist).

use super::Gen;
use crate::ir_lit;
use crate::lit::{const_name, float, size};
use mlp_spec::ir::{self, Activation, LayerKind};
use mlp_spec::layout::TensorInfo;
use proc_macro2::TokenStream;
use quote::quote;

/// `INPUTS`, `OUTPUTS`, `PARAMS`, `STATE` and one `Range` const per tensor.
pub fn model_consts(g: &Gen) -> TokenStream {
    let m = g.m;
    let inputs = size(m.input_size());
    let outputs = size(m.output_size());
    let params = size(g.plan.layout.trainable_len);
    let state = size(g.plan.layout.state_len);
    let input_shape = join(&m.input);
    let inputs_doc = super::text::docs(&format!(
        "Features of one input sample (`input [{input_shape}]`)."
    ));
    let params_doc = super::text::docs(
        "Length of the trainable parameter buffer (and of the gradients and each optimiser slot).",
    );
    let tensors = g.plan.layout.tensors.iter().map(|t| {
        let layer = g.layer(t.layer);
        let name = const_name(&layer.name, t.role.as_str());
        let doc = super::text::docs(&tensor_doc(t, layer));
        let (start, end) = (size(t.offset), size(t.offset + t.len));
        quote! {
            #doc
            pub const #name: ::core::ops::Range<usize> = #start..#end;
        }
    });
    quote! {
        #inputs_doc
        pub const INPUTS: usize = #inputs;
        #[doc = " Output units of one sample."]
        pub const OUTPUTS: usize = #outputs;
        #params_doc
        pub const PARAMS: usize = #params;
        #[doc = " Length of the non-trainable state buffer."]
        pub const STATE: usize = #state;
        #(#tensors)*
    }
}

/// Every const registered through [`Gen::konst`], in first-use order.
pub fn registered(g: &Gen) -> TokenStream {
    let consts = g.consts.borrow();
    let mut sorted: Vec<&super::Const> = consts.iter().collect();
    // Model-level consts first, then each layer's, each group in first-use order.
    sorted.sort_by_key(|c| c.layer.map_or(0, |l| l + 1));
    let items = sorted.into_iter().map(|c| {
        let (name, ty, value) = (&c.name, &c.ty, &c.value);
        let doc = super::text::docs(&c.doc);
        quote! {
            #doc
            pub const #name: #ty = #value;
        }
    });
    quote!(#(#items)*)
}

/// `-` then what the tensor is, for the docs of its `const`.
fn tensor_doc(t: &TensorInfo, layer: &ir::Layer) -> String {
    let buffer = if t.trainable { "params" } else { "state" };
    format!(
        "`{}.{}` `[{}]`: its range in `{buffer}` (layer `{}`, {}).",
        layer.name,
        t.role.as_str(),
        join(&t.shape),
        layer.name,
        layer.keras_class()
    )
}

fn join(dims: &[usize]) -> String {
    dims.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Gen<'_> {
    /// `Self::<LAYER>_<SUFFIX>`, a `usize` const of layer `i` documented by `what`.
    pub(super) fn layer_size(
        &self,
        i: usize,
        suffix: &str,
        value: usize,
        what: &str,
    ) -> TokenStream {
        let layer = &self.layer(i).name;
        self.konst_of(
            Some(i),
            &format!("{}_{suffix}", layer.to_uppercase()),
            quote!(usize),
            size(value),
            format!("{what} of `{layer}`."),
        )
    }

    /// `Self::<LAYER>_<SUFFIX>`, an `f32` const of layer `i` documented by `what`.
    pub(super) fn layer_float(
        &self,
        i: usize,
        suffix: &str,
        value: f32,
        what: &str,
    ) -> TokenStream {
        let layer = &self.layer(i).name;
        self.konst_of(
            Some(i),
            &format!("{}_{suffix}", layer.to_uppercase()),
            quote!(f32),
            float(value),
            format!("{what} of `{layer}` ({}).", self.cite(self.layer(i).line)),
        )
    }

    /// The floats per sample of layer `i`'s output, as named consts: `Self::DENSE_UNITS`,
    /// `Self::BATCH_NORMALIZATION_FEATURES` (times its rows), `Self::DROPOUT_FEATURES`, …
    pub(super) fn row_len(&self, i: usize) -> TokenStream {
        let layer = self.layer(i);
        let n: usize = layer.output_shape.iter().product();
        let last = layer.output_shape.last().copied().unwrap_or(1).max(1);
        match &layer.kind {
            LayerKind::Dense(d) => self.layer_size(i, "UNITS", d.units, "Output units"),
            LayerKind::BatchNorm(_)
            | LayerKind::Activation { .. }
            | LayerKind::Normalization { .. } => {
                let cols = self.layer_size(i, "FEATURES", last, "Features (the last axis)");
                if n == last {
                    cols
                } else {
                    let rows = self.layer_size(i, "ROWS", n / last, "Rows per sample");
                    quote!(#rows * #cols)
                }
            }
            LayerKind::Flatten
            | LayerKind::Dropout { .. }
            | LayerKind::LeakyRelu { .. }
            | LayerKind::Rescale { .. } => self.layer_size(i, "FEATURES", n, "Features per sample"),
        }
    }

    /// `batch` or `batch * Self::<LAYER>_ROWS`: the rows an op over layer `i`'s last axis
    /// works on.
    pub(super) fn rows_expr(&self, i: usize, rows: usize) -> TokenStream {
        if rows == 1 {
            quote!(batch)
        } else {
            let r = self.layer_size(i, "ROWS", rows, "Rows per sample");
            quote!(batch * #r)
        }
    }

    /// Activation `act` of layer `i` as an expression: the `ir::Activation` variant when it
    /// has no numeric hyper-parameter, else `Self::<LAYER>_ACTIVATION`, a named const like
    /// every hyper-parameter.
    pub(super) fn activation(&self, i: usize, act: Activation) -> TokenStream {
        match act {
            Activation::Elu { .. } | Activation::LeakyRelu { .. } => {
                let layer = &self.layer(i).name;
                self.konst_of(
                    Some(i),
                    &format!("{}_ACTIVATION", layer.to_uppercase()),
                    quote!(ir::Activation),
                    ir_lit::activation(act),
                    format!("The activation of `{layer}`."),
                )
            }
            Activation::Linear
            | Activation::Relu
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softmax
            | Activation::Selu
            | Activation::Gelu { .. }
            | Activation::Silu
            | Activation::Softplus => ir_lit::activation(act),
        }
    }

    /// `Self::<LAYER>_FEATURES`: the last axis of layer `i`.
    pub(super) fn features(&self, i: usize, features: usize) -> TokenStream {
        self.layer_size(i, "FEATURES", features, "Features (the last axis)")
    }
}
