//! Checkpoint loader on arbitrary bytes, into a small model with every kind of tensor: an
//! error leaves the model untouched, a success loads only finite values and survives a
//! save/load round trip bit for bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_runtime::checkpoint::{load_bytes, to_bytes, Snapshot};
use mlp_runtime::{ir, Model, Network};
use std::sync::OnceLock;

/// Keep in step with `fuzz/README.md` (the seeds are checkpoints of this model).
const SPEC: &str = "
model FuzzNet {
    input [2, 3]
    Flatten
    Dense(4, activation = relu)
    BatchNorm
    Dropout(0.5)
    Dense(3, activation = softmax)
    train { optimizer = adam }
}
";

fn model() -> &'static ir::Model {
    static MODEL: OnceLock<ir::Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let spec = mlp_spec::compile(SPEC).expect("the fuzz model compiles");
        spec.models.into_iter().next().expect("one model")
    })
}

fn bits(m: &Network) -> Vec<u32> {
    let o = m.optimizer_slots().unwrap_or(&[]);
    m.params()
        .iter()
        .chain(m.state())
        .chain(o)
        .map(|v| v.to_bits())
        .chain([m.iterations() as u32, (m.iterations() >> 32) as u32])
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut net = Network::new(model(), 1, 2).expect("the fuzz model builds");
    let before = bits(&net);
    match load_bytes(&mut net, data) {
        Err(_) => assert_eq!(bits(&net), before, "a failed load changed the model"),
        Ok(info) => {
            assert!(net
                .params()
                .iter()
                .chain(net.state())
                .all(|v| v.is_finite()));
            let bytes = to_bytes(&Snapshot::of(&net, info.training.as_ref())).expect("re-save");
            let mut again = Network::new(model(), 2, 2).expect("the fuzz model builds");
            load_bytes(&mut again, &bytes).expect("a saved checkpoint loads");
            assert_eq!(bits(&again), bits(&net));
        }
    }
});
