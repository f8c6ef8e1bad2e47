//! Checkpoints: the file's contents and names, round trips, exact resume, loading into a
//! model of another spec, atomic writes, the checkpoint folder.

use mlp_runtime::checkpoint::{self, CheckpointErrorKind, Snapshot, FORMAT, FORMAT_VERSION};
use mlp_runtime::data::Dataset;
use mlp_runtime::ir;
use mlp_runtime::Targets;
use mlp_runtime::{
    fit, fit_continue, CheckpointDir, FitOptions, History, Model, Network, Silent, StepStats,
};
use ndarray::{Array1, Array2};
use safetensors::tensor::{Dtype, SafeTensors};

/// A model with every kind of tensor (kernels, biases, `BatchNorm` gamma/beta and moving
/// statistics) and dropout, so masks (keyed by seed and iterations) matter for resume.
const SPEC: &str = "
model Tiny {
    input [3, 4]
    Flatten
    Dense(10, activation = relu)
    BatchNorm
    Dropout(0.25)
    Dense(3, activation = softmax)
    train {
        optimizer = adam(lr = 0.01)
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
        batch = 8
        epochs = 5
        seed = 3
    }
}
";

fn compile(source: &str) -> ir::Model {
    let spec = mlp_spec::compile(source).unwrap();
    spec.models.into_iter().next().unwrap()
}

fn tiny() -> ir::Model {
    compile(SPEC)
}

/// `Tiny` with another width of its first `Dense`.
fn wider() -> ir::Model {
    compile(&SPEC.replace("Dense(10,", "Dense(12,"))
}

/// 3 classes of 12-pixel images: class c lights pixels 4c..4c+4 (plus noise).
fn data(n: usize, seed: u64) -> Dataset {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 60) as u8
    };
    let labels: Vec<u8> = (0..n)
        .map(|i| ((i * 7 + seed as usize) % 3) as u8)
        .collect();
    let images = Array2::from_shape_fn((n, 12), |(r, c)| {
        noise()
            + if c / 4 == usize::from(labels[r]) {
                180
            } else {
                0
            }
    });
    Dataset::from_u8(images, vec![3, 4], Array1::from(labels), 3).unwrap()
}

fn opts(epochs: usize) -> FitOptions {
    FitOptions {
        epochs,
        ..FitOptions::from_config(&tiny().train)
    }
}

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The History without its wall-clock times, as bits: the losses, then every metric
/// series by key.
fn history_bits(h: &History) -> Vec<(String, Vec<u32>)> {
    let mut out = vec![
        ("loss".to_owned(), bits32(&h.loss)),
        ("val_loss".to_owned(), bits32(&h.val_loss)),
    ];
    out.extend(h.metrics.iter().map(|(k, v)| (k.clone(), bits32(v))));
    out
}

/// Everything of a model's state that a resumed run depends on, as bits.
fn model_bits(m: &Network) -> (Vec<u32>, Vec<u32>, Vec<u32>, u64, Option<u64>) {
    (
        bits32(m.params()),
        bits32(m.state()),
        bits32(m.optimizer_slots().unwrap()),
        m.iterations(),
        m.rng_seed(),
    )
}

#[test]
fn file_holds_keras_names_shapes_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.safetensors");
    let mut net = Network::new(&tiny(), 3, 8).unwrap();
    fit(&mut net, &data(40, 1), None, &opts(1)).unwrap();
    net.save(&path).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    // The same state gives the same bytes.
    net.save(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort_unstable();
    // Written out by hand from the spec: Keras's layer names and weight names, then Adam's
    // two slots per trainable tensor.
    let mut expected = vec![
        "dense.kernel",
        "dense.bias",
        "batch_normalization.gamma",
        "batch_normalization.beta",
        "batch_normalization.moving_mean",
        "batch_normalization.moving_variance",
        "dense_1.kernel",
        "dense_1.bias",
    ];
    for slot in ["momentum", "velocity"] {
        for t in [
            "dense.kernel",
            "dense.bias",
            "batch_normalization.gamma",
            "batch_normalization.beta",
            "dense_1.kernel",
            "dense_1.bias",
        ] {
            expected.push(Box::leak(format!("optimizer.{slot}.{t}").into_boxed_str()));
        }
    }
    expected.sort_unstable();
    assert_eq!(names, expected);
    for (name, shape) in [
        ("dense.kernel", vec![12, 10]),
        ("dense.bias", vec![10]),
        ("batch_normalization.moving_variance", vec![10]),
        ("dense_1.kernel", vec![10, 3]),
        ("optimizer.velocity.dense_1.kernel", vec![10, 3]),
    ] {
        let t = file.tensor(name).unwrap();
        assert_eq!(t.dtype(), Dtype::F32, "{name}");
        assert_eq!(t.shape(), shape.as_slice(), "{name}");
    }
    // The kernel's bytes are the first 120 parameters, row-major [in, units].
    let kernel: Vec<f32> = file
        .tensor("dense.kernel")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(bits32(&kernel), bits32(&net.params()[..120]));

    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format"], FORMAT);
    assert_eq!(meta["format_version"], FORMAT_VERSION.to_string());
    assert_eq!(meta["model"], "Tiny");
    assert_eq!(meta["seed"], "3");
    // 40 samples in batches of 8: 5 steps.
    assert_eq!(meta["iterations"], "5");
    assert!(!meta.contains_key("epoch"), "Model::save knows no epoch");
    let spec: ir::Model = serde_json::from_str(&meta["spec"]).unwrap();
    assert_eq!(spec, tiny());
}

#[test]
fn save_then_load_restores_everything_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.safetensors");
    let mut net = Network::new(&tiny(), 3, 8).unwrap();
    fit(&mut net, &data(50, 2), None, &opts(2)).unwrap();
    net.save(&path).unwrap();
    // Another seed: parameters and the dropout seed both come from the file.
    let mut fresh = Network::new(&tiny(), 99, 8).unwrap();
    assert_ne!(model_bits(&fresh), model_bits(&net));
    let info = fresh.load(&path).unwrap();
    assert_eq!(model_bits(&fresh), model_bits(&net));
    assert_eq!(info.model, "Tiny");
    assert_eq!((info.seed, info.iterations), (3, 14));
    assert!(info.training.is_none());
    // Same next step, including its dropout mask.
    let x: Vec<f32> = (0..8 * 12).map(|i| (i * 37 % 255) as f32).collect();
    let y: Vec<u32> = (0..8).map(|i| (i % 3) as u32).collect();
    let a = net.train_step(&x, Targets::Classes(&y), 8);
    let b = fresh.train_step(&x, Targets::Classes(&y), 8);
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    assert_eq!(model_bits(&fresh), model_bits(&net));
}

#[test]
fn resume_after_epoch_k_reproduces_the_uninterrupted_run() {
    let (train, val) = (data(70, 3), data(20, 4));
    let epochs = 5;
    let mut whole = Network::new(&tiny(), 3, 8).unwrap();
    let full = fit(&mut whole, &train, Some(&val), &opts(epochs)).unwrap();

    for k in 1..epochs {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Network::new(&tiny(), 3, 8).unwrap();
        let mut saver = CheckpointDir::new(dir.path(), 2).unwrap();
        let part =
            mlp_runtime::fit_with_progress(&mut first, &train, Some(&val), &opts(k), &mut saver)
                .unwrap();
        assert_eq!(part.epochs(), k);

        let mut resumed = Network::new(&tiny(), 1234, 8).unwrap();
        let info = CheckpointDir::resume(dir.path(), &mut resumed)
            .unwrap()
            .unwrap();
        let state = info.training.unwrap();
        assert_eq!(state.epoch, k);
        assert_eq!(history_bits(&state.history), history_bits(&part));
        let o = state.resume_options(&opts(epochs));
        assert_eq!(o.initial_epoch, k);
        let h = fit_continue(
            &mut resumed,
            &train,
            Some(&val),
            &o,
            &mut Silent,
            state.history,
        )
        .unwrap();
        assert_eq!(history_bits(&h), history_bits(&full), "resumed after {k}");
        assert_eq!(
            model_bits(&resumed),
            model_bits(&whole),
            "resumed after {k}"
        );

        // Keras semantics of `fit(initial_epoch = k)`: only the epochs run are returned,
        // and the checkpoints written hold only those (still loadable, still exact).
        let mut again = Network::new(&tiny(), 0, 8).unwrap();
        let info = CheckpointDir::resume(dir.path(), &mut again)
            .unwrap()
            .unwrap();
        let o = info.training.unwrap().resume_options(&opts(epochs));
        let tail_dir = tempfile::tempdir().unwrap();
        let mut saver = CheckpointDir::new(tail_dir.path(), 1).unwrap();
        let tail =
            mlp_runtime::fit_with_progress(&mut again, &train, Some(&val), &o, &mut saver).unwrap();
        assert_eq!(tail.epochs(), epochs - k);
        assert_eq!(bits32(&tail.val_loss), bits32(&full.val_loss[k..]));
        let mut last = Network::new(&tiny(), 0, 8).unwrap();
        let state = CheckpointDir::resume(tail_dir.path(), &mut last)
            .unwrap()
            .unwrap()
            .training
            .unwrap();
        assert_eq!(state.epoch, epochs);
        assert_eq!(history_bits(&state.history), history_bits(&tail));
        assert_eq!(model_bits(&last), model_bits(&whole));
    }
}

#[test]
fn checkpoint_dir_keeps_the_last_k() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Network::new(&tiny(), 3, 8).unwrap();
    let mut saver = CheckpointDir::new(dir.path().join("ckpt"), 2).unwrap();
    mlp_runtime::fit_with_progress(&mut net, &data(30, 5), None, &opts(5), &mut saver).unwrap();
    let listed: Vec<usize> = CheckpointDir::list(saver.dir())
        .unwrap()
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(listed, vec![4, 5]);
    let mut names: Vec<String> = std::fs::read_dir(saver.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".lock", "epoch-0004.safetensors", "epoch-0005.safetensors"],
        "no temporary file is left (the lock file stays, unlocked once the run ends)"
    );
    assert_eq!(
        CheckpointDir::latest(saver.dir()).unwrap().unwrap(),
        saver.path_for(5)
    );
    // An empty folder has nothing to resume.
    let empty = tempfile::tempdir().unwrap();
    assert!(CheckpointDir::resume(empty.path(), &mut net)
        .unwrap()
        .is_none());
}

/// Loads `from`'s checkpoint into a fresh model of `into` and returns the error message,
/// checking the model was left untouched.
fn load_error(from: &ir::Model, into: &ir::Model) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.safetensors");
    Network::new(from, 1, 4).unwrap().save(&path).unwrap();
    let mut target = Network::new(into, 2, 4).unwrap();
    let before = model_bits(&target);
    let err = target.load(&path).unwrap_err();
    assert_eq!(model_bits(&target), before, "a failed load changes nothing");
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    msg
}

#[test]
fn loading_another_spec_names_the_first_differing_tensor() {
    let msg = load_error(&wider(), &tiny());
    assert!(
        msg.ends_with("tensor `dense.kernel` has shape [12, 12] but model `Tiny` needs [12, 10]"),
        "{msg}"
    );
    // One more layer in the model than in the file.
    let deeper = compile(&SPEC.replace(
        "Dense(3, activation = softmax)",
        "Dense(5, activation = relu)\n Dense(3, activation = softmax)",
    ));
    let msg = load_error(&tiny(), &deeper);
    assert!(
        msg.contains("tensor `dense_1.kernel` has shape [10, 3] but model `Tiny` needs [10, 5]"),
        "{msg}"
    );
    // No BatchNorm in the model: the file's BatchNorm tensors are unexpected, after the
    // first differing one in layout order (in file order: the writer's model order).
    let plain = compile(&SPEC.replace("BatchNorm\n", ""));
    let msg = load_error(&tiny(), &plain);
    assert!(
        msg.contains("unexpected tensor `batch_normalization.gamma`"),
        "{msg}"
    );
    let msg = load_error(&plain, &tiny());
    assert!(
        msg.contains("tensor `batch_normalization.gamma` is missing"),
        "{msg}"
    );
    // Another optimiser: other slots.
    let sgd = compile(&SPEC.replace("adam(lr = 0.01)", "sgd(lr = 0.1, momentum = 0.9)"));
    let msg = load_error(&tiny(), &sgd);
    assert!(
        msg.contains("unexpected tensor `optimizer.momentum.dense.kernel`")
            || msg.contains("unexpected tensor `optimizer.velocity"),
        "{msg}"
    );
    let msg = load_error(&sgd, &tiny());
    assert!(
        msg.contains("tensor `optimizer.velocity.dense.kernel` is missing"),
        "{msg}"
    );
}

#[test]
fn writes_are_atomic_and_refuse_non_finite_models() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut net = Network::new(&tiny(), 3, 8).unwrap();
    net.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    // A NaN: nothing is written, the previous file stays.
    net.params_mut()[13] = f32::NAN;
    let err = net.save(&path).unwrap_err();
    assert!(
        matches!(
            &err.kind,
            CheckpointErrorKind::NonFinite { tensor, index: 13, .. } if tensor == "dense.kernel"
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), good);
    // A folder where the file should go, and a missing folder: errors naming the path.
    net.params_mut()[13] = 0.5;
    let err = net.save(dir.path()).unwrap_err();
    assert!(err.to_string().contains(&dir.path().display().to_string()));
    let missing = dir.path().join("no/such/dir/m.safetensors");
    let err = net.save(&missing).unwrap_err();
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
    // Overwriting replaces the file whole.
    net.save(&path).unwrap();
    let mut fresh = Network::new(&tiny(), 4, 8).unwrap();
    fresh.load(&path).unwrap();
    assert_eq!(fresh.params()[13].to_bits(), 0.5f32.to_bits());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "m.safetensors")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A model that implements only the required methods of `Model` (a hand-written
/// implementation that predates checkpoints).
struct Minimal(Network);

impl Model for Minimal {
    fn ir(&self) -> &ir::Model {
        self.0.ir()
    }
    fn max_batch(&self) -> usize {
        self.0.max_batch()
    }
    fn params(&self) -> &[f32] {
        self.0.params()
    }
    fn params_mut(&mut self) -> &mut [f32] {
        self.0.params_mut()
    }
    fn state(&self) -> &[f32] {
        self.0.state()
    }
    fn state_mut(&mut self) -> &mut [f32] {
        self.0.state_mut()
    }
    fn grads(&self) -> &[f32] {
        self.0.grads()
    }
    fn iterations(&self) -> u64 {
        self.0.iterations()
    }
    fn forward(&mut self, x: &[f32], batch: usize) -> &[f32] {
        self.0.forward(x, batch)
    }
    fn outputs(&self, batch: usize) -> &[f32] {
        self.0.outputs(batch)
    }
    fn evaluate_batch(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
        self.0.evaluate_batch(x, y, batch)
    }
    fn compute_gradients(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
        self.0.compute_gradients(x, y, batch)
    }
    fn train_step(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
        self.0.train_step(x, y, batch)
    }
}

#[test]
fn a_model_without_optimizer_access_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let mut m = Minimal(Network::new(&tiny(), 3, 8).unwrap());
    let err = m.save(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("model `Tiny` does not expose its seed, which a checkpoint must hold"),
        "{err}"
    );
    assert!(!path.exists());
    m.0.save(&path).unwrap();
    let before = bits32(m.params());
    let err = m.load(&path).unwrap_err();
    assert!(
        matches!(err.kind, CheckpointErrorKind::Unsupported { .. }),
        "{err}"
    );
    assert_eq!(bits32(m.params()), before);
}

#[test]
fn snapshot_bytes_round_trip_through_load_bytes() {
    let net = Network::new(&tiny(), 3, 8).unwrap();
    let bytes = checkpoint::to_bytes(&Snapshot::of(&net, None)).unwrap();
    let mut other = Network::new(&tiny(), 8, 8).unwrap();
    checkpoint::load_bytes(&mut other, &bytes).unwrap();
    assert_eq!(model_bits(&other), model_bits(&net));
}

#[test]
fn load_weights_takes_parameters_and_statistics_but_starts_a_fresh_optimizer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trained.safetensors");
    let mut trained = Network::new(&tiny(), 3, 8).unwrap();
    let history = fit(&mut trained, &data(48, 1), None, &opts(2)).unwrap();
    assert_eq!(history.loss.len(), 2);
    assert!(trained.iterations() > 0);
    checkpoint::save(&trained, &path, None).unwrap();
    // Another optimiser: its slots are not in the file, and need not be.
    let sgd = compile(&SPEC.replace("adam(lr = 0.01)", "sgd(lr = 0.1, momentum = 0.9)"));
    let mut fresh = Network::new(&sgd, 9, 8).unwrap();
    checkpoint::load_weights(&mut fresh, &path).unwrap();
    assert_eq!(bits32(fresh.params()), bits32(trained.params()));
    assert_eq!(bits32(fresh.state()), bits32(trained.state()));
    assert_eq!(fresh.iterations(), 0);
    assert_eq!(fresh.rng_seed(), Some(9));
    assert!(fresh.optimizer_slots().unwrap().iter().all(|&v| v == 0.0));
    // Another architecture is refused, naming the tensor, and changes nothing.
    let mut other = Network::new(&wider(), 1, 8).unwrap();
    let before = model_bits(&other);
    let msg = checkpoint::load_weights(&mut other, &path)
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with("tensor `dense.kernel` has shape [12, 10] but model `Tiny` needs [12, 12]"),
        "{msg}"
    );
    assert_eq!(model_bits(&other), before);
    // A model without the BatchNorm: its tensors in the file are unexpected.
    let plain = compile(&SPEC.replace("BatchNorm\n", ""));
    let msg = checkpoint::load_weights(&mut Network::new(&plain, 1, 8).unwrap(), &path)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("unexpected tensor `batch_normalization.gamma`"),
        "{msg}"
    );
}
