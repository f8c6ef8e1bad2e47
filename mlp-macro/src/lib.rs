//! The `mlp!` and `include_mlp!` procedural macros: glue over mlp-spec and mlp-codegen.
//!
//! Each macro does three things and nothing else: get the spec text (from the macro's own
//! tokens, or from a file next to the calling crate's `Cargo.toml`), compile it with
//! [`mlp_spec::compile`], and either generate the models with [`mlp_codegen::generate`] or
//! turn every diagnostic into a `compile_error!` at the right place. On error a stub of each
//! model type is still emitted so the user's other code does not cascade into unrelated
//! errors. Nothing here panics.

#![forbid(unsafe_code)]

mod error;
mod text;
mod weights;

use proc_macro::TokenStream;
use quote::quote;
use std::path::PathBuf;

/// Compiles the models written inside the braces into Rust types.
///
/// ```text
/// mlp::mlp! {
///     /// A small classifier.
///     model Net {
///         input [28, 28]
///         Flatten
///         Dense(64, activation = relu)
///         Dense(10, activation = softmax)
///     }
/// }
/// let mut net = Net::new(0);
/// ```
///
/// Every mistake in the spec is reported at the offending tokens.
#[proc_macro]
pub fn mlp(input: TokenStream) -> TokenStream {
    let spec_text = text::SpecText::new(input.into());
    match mlp_spec::compile(&spec_text.text) {
        Ok(spec) => {
            let options = mlp_codegen::Options {
                // Lines of the rebuilt text mean nothing to the user: quote them without
                // `file:line`.
                source_name: String::new(),
                source: spec_text.text.clone(),
            };
            mlp_codegen::generate(&spec, &options).into()
        }
        Err(diagnostics) => error::in_tokens(&diagnostics, &spec_text).into(),
    }
}

/// Compiles the models of a `.mlp` file into Rust types.
///
/// The path is relative to the calling crate's `CARGO_MANIFEST_DIR`, like `include_str!`
/// is relative to the calling file; cargo rebuilds the crate when the file changes.
///
/// ```text
/// mlp::include_mlp!("specs/notebook/baseline.mlp");
/// ```
///
/// With `weights = "…"` (a checkpoint, also relative to `Cargo.toml`), it generates instead
/// the inference-only module `mlp export --format rust` writes, named after the model in
/// snake case (`baseline::predict`): no allocation, no dependency, the weights compiled in.
///
/// ```text
/// mlp::include_mlp!("specs/notebook/baseline.mlp", weights = "baseline.safetensors");
/// ```
#[proc_macro]
pub fn include_mlp(input: TokenStream) -> TokenStream {
    let args = match syn::parse::<IncludeArgs>(input) {
        Ok(args) => args,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "include_mlp! takes the spec file's path relative to the crate's Cargo.toml, e.g. include_mlp!(\"specs/net.mlp\"), optionally followed by `, weights = \"model.safetensors\"`",
            )
            .to_compile_error()
            .into()
        }
    };
    match &args.weights {
        None => include_file(&args.spec).into(),
        Some(weights) => weights::include_inference(&args.spec, weights).into(),
    }
}

/// `"spec.mlp"` or `"spec.mlp", weights = "model.safetensors"`.
struct IncludeArgs {
    spec: syn::LitStr,
    weights: Option<syn::LitStr>,
}

impl syn::parse::Parse for IncludeArgs {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let spec: syn::LitStr = input.parse()?;
        if input.is_empty() {
            return Ok(IncludeArgs {
                spec,
                weights: None,
            });
        }
        input.parse::<syn::Token![,]>()?;
        let key: syn::Ident = input.parse()?;
        if key != "weights" {
            return Err(syn::Error::new(key.span(), "expected `weights`"));
        }
        input.parse::<syn::Token![=]>()?;
        let weights: syn::LitStr = input.parse()?;
        input.parse::<Option<syn::Token![,]>>()?;
        Ok(IncludeArgs {
            spec,
            weights: Some(weights),
        })
    }
}

fn include_file(lit: &syn::LitStr) -> proc_macro2::TokenStream {
    let relative = lit.value();
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return syn::Error::new(
            lit.span(),
            "include_mlp!: CARGO_MANIFEST_DIR is not set; build with cargo",
        )
        .to_compile_error();
    };
    let path = PathBuf::from(manifest_dir).join(&relative);
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(e) => {
            // The path as written (relative to the crate's Cargo.toml), not the absolute one,
            // so the message reads the same on every machine.
            return syn::Error::new(
                lit.span(),
                format!("include_mlp!: cannot read `{relative}` (relative to the crate's Cargo.toml): {e}"),
            )
            .to_compile_error();
        }
    };
    // `include_str!` makes cargo track the file, so editing the spec rebuilds the crate.
    let path_str = path.to_string_lossy().into_owned();
    let track = quote! { const _: &str = ::core::include_str!(#path_str); };
    let body = match mlp_spec::compile(&source) {
        Ok(spec) => {
            let options = mlp_codegen::Options {
                source_name: relative,
                source,
            };
            mlp_codegen::generate(&spec, &options)
        }
        Err(diagnostics) => error::in_file(&diagnostics, &relative, &source, lit.span()),
    };
    quote! { #track #body }
}
