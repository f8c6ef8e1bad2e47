//! Macro input tokens -> spec text, with a table from byte offsets back to token spans.
//!
//! proc-macro2's byte ranges and `Span::join` are nightly-only, so the spec text is rebuilt
//! token by token here and every token's byte range in that text is remembered beside its
//! span. A diagnostic's byte range is then mapped to the first and last token it touches.
//!
//! Doc comments arrive as `#[doc = "…"]` attributes; they are turned back into `///` lines
//! so the language sees exactly what a `.mlp` file would hold.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};

/// The rebuilt spec text and the span of every byte range in it that came from a token.
pub struct SpecText {
    /// The spec as the language's parser reads it.
    pub text: String,
    /// `(start, end, span)` per emitted token, sorted by `start`.
    spans: Vec<(usize, usize, Span)>,
}

impl SpecText {
    /// Rebuilds the text of `tokens`.
    pub fn new(tokens: TokenStream) -> Self {
        let mut out = SpecText {
            text: String::new(),
            spans: Vec::new(),
        };
        out.push_stream(tokens, false);
        out
    }

    /// The spans of the first and last tokens overlapping `range` (or the nearest tokens
    /// when the range falls between tokens, such as an "unexpected end of input").
    pub fn span_range(&self, start: usize, end: usize) -> (Span, Span) {
        match self.token_range(start, end) {
            Some((first, last)) => (self.spans[first].2, self.spans[last].2),
            None => (Span::call_site(), Span::call_site()),
        }
    }

    /// Indices (into the token table) of the first and last tokens overlapping
    /// `start..end`; `None` only when there are no tokens at all.
    fn token_range(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if self.spans.is_empty() {
            return None;
        }
        let end = end.max(start + 1);
        let first = self
            .spans
            .iter()
            .position(|&(_, e, _)| e > start)
            .unwrap_or(self.spans.len() - 1);
        let last = self
            .spans
            .iter()
            .rposition(|&(s, _, _)| s < end)
            .unwrap_or(first)
            .max(first);
        Some((first, last))
    }

    fn push_token(&mut self, text: &str, span: Span) {
        let start = self.text.len();
        self.text.push_str(text);
        self.spans.push((start, self.text.len(), span));
    }

    /// Appends `tokens`. Inside braces, an identifier that follows anything but
    /// punctuation starts a new line (`Flatten Dense(…)`, `loss = x metrics = […]`), so
    /// each layer or setting gets a line of its own, as in a `.mlp` file, and the
    /// generated code can quote it.
    fn push_stream(&mut self, tokens: TokenStream, in_braces: bool) {
        let mut iter = tokens.into_iter().peekable();
        let mut after_punct = true;
        while let Some(tree) = iter.next() {
            let is_punct = matches!(tree, TokenTree::Punct(_));
            if in_braces && !after_punct && matches!(tree, TokenTree::Ident(_)) {
                self.text.push('\n');
            }
            after_punct = is_punct;
            match tree {
                TokenTree::Punct(p) if p.as_char() == '#' => {
                    if let Some(TokenTree::Group(g)) = iter.peek() {
                        if g.delimiter() == Delimiter::Bracket {
                            if let Some(doc) = doc_attribute(&g.stream()) {
                                iter.next();
                                self.text.push('\n');
                                self.push_token(&format!("///{doc}"), p.span());
                                self.text.push('\n');
                                continue;
                            }
                        }
                    }
                    self.push_token("#", p.span());
                    self.text.push(' ');
                }
                TokenTree::Punct(p) => {
                    self.push_token(&p.as_char().to_string(), p.span());
                    // `-0.1` stays one number; every other punctuation is followed by a space.
                    let glue =
                        p.as_char() == '-' && matches!(iter.peek(), Some(TokenTree::Literal(_)));
                    if !glue {
                        self.text.push(' ');
                    }
                }
                TokenTree::Ident(i) => {
                    self.push_token(&i.to_string(), i.span());
                    self.text.push(' ');
                }
                TokenTree::Literal(l) => {
                    self.push_token(&l.to_string(), l.span());
                    self.text.push(' ');
                }
                TokenTree::Group(g) => {
                    let (open, close) = match g.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::None => ("", ""),
                    };
                    if !open.is_empty() {
                        self.push_token(open, g.span_open());
                    }
                    self.text.push(if open == "{" { '\n' } else { ' ' });
                    self.push_stream(g.stream(), g.delimiter() == Delimiter::Brace);
                    if !close.is_empty() {
                        self.push_token(close, g.span_close());
                    }
                    self.text.push(if close == "}" { '\n' } else { ' ' });
                }
            }
        }
    }
}

/// The text of a `doc = "…"` attribute body, if `stream` is one.
fn doc_attribute(stream: &TokenStream) -> Option<String> {
    let mut it = stream.clone().into_iter();
    match (it.next(), it.next(), it.next(), it.next()) {
        (
            Some(TokenTree::Ident(i)),
            Some(TokenTree::Punct(eq)),
            Some(TokenTree::Literal(lit)),
            None,
        ) if i == "doc" && eq.as_char() == '=' => {
            let lit: syn::LitStr = syn::parse_str(&lit.to_string()).ok()?;
            let value = lit.value();
            // A `///` line may not contain a newline; block doc comments are flattened.
            Some(value.replace('\n', " "))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::SpecText;
    use quote::quote;

    #[test]
    fn negative_numbers_stay_glued_and_docs_come_back() {
        let t = SpecText::new(quote! {
            /// A model.
            model Net { input [4] Dense(2, init = uniform(-0.1, 0.1)) }
        });
        assert!(t.text.contains("/// A model."), "{}", t.text);
        assert!(t.text.contains("-0.1"), "{}", t.text);
        assert!(t.text.contains("model Net"), "{}", t.text);
    }

    #[test]
    fn each_layer_and_setting_gets_its_own_line() {
        let t = SpecText::new(quote! {
            model Net { input [4] Flatten Dense(2, activation = relu) Dense(3)
                train { optimizer = adam(lr = 0.1) batch = 8 epochs = 2 } }
        });
        let lines: Vec<&str> = t.text.lines().map(str::trim).collect();
        assert!(lines.contains(&"Flatten"), "{}", t.text);
        assert!(
            lines.contains(&"Dense ( 2 , activation = relu )"),
            "{}",
            t.text
        );
        assert!(lines.contains(&"batch = 8"), "{}", t.text);
        assert!(
            lines.iter().any(|l| l.starts_with("model Net")),
            "{}",
            t.text
        );
    }

    #[test]
    fn byte_ranges_map_to_the_tokens_they_touch() {
        let t = SpecText::new(quote! { model Net { input [4] } });
        let token = |text: &str| {
            t.spans
                .iter()
                .position(|&(s, e, _)| &t.text[s..e] == text)
                .expect("token present")
        };
        let net = t.text.find("Net").expect("Net is in the text");
        assert_eq!(
            t.token_range(net, net + 3),
            Some((token("Net"), token("Net")))
        );
        // `input [4]` spans three tokens: `input`, `[` … `]` (the `4` between).
        let input = t.text.find("input").expect("input is in the text");
        let close = t.text.find(']').expect("] is in the text");
        assert_eq!(
            t.token_range(input, close + 1),
            Some((token("input"), token("]")))
        );
        // Past the end (an "unexpected end of input") lands on the last token.
        let last = t.spans.len() - 1;
        assert_eq!(
            t.token_range(t.text.len(), t.text.len() + 5),
            Some((last, last))
        );
        assert_eq!(SpecText::new(quote! {}).token_range(0, 1), None);
    }
}
