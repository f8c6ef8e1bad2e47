//! The tokens of one generated model.
//!
//! Output shape, for a model `Net`:
//! - `pub struct Net` (the spec's `///` docs as rustdoc) holding the flat `params`,
//!   `grads` and `state` buffers, the optimiser's slots, one output buffer per layer
//!   (`dense`, `dense_1`, …) and, where backward needs it, its gradient (`d_dense`, …),
//!   every buffer sized once for the largest batch;
//! - `const _: () = { … };` holding everything else: the imports of the runtime modules,
//!   `impl Net` with the public constructors and `const` ranges per tensor, one function
//!   per step (each layer's forward and backward, the loss, the penalty, the optimiser
//!   pass, the initialisers), `impl Model for Net`, and `fn model_ir()`.
//!
//! Every call mirrors `Network`'s order of operations (see `mlp_runtime::network`).

use crate::ir_lit;
use crate::lit::{const_name, float, ident, size};
use crate::plan::{Plan, Src, Step};
use crate::Options;
use mlp_spec::ir::{self, Activation, Initializer, LayerKind, Loss, Optimizer};
use mlp_spec::layout::{ParamLayout as Layout, Role, TensorInfo as Tensor};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The runtime modules the generated block may import, with their paths in `::mlp::runtime`.
const MODULES: &[(&str, &str)] = &[
    ("epilogue", "kernels::epilogue"),
    ("init", "init"),
    ("kernels", "kernels"),
    ("layers", "layers"),
    ("loss", "loss"),
    ("optim", "optim"),
    ("regularize", "regularize"),
    ("rng", "rng"),
];

/// Everything known about one model while its code is written.
struct Gen<'a> {
    m: &'a ir::Model,
    layout: Layout,
    plan: Plan,
    options: &'a Options,
    ty: Ident,
    /// Runtime modules used so far (only those are imported).
    used: RefCell<BTreeSet<&'static str>>,
}

/// The code of `model` (a stub when it has no layers, which a checked spec never has).
pub fn model(model: &ir::Model, options: &Options) -> TokenStream {
    if model.layers.is_empty() {
        return stub(&model.name);
    }
    let g = Gen {
        m: model,
        layout: Layout::new(model),
        plan: Plan::new(model),
        options,
        ty: ident(&model.name),
        used: RefCell::new(BTreeSet::new()),
    };
    g.emit()
}

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
                fn evaluate_batch(&mut self, _: &[f32], _: &[u8], _: usize) -> ::mlp::runtime::StepStats {
                    ::core::unimplemented!()
                }
                fn compute_gradients(&mut self, _: &[f32], _: &[u8], _: usize) -> ::mlp::runtime::StepStats {
                    ::core::unimplemented!()
                }
                fn train_step(&mut self, _: &[f32], _: &[u8], _: usize) -> ::mlp::runtime::StepStats {
                    ::core::unimplemented!()
                }
            }
        };
    }
}

/// `#[doc = " text"]` lines.
fn docs(lines: &[String]) -> TokenStream {
    lines
        .iter()
        .map(|l| {
            let l = if l.is_empty() {
                String::new()
            } else {
                format!(" {l}")
            };
            quote!(#[doc = #l])
        })
        .collect()
}

/// `Dense ( 64 , activation = relu )` -> `Dense(64, activation = relu)`: the spacing of a
/// line rebuilt from macro tokens, tidied; a `.mlp` line is left as written.
fn tidy(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        let glue_left = matches!(w.chars().next(), Some(',' | ')' | ']'))
            || (w.starts_with('(')
                && out
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_'));
        let after_open = out.ends_with('(')
            || out.ends_with('[')
            || out.ends_with('-') && {
                // `- 0.1` after `(`, `,` or `=` is a negative number.
                let before = out[..out.len() - 1].trim_end();
                before.ends_with(['(', ',', '=', '['])
            };
        if !out.is_empty() && !glue_left && !after_open {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// `-` then what the tensor is, for the docs of its `const`.
fn tensor_doc(t: &Tensor, layer: &ir::Layer) -> String {
    let shape = t
        .shape
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let buffer = if t.trainable { "params" } else { "state" };
    format!(
        "`{}.{}` `[{shape}]`: its range in `{buffer}` (layer `{}`, {}).",
        layer.name,
        t.role.as_str(),
        layer.name,
        layer.keras_class()
    )
}

impl Gen<'_> {
    /// The module `name` (recorded as used, so the block imports it).
    fn module(&self, name: &'static str) -> Ident {
        self.used.borrow_mut().insert(name);
        ident(name)
    }

    /// The spec line `line` quoted for a doc comment: `` `file:line`: `text` ``.
    fn cite(&self, line: u32) -> String {
        let text = self
            .options
            .source
            .lines()
            .nth((line as usize).saturating_sub(1))
            .map(|l| l.split("//").next().unwrap_or(""))
            .map(tidy)
            .unwrap_or_default();
        let place = if self.options.source_name.is_empty() {
            String::new()
        } else {
            format!("`{}:{line}`", self.options.source_name)
        };
        match (place.is_empty(), text.is_empty()) {
            (false, false) => format!("{place}: `{text}`"),
            (false, true) => place,
            (true, false) => format!("`{text}`"),
            (true, true) => format!("line {line}"),
        }
    }

    /// `` `file:line` `` (or "the spec" inside a macro).
    fn place(&self, line: u32) -> String {
        if self.options.source_name.is_empty() {
            "the spec".to_owned()
        } else {
            format!("`{}:{line}`", self.options.source_name)
        }
    }

    fn layer(&self, i: usize) -> &ir::Layer {
        &self.m.layers[i]
    }

    /// The output buffer field of layer `i`.
    fn buf(&self, i: usize) -> Ident {
        ident(&self.layer(i).name)
    }

    /// The gradient buffer field of layer `i`'s output.
    fn dbuf(&self, i: usize) -> Ident {
        format_ident!("d_{}", self.layer(i).name)
    }

    /// The tensor `role` of layer `i` as `Self::DENSE_KERNEL`.
    fn tensor(&self, i: usize, role: Role) -> Option<TokenStream> {
        self.layout.tensor(i, role).map(|t| {
            let c = const_name(&self.layer(i).name, t.role.as_str());
            quote!(Self::#c)
        })
    }

    /// Index of the layer whose buffer holds the final output (logits for a logits head).
    fn out(&self) -> usize {
        match self.plan.out {
            Src::Buf(k) => k,
            Src::Input => 0,
        }
    }

    fn units(&self) -> usize {
        self.m.output_size()
    }

    /// Whether layer `i` is the final `Softmax` layer of a logits head (it only copies).
    fn is_head_softmax(&self, i: usize) -> bool {
        self.plan.logits_head
            && i + 1 == self.m.layers.len()
            && matches!(self.layer(i).kind, LayerKind::Activation(_))
    }

    /// Whether a forward layer behaves differently in training (dropout, batch statistics).
    fn mode_dependent(&self, i: usize) -> bool {
        match self.layer(i).kind {
            LayerKind::Dropout { rate } => rate > 0.0,
            LayerKind::BatchNorm(_) => true,
            LayerKind::Dense(_) => self.fold_of_dense(i).is_some() || self.fuses_batch_norm(i),
            LayerKind::LeakyRelu { .. } | LayerKind::Activation(_) => self.fused_in_training(i),
            _ => false,
        }
    }

    /// Whether `Dense` layer `i` runs in training fused with the `BatchNorm` reading its
    /// output (one `dense_batch_norm_forward_train`, bit-identical to the separate layers).
    fn fuses_batch_norm(&self, i: usize) -> bool {
        let next = i + 1;
        next < self.m.layers.len()
            && matches!(self.layer(i).kind, LayerKind::Dense(_))
            && matches!(self.layer(next).kind, LayerKind::BatchNorm(_))
            && self.step(i).dst == Some(i)
            && self.step(next).src == Src::Buf(i)
            && self.step(next).dst == Some(next)
            && self.layer(next).input_shape.len() == 1
    }

    /// The `LeakyReLU` or activation layer on the output of the `BatchNorm` fused with
    /// `Dense` layer `i` that the fused training pass also runs (never the logits head's
    /// final `Softmax`), if any.
    fn fused_after(&self, i: usize) -> Option<usize> {
        let a = i + 2;
        (self.fuses_batch_norm(i)
            && a < self.m.layers.len()
            && matches!(
                self.layer(a).kind,
                LayerKind::LeakyRelu { .. } | LayerKind::Activation(_)
            )
            && self.step(a).src == Src::Buf(i + 1)
            && self.step(a).dst == Some(a)
            && !(self.plan.logits_head && a + 1 == self.m.layers.len()))
        .then_some(a)
    }

    /// Whether layer `i` (a `BatchNorm` or activation layer) runs in training inside the
    /// fused forward of the `Dense` before it.
    fn fused_in_training(&self, i: usize) -> bool {
        (i >= 1
            && matches!(self.layer(i).kind, LayerKind::BatchNorm(_))
            && self.fuses_batch_norm(i - 1))
            || (i >= 2 && self.fused_after(i - 2) == Some(i))
    }

    /// Whether layer `i` has no forward of its own: a `BatchNorm` that training runs fused
    /// with the `Dense` before it and inference folds into a `Dense`.
    fn no_forward(&self, i: usize) -> bool {
        matches!(self.layer(i).kind, LayerKind::BatchNorm(_))
            && self.fused_in_training(i)
            && self.is_folded_batch_norm(i)
    }

    /// Whether layer `i` is a linear `Dense` followed by a `BatchNorm`, which inference
    /// folds into it (`forward` and `evaluate_batch` then run one `dense_forward` with the
    /// folded kernel and bias, writing the `BatchNorm`'s output; training is unchanged).
    fn folds_batch_norm(&self, i: usize) -> bool {
        let next = i + 1;
        next < self.m.layers.len()
            && matches!(&self.layer(i).kind, LayerKind::Dense(d) if d.activation == Activation::Linear)
            && matches!(self.layer(next).kind, LayerKind::BatchNorm(_))
            && self.step(i).dst.is_some()
            && self.step(next).src == Src::Buf(i)
            && self.layer(next).input_shape.len() == 1
    }

    /// Whether layer `i` is a `Dense` right after a `BatchNorm` that inference folds into
    /// it instead (the `BatchNorm` not folded into a `Dense` before it, not reading `x`,
    /// this `Dense` folding no `BatchNorm` after it): `forward` and `evaluate_batch` then
    /// run one `dense_forward` with the folded kernel and bias on the `BatchNorm`'s input.
    fn folds_previous_batch_norm(&self, i: usize) -> bool {
        i >= 1
            && matches!(self.layer(i).kind, LayerKind::Dense(_))
            && matches!(self.layer(i - 1).kind, LayerKind::BatchNorm(_))
            && !(i >= 2 && self.folds_batch_norm(i - 2))
            && !self.folds_batch_norm(i)
            && self.step(i).dst.is_some()
            && self.step(i).src == Src::Buf(i - 1)
            && matches!(self.step(i - 1).src, Src::Buf(_))
            && self.layer(i - 1).input_shape.len() == 1
    }

    /// The `BatchNorm` that inference folds into `Dense` layer `i`, if any.
    fn fold_of_dense(&self, i: usize) -> Option<usize> {
        if self.folds_batch_norm(i) {
            Some(i + 1)
        } else if self.folds_previous_batch_norm(i) {
            Some(i - 1)
        } else {
            None
        }
    }

    /// Whether layer `i` is a `BatchNorm` folded into a `Dense` next to it in inference.
    fn is_folded_batch_norm(&self, i: usize) -> bool {
        (i > 0 && self.folds_batch_norm(i - 1))
            || (i + 1 < self.m.layers.len() && self.folds_previous_batch_norm(i + 1))
    }

    fn any_fold(&self) -> bool {
        (0..self.m.layers.len()).any(|i| self.fold_of_dense(i).is_some())
    }

    /// Output units of `Dense` layer `i`.
    fn dense_units(&self, i: usize) -> usize {
        match &self.layer(i).kind {
            LayerKind::Dense(d) => d.units,
            _ => 0,
        }
    }

    /// The folded kernel and bias fields of `Dense` layer `i`.
    fn folded_fields(&self, i: usize) -> (Ident, Ident) {
        let name = &self.layer(i).name;
        (
            format_ident!("{name}_folded_kernel"),
            format_ident!("{name}_folded_bias"),
        )
    }

    fn any_mode_dependent(&self) -> bool {
        (0..self.m.layers.len()).any(|i| self.step(i).dst.is_some() && self.mode_dependent(i))
    }

    fn step(&self, i: usize) -> Step {
        self.plan.steps[i]
    }

    /// Whether layer `i`'s backward pass writes the gradient of its input.
    fn writes_dx(&self, i: usize) -> bool {
        let step = self.step(i);
        if step.dst.is_none() || !matches!(step.src, Src::Buf(_)) {
            return false;
        }
        self.is_head_softmax(i)
            || (step.needs_dx && !matches!(self.layer(i).kind, LayerKind::Flatten))
    }

    /// Whether the output of layer `k` needs a gradient buffer.
    fn has_dbuf(&self, k: usize) -> bool {
        k == self.out()
            || (0..self.m.layers.len())
                .any(|j| self.step(j).src == Src::Buf(k) && self.writes_dx(j))
    }

    /// Whether layer `i` has anything to do backward.
    fn has_backward(&self, i: usize) -> bool {
        let step = self.step(i);
        if step.dst.is_none() {
            return false;
        }
        if self.is_head_softmax(i) {
            return self.writes_dx(i);
        }
        match self.layer(i).kind {
            LayerKind::Flatten => false,
            LayerKind::Dense(_) | LayerKind::BatchNorm(_) => true,
            LayerKind::Dropout { .. }
            | LayerKind::LeakyRelu { .. }
            | LayerKind::Activation(_)
            | LayerKind::Rescale { .. } => self.writes_dx(i),
        }
    }

    fn emit(&self) -> TokenStream {
        let ty = &self.ty;
        let strukt = self.strukt();
        // Generate the block first: it records which runtime modules it uses.
        let consts = self.consts();
        let ctor = self.constructors();
        let init = self.initialize();
        let forward_layers: Vec<TokenStream> = (0..self.m.layers.len())
            .map(|i| self.forward_fn(i))
            .collect();
        let backward_layers: Vec<TokenStream> = (0..self.m.layers.len())
            .map(|i| self.backward_fn(i))
            .collect();
        let run_forward = self.run_forward();
        let fold = self.fold_fn();
        let run_backward = self.run_backward();
        let loss = self.loss_fn();
        let penalty = self.penalty_fn();
        let optimizer = self.optimizer_fn();
        let model_impl = self.model_impl();
        let ir = ir_lit::model(self.m);
        let imports = self.imports();
        let name = &self.m.name;
        let ir_doc = format!(" The IR of `{name}`, as the spec compiler built it.");
        quote! {
            #strukt

            const _: () = {
                #imports

                #[allow(clippy::too_many_lines, reason = "straight-line code generated from the spec, one block per tensor or layer")]
                impl #ty {
                    #consts
                    #ctor
                    #init
                    #run_forward
                    #fold
                    #(#forward_layers)*
                    #loss
                    #penalty
                    #run_backward
                    #(#backward_layers)*
                    #optimizer
                }

                #model_impl

                #[doc = #ir_doc]
                #[allow(clippy::too_many_lines, reason = "one literal per layer")]
                fn model_ir() -> ir::Model {
                    #ir
                }
            };
        }
    }

    fn imports(&self) -> TokenStream {
        let used = self.used.borrow();
        let modules = MODULES
            .iter()
            .filter(|(name, _)| used.contains(name))
            .filter_map(|(_, path)| syn::parse_str::<syn::UseTree>(path).ok());
        quote! {
            use ::mlp::runtime::{#(#modules,)* Model, StepStats};
            use ::mlp::spec::ir;
        }
    }

    fn strukt(&self) -> TokenStream {
        let ty = &self.ty;
        let m = self.m;
        let mut doc_lines = m.doc.clone();
        if !doc_lines.is_empty() {
            doc_lines.push(String::new());
        }
        doc_lines.push(format!(
            "Generated by `mlp` from {}: {} layers, {} trainable and {} non-trainable parameters, trained with {}.",
            self.place(m.line),
            m.layers.len(),
            m.params.trainable,
            m.params.non_trainable,
            optimizer_name(&m.train.optimizer),
        ));
        doc_lines.push(String::new());
        doc_lines.push(
            "Use it through `mlp::runtime::Model` (`fit`, `evaluate`, `predict`, `summary`); \
             a training step and a forward pass allocate nothing."
                .to_owned(),
        );
        let doc = docs(&doc_lines);
        let mut fields = Vec::new();
        let mut field = |name: Ident, ty: TokenStream, doc: String| {
            let doc = format!(" {doc}");
            fields.push(quote!(#[doc = #doc] #name: #ty,));
        };
        let vec = quote!(::std::vec::Vec<f32>);
        field(
            ident("ir"),
            quote!(::mlp::spec::ir::Model),
            "The model's IR.".into(),
        );
        field(
            ident("seed"),
            quote!(u64),
            "Seed of initialisation and dropout masks.".into(),
        );
        field(
            ident("max_batch"),
            quote!(usize),
            "Largest batch the buffers hold.".into(),
        );
        field(
            ident("iterations"),
            quote!(u64),
            "Optimiser steps taken so far.".into(),
        );
        field(
            ident("params"),
            vec.clone(),
            "Trainable parameters, one range per tensor (see the consts).".into(),
        );
        field(
            ident("grads"),
            vec.clone(),
            "Data-loss gradients, mirroring `params`.".into(),
        );
        field(
            ident("state"),
            vec.clone(),
            "Non-trainable tensors (`BatchNorm` moving statistics).".into(),
        );
        let slots = optimizer_slots(&m.train.optimizer);
        if !slots.is_empty() {
            let doc = slots
                .iter()
                .enumerate()
                .map(|(i, s)| format!("slot {i}: {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            field(
                ident("slots"),
                vec.clone(),
                format!("Optimiser state, `PARAMS` floats per slot mirroring `params` ({doc})."),
            );
        }
        for (i, layer) in m.layers.iter().enumerate() {
            if self.step(i).dst.is_none() {
                continue;
            }
            let n: usize = layer.output_shape.iter().product();
            field(
                self.buf(i),
                vec.clone(),
                format!("Output of `{}`, `[max_batch, {n}]`.", layer.name),
            );
            if self.has_dbuf(i) {
                field(
                    self.dbuf(i),
                    vec.clone(),
                    format!("Gradient of the loss with respect to `{}`.", layer.name),
                );
            }
            if let Some(bn) = self.fold_of_dense(i) {
                let (fk, fb) = self.folded_fields(i);
                let next = &self.layer(bn).name;
                let units = size(self.dense_units(i));
                field(
                    fk,
                    vec.clone(),
                    format!(
                        "`{}.kernel` with `{next}` folded in (inference only; valid while `folded`).",
                        layer.name
                    ),
                );
                field(
                    fb,
                    quote!([f32; #units]),
                    format!(
                        "`{}.bias` with `{next}` folded in (inference only; valid while `folded`).",
                        layer.name
                    ),
                );
            }
            if let LayerKind::BatchNorm(_) = layer.kind {
                let f = size(bn_features(layer));
                field(
                    format_ident!("{}_mean", layer.name),
                    quote!([f32; #f]),
                    format!(
                        "Batch mean of `{}`'s input in the last training step.",
                        layer.name
                    ),
                );
                field(
                    format_ident!("{}_inv_std", layer.name),
                    quote!([f32; #f]),
                    format!(
                        "`1 / sqrt(var + epsilon)` of `{}`'s input in the last training step.",
                        layer.name
                    ),
                );
            }
        }
        if self.plan.logits_head {
            field(
                ident("probs"),
                vec,
                "Softmax of the logits, `[max_batch, outputs]`.".into(),
            );
        }
        if self.any_fold() {
            field(
                ident("folded"),
                quote!(bool),
                "Whether the `*_folded_*` tensors match `params` and `state` (cleared by everything that changes them).".into(),
            );
        }
        quote! {
            #doc
            #[allow(clippy::doc_markdown, reason = "the first lines are the spec's own doc comment")]
            pub struct #ty {
                #(#fields)*
            }
        }
    }

    fn consts(&self) -> TokenStream {
        let m = self.m;
        let inputs = size(m.input_size());
        let outputs = size(self.units());
        let params = size(self.layout.trainable_len);
        let state = size(self.layout.state_len);
        let input_shape = m
            .input
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let inputs_doc = format!(" Features of one input sample (`input [{input_shape}]`).");
        let tensors = self.layout.tensors.iter().map(|t| {
            let layer = self.layer(t.layer);
            let name = const_name(&layer.name, t.role.as_str());
            let doc = format!(" {}", tensor_doc(t, layer));
            let (start, end) = (size(t.offset), size(t.offset + t.len));
            quote! {
                #[doc = #doc]
                pub const #name: ::core::ops::Range<usize> = #start..#end;
            }
        });
        quote! {
            #[doc = #inputs_doc]
            pub const INPUTS: usize = #inputs;
            #[doc = " Output units of one sample."]
            pub const OUTPUTS: usize = #outputs;
            #[doc = " Length of the trainable parameter buffer (and of the gradients and each optimiser slot)."]
            pub const PARAMS: usize = #params;
            #[doc = " Length of the non-trainable state buffer."]
            pub const STATE: usize = #state;
            #(#tensors)*
        }
    }

    fn constructors(&self) -> TokenStream {
        let ty = &self.ty;
        let name = &self.m.name;
        let batch = size(self.m.train.batch);
        let new_doc = format!(
            " A fresh `{name}` with parameters initialised from `seed`, its buffers sized for the spec's batch of {}.",
            self.m.train.batch
        );
        let with_doc = format!(
            " A fresh `{name}` with parameters initialised from `seed`, its buffers sized for batches of up to `max_batch` rows (at least 1)."
        );
        let mut fields = vec![
            quote!(ir: model_ir()),
            quote!(seed),
            quote!(max_batch),
            quote!(iterations: 0),
            quote!(params: ::std::vec![0.0; Self::PARAMS]),
            quote!(grads: ::std::vec![0.0; Self::PARAMS]),
            quote!(state: ::std::vec![0.0; Self::STATE]),
        ];
        let slots = optimizer_slots(&self.m.train.optimizer).len();
        if slots > 0 {
            let n = size(slots);
            fields.push(quote!(slots: ::std::vec![0.0; #n * Self::PARAMS]));
        }
        for (i, layer) in self.m.layers.iter().enumerate() {
            if self.step(i).dst.is_none() {
                continue;
            }
            let n = size(layer.output_shape.iter().product());
            let buf = self.buf(i);
            fields.push(quote!(#buf: ::std::vec![0.0; max_batch * #n]));
            if self.has_dbuf(i) {
                let dbuf = self.dbuf(i);
                fields.push(quote!(#dbuf: ::std::vec![0.0; max_batch * #n]));
            }
            if self.fold_of_dense(i).is_some() {
                let (fk, fb) = self.folded_fields(i);
                let kn = size(layer.input_shape[0] * self.dense_units(i));
                let units = size(self.dense_units(i));
                fields.push(quote!(#fk: ::std::vec![0.0; #kn]));
                fields.push(quote!(#fb: [0.0; #units]));
            }
            if let LayerKind::BatchNorm(_) = layer.kind {
                let f = size(bn_features(layer));
                let mean = format_ident!("{}_mean", layer.name);
                let inv = format_ident!("{}_inv_std", layer.name);
                fields.push(quote!(#mean: [0.0; #f]));
                fields.push(quote!(#inv: [0.0; #f]));
            }
        }
        if self.plan.logits_head {
            fields.push(quote!(probs: ::std::vec![0.0; max_batch * Self::OUTPUTS]));
        }
        if self.any_fold() {
            fields.push(quote!(folded: false));
        }
        quote! {
            #[doc = #new_doc]
            #[must_use]
            pub fn new(seed: u64) -> Self {
                Self::with_max_batch(#batch, seed)
            }

            #[doc = #with_doc]
            #[must_use]
            pub fn with_max_batch(max_batch: usize, seed: u64) -> Self {
                let max_batch = max_batch.max(1);
                let mut model = #ty {
                    #(#fields),*
                };
                model.initialize();
                model
            }
        }
    }

    /// Straight-line initialisers, each tensor from the random stream of its index in the
    /// layout (what `init::init_params` does).
    fn initialize(&self) -> TokenStream {
        let seed_used = self.layout.tensors.iter().any(|t| draws(t.init));
        let lines = self.layout.tensors.iter().enumerate().filter_map(|(index, t)| {
            let layer = self.layer(t.layer);
            let c = const_name(&layer.name, t.role.as_str());
            let buf = if t.trainable { ident("params") } else { ident("state") };
            match t.init {
                // The buffers start at zero.
                Initializer::Zeros => None,
                Initializer::Ones => Some(quote!(self.#buf[Self::#c].fill(1.0);)),
                Initializer::Constant(v) => {
                    let v = float(v);
                    Some(quote!(self.#buf[Self::#c].fill(#v);))
                }
                init => {
                    let init_mod = self.module("init");
                    let init = ir_lit::initializer(init);
                    let (fan_in, fan_out, index) = (size(t.fan_in), size(t.fan_out), size(index));
                    Some(quote! {
                        #init_mod::fill(#init, #fan_in, #fan_out, &mut #init_mod::tensor_rng(self.seed, #index), &mut self.#buf[Self::#c]);
                    })
                }
            }
        });
        let lines: Vec<TokenStream> = lines.collect();
        let doc = if seed_used {
            " Keras initialisers: each drawn tensor from its own random stream of `seed` (keyed by its index in the layout, as `Network` does); zeros are already there."
        } else {
            " Keras initialisers (nothing here draws from `seed`); zeros are already there."
        };
        let receiver = if lines.is_empty() {
            quote!(&self)
        } else {
            quote!(&mut self)
        };
        quote! {
            #[doc = #doc]
            fn initialize(#receiver) {
                #(#lines)*
            }
        }
    }

    /// `x` for the input, `&self.dense` for a buffer.
    fn input_expr(&self, src: Src) -> TokenStream {
        match src {
            Src::Input => quote!(x),
            Src::Buf(k) => {
                let b = self.buf(k);
                quote!(&self.#b)
            }
        }
    }

    fn forward_sig(&self, i: usize, name: &Ident) -> TokenStream {
        let x = (self.step(i).src == Src::Input).then(|| quote!(x: &[f32],));
        let training = self.mode_dependent(i).then(|| quote!(, training: bool));
        quote!(fn #name(&mut self, #x batch: usize #training))
    }

    fn forward_fn(&self, i: usize) -> TokenStream {
        let step = self.step(i);
        let Some(dst) = step.dst else {
            return TokenStream::new();
        };
        let layer = self.layer(i);
        let fname = format_ident!("forward_{}", layer.name);
        let sig = self.forward_sig(i, &fname);
        let out = self.buf(dst);
        let src = self.input_expr(step.src);
        let in_n: usize = layer.input_shape.iter().product();
        let n: usize = layer.output_shape.iter().product();
        let n_lit = size(n);
        let (what, body) = if self.is_head_softmax(i) {
            (
                "the loss takes the softmax's input (the logits) itself, so this only copies it."
                    .to_owned(),
                quote! {
                    let n = batch * #n_lit;
                    self.#out[..n].copy_from_slice(&#src[..n]);
                },
            )
        } else {
            match &layer.kind {
                LayerKind::Flatten => {
                    let in_lit = size(in_n);
                    (
                        "`Flatten` as the only layer: a copy.".to_owned(),
                        quote! {
                            let n = batch * #in_lit;
                            self.#out[..n].copy_from_slice(&x[..n]);
                        },
                    )
                }
                LayerKind::Dense(d) => {
                    let layers = self.module("layers");
                    let logits = i + 1 == self.m.layers.len() && self.plan.logits_head;
                    let act = if logits {
                        Activation::Linear
                    } else {
                        d.activation
                    };
                    let act_lit = ir_lit::activation(act);
                    let (inputs, units) = (size(layer.input_shape[0]), size(d.units));
                    let kernel = self.tensor(i, Role::Kernel);
                    let bias = match self.tensor(i, Role::Bias) {
                        Some(b) => quote!(::core::option::Option::Some(&self.params[#b])),
                        None => quote!(::core::option::Option::None),
                    };
                    let what = if logits {
                        format!(
                            "`{} = x · kernel{}` (the logits: the loss applies the softmax), one GEMM with a fused bias epilogue.",
                            layer.name,
                            if d.use_bias { " + bias" } else { "" }
                        )
                    } else {
                        format!(
                            "`{} = {}(x · kernel{})`, one GEMM with a fused bias + activation epilogue.",
                            layer.name,
                            act_name(act),
                            if d.use_bias { " + bias" } else { "" }
                        )
                    };
                    let plain = quote! {
                        #layers::dense_forward(batch, #inputs, #units, #src, &self.params[#kernel], #bias, #act_lit, &mut self.#out);
                    };
                    let (what, infer) = if self.folds_batch_norm(i) {
                        let (fk, fb) = self.folded_fields(i);
                        let next = self.buf(i + 1);
                        (
                            format!(
                                "{what} In inference, `{next}` (the `BatchNorm` after it) is folded in: one GEMM with `{fk}` and `{fb}` writes `{next}` directly (see `fold_batch_norms`)."
                            ),
                            quote! {
                                debug_assert!(self.folded, "fold_batch_norms runs before an inference forward");
                                #layers::dense_forward(batch, #inputs, #units, #src, &self.#fk, ::core::option::Option::Some(&self.#fb), #act_lit, &mut self.#next);
                            },
                        )
                    } else if self.folds_previous_batch_norm(i) {
                        let (fk, fb) = self.folded_fields(i);
                        let bn = self.buf(i - 1);
                        let bn_src = self.input_expr(self.step(i - 1).src);
                        let bn_in = match self.step(i - 1).src {
                            Src::Buf(k) => self.layer(k).name.clone(),
                            Src::Input => "x".to_owned(),
                        };
                        (
                            format!(
                                "{what} In inference, `{bn}` (the `BatchNorm` before it) is folded in: one GEMM on `{bn_in}` with `{fk}` and `{fb}` (see `fold_batch_norms`)."
                            ),
                            quote! {
                                debug_assert!(self.folded, "fold_batch_norms runs before an inference forward");
                                #layers::dense_forward(batch, #inputs, #units, #bn_src, &self.#fk, ::core::option::Option::Some(&self.#fb), #act_lit, &mut self.#out);
                            },
                        )
                    } else {
                        (what, plain.clone())
                    };
                    if self.fuses_batch_norm(i) {
                        let (what, train) = self.dense_batch_norm_call(
                            i,
                            &what,
                            &quote! {
                                batch, #inputs, #units, #src, &self.params[#kernel], #bias, #act_lit
                            },
                        );
                        return self.forward_doc(
                            i,
                            &sig,
                            &what,
                            &quote! {
                                if training {
                                    #train
                                } else {
                                    #infer
                                }
                            },
                        );
                    }
                    if self.fold_of_dense(i).is_some() {
                        return self.forward_doc(
                            i,
                            &sig,
                            &what,
                            &quote! {
                                if training {
                                    #plain
                                } else {
                                    #infer
                                }
                            },
                        );
                    }
                    (what, plain)
                }
                LayerKind::Dropout { rate } => {
                    if *rate > 0.0 {
                        let (layers, rng) = (self.module("layers"), self.module("rng"));
                        let r = float(*rate);
                        let idx = size(i);
                        (
                            format!("inverted dropout in training (mask keyed by seed, layer {i} and the step), a copy in inference."),
                            quote! {
                                let n = batch * #n_lit;
                                if training {
                                    let key = #rng::dropout_key(self.seed, #idx, self.iterations);
                                    #layers::dropout_forward(n, #r, key, #src, &mut self.#out);
                                } else {
                                    self.#out[..n].copy_from_slice(&#src[..n]);
                                }
                            },
                        )
                    } else {
                        (
                            "a rate of 0 keeps everything: a copy.".to_owned(),
                            quote! {
                                let n = batch * #n_lit;
                                self.#out[..n].copy_from_slice(&#src[..n]);
                            },
                        )
                    }
                }
                LayerKind::BatchNorm(bn) => {
                    let layers = self.module("layers");
                    let f = bn_features(layer);
                    let f_lit = size(f);
                    let rows = size(in_n / f);
                    let (momentum, epsilon) = (float(bn.momentum), float(bn.epsilon));
                    let gamma = self.tensor(i, Role::Gamma);
                    let beta = self.tensor(i, Role::Beta);
                    let mm = self.tensor(i, Role::MovingMean);
                    let mv = self.tensor(i, Role::MovingVariance);
                    let mean = format_ident!("{}_mean", layer.name);
                    let inv = format_ident!("{}_inv_std", layer.name);
                    let rows_expr = if in_n / f == 1 {
                        quote!(batch)
                    } else {
                        quote!(batch * #rows)
                    };
                    // The moving statistics are adjacent in `state`: mean, then variance.
                    let split = quote! {
                        let (moving_mean, moving_var) =
                            self.state[#mm.start..#mv.end].split_at_mut(#f_lit);
                    };
                    if self.no_forward(i) {
                        return TokenStream::new();
                    }
                    if self.fused_in_training(i) {
                        return self.forward_doc(i, &sig, &format!(
                            "batch normalisation over {f} features: in training it runs inside `{}`'s forward (`dense_batch_norm_forward_train`), in inference on the moving statistics.",
                            self.layer(i - 1).name
                        ), &quote! {
                            if !training {
                                #layers::batch_norm_forward_infer(#rows_expr, #f_lit, #src, &self.params[#gamma], &self.params[#beta], #epsilon, &self.state[#mm], &self.state[#mv], &mut self.#out);
                            }
                        });
                    }
                    if self.is_folded_batch_norm(i) {
                        let into = if i > 0 && self.folds_batch_norm(i - 1) {
                            format!("`{}`, which writes this output", self.layer(i - 1).name)
                        } else {
                            format!(
                                "`{}`, which reads this layer's input",
                                self.layer(i + 1).name
                            )
                        };
                        return self.forward_doc(i, &sig, &format!(
                            "batch normalisation over {f} features on batch statistics (moving statistics updated, momentum {}); in inference it is folded into {into}.",
                            bn.momentum
                        ), &quote! {
                            if training {
                                #split
                                #layers::batch_norm_forward_train(#rows_expr, #f_lit, #src, &self.params[#gamma], &self.params[#beta], #epsilon, #momentum, moving_mean, moving_var, &mut self.#mean, &mut self.#inv, &mut self.#out);
                            }
                        });
                    }
                    (
                        format!(
                            "batch normalisation over {f} features: batch statistics (moving statistics updated, momentum {}) in training, the moving statistics in inference.",
                            bn.momentum
                        ),
                        quote! {
                            let gamma = &self.params[#gamma];
                            let beta = &self.params[#beta];
                            if training {
                                #split
                                #layers::batch_norm_forward_train(#rows_expr, #f_lit, #src, gamma, beta, #epsilon, #momentum, moving_mean, moving_var, &mut self.#mean, &mut self.#inv, &mut self.#out);
                            } else {
                                #layers::batch_norm_forward_infer(#rows_expr, #f_lit, #src, gamma, beta, #epsilon, &self.state[#mm], &self.state[#mv], &mut self.#out);
                            }
                        },
                    )
                }
                LayerKind::LeakyRelu { slope } => {
                    let layers = self.module("layers");
                    let s = float(*slope);
                    let body = quote! {
                        #layers::leaky_relu_forward(batch * #n_lit, #s, #src, &mut self.#out);
                    };
                    let what = format!("`y = x` for `x ≥ 0`, `{slope}·x` otherwise.");
                    self.maybe_fused(i, what, body)
                }
                LayerKind::Activation(a) => {
                    let layers = self.module("layers");
                    let (rows_expr, cols) = activation_extent(layer, n);
                    let act = ir_lit::activation(*a);
                    let body = quote! {
                        #layers::activation_forward(#rows_expr, #cols, #act, #src, &mut self.#out);
                    };
                    self.maybe_fused(i, format!("`y = {}(x)`.", act_name(*a)), body)
                }
                LayerKind::Rescale { scale, offset } => {
                    let layers = self.module("layers");
                    let (s, o) = (float(*scale), float(*offset));
                    (
                        format!("`y = x·{scale} + {offset}`."),
                        quote! {
                            #layers::rescale_forward(batch * #n_lit, #s, #o, #src, &mut self.#out);
                        },
                    )
                }
            }
        };
        self.forward_doc(i, &sig, &what, &body)
    }

    /// `(what, body)` of activation layer `i`, run only in inference when training runs it
    /// inside the fused forward of the `Dense` two layers before it.
    fn maybe_fused(&self, i: usize, what: String, body: TokenStream) -> (String, TokenStream) {
        if self.fused_in_training(i) {
            (
                format!(
                    "{what} In training it runs inside `{}`'s forward (`dense_batch_norm_forward_train`).",
                    self.layer(i - 2).name
                ),
                quote! {
                    if !training {
                        #body
                    }
                },
            )
        } else {
            (what, body)
        }
    }

    /// The training forward of `Dense` layer `i` fused with the `BatchNorm` after it (and
    /// the activation layer after that, if [`Gen::fused_after`]): its description (`what`
    /// extended) and the call; `dense_args` are the `Dense`'s first seven arguments.
    fn dense_batch_norm_call(
        &self,
        i: usize,
        what: &str,
        dense_args: &TokenStream,
    ) -> (String, TokenStream) {
        let layers = self.module("layers");
        let bn = i + 1;
        let layer = self.layer(bn);
        let (momentum, epsilon) = match layer.kind {
            LayerKind::BatchNorm(b) => (float(b.momentum), float(b.epsilon)),
            _ => (float(0.0), float(0.0)),
        };
        let f_lit = size(bn_features(layer));
        let gamma = self.tensor(bn, Role::Gamma);
        let beta = self.tensor(bn, Role::Beta);
        let mm = self.tensor(bn, Role::MovingMean);
        let mv = self.tensor(bn, Role::MovingVariance);
        let mean = format_ident!("{}_mean", layer.name);
        let inv = format_ident!("{}_inv_std", layer.name);
        let (out, bn_out) = (self.buf(i), self.buf(bn));
        let (after, after_out, also) = match self.fused_after(i) {
            Some(a) => {
                let a_out = self.buf(a);
                let after = match self.layer(a).kind {
                    LayerKind::LeakyRelu { slope } => {
                        let s = float(slope);
                        quote!(#layers::AfterBatchNorm::LeakyRelu(#s))
                    }
                    LayerKind::Activation(act) => {
                        let act = ir_lit::activation(act);
                        quote!(#layers::AfterBatchNorm::Activation(#act))
                    }
                    _ => quote!(#layers::AfterBatchNorm::Nothing),
                };
                (
                    after,
                    quote!(::core::option::Option::Some(&mut self.#a_out[..])),
                    format!(
                        " and `{}` ({}) run",
                        self.layer(a).name,
                        self.cite(self.layer(a).line)
                    ),
                )
            }
            None => (
                quote!(#layers::AfterBatchNorm::Nothing),
                quote!(::core::option::Option::None),
                " runs".to_owned(),
            ),
        };
        (
            format!(
                "{what} In training, `{}` ({}){also} in the same call (`dense_batch_norm_forward_train`: the same operations as the separate layers, in fewer passes over memory).",
                layer.name,
                self.cite(layer.line)
            ),
            quote! {
                let (moving_mean, moving_var) =
                    self.state[#mm.start..#mv.end].split_at_mut(#f_lit);
                #layers::dense_batch_norm_forward_train(#dense_args, &self.params[#gamma], &self.params[#beta], #epsilon, #momentum, moving_mean, moving_var, &mut self.#mean, &mut self.#inv, &mut self.#out, &mut self.#bn_out, #after, #after_out);
            },
        )
    }

    /// The forward function of layer `i`: its docs (the spec line, then `what`), `sig`
    /// and `body`.
    fn forward_doc(
        &self,
        i: usize,
        sig: &TokenStream,
        what: &str,
        body: &TokenStream,
    ) -> TokenStream {
        let layer = self.layer(i);
        let cite = self.cite(layer.line);
        let doc1 = format!(" Forward through `{}` ({cite}):", layer.name);
        let doc2 = format!(" {what}");
        quote! {
            #[doc = #doc1]
            #[doc = #doc2]
            #sig {
                #body
            }
        }
    }

    /// `fold_batch_norms`: every inference fold of a `BatchNorm` into the linear `Dense`
    /// before it, recomputed only when `folded` was cleared.
    fn fold_fn(&self) -> TokenStream {
        if !self.any_fold() {
            return TokenStream::new();
        }
        let layers = self.module("layers");
        let mut names = Vec::new();
        let calls: Vec<TokenStream> = (0..self.m.layers.len())
            .filter_map(|i| self.fold_of_dense(i).map(|bn| (i, bn)))
            .map(|(i, b)| {
                let (dense, bn) = (self.layer(i), self.layer(b));
                let (fk, fb) = self.folded_fields(i);
                let (inputs, units) = (size(dense.input_shape[0]), size(self.dense_units(i)));
                let kernel = self.tensor(i, Role::Kernel);
                let bias = match self.tensor(i, Role::Bias) {
                    Some(t) => quote!(::core::option::Option::Some(&self.params[#t])),
                    None => quote!(::core::option::Option::None),
                };
                let epsilon = match bn.kind {
                    LayerKind::BatchNorm(n) => float(n.epsilon),
                    _ => float(0.0),
                };
                let gamma = self.tensor(b, Role::Gamma);
                let beta = self.tensor(b, Role::Beta);
                let mm = self.tensor(b, Role::MovingMean);
                let mv = self.tensor(b, Role::MovingVariance);
                if b > i {
                    names.push(format!(
                        "`{}` into `{}` (`kernel·g`, `bias·g + beta - moving_mean·g`)",
                        bn.name, dense.name
                    ));
                    quote! {
                        #layers::batch_norm_fold_into_dense(#inputs, #units, &self.params[#kernel], #bias, &self.params[#gamma], &self.params[#beta], #epsilon, &self.state[#mm], &self.state[#mv], &mut self.#fk, &mut self.#fb);
                    }
                } else {
                    names.push(format!(
                        "`{}` into the `{}` after it (`g·kernel` per input row, `bias + Σ (beta - moving_mean·g)·kernel`)",
                        bn.name, dense.name
                    ));
                    quote! {
                        #layers::batch_norm_fold_into_next_dense(#inputs, #units, &self.params[#gamma], &self.params[#beta], #epsilon, &self.state[#mm], &self.state[#mv], &self.params[#kernel], #bias, &mut self.#fk, &mut self.#fb);
                    }
                }
            })
            .collect();
        let doc = format!(
            " Folds {} for inference, with `g = gamma / sqrt(moving_var + epsilon)`, unless `folded` says they are current.",
            names.join(", ")
        );
        quote! {
            #[doc = #doc]
            fn fold_batch_norms(&mut self) {
                if self.folded {
                    return;
                }
                #(#calls)*
                self.folded = true;
            }
        }
    }

    fn run_forward(&self) -> TokenStream {
        let modal = self.any_mode_dependent();
        let calls = (0..self.m.layers.len()).filter_map(|i| {
            let step = self.step(i);
            step.dst?;
            if self.no_forward(i) {
                return None;
            }
            let layer = self.layer(i);
            let fname = format_ident!("forward_{}", layer.name);
            let x = (step.src == Src::Input).then(|| quote!(x,));
            let training = self.mode_dependent(i).then(|| quote!(, training));
            Some(quote!(self.#fname(#x batch #training);))
        });
        let out = &self.layer(self.out()).name;
        let what = if self.plan.logits_head {
            format!(" leaving the logits in `{out}`.")
        } else {
            format!(" leaving the output in `{out}`.")
        };
        let flatten_note = self
            .m
            .layers
            .iter()
            .enumerate()
            .any(|(i, l)| matches!(l.kind, LayerKind::Flatten) && self.step(i).dst.is_none())
            .then(|| quote!(#[doc = " `Flatten` only renames its input: nothing to run."]));
        let doc = if modal {
            format!(" Every layer forward, in training mode (dropout and batch statistics) or inference mode,{what}")
        } else {
            format!(" Every layer forward,{what}")
        };
        let training = modal.then(|| quote!(, training: bool));
        let uses_x = (0..self.m.layers.len())
            .any(|i| self.step(i).dst.is_some() && self.step(i).src == Src::Input);
        let x = if uses_x { quote!(x) } else { quote!(_x) };
        quote! {
            #[doc = #doc]
            #flatten_note
            fn run_forward(&mut self, #x: &[f32], batch: usize #training) {
                #(#calls)*
            }
        }
    }

    fn loss_fn(&self) -> TokenStream {
        let loss = self.module("loss");
        let out = self.buf(self.out());
        let dout = self.dbuf(self.out());
        let units = size(self.units());
        let penalty = self
            .layout
            .trainable()
            .any(|t| t.regularizer.is_some())
            .then(|| quote!(+ self.penalty()));
        let (doc, call) = if self.plan.logits_head {
            (
                format!(
                    " {} from the logits in `{}` (writes the softmax into `probs`), plus the weight penalty; in training also `(p - onehot) / batch` into `{}`.",
                    loss_name(self.m.train.loss),
                    self.layer(self.out()).name,
                    dout
                ),
                quote! {
                    #loss::softmax_cross_entropy(batch, #units, &self.#out, labels, &mut self.probs, grad)
                },
            )
        } else {
            let l = loss_lit(self.m.train.loss);
            (
                format!(
                    " {} of the output in `{}`, plus the weight penalty; in training also its gradient into `{}`.",
                    loss_name(self.m.train.loss),
                    self.layer(self.out()).name,
                    dout
                ),
                quote! {
                    #loss::probability_loss(#l, batch, #units, &self.#out, labels, grad)
                },
            )
        };
        quote! {
            #[doc = #doc]
            fn loss(&mut self, labels: &[u8], batch: usize, training: bool) -> StepStats {
                let n = batch * #units;
                let grad = if training {
                    ::core::option::Option::Some(&mut self.#dout[..n])
                } else {
                    ::core::option::Option::None
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

    fn penalty_fn(&self) -> TokenStream {
        let regularized: Vec<&Tensor> = self
            .layout
            .trainable()
            .filter(|t| t.regularizer.is_some())
            .collect();
        if regularized.is_empty() {
            return TokenStream::new();
        }
        let regularize = self.module("regularize");
        let terms = regularized.iter().map(|t| {
            let c = const_name(&self.layer(t.layer).name, t.role.as_str());
            let reg = t.regularizer.map(ir_lit::regularizer);
            quote!(#regularize::penalty(#reg, &self.params[Self::#c]))
        });
        let names = regularized
            .iter()
            .map(|t| format!("`{}.{}`", self.layer(t.layer).name, t.role.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let doc = format!(" The weight penalty `l1·Σ|w| + l2·Σw²` of {names}, with the parameters before the step's update.");
        quote! {
            #[doc = #doc]
            fn penalty(&self) -> f32 {
                #(#terms)+*
            }
        }
    }

    fn backward_fn(&self, i: usize) -> TokenStream {
        if !self.has_backward(i) {
            return TokenStream::new();
        }
        let step = self.step(i);
        let Some(dst) = step.dst else {
            return TokenStream::new();
        };
        let layer = self.layer(i);
        let fname = format_ident!("backward_{}", layer.name);
        let x_param = (step.src == Src::Input).then(|| quote!(x: &[f32],));
        let dy = self.dbuf(dst);
        let out = self.buf(dst);
        let n: usize = layer.output_shape.iter().product();
        let n_lit = size(n);
        let dx = match step.src {
            Src::Buf(k) if self.writes_dx(i) => Some(self.dbuf(k)),
            _ => None,
        };
        let xin = self.input_expr(step.src);
        let cite = self.cite(layer.line);
        let (what, body) = if self.is_head_softmax(i) {
            let dx = dx.clone();
            (
                "the loss already gave the gradient of the logits: a copy.".to_owned(),
                quote! {
                    let n = batch * #n_lit;
                    self.#dx[..n].copy_from_slice(&self.#dy[..n]);
                },
            )
        } else {
            match &layer.kind {
                LayerKind::Dense(d) => {
                    let layers = self.module("layers");
                    let logits = i + 1 == self.m.layers.len() && self.plan.logits_head;
                    let act = if logits {
                        Activation::Linear
                    } else {
                        d.activation
                    };
                    let (inputs, units) = (layer.input_shape[0], d.units);
                    let (inputs_lit, units_lit) = (size(inputs), size(units));
                    let kernel = self.tensor(i, Role::Kernel);
                    let act_back = (act != Activation::Linear).then(|| {
                        let epilogue = self.module("epilogue");
                        let act = ir_lit::activation(act);
                        quote! {
                            #epilogue::activation_backward(batch, #units_lit, #act, &self.#out, &mut self.#dy[..batch * #units_lit]);
                        }
                    });
                    let kt = self.layout.tensor(i, Role::Kernel);
                    let bt = self.layout.tensor(i, Role::Bias);
                    let (grads, dbias) = match (kt, bt) {
                        (Some(k), Some(b)) if b.offset == k.offset + k.len => {
                            let bias = self.tensor(i, Role::Bias);
                            let klen = size(k.len);
                            (
                                quote! {
                                    let (dkernel, dbias) = self.grads[#kernel.start..#bias.end].split_at_mut(#klen);
                                },
                                quote!(::core::option::Option::Some(dbias)),
                            )
                        }
                        _ => (
                            quote!(let dkernel = &mut self.grads[#kernel];),
                            quote!(::core::option::Option::None),
                        ),
                    };
                    let dx_arg = match &dx {
                        Some(dx) => quote!(::core::option::Option::Some(&mut self.#dx)),
                        None => quote!(::core::option::Option::None),
                    };
                    let mut what = String::new();
                    if act != Activation::Linear {
                        let _ = write!(what, "{}' into `{dy}`, then ", act_name(act));
                    }
                    what.push_str("`dkernel = xᵀ · dy`");
                    if d.use_bias {
                        what.push_str(", `dbias = Σ dy`");
                    }
                    match &dx {
                        Some(dx) => {
                            let _ = write!(what, " and `{dx} = dy · kernelᵀ`.");
                        }
                        None => what.push_str(" (no input gradient: nothing before it learns)."),
                    }
                    (
                        what,
                        quote! {
                            #act_back
                            #grads
                            #layers::dense_backward(batch, #inputs_lit, #units_lit, #xin, &self.params[#kernel], &self.#dy, dkernel, #dbias, #dx_arg);
                        },
                    )
                }
                LayerKind::Dropout { rate } => {
                    let dx = dx.clone();
                    if *rate > 0.0 {
                        let (layers, rng) = (self.module("layers"), self.module("rng"));
                        let r = float(*rate);
                        let idx = size(i);
                        (
                            "the forward step's mask (recomputed from its key) applied to the gradient.".to_owned(),
                            quote! {
                                let key = #rng::dropout_key(self.seed, #idx, self.iterations);
                                #layers::dropout_backward(batch * #n_lit, #r, key, &self.#dy, &mut self.#dx);
                            },
                        )
                    } else {
                        (
                            "a copy.".to_owned(),
                            quote! {
                                let n = batch * #n_lit;
                                self.#dx[..n].copy_from_slice(&self.#dy[..n]);
                            },
                        )
                    }
                }
                LayerKind::BatchNorm(_) => {
                    let layers = self.module("layers");
                    let f = bn_features(layer);
                    let in_n: usize = layer.input_shape.iter().product();
                    let f_lit = size(f);
                    let rows_expr = if in_n / f == 1 {
                        quote!(batch)
                    } else {
                        let r = size(in_n / f);
                        quote!(batch * #r)
                    };
                    let gamma = self.tensor(i, Role::Gamma);
                    let beta = self.tensor(i, Role::Beta);
                    let mean = format_ident!("{}_mean", layer.name);
                    let inv = format_ident!("{}_inv_std", layer.name);
                    let dx_arg = match &dx {
                        Some(dx) => quote!(::core::option::Option::Some(&mut self.#dx)),
                        None => quote!(::core::option::Option::None),
                    };
                    let what = match &dx {
                        Some(dx) => format!("`dgamma`, `dbeta` and `{dx}` from the batch statistics of the forward step."),
                        None => "`dgamma` and `dbeta` from the batch statistics of the forward step (no input gradient).".to_owned(),
                    };
                    (
                        what,
                        quote! {
                            let (dgamma, dbeta) = self.grads[#gamma.start..#beta.end].split_at_mut(#f_lit);
                            #layers::batch_norm_backward(#rows_expr, #f_lit, #xin, &self.params[#gamma], &self.#mean, &self.#inv, &self.#dy, dgamma, dbeta, #dx_arg);
                        },
                    )
                }
                LayerKind::LeakyRelu { slope } => {
                    let layers = self.module("layers");
                    let s = float(*slope);
                    (
                        format!("`dx = dy` where `x > 0`, `{slope}·dy` elsewhere."),
                        quote! {
                            #layers::leaky_relu_backward(batch * #n_lit, #s, #xin, &self.#dy, &mut self.#dx);
                        },
                    )
                }
                LayerKind::Activation(a) => {
                    let layers = self.module("layers");
                    let (rows_expr, cols) = activation_extent(layer, n);
                    let act = ir_lit::activation(*a);
                    (
                        format!("`dx = dy ⊙ {}'`, from the forward output.", act_name(*a)),
                        quote! {
                            #layers::activation_backward(#rows_expr, #cols, #act, &self.#out, &self.#dy, &mut self.#dx);
                        },
                    )
                }
                LayerKind::Rescale { scale, .. } => {
                    let layers = self.module("layers");
                    let s = float(*scale);
                    (
                        format!("`dx = dy·{scale}`."),
                        quote! {
                            #layers::rescale_backward(batch * #n_lit, #s, &self.#dy, &mut self.#dx);
                        },
                    )
                }
                LayerKind::Flatten => return TokenStream::new(),
            }
        };
        let doc1 = format!(" Backward through `{}` ({cite}):", layer.name);
        let doc2 = format!(" {what}");
        quote! {
            #[doc = #doc1]
            #[doc = #doc2]
            fn #fname(&mut self, #x_param batch: usize) {
                #body
            }
        }
    }

    fn run_backward(&self) -> TokenStream {
        let calls: Vec<TokenStream> = (0..self.m.layers.len())
            .rev()
            .filter(|&i| self.has_backward(i))
            .map(|i| {
                let fname = format_ident!("backward_{}", self.layer(i).name);
                let x = (self.step(i).src == Src::Input).then(|| quote!(x,));
                quote!(self.#fname(#x batch);)
            })
            .collect();
        let uses_x = (0..self.m.layers.len())
            .any(|i| self.has_backward(i) && self.step(i).src == Src::Input);
        let x = if uses_x { quote!(x) } else { quote!(_x) };
        quote! {
            #[doc = " Every layer backward, last to first, from the loss gradient to `grads`."]
            fn run_backward(&mut self, #x: &[f32], batch: usize) {
                #(#calls)*
            }
        }
    }

    fn optimizer_fn(&self) -> TokenStream {
        let optim = self.module("optim");
        let opt = self.m.train.optimizer;
        let mut prelude = TokenStream::new();
        let mut lines = Vec::new();
        let mut tensors = self.layout.trainable();
        for run in self.layout.update_runs() {
            // One pass per run of adjacent tensors sharing a regulariser (the same
            // arithmetic as one pass per tensor; see `ParamLayout::update_runs`).
            let names: Vec<Ident> = tensors
                .by_ref()
                .take(run.tensors)
                .map(|t| const_name(&self.layer(t.layer).name, t.role.as_str()))
                .collect();
            let c = match names.as_slice() {
                [one] => quote!(Self::#one),
                [first, .., last] => quote!(Self::#first.start..Self::#last.end),
                [] => continue,
            };
            let reg = ir_lit::regularizer_option(run.regularizer);
            let w = quote!(&mut self.params[#c]);
            let g = quote!(&self.grads[#c]);
            lines.push(match opt {
                Optimizer::Adam { .. } => quote! {
                    #optim::adam_update(#w, #g, &mut m[#c], &mut v[#c], #reg, &coeffs);
                },
                Optimizer::Sgd {
                    lr,
                    momentum,
                    nesterov,
                } => {
                    let (lr, mom) = (float(lr), float(momentum));
                    let vel = if momentum == 0.0 {
                        quote!(::core::option::Option::None)
                    } else {
                        quote!(::core::option::Option::Some(&mut self.slots[#c]))
                    };
                    quote! {
                        #optim::sgd_update(#w, #g, #vel, #reg, #lr, #mom, #nesterov);
                    }
                }
                Optimizer::RmsProp {
                    lr,
                    rho,
                    momentum,
                    epsilon,
                } => {
                    let [lr_l, rho_l, mom_l, eps_l] = [lr, rho, momentum, epsilon].map(float);
                    let mom = if momentum > 0.0 {
                        quote!(::core::option::Option::Some(&mut momentum[#c]))
                    } else {
                        quote!(::core::option::Option::None)
                    };
                    quote! {
                        #optim::rmsprop_update(#w, #g, &mut mean_square[#c], #mom, #reg, #lr_l, #rho_l, #mom_l, #eps_l);
                    }
                }
            });
        }
        if let Optimizer::Adam {
            lr,
            beta1,
            beta2,
            epsilon,
        } = opt
        {
            let [lr, b1, b2, eps] = [lr, beta1, beta2, epsilon].map(float);
            prelude = quote! {
                let coeffs = #optim::AdamCoeffs::new(#lr, #b1, #b2, #eps, self.iterations + 1);
                let (m, v) = self.slots.split_at_mut(Self::PARAMS);
            };
        }
        if let Optimizer::RmsProp { momentum, .. } = opt {
            prelude = if momentum > 0.0 {
                quote!(let (mean_square, momentum) = self.slots.split_at_mut(Self::PARAMS);)
            } else {
                quote!(let mean_square = &mut self.slots[..];)
            };
        }
        let doc1 = format!(
            " Optimiser step ({}): {};",
            self.cite_train(),
            optimizer_name(&opt)
        );
        let receiver = if lines.is_empty() {
            prelude = TokenStream::new();
            quote!(&self)
        } else {
            quote!(&mut self)
        };
        quote! {
            #[doc = #doc1]
            #[doc = " one fused pass per run of adjacent tensors sharing a regulariser, in layout order, adding its regularisation gradient."]
            fn optimizer_step(#receiver) {
                #prelude
                #(#lines)*
            }
        }
    }

    /// Where the optimiser was written (the `optimizer =` line of the `train` block), or
    /// "default" when the spec has none.
    fn cite_train(&self) -> String {
        let line = self
            .options
            .source
            .lines()
            .enumerate()
            .skip(self.m.line as usize)
            .take_while(|(_, l)| !l.trim_start().starts_with("model "))
            .find(|(_, l)| l.trim_start().starts_with("optimizer"));
        match line {
            Some((i, _)) => self.cite(i as u32 + 1),
            None => "the default optimiser".to_owned(),
        }
    }

    fn model_impl(&self) -> TokenStream {
        let ty = &self.ty;
        // Every computation runs with denormals flushed, as TensorFlow's kernels do.
        let kernels = self.module("kernels");
        let modal = self.any_mode_dependent();
        let (infer, train) = if modal {
            (quote!(, false), quote!(, true))
        } else {
            (TokenStream::new(), TokenStream::new())
        };
        let units = size(self.units());
        let out = self.buf(self.out());
        let (fold, unfold) = if self.any_fold() {
            (
                quote!(self.fold_batch_norms();),
                quote!(self.folded = false;),
            )
        } else {
            (TokenStream::new(), TokenStream::new())
        };
        let forward_tail = if self.plan.logits_head {
            let epilogue = self.module("epilogue");
            quote! {
                self.probs[..n].copy_from_slice(&self.#out[..n]);
                #epilogue::bias_activation(batch, #units, ::core::option::Option::None, ir::Activation::Softmax, &mut self.probs);
                &self.probs[..n]
            }
        } else {
            quote!(&self.#out[..n])
        };
        let slots_fns = if optimizer_slots(&self.m.train.optimizer).is_empty() {
            quote! {
                fn optimizer_slots(&self) -> ::core::option::Option<&[f32]> {
                    ::core::option::Option::Some(&[])
                }

                fn optimizer_slots_mut(&mut self) -> ::core::option::Option<&mut [f32]> {
                    ::core::option::Option::Some(&mut [])
                }
            }
        } else {
            quote! {
                fn optimizer_slots(&self) -> ::core::option::Option<&[f32]> {
                    ::core::option::Option::Some(&self.slots)
                }

                fn optimizer_slots_mut(&mut self) -> ::core::option::Option<&mut [f32]> {
                    ::core::option::Option::Some(&mut self.slots)
                }
            }
        };
        // Each layer's output of the last forward pass, in layer order (aliases skipped).
        let non_finite = (0..self.m.layers.len()).filter_map(|i| {
            self.step(i).dst?;
            let buf = self.buf(i);
            let n = size(self.layer(i).output_shape.iter().product());
            let index = size(i);
            Some(quote! {
                if self.#buf[..batch * #n].iter().any(|v| !v.is_finite()) {
                    return ::core::option::Option::Some(#index);
                }
            })
        });
        quote! {
            impl Model for #ty {
                fn ir(&self) -> &ir::Model {
                    &self.ir
                }

                fn max_batch(&self) -> usize {
                    self.max_batch
                }

                fn params(&self) -> &[f32] {
                    &self.params
                }

                fn params_mut(&mut self) -> &mut [f32] {
                    #unfold
                    &mut self.params
                }

                fn state(&self) -> &[f32] {
                    &self.state
                }

                fn state_mut(&mut self) -> &mut [f32] {
                    #unfold
                    &mut self.state
                }

                fn grads(&self) -> &[f32] {
                    &self.grads
                }

                fn iterations(&self) -> u64 {
                    self.iterations
                }

                fn forward(&mut self, x: &[f32], batch: usize) -> &[f32] {
                    let _denormals = #kernels::FlushDenormals::new();
                    #fold
                    self.run_forward(x, batch #infer);
                    let n = batch * #units;
                    #forward_tail
                }

                fn evaluate_batch(&mut self, x: &[f32], labels: &[u8], batch: usize) -> StepStats {
                    let _denormals = #kernels::FlushDenormals::new();
                    #fold
                    self.run_forward(x, batch #infer);
                    self.loss(labels, batch, false)
                }

                fn compute_gradients(&mut self, x: &[f32], labels: &[u8], batch: usize) -> StepStats {
                    let _denormals = #kernels::FlushDenormals::new();
                    #unfold
                    self.run_forward(x, batch #train);
                    let stats = self.loss(labels, batch, true);
                    self.run_backward(x, batch);
                    stats
                }

                fn train_step(&mut self, x: &[f32], labels: &[u8], batch: usize) -> StepStats {
                    let _denormals = #kernels::FlushDenormals::new();
                    let stats = self.compute_gradients(x, labels, batch);
                    #unfold
                    self.optimizer_step();
                    self.iterations += 1;
                    stats
                }

                fn rng_seed(&self) -> ::core::option::Option<u64> {
                    ::core::option::Option::Some(self.seed)
                }

                #slots_fns

                fn set_iterations(&mut self, iterations: u64) {
                    self.iterations = iterations;
                }

                fn set_rng_seed(&mut self, seed: u64) {
                    self.seed = seed;
                }

                fn first_non_finite_layer(&self, batch: usize) -> ::core::option::Option<usize> {
                    let batch = batch.min(self.max_batch);
                    #(#non_finite)*
                    ::core::option::Option::None
                }
            }
        }
    }
}

/// Features of a `BatchNorm` layer (its input's last axis).
fn bn_features(layer: &ir::Layer) -> usize {
    *layer.input_shape.last().unwrap_or(&1)
}

/// Whether `init` draws random numbers.
fn draws(init: Initializer) -> bool {
    !matches!(
        init,
        Initializer::Zeros | Initializer::Ones | Initializer::Constant(_)
    )
}

/// What each optimiser slot holds, in slot order (`mlp_runtime::optim::slots` of them).
fn optimizer_slots(opt: &Optimizer) -> Vec<&'static str> {
    match *opt {
        Optimizer::Adam { .. } => vec!["first moments `m`", "second moments `v`"],
        Optimizer::Sgd { momentum, .. } if momentum != 0.0 => vec!["velocities"],
        Optimizer::Sgd { .. } => vec![],
        Optimizer::RmsProp { momentum, .. } if momentum > 0.0 => {
            vec!["mean squares", "momenta"]
        }
        Optimizer::RmsProp { .. } => vec!["mean squares"],
    }
}

fn optimizer_name(opt: &Optimizer) -> String {
    match *opt {
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            epsilon,
        } => format!("Adam (lr = {lr}, beta1 = {beta1}, beta2 = {beta2}, epsilon = {epsilon:e})"),
        Optimizer::Sgd {
            lr,
            momentum,
            nesterov,
        } => format!("SGD (lr = {lr}, momentum = {momentum}, nesterov = {nesterov})"),
        Optimizer::RmsProp {
            lr,
            rho,
            momentum,
            epsilon,
        } => format!(
            "RMSprop (lr = {lr}, rho = {rho}, momentum = {momentum}, epsilon = {epsilon:e})"
        ),
    }
}

fn act_name(a: Activation) -> &'static str {
    match a {
        Activation::Linear => "linear",
        Activation::Relu => "relu",
        Activation::Sigmoid => "sigmoid",
        Activation::Tanh => "tanh",
        Activation::Softmax => "softmax",
    }
}

fn loss_name(l: Loss) -> &'static str {
    match l {
        Loss::SparseCategoricalCrossentropy => "Sparse categorical cross-entropy",
        Loss::CategoricalCrossentropy => "Categorical cross-entropy",
        Loss::MeanSquaredError => "Mean squared error",
        Loss::BinaryCrossentropy => "Binary cross-entropy",
    }
}

fn loss_lit(l: Loss) -> TokenStream {
    match l {
        Loss::SparseCategoricalCrossentropy => quote!(ir::Loss::SparseCategoricalCrossentropy),
        Loss::CategoricalCrossentropy => quote!(ir::Loss::CategoricalCrossentropy),
        Loss::MeanSquaredError => quote!(ir::Loss::MeanSquaredError),
        Loss::BinaryCrossentropy => quote!(ir::Loss::BinaryCrossentropy),
    }
}

/// The `(rows, cols)` arguments of an activation layer's kernels: the activation runs over
/// the last axis, so a sample of `n` elements is `n / cols` rows of `cols`
/// (`batch` or `batch * rows` as an expression, and `cols` as a literal).
fn activation_extent(layer: &ir::Layer, n: usize) -> (TokenStream, TokenStream) {
    let cols = *layer.output_shape.last().unwrap_or(&1);
    let rows = n / cols.max(1);
    let rows_expr = if rows == 1 {
        quote!(batch)
    } else {
        let r = size(rows);
        quote!(batch * #r)
    };
    (rows_expr, size(cols))
}

#[cfg(test)]
mod tests {
    use super::tidy;

    #[test]
    fn tidy_rejoins_macro_token_spacing() {
        assert_eq!(
            tidy("Dense ( 64 , activation = relu )"),
            "Dense(64, activation = relu)"
        );
        assert_eq!(
            tidy("Dense ( 8 , init = uniform ( - 0.1 , 0.1 ) )"),
            "Dense(8, init = uniform(-0.1, 0.1))"
        );
        assert_eq!(tidy("    input [28, 28] "), "input [28, 28]");
        assert_eq!(tidy("metrics = [ accuracy ]"), "metrics = [accuracy]");
    }
}
