//! The tokens of one generated model: a walk over its [`Plan`].
//!
//! Output shape, for a model `Net`:
//! - `pub struct Net` (the spec's `///` docs as rustdoc) holding a
//!   `::mlp::runtime::ModelCore` (parameters, gradients, state, optimiser slots, seed,
//!   iterations, IR) and one field per buffer of the plan, every one sized once for the
//!   largest batch ([`strukt`]);
//! - `const _: () = { … };` holding everything else: the imports, the compile-time layout
//!   assertions the code relies on, and `impl Net` with the named consts ([`consts`]), the
//!   constructors, the initialisers ([`init`]), one function per op of the plan's three
//!   sequences and per fold ([`ops`]), the loss and penalty ([`loss`]), the optimiser pass
//!   ([`optimizer`]); then `impl Model for Net` ([`model_impl`]) and `fn model_ir()`.
//!
//! The generator decides nothing about what runs: every op, buffer, fusion and fold comes
//! from the plan, which `Network` interprets too.

mod consts;
mod init;
mod loss;
mod model_impl;
mod ops;
mod optimizer;
mod strukt;
mod stub;
mod text;

pub use stub::stub;

use crate::ir_lit;
use crate::lit::{const_name, ident};
use crate::Options;
use mlp_spec::ir;
use mlp_spec::plan::{BufferId, BufferKind, Plan, TensorId, Value};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use std::cell::RefCell;
use std::collections::BTreeSet;

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

/// A named `const` of the generated `impl`, registered when first used.
struct Const {
    /// Where it is listed: model-level consts first (`None`), then by layer.
    layer: Option<usize>,
    name: Ident,
    ty: TokenStream,
    value: TokenStream,
    doc: String,
}

/// Everything known about one model while its code is written.
pub(crate) struct Gen<'a> {
    m: &'a ir::Model,
    plan: Plan,
    options: &'a Options,
    ty: Ident,
    /// Runtime modules used so far (only those are imported).
    used: RefCell<BTreeSet<&'static str>>,
    /// Named consts used so far, in first-use order.
    consts: RefCell<Vec<Const>>,
    /// Compile-time assertions of layout facts the code relies on.
    asserts: RefCell<Vec<TokenStream>>,
}

/// The code of `model`: a `compile_error!` plus a stub when the IR cannot be planned
/// (never for a spec from `mlp_spec::compile`).
pub fn model(model: &ir::Model, options: &Options) -> TokenStream {
    let plan = match Plan::new(model) {
        Ok(plan) => plan,
        Err(e) => {
            let message = e.to_string();
            let stub = stub(&model.name);
            return quote! {
                ::core::compile_error!(#message);
                #stub
            };
        }
    };
    let g = Gen {
        m: model,
        plan,
        options,
        ty: ident(&model.name),
        used: RefCell::new(BTreeSet::new()),
        consts: RefCell::new(Vec::new()),
        asserts: RefCell::new(Vec::new()),
    };
    g.emit()
}

impl Gen<'_> {
    fn emit(&self) -> TokenStream {
        let ty = &self.ty;
        let strukt = strukt::definition(self);
        // Generate the block first: it records the modules, consts and assertions it uses.
        let ctor = strukt::constructors(self);
        let init = init::initialize(self);
        let ops = ops::functions(self);
        let loss = loss::loss_fn(self);
        let penalty = loss::penalty_fn(self);
        let optimizer = optimizer::optimizer_fn(self);
        let model_impl = model_impl::model_impl(self);
        let ir = ir_lit::model(self.m);
        let shape_consts = consts::model_consts(self);
        let named = consts::registered(self);
        let asserts = self.asserts.borrow();
        let imports = self.imports();
        let ir_doc = format!(
            " The IR of `{}`, as the spec compiler built it.",
            self.m.name
        );
        quote! {
            #strukt

            const _: () = {
                #imports

                #(#asserts)*

                #[allow(clippy::too_many_lines, reason = "straight-line code generated from the spec, one block per tensor or op")]
                impl #ty {
                    #shape_consts
                    #named
                    #ctor
                    #init
                    #ops
                    #loss
                    #penalty
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
            use ::core::option::Option::{None, Some};
            use ::mlp::runtime::{#(#modules,)* Model, StepStats, Targets};
            use ::mlp::spec::ir;
        }
    }

    /// The module `name` (recorded as used, so the block imports it).
    fn module(&self, name: &'static str) -> Ident {
        self.used.borrow_mut().insert(name);
        ident(name)
    }

    /// `Self::NAME`, registering the const `NAME: ty = value` (documented by `doc`) the
    /// first time.
    fn konst(&self, name: &str, ty: TokenStream, value: TokenStream, doc: String) -> TokenStream {
        self.konst_of(None, name, ty, value, doc)
    }

    /// [`Gen::konst`] for a const of layer `layer` (listed with that layer's).
    fn konst_of(
        &self,
        layer: Option<usize>,
        name: &str,
        ty: TokenStream,
        value: TokenStream,
        doc: String,
    ) -> TokenStream {
        let id = ident(name);
        let mut consts = self.consts.borrow_mut();
        if !consts.iter().any(|c| c.name == id) {
            consts.push(Const {
                layer,
                name: id.clone(),
                ty,
                value,
                doc,
            });
        }
        quote!(Self::#id)
    }

    /// Records `const _: () = assert!(cond)` in the generated block, with `why`.
    fn assert(&self, cond: &TokenStream, why: &str) {
        let message = format!("layout: {why}");
        self.asserts.borrow_mut().push(quote!(
            const _: () = ::core::assert!(#cond, #message);
        ));
    }

    fn layer(&self, i: usize) -> &ir::Layer {
        &self.m.layers[i]
    }

    /// The field of buffer `b`.
    fn buf(&self, b: BufferId) -> Ident {
        ident(&self.plan.buffer(b).name)
    }

    /// `x` for the input, `&self.dense` for a buffer.
    fn value(&self, v: Value) -> TokenStream {
        match v {
            Value::Input => quote!(x),
            Value::Buffer(b) => {
                let f = self.buf(b);
                quote!(&self.#f)
            }
        }
    }

    /// What a value is called in docs: `x` or the buffer's name.
    /// Whether `v` is a `Dense`'s pre-activation buffer (the plan's rule 7).
    fn is_preact(&self, v: Value) -> bool {
        matches!(v, Value::Buffer(b)
            if matches!(self.plan.buffer(b).kind, BufferKind::PreActivation { .. }))
    }

    fn value_name(&self, v: Value) -> String {
        match v {
            Value::Input => "x".to_owned(),
            Value::Buffer(b) => self.plan.buffer(b).name.clone(),
        }
    }

    /// `DENSE_KERNEL`: the range const of tensor `t`.
    fn tensor_const(&self, t: TensorId) -> Ident {
        let info = self.plan.tensor(t);
        const_name(&self.layer(info.layer).name, info.role.as_str())
    }

    /// `&self.core.params[Self::DENSE_KERNEL]` (or `state` for a non-trainable tensor).
    fn tensor(&self, t: TensorId) -> TokenStream {
        let c = self.tensor_const(t);
        if self.plan.tensor(t).trainable {
            quote!(&self.core.params[Self::#c])
        } else {
            quote!(&self.core.state[Self::#c])
        }
    }

    /// `Some(&self.core.params[…])` or `None`.
    fn opt_tensor(&self, t: Option<TensorId>) -> TokenStream {
        match t.map(|t| self.tensor(t)) {
            Some(t) => quote!(Some(#t)),
            None => quote!(None),
        }
    }

    /// `let (a, b) = self.core.<buffer>[A.start..B.end].split_at_mut(…);` for two tensors
    /// adjacent in their buffer, with a compile-time assertion that they are.
    fn split_tensors(&self, a: TensorId, b: TensorId, names: (&str, &str)) -> TokenStream {
        let (ca, cb) = (self.tensor_const(a), self.tensor_const(b));
        let ty = &self.ty;
        self.assert(
            &quote!(#ty::#ca.end == #ty::#cb.start),
            &format!("`{ca}` is right before `{cb}`"),
        );
        let field = if self.plan.tensor(a).trainable {
            format_ident!("params")
        } else {
            format_ident!("state")
        };
        let (na, nb) = (ident(names.0), ident(names.1));
        quote! {
            let (#na, #nb) = self.core.#field[Self::#ca.start..Self::#cb.end]
                .split_at_mut(Self::#cb.start - Self::#ca.start);
        }
    }

    /// Like [`Gen::split_tensors`], over the gradients of two trainable tensors.
    fn split_grads(&self, a: TensorId, b: TensorId, names: (&str, &str)) -> TokenStream {
        let (ca, cb) = (self.tensor_const(a), self.tensor_const(b));
        let ty = &self.ty;
        self.assert(
            &quote!(#ty::#ca.end == #ty::#cb.start),
            &format!("`{ca}` is right before `{cb}`"),
        );
        let (na, nb) = (ident(names.0), ident(names.1));
        quote! {
            let (#na, #nb) = self.core.grads[Self::#ca.start..Self::#cb.end]
                .split_at_mut(Self::#cb.start - Self::#ca.start);
        }
    }
}
