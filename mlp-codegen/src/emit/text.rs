//! Doc text of the generated code: spec lines quoted, lines wrapped at ~100 columns.

use super::Gen;
use proc_macro2::TokenStream;
use quote::quote;

/// Columns of doc text per line: prettyplease indents the items of the `const _` block's
/// `impl` by eight columns and `/// ` adds four, so lines end near column 100.
const DOC_WIDTH: usize = 88;

/// `#[doc = " …"]` lines for `text`, wrapped at [`DOC_WIDTH`]; an empty line stays a
/// paragraph break.
pub fn docs(text: &str) -> TokenStream {
    text.lines()
        .flat_map(|line| {
            if line.is_empty() {
                vec![String::new()]
            } else {
                wrap(line, DOC_WIDTH)
            }
        })
        .map(|l| {
            let l = if l.is_empty() { l } else { format!(" {l}") };
            quote!(#[doc = #l])
        })
        .collect()
}

/// `text` broken at spaces into lines of at most `width` characters (a longer word gets a
/// line of its own). Spaces inside backticks are kept, so code spans stay whole.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words(text) {
        let len = line.chars().count() + 1 + word.chars().count();
        if !line.is_empty() && len > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The words of `text`, a code span in backticks counting as one word.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_code = false;
    for c in text.chars() {
        if c == '`' {
            in_code = !in_code;
        }
        if c == ' ' && !in_code {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// `Dense ( 64 , activation = relu )` -> `Dense(64, activation = relu)`: the spacing of a
/// line rebuilt from macro tokens, tidied; a `.mlp` line is left as written.
pub fn tidy(text: &str) -> String {
    let mut out = String::new();
    for w in text.split_whitespace() {
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

impl Gen<'_> {
    /// The spec line `line` quoted for a doc comment: `` `file:line`: `text` ``.
    pub(super) fn cite(&self, line: u32) -> String {
        let text = self
            .options
            .source
            .lines()
            .nth((line as usize).saturating_sub(1))
            .map(|l| l.split("//").next().unwrap_or(""))
            .map(tidy)
            .unwrap_or_default();
        let place = self.place_opt(line);
        match (place.is_empty(), text.is_empty()) {
            (false, false) => format!("{place}: `{text}`"),
            (false, true) => place,
            (true, false) => format!("`{text}`"),
            (true, true) => format!("line {line}"),
        }
    }

    /// `` `file:line` `` (or "the spec" inside a macro).
    pub(super) fn place(&self, line: u32) -> String {
        let place = self.place_opt(line);
        if place.is_empty() {
            "the spec".to_owned()
        } else {
            place
        }
    }

    fn place_opt(&self, line: u32) -> String {
        if self.options.source_name.is_empty() {
            String::new()
        } else {
            format!("`{}:{line}`", self.options.source_name)
        }
    }

    /// Where the optimiser was written (the `optimizer =` line of the `train` block), or
    /// "the default optimiser" when the spec has none.
    pub(super) fn cite_train(&self) -> String {
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
}

#[cfg(test)]
mod tests {
    use super::{tidy, wrap};

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

    #[test]
    fn wrap_breaks_at_spaces_and_keeps_code_spans_whole() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a `b c d` e", 4), ["a", "`b c d`", "e"]);
        assert_eq!(wrap("", 10), [""]);
        for line in wrap(&"word ".repeat(100), 88) {
            assert!(line.len() <= 88, "{line}");
        }
    }
}
