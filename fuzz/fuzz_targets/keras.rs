//! `.keras` import on arbitrary bytes, under a 1 MiB limit. The first byte chooses what
//! the rest is: `0` a whole `.keras` archive; `1` its `model.weights.h5`, zipped with the
//! `config.json` of a real Keras file (the fixture `tabular.keras`); `2` its
//! `config.json`, zipped with that file's weights. So mutations reach the HDF5 reader and
//! the config reader, not only the zip's checksums.
//!
//! Beyond "no panic": an import holds only finite weights of its model's layout lengths,
//! its spec is laid out as `mlp fmt` lays it out and compiles to its model, and it exports
//! to a `.keras` file that imports back to the same model and the same bits.
#![no_main]

use std::io::{Cursor, Read, Write};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mlp_keras::{export, import_bytes, ImportOptions, Limits};
use mlp_runtime::layout::ParamLayout;

/// The members of the fixture the modes 1 and 2 complete.
fn fixture() -> &'static Vec<(String, Vec<u8>)> {
    static MEMBERS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    MEMBERS.get_or_init(|| {
        let bytes = include_bytes!("../../mlp-keras/tests/fixtures/keras/tabular.keras");
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).expect("a zip");
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).expect("a member");
                let mut data = Vec::new();
                file.read_to_end(&mut data).expect("readable");
                (file.name().expect("a name").into_owned(), data)
            })
            .collect()
    })
}

/// The fixture with member `name` replaced by `data`, as a stored zip.
fn with_member(name: &str, data: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored);
    for (member, bytes) in fixture() {
        zip.start_file(member.as_str(), options).expect("start");
        let content: &[u8] = if member == name { data } else { bytes };
        zip.write_all(content).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = match mode % 3 {
        0 => rest.to_vec(),
        1 => with_member("model.weights.h5", rest),
        _ => with_member("config.json", rest),
    };
    let options = ImportOptions {
        limits: Limits {
            max_bytes: 1 << 20,
            max_json_bytes: 1 << 20,
        },
        ..ImportOptions::default()
    };
    let Ok(imported) = import_bytes(&bytes, &options) else {
        return;
    };
    let layout = ParamLayout::new(&imported.model);
    assert_eq!(imported.params.len(), layout.trainable_len);
    assert_eq!(imported.state.len(), layout.state_len);
    assert!(imported.params.iter().chain(&imported.state).all(|v| v.is_finite()));
    assert!(imported.optimizer.iter().all(|v| v.is_finite()));
    assert_eq!(
        mlp_spec::format_source(&imported.spec).expect("formats"),
        imported.spec
    );
    let spec = mlp_spec::compile(&imported.spec).expect("the spec compiles");
    assert_eq!(spec.models[0], imported.model);
    let again = export(&imported.snapshot()).expect("an import exports");
    let back = import_bytes(&again, &options).expect("an export imports");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(back.model.layers, imported.model.layers);
    assert_eq!(back.model.train, imported.model.train);
    assert_eq!(bits(&back.params), bits(&imported.params));
    assert_eq!(bits(&back.state), bits(&imported.state));
    assert_eq!(bits(&back.optimizer), bits(&imported.optimizer));
    assert_eq!(back.iterations, imported.iterations);
});
