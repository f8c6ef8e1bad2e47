//! Literals and identifiers as the generated code spells them: digits grouped by three
//! (clippy's `unreadable_literal`), floats in their shortest exact form.

use mlp_spec::ir::Activation;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// `50_176`: an unsuffixed integer literal, digits grouped by three from five digits on.
pub fn int(n: impl Into<u128>) -> TokenStream {
    let digits = n.into().to_string();
    let text = if digits.len() >= 5 {
        group_from_right(&digits)
    } else {
        digits
    };
    let lit = syn::LitInt::new(&text, Span::call_site());
    quote!(#lit)
}

/// A `usize` literal.
pub fn size(n: usize) -> TokenStream {
    int(n as u128)
}

/// `0.001`, `1e-7`, `-0.2`: an unsuffixed float literal that parses back to exactly `v`
/// (Rust's shortest round-trip form); non-finite values as `f32` constants.
pub fn float(v: f32) -> TokenStream {
    if v.is_nan() {
        return quote!(f32::NAN);
    }
    if v.is_infinite() {
        return if v > 0.0 {
            quote!(f32::INFINITY)
        } else {
            quote!(f32::NEG_INFINITY)
        };
    }
    let grouped = float_text(v.abs());
    let lit = syn::LitFloat::new(&grouped, Span::call_site());
    if v.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

/// `0.001_f64`-style: an f64 literal (suffixed, so that it types as `f64` in any position)
/// that parses back to exactly `v`; finite values only (the IR holds no others).
pub fn float64(v: f64) -> TokenStream {
    let text = format!("{:?}", v.abs());
    let lit = syn::LitFloat::new(
        &format!("{}f64", group_float(&text).replace("f64", "")),
        Span::call_site(),
    );
    if v.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

/// A finite `v` as Rust source text: the shortest form that parses back to exactly `v`,
/// digits grouped by three from five on (`0.012_345_67`, `-1e-7`, `3.0`).
#[must_use]
pub fn float_text(v: f32) -> String {
    let text = format!("{:?}", v.abs());
    let grouped = group_float(&text);
    if v.is_sign_negative() {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// The activation's Keras name (`relu`, `leaky_relu`), for the generated docs and comments.
pub(crate) fn act_name(a: Activation) -> &'static str {
    match a {
        Activation::Linear => "linear",
        Activation::Relu => "relu",
        Activation::Sigmoid => "sigmoid",
        Activation::Tanh => "tanh",
        Activation::Softmax => "softmax",
        Activation::Elu { .. } => "elu",
        Activation::Selu => "selu",
        Activation::Gelu { approximate: false } => "gelu",
        Activation::Gelu { approximate: true } => "gelu (tanh form)",
        Activation::Silu => "silu",
        Activation::Softplus => "softplus",
        Activation::LeakyRelu { .. } => "leaky_relu",
    }
}

/// An identifier (names come from the checked spec: Keras layer names, model names).
pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `dense_1.kernel` -> `DENSE_1_KERNEL`.
pub fn const_name(layer: &str, role: &str) -> Ident {
    ident(&format!("{layer}_{role}").to_uppercase())
}

fn group_from_right(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

fn group_from_left(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// Groups the integer and fraction digits of a float's text (`123456.5` -> `123_456.5`,
/// `0.87962566` -> `0.879_625_66`) when a part has more than five digits.
fn group_float(text: &str) -> String {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let int_part = if int_part.len() > 5 {
        group_from_right(int_part)
    } else {
        int_part.to_owned()
    };
    let frac_part = if frac_part.len() > 5 {
        group_from_left(frac_part)
    } else {
        frac_part.to_owned()
    };
    if mantissa.contains('.') {
        format!("{int_part}.{frac_part}{exponent}")
    } else {
        format!("{int_part}{exponent}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_grouped_from_five_digits() {
        assert_eq!(int(784u32).to_string(), "784");
        assert_eq!(int(50_176u32).to_string(), "50_176");
        assert_eq!(int(1_234_567u32).to_string(), "1_234_567");
    }

    #[test]
    fn floats_round_trip_exactly() {
        for v in [
            0.001f32,
            1e-7,
            0.2,
            0.99,
            1.0,
            0.879_625_7,
            123_456.5,
            3e20,
            1.5e-3,
        ] {
            let text = float(v).to_string().replace('_', "");
            let back: f32 = text.parse().expect("a float literal");
            assert_eq!(back.to_bits(), v.to_bits(), "{v} -> {text}");
        }
        assert_eq!(float(0.879_625_7).to_string(), "0.879_625_7");
        assert_eq!(float(-0.5).to_string(), "- 0.5");
        assert_eq!(float(1e-7).to_string(), "1e-7");
    }
}
