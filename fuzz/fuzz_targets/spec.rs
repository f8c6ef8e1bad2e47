//! The spec front end: parse, check and build the IR of any text, format it, and render
//! the summary and parameter layout of every model it defines. Nothing may panic; the
//! formatter must be idempotent and its output must compile exactly when the input does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_runtime::ParamLayout;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let compiled = mlp_spec::compile(source);
    if let Ok(spec) = &compiled {
        for model in &spec.models {
            let _ = mlp_spec::summary::summary(model);
            let layout = ParamLayout::new(model);
            assert_eq!(layout.trainable_len, model.params.trainable, "{source}");
        }
    }
    if let Ok(formatted) = mlp_spec::format_source(source) {
        let again = mlp_spec::format_source(&formatted);
        assert_eq!(again.as_deref().ok(), Some(formatted.as_str()), "{source}");
        assert_eq!(
            mlp_spec::compile(&formatted).is_ok(),
            compiled.is_ok(),
            "{source}\n--- formatted ---\n{formatted}"
        );
    }
});
