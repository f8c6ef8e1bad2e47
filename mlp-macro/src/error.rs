//! Spec diagnostics -> `compile_error!`s at the user's tokens (or at the file path), plus
//! stub model types so the rest of the user's crate does not cascade into unrelated errors.

use crate::text::SpecText;
use mlp_spec::Diagnostics;
use proc_macro2::{Ident, Span, TokenStream};

/// Errors for a spec written inside `mlp! { … }`: each diagnostic points at the first and
/// last token of its span; all are emitted together.
pub fn in_tokens(diagnostics: &Diagnostics, spec: &SpecText) -> TokenStream {
    let mut combined: Option<syn::Error> = None;
    for d in diagnostics {
        let (first, last) = spec.span_range(d.span.start, d.span.end);
        let ends = [Ident::new("first", first), Ident::new("last", last)];
        let error = syn::Error::new_spanned(quote::quote!(#(#ends)*), message(d));
        match &mut combined {
            Some(all) => all.combine(error),
            None => combined = Some(error),
        }
    }
    let errors = combined.map_or_else(no_diagnostic, |e| e.to_compile_error());
    let stubs = stubs(&spec.text);
    quote::quote! { #errors #stubs }
}

/// Errors for a spec read from a file: the whole rendered report (path, line, column, the
/// source line and its underline) at the path literal of `include_mlp!`.
pub fn in_file(diagnostics: &Diagnostics, path: &str, source: &str, span: Span) -> TokenStream {
    let rendered = diagnostics.render(path, source);
    let errors =
        syn::Error::new(span, format!("errors in `{path}`:\n{rendered}")).to_compile_error();
    let stubs = stubs(source);
    quote::quote! { #errors #stubs }
}

/// The error of a failed compile that reported nothing (never expected; never silent).
fn no_diagnostic() -> TokenStream {
    syn::Error::new(Span::call_site(), "the spec could not be compiled").to_compile_error()
}

fn message(d: &mlp_spec::Diagnostic) -> String {
    match &d.help {
        Some(help) => format!("{}: {}\n  = help: {help}", d.code, d.message),
        None => format!("{}: {}", d.code, d.message),
    }
}

/// Stub types for every `model Name` written in `text`, whether or not it compiled.
fn stubs(text: &str) -> TokenStream {
    let mut words = text.split_whitespace().peekable();
    let mut out = TokenStream::new();
    while let Some(word) = words.next() {
        if word != "model" {
            continue;
        }
        let Some(name) = words.peek() else { break };
        let name = name.trim_end_matches('{');
        if syn::parse_str::<Ident>(name).is_ok() {
            out.extend(mlp_codegen::stub(name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_carries_code_and_help() {
        let d = mlp_spec::Diagnostic {
            code: "E0000",
            message: "unknown initialiser `he_norml`".into(),
            span: 3..11,
            labels: Vec::new(),
            help: Some("did you mean `he_normal`?".into()),
        };
        let m = super::message(&d);
        assert!(
            m.starts_with("E0000: unknown initialiser `he_norml`"),
            "{m}"
        );
        assert!(m.ends_with("help: did you mean `he_normal`?"), "{m}");
    }
}
