//! The bad-spec corpus: every file in `tests/bad/` must fail to compile, and its rendered
//! diagnostics (plain, no colour, 80 columns) are pinned by an insta snapshot.

use std::path::Path;

fn display_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    format!("bad/{file}")
}

#[test]
fn every_bad_spec_is_rejected_with_rendered_diagnostics() {
    insta::glob!("bad/*.mlp", |path| {
        let source = std::fs::read_to_string(path).expect("fixture is readable");
        let name = display_name(path);
        let Err(diagnostics) = mlp_spec::compile(&source) else {
            panic!("{name} compiled, but it is in the bad corpus")
        };
        assert!(
            !diagnostics.is_empty(),
            "{name}: an error without diagnostics"
        );
        for d in &diagnostics {
            assert!(d.span.end <= source.len(), "{name}: span past the end");
            assert!(
                source.is_char_boundary(d.span.start),
                "{name}: span inside a char"
            );
        }
        let rendered = diagnostics.render(&name, &source);
        for line in rendered
            .lines()
            .filter(|l| l.contains(" | ") || l.contains("help:"))
        {
            assert!(
                line.chars().count() <= 80,
                "{name}: line wider than 80: {line}"
            );
        }
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn one_file_reports_all_its_independent_mistakes() {
    let source = include_str!("bad/many_errors.mlp");
    let diagnostics = mlp_spec::compile(source).expect_err("the file has mistakes");
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            "E0400", // l2(-0.5)
            "E0201", // unused `let unused`
            "E0300", // Desne
            "E0306", // he_norml
            "E0400", // Dropout(1.5)
            "E0400", // BatchNorm(momentum = 2)
            "E0308", // adamm
            "E0310", // acuracy
        ]
    );
    // In source order, each on its own line.
    let lines: Vec<usize> = diagnostics.iter().map(|d| d.line_col(source).0).collect();
    assert_eq!(lines, [1, 2, 8, 9, 10, 11, 13, 13]);
}

#[test]
fn a_misspelt_initialiser_gets_a_did_you_mean_with_line_and_column() {
    let source =
        "model A {\n    input [4]\n    Dense(2, init = he_norml, activation = softmax)\n}\n";
    let diagnostics = mlp_spec::compile(source).expect_err("misspelt");
    let d = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(d.code, "E0306");
    assert_eq!(d.line_col(source), (3, 21));
    assert_eq!(&source[d.span.clone()], "he_norml");
    assert_eq!(d.help.as_deref(), Some("did you mean `he_normal`?"));
    let rendered = d.render("net.mlp", source);
    assert!(rendered.contains("--> net.mlp:3:21"), "{rendered}");
}
