//! Memory is checked before it is used: a model too big for the machine is refused with
//! the bytes it needs and the bytes available, by `Network::new` and by a generated
//! model's `try_with_max_batch`, before anything is allocated; and the generated estimate
//! is the plan's.

use mlp::prelude::*;
use mlp::runtime::{AllocError, NetworkError};
use mlp::spec::plan::Plan;

const HUGE: &str = "model Huge {\n input [4096]\n Dense(1000000, activation = softmax)\n}\n";

mlp! {
    /// 4.1 billion parameters: 16 GiB of them, 65 GiB with gradients and Adam's moments.
    model Huge {
        input [4096]
        Dense(1000000, activation = softmax)
    }
}

mlp::include_mlp!("specs/notebook/batchnorm.mlp");

fn ir(source: &str) -> mlp::spec::ir::Model {
    let spec = mlp::spec::compile(source).expect("the spec compiles");
    spec.models[0].clone()
}

#[test]
fn a_model_bigger_than_the_machine_is_refused_before_allocating() {
    let needed = Plan::new(&ir(HUGE)).expect("plans").memory(32).total();
    assert!(needed > 60 << 30, "{needed}");
    match Huge::try_with_max_batch(32, 0) {
        Err(AllocError::TooLarge {
            needed: n,
            available,
            ..
        }) => {
            assert_eq!(n, needed);
            assert!(available < needed);
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a 65 GiB model was allocated"),
    }
    match Network::new(&ir(HUGE), 0, 32) {
        Err(NetworkError::Memory(e)) => {
            let text = e.to_string();
            assert!(text.contains("GiB") && text.contains("available"), "{text}");
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a 65 GiB network was allocated"),
    }
}

#[test]
fn the_generated_estimate_is_the_plans() {
    let plan = Plan::new(&ir(include_str!("../specs/notebook/batchnorm.mlp"))).expect("plans");
    for batch in [1, 32, 1000] {
        assert_eq!(
            WithBatchNorm::memory_bytes(batch),
            plan.memory(batch).total()
        );
    }
    // And the plan counts every float a Network holds.
    let net = Network::new(&ir(include_str!("../specs/notebook/batchnorm.mlp")), 0, 32)
        .expect("a Network");
    let core = 4 * (net.params().len() + net.grads().len() + net.state().len())
        + 4 * net.optimizer_state().len();
    let buffers: usize = plan.buffers.iter().map(|b| 4 * b.floats(32)).sum();
    assert_eq!(plan.memory(32).total(), (core + buffers) as u64);
}

#[test]
fn a_memory_limit_refuses_what_it_does_not_allow() {
    let model = ir(include_str!("../specs/notebook/baseline.mlp"));
    let err = Network::with_memory_limit(&model, 0, 32, Some(1000)).expect_err("refused");
    assert!(err.to_string().contains("--max-memory"), "{err}");
    assert!(Network::with_memory_limit(&model, 0, 32, Some(1 << 30)).is_ok());
}
