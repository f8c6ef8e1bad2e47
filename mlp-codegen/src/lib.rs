//! IR -> Rust code generation (quote + prettyplease). No I/O.
//!
//! [`generate`] turns every model of a checked [`Spec`] into a concrete type with the
//! model's name: one flat parameter buffer with a named `const` range per tensor,
//! gradients and optimiser state mirroring it, activation buffers sized once for the
//! largest batch, straight-line forward / backward / optimiser code with literal shapes,
//! and an implementation of `::mlp::runtime::Model`. [`expand`] renders the same code
//! through prettyplease for `mlp expand` and snapshots; [`stub`] is what the macros emit
//! for a model whose spec has errors.
//!
//! The generated code calls the runtime's building blocks in exactly the order
//! `mlp_runtime::network` documents, so it agrees with `Network` bit for bit on the same
//! IR and seed. Passes, in order:
//! 1. layout: the tensor table (offsets, lengths, initialisers, penalties) of
//!    [`mlp_spec::layout::ParamLayout`], the very table `Network` uses, so the code can
//!    name each tensor's range as a literal.
//! 2. `plan`: which buffer each layer reads and writes, which layers alias their input
//!    (`Flatten`), which need an input gradient, whether the loss uses the final
//!    softmax's logits.
//! 3. `emit`: the tokens (`ir_lit` writes the IR value returned by `Model::ir`).
//!
//! Every path name in the output starts with `::mlp::` (or `::std::` / `::core::`), so the
//! user's crate needs only the `mlp` facade.

// A `match` whose other arm is the "absent" case reads better than `if let … else` here.
#![allow(clippy::single_match_else)]

mod emit;
mod ir_lit;
mod lit;
mod plan;

use mlp_spec::ir::Spec;
use proc_macro2::TokenStream;

/// Where the spec came from, for the comments of the generated code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Name shown before line numbers in the generated docs, e.g.
    /// `specs/notebook/baseline.mlp` (default empty: quote the spec line without
    /// `file:line`, as for an `mlp! { … }` whose line numbers mean nothing to the user).
    pub source_name: String,
    /// The spec text the IR was compiled from; its lines are quoted in the generated docs
    /// (default empty: no quotes).
    pub source: String,
}

/// The Rust code of every model of `spec` (see the crate docs for its shape).
///
/// `spec` must come from `mlp_spec::compile` (its invariants are relied upon; a model
/// without layers generates only a stub).
#[must_use]
pub fn generate(spec: &Spec, options: &Options) -> TokenStream {
    spec.models
        .iter()
        .map(|model| emit::model(model, options))
        .collect()
}

/// [`generate`], formatted by prettyplease: the text `mlp expand` prints.
#[must_use]
pub fn expand(spec: &Spec, options: &Options) -> String {
    let tokens = generate(spec, options);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        // Not reachable for code this crate generates (a test parses every spec's code);
        // shown raw rather than lost if it ever happens.
        Err(e) => format!("// mlp-codegen: generated code does not parse ({e})\n{tokens}\n"),
    }
}

/// A placeholder type named `name` with the generated type's constructors and a `Model`
/// implementation, emitted beside the `compile_error!`s of a spec with mistakes so the
/// rest of the user's crate does not cascade into unrelated errors. It is never run: the
/// crate does not compile while the spec has errors.
#[must_use]
pub fn stub(name: &str) -> TokenStream {
    emit::stub(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            source_name: "t.mlp".into(),
            source: String::new(),
        }
    }

    #[test]
    fn generated_code_of_every_layer_kind_parses() {
        let src = "model M {\n input [4, 3]\n Rescale(0.5, offset = 1)\n BatchNorm\n Flatten\n Dense(8, init = he_normal, reg = l1_l2(l1 = 0.1, l2 = 0.2), activation = tanh)\n Dropout(0.5)\n LeakyReLU(0.1)\n Sigmoid\n Dense(3)\n Softmax\n train { optimizer = sgd(lr = 0.1, momentum = 0.9, nesterov = true) }\n}\n";
        let spec = mlp_spec::compile(src).expect("spec compiles");
        let text = expand(&spec, &options());
        assert!(!text.starts_with("// mlp-codegen"), "{text}");
        assert!(text.contains("pub struct M"), "{text}");
    }

    #[test]
    fn stub_parses_and_names_the_type() {
        let file: syn::File = syn::parse2(stub("Net")).expect("stub parses");
        let text = prettyplease::unparse(&file);
        assert!(text.contains("pub struct Net"), "{text}");
        assert!(text.contains("fn with_max_batch"), "{text}");
    }
}
