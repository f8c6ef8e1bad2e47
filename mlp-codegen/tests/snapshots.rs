//! The code generated for every spec in `specs/`, formatted by prettyplease: the product's
//! face, pinned so every change to it is reviewed.

use std::path::Path;

#[test]
fn generated_code_of_every_spec() {
    insta::glob!("../../specs", "**/*.mlp", |path| {
        let source = std::fs::read_to_string(path).expect("spec file is readable");
        let spec = mlp_spec::compile(&source).unwrap_or_else(|d| {
            panic!(
                "{} does not compile:\n{}",
                path.display(),
                d.render("spec", &source)
            )
        });
        let options = mlp_codegen::Options {
            source_name: relative(path),
            source,
        };
        insta::assert_snapshot!(mlp_codegen::expand(&spec, &options));
    });
}

/// `specs/notebook/baseline.mlp`: the path as the docs of the generated code cite it.
fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .to_string_lossy()
        .replace('\\', "/")
}
