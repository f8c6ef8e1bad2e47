//! `include_mlp!("spec.mlp", weights = "model.safetensors")`: the inference-only module of a
//! trained model, with the weights compiled in (what `mlp export --format rust` writes).
//!
//! The checkpoint is loaded into a `Network` of the spec's model, which checks every tensor
//! and computes the inference folds; `mlp_codegen::export::rust` writes the module.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use std::path::PathBuf;

use mlp_codegen::export::{ExportOptions, Weights};
use mlp_runtime::{checkpoint, Model, Network};

/// The module, or `compile_error!`s naming what is wrong.
pub fn include_inference(spec: &syn::LitStr, weights: &syn::LitStr) -> TokenStream {
    match module(spec, weights) {
        Ok(tokens) => tokens,
        Err((span, message)) => syn::Error::new(span, message).to_compile_error(),
    }
}

fn module(spec: &syn::LitStr, weights: &syn::LitStr) -> Result<TokenStream, (Span, String)> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| {
            (
                spec.span(),
                "include_mlp!: CARGO_MANIFEST_DIR is not set; build with cargo".to_owned(),
            )
        })?;
    let (spec_rel, weights_rel) = (spec.value(), weights.value());
    let (spec_path, weights_path) = (dir.join(&spec_rel), dir.join(&weights_rel));
    let source = std::fs::read_to_string(&spec_path).map_err(|e| {
        (
            spec.span(),
            format!(
                "include_mlp!: cannot read `{spec_rel}` (relative to the crate's Cargo.toml): {e}"
            ),
        )
    })?;
    let compiled = mlp_spec::compile(&source).map_err(|d| {
        (
            spec.span(),
            format!(
                "include_mlp!: `{spec_rel}` has mistakes:\n{}",
                d.render(&spec_rel, &source)
            ),
        )
    })?;
    let [model] = compiled.models.as_slice() else {
        return Err((
            spec.span(),
            format!(
                "include_mlp! with weights needs a spec of one model; `{spec_rel}` defines {}",
                compiled.models.len()
            ),
        ));
    };
    let mut network =
        Network::new(model, 0, 1).map_err(|e| (spec.span(), format!("include_mlp!: {e}")))?;
    checkpoint::load(&mut network, &weights_path).map_err(|e| {
        (
            weights.span(),
            format!(
                "include_mlp!: cannot use `{weights_rel}` as weights of `{}`: {e}",
                model.name
            ),
        )
    })?;
    let (params, state) = (network.params().to_vec(), network.state().to_vec());
    let exported = Weights {
        params: &params,
        state: &state,
        folded: network.folded_weights(),
    };
    let options = ExportOptions {
        source_name: spec_rel,
        checkpoint_sha256: String::new(),
    };
    let text = mlp_codegen::export::rust(model, &exported, &options)
        .map_err(|e| (weights.span(), format!("include_mlp!: {e}")))?;
    let body: TokenStream = text.parse().map_err(|e| {
        (
            weights.span(),
            format!("include_mlp!: the exported module does not parse ({e})"),
        )
    })?;
    let name = format_ident!("{}", snake(&model.name));
    let (spec_str, weights_str) = (
        spec_path.to_string_lossy().into_owned(),
        weights_path.to_string_lossy().into_owned(),
    );
    Ok(quote! {
        // Editing either file rebuilds the crate.
        const _: &str = ::core::include_str!(#spec_str);
        const _: &[u8] = ::core::include_bytes!(#weights_str);
        pub mod #name {
            #body
        }
    })
}

/// `WithBatchNorm` -> `with_batch_norm`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
