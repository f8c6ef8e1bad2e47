//! The IR as a Rust expression: the generated `model_ir()` builds the exact `ir::Model` the
//! code was generated from (returned by `Model::ir`), without parsing anything at run time.
//!
//! Paths are relative to `ir`, which the generated block imports as `::mlp::spec::ir`, and
//! `Some` / `None`, which it imports from `::core::option::Option`.

use crate::lit::{float, float64, int, size};
use mlp_spec::ir::{
    Activation, ActivationClass, BatchNorm, Callback, ClassWeight, Clip, Dense, Initializer, Layer,
    LayerKind, LearningRate, Loss, Metric, Mode, Model, Optimizer, OptimizerKind, ParamCounts,
    Regularizer, Schedule, TrainConfig,
};
use proc_macro2::TokenStream;
use quote::quote;

/// `ir::Model { … }`.
pub fn model(m: &Model) -> TokenStream {
    let name = &m.name;
    let doc = &m.doc;
    let line = int(m.line);
    let input = shape(&m.input);
    let layers = m.layers.iter().map(layer);
    let train = train(&m.train);
    let params = counts(m.params);
    quote! {
        ir::Model {
            name: #name.to_owned(),
            doc: ::std::vec::Vec::from([#(#doc.to_owned()),*]),
            line: #line,
            input: #input,
            layers: ::std::vec::Vec::from([#(#layers),*]),
            train: #train,
            params: #params,
        }
    }
}

fn shape(s: &[usize]) -> TokenStream {
    let dims = s.iter().map(|&d| size(d));
    quote!(::std::vec![#(#dims),*])
}

fn counts(c: ParamCounts) -> TokenStream {
    let (total, trainable, non_trainable) =
        (size(c.total), size(c.trainable), size(c.non_trainable));
    quote! {
        ir::ParamCounts { total: #total, trainable: #trainable, non_trainable: #non_trainable }
    }
}

fn layer(l: &Layer) -> TokenStream {
    let name = &l.name;
    let kind = kind(&l.kind);
    let (input, output) = (shape(&l.input_shape), shape(&l.output_shape));
    let params = counts(l.params);
    let line = int(l.line);
    quote! {
        ir::Layer {
            name: #name.to_owned(),
            kind: #kind,
            input_shape: #input,
            output_shape: #output,
            params: #params,
            line: #line,
        }
    }
}

fn kind(k: &LayerKind) -> TokenStream {
    match k {
        LayerKind::Flatten => quote!(ir::LayerKind::Flatten),
        LayerKind::Normalization { features } => {
            let features = size(*features);
            quote!(ir::LayerKind::Normalization { features: #features })
        }
        LayerKind::Dense(d) => {
            let d = dense(d);
            quote!(ir::LayerKind::Dense(#d))
        }
        LayerKind::Dropout { rate } => {
            let rate = float(*rate);
            quote!(ir::LayerKind::Dropout { rate: #rate })
        }
        LayerKind::BatchNorm(BatchNorm { momentum, epsilon }) => {
            let (momentum, epsilon) = (float64(*momentum), float(*epsilon));
            quote!(ir::LayerKind::BatchNorm(ir::BatchNorm { momentum: #momentum, epsilon: #epsilon }))
        }
        LayerKind::LeakyRelu { slope } => {
            let slope = float(*slope);
            quote!(ir::LayerKind::LeakyRelu { slope: #slope })
        }
        LayerKind::Activation {
            activation: a,
            class,
        } => {
            let a = activation(*a);
            let class = match class {
                ActivationClass::Dedicated => quote!(ir::ActivationClass::Dedicated),
                ActivationClass::Generic => quote!(ir::ActivationClass::Generic),
            };
            quote!(ir::LayerKind::Activation { activation: #a, class: #class })
        }
        LayerKind::Rescale { scale, offset } => {
            let (scale, offset) = (float(*scale), float(*offset));
            quote!(ir::LayerKind::Rescale { scale: #scale, offset: #offset })
        }
    }
}

fn dense(d: &Dense) -> TokenStream {
    let units = size(d.units);
    let activation = activation(d.activation);
    let kernel_init = initializer(d.kernel_init);
    let bias_init = initializer(d.bias_init);
    let kernel_reg = option(d.kernel_reg.map(regularizer));
    let bias_reg = option(d.bias_reg.map(regularizer));
    let use_bias = d.use_bias;
    quote! {
        ir::Dense {
            units: #units,
            activation: #activation,
            kernel_init: #kernel_init,
            bias_init: #bias_init,
            kernel_reg: #kernel_reg,
            bias_reg: #bias_reg,
            use_bias: #use_bias,
        }
    }
}

fn option(v: Option<TokenStream>) -> TokenStream {
    match v {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

/// `ir::Activation::Relu`.
pub fn activation(a: Activation) -> TokenStream {
    match a {
        Activation::Linear => quote!(ir::Activation::Linear),
        Activation::Relu => quote!(ir::Activation::Relu),
        Activation::Sigmoid => quote!(ir::Activation::Sigmoid),
        Activation::Tanh => quote!(ir::Activation::Tanh),
        Activation::Softmax => quote!(ir::Activation::Softmax),
        Activation::Elu { alpha } => {
            let alpha = float(alpha);
            quote!(ir::Activation::Elu { alpha: #alpha })
        }
        Activation::Selu => quote!(ir::Activation::Selu),
        Activation::Gelu { approximate } => {
            quote!(ir::Activation::Gelu { approximate: #approximate })
        }
        Activation::Silu => quote!(ir::Activation::Silu),
        Activation::Softplus => quote!(ir::Activation::Softplus),
        Activation::LeakyRelu { negative_slope } => {
            let negative_slope = float(negative_slope);
            quote!(ir::Activation::LeakyRelu { negative_slope: #negative_slope })
        }
    }
}

/// `ir::Initializer::HeNormal`, `ir::Initializer::Uniform { min: -0.05, max: 0.05 }`.
pub fn initializer(i: Initializer) -> TokenStream {
    match i {
        Initializer::Zeros => quote!(ir::Initializer::Zeros),
        Initializer::Ones => quote!(ir::Initializer::Ones),
        Initializer::Constant(c) => {
            let c = float(c);
            quote!(ir::Initializer::Constant(#c))
        }
        Initializer::Uniform { min, max } => {
            let (min, max) = (float(min), float(max));
            quote!(ir::Initializer::Uniform { min: #min, max: #max })
        }
        Initializer::Normal { mean, stddev } => {
            let (mean, stddev) = (float(mean), float(stddev));
            quote!(ir::Initializer::Normal { mean: #mean, stddev: #stddev })
        }
        Initializer::TruncatedNormal { mean, stddev } => {
            let (mean, stddev) = (float(mean), float(stddev));
            quote!(ir::Initializer::TruncatedNormal { mean: #mean, stddev: #stddev })
        }
        Initializer::GlorotUniform => quote!(ir::Initializer::GlorotUniform),
        Initializer::GlorotNormal => quote!(ir::Initializer::GlorotNormal),
        Initializer::HeNormal => quote!(ir::Initializer::HeNormal),
        Initializer::HeUniform => quote!(ir::Initializer::HeUniform),
        Initializer::LecunNormal => quote!(ir::Initializer::LecunNormal),
        Initializer::LecunUniform => quote!(ir::Initializer::LecunUniform),
    }
}

/// `ir::Regularizer { l1: 0.01, l2: 0.0 }`.
pub fn regularizer(r: Regularizer) -> TokenStream {
    let (l1, l2) = (float(r.l1), float(r.l2));
    quote!(ir::Regularizer { l1: #l1, l2: #l2 })
}

fn train(t: &TrainConfig) -> TokenStream {
    let optimizer = optimizer(&t.optimizer);
    let loss = loss(t.loss);
    let metrics = t.metrics.iter().map(|&m| metric(m));
    let (batch, epochs, seed) = (size(t.batch), size(t.epochs), int(t.seed));
    let split = option(t.validation_split.map(float));
    let shuffle = t.shuffle;
    let callbacks = t.callbacks.iter().map(callback);
    let class_weight = option(t.class_weight.as_ref().map(|c| match c {
        ClassWeight::Balanced => quote!(ir::ClassWeight::Balanced),
        ClassWeight::Map(entries) => {
            let e = entries.iter().map(|&(class, w)| {
                let w = float64(w);
                quote!((#class, #w))
            });
            quote!(ir::ClassWeight::Map(::std::vec![#(#e),*]))
        }
    }));
    quote! {
        ir::TrainConfig {
            optimizer: #optimizer,
            loss: #loss,
            metrics: ::std::vec![#(#metrics),*],
            batch: #batch,
            epochs: #epochs,
            seed: #seed,
            validation_split: #split,
            shuffle: #shuffle,
            callbacks: ::std::vec![#(#callbacks),*],
            class_weight: #class_weight,
        }
    }
}

fn optimizer(o: &Optimizer) -> TokenStream {
    let f = float64;
    let kind = match o.kind {
        OptimizerKind::Adam {
            beta1,
            beta2,
            epsilon,
            amsgrad,
        } => {
            let [beta1, beta2, epsilon] = [beta1, beta2, epsilon].map(f);
            quote!(ir::OptimizerKind::Adam { beta1: #beta1, beta2: #beta2, epsilon: #epsilon, amsgrad: #amsgrad })
        }
        OptimizerKind::AdamW {
            beta1,
            beta2,
            epsilon,
            amsgrad,
        } => {
            let [beta1, beta2, epsilon] = [beta1, beta2, epsilon].map(f);
            quote!(ir::OptimizerKind::AdamW { beta1: #beta1, beta2: #beta2, epsilon: #epsilon, amsgrad: #amsgrad })
        }
        OptimizerKind::Nadam {
            beta1,
            beta2,
            epsilon,
        } => {
            let [beta1, beta2, epsilon] = [beta1, beta2, epsilon].map(f);
            quote!(ir::OptimizerKind::Nadam { beta1: #beta1, beta2: #beta2, epsilon: #epsilon })
        }
        OptimizerKind::Adamax {
            beta1,
            beta2,
            epsilon,
        } => {
            let [beta1, beta2, epsilon] = [beta1, beta2, epsilon].map(f);
            quote!(ir::OptimizerKind::Adamax { beta1: #beta1, beta2: #beta2, epsilon: #epsilon })
        }
        OptimizerKind::Adagrad {
            initial_accumulator_value,
            epsilon,
        } => {
            let [v, epsilon] = [initial_accumulator_value, epsilon].map(f);
            quote!(ir::OptimizerKind::Adagrad { initial_accumulator_value: #v, epsilon: #epsilon })
        }
        OptimizerKind::Adadelta { rho, epsilon } => {
            let [rho, epsilon] = [rho, epsilon].map(f);
            quote!(ir::OptimizerKind::Adadelta { rho: #rho, epsilon: #epsilon })
        }
        OptimizerKind::Lion { beta1, beta2 } => {
            let [beta1, beta2] = [beta1, beta2].map(f);
            quote!(ir::OptimizerKind::Lion { beta1: #beta1, beta2: #beta2 })
        }
        OptimizerKind::Sgd { momentum, nesterov } => {
            let momentum = f(momentum);
            quote!(ir::OptimizerKind::Sgd { momentum: #momentum, nesterov: #nesterov })
        }
        OptimizerKind::RmsProp {
            rho,
            momentum,
            epsilon,
            centered,
        } => {
            let [rho, momentum, epsilon] = [rho, momentum, epsilon].map(f);
            quote!(ir::OptimizerKind::RmsProp { rho: #rho, momentum: #momentum, epsilon: #epsilon, centered: #centered })
        }
    };
    let learning_rate = match &o.learning_rate {
        LearningRate::Constant(lr) => {
            let lr = f(*lr);
            quote!(ir::LearningRate::Constant(#lr))
        }
        LearningRate::Schedule(s) => {
            let s = schedule(s);
            quote!(ir::LearningRate::Schedule(#s))
        }
    };
    let weight_decay = option(o.weight_decay.map(f));
    let clip = option(o.clip.map(|c| match c {
        Clip::Norm(v) => {
            let v = f(v);
            quote!(ir::Clip::Norm(#v))
        }
        Clip::GlobalNorm(v) => {
            let v = f(v);
            quote!(ir::Clip::GlobalNorm(#v))
        }
        Clip::Value(v) => {
            let v = f(v);
            quote!(ir::Clip::Value(#v))
        }
    }));
    quote! {
        ir::Optimizer { kind: #kind, learning_rate: #learning_rate, weight_decay: #weight_decay, clip: #clip }
    }
}

fn schedule(s: &Schedule) -> TokenStream {
    let f = float64;
    match s {
        Schedule::ExponentialDecay {
            initial,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            let (initial, decay_rate) = (f(*initial), f(*decay_rate));
            quote!(ir::Schedule::ExponentialDecay { initial: #initial, decay_steps: #decay_steps, decay_rate: #decay_rate, staircase: #staircase })
        }
        Schedule::InverseTimeDecay {
            initial,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            let (initial, decay_rate) = (f(*initial), f(*decay_rate));
            quote!(ir::Schedule::InverseTimeDecay { initial: #initial, decay_steps: #decay_steps, decay_rate: #decay_rate, staircase: #staircase })
        }
        Schedule::PolynomialDecay {
            initial,
            decay_steps,
            end,
            power,
            cycle,
        } => {
            let [initial, end, power] = [*initial, *end, *power].map(f);
            quote!(ir::Schedule::PolynomialDecay { initial: #initial, decay_steps: #decay_steps, end: #end, power: #power, cycle: #cycle })
        }
        Schedule::PiecewiseConstant { boundaries, values } => {
            let values = values.iter().map(|&v| f(v));
            quote!(ir::Schedule::PiecewiseConstant {
                boundaries: ::std::vec![#(#boundaries),*],
                values: ::std::vec![#(#values),*]
            })
        }
        Schedule::CosineDecay {
            initial,
            decay_steps,
            alpha,
            warmup_target,
            warmup_steps,
        } => {
            let (initial, alpha) = (f(*initial), f(*alpha));
            let target = option(warmup_target.map(f));
            quote!(ir::Schedule::CosineDecay { initial: #initial, decay_steps: #decay_steps, alpha: #alpha, warmup_target: #target, warmup_steps: #warmup_steps })
        }
        Schedule::CosineDecayRestarts {
            initial,
            first_decay_steps,
            t_mul,
            m_mul,
            alpha,
        } => {
            let [initial, t_mul, m_mul, alpha] = [*initial, *t_mul, *m_mul, *alpha].map(f);
            quote!(ir::Schedule::CosineDecayRestarts { initial: #initial, first_decay_steps: #first_decay_steps, t_mul: #t_mul, m_mul: #m_mul, alpha: #alpha })
        }
    }
}

fn mode(m: Mode) -> TokenStream {
    match m {
        Mode::Auto => quote!(ir::Mode::Auto),
        Mode::Min => quote!(ir::Mode::Min),
        Mode::Max => quote!(ir::Mode::Max),
    }
}

fn callback(c: &Callback) -> TokenStream {
    let f = float64;
    match c {
        Callback::EarlyStopping {
            monitor,
            min_delta,
            patience,
            mode: m,
            baseline,
            restore_best_weights,
            start_from_epoch,
        } => {
            let (min_delta, m) = (f(*min_delta), mode(*m));
            let baseline = option(baseline.map(f));
            quote!(ir::Callback::EarlyStopping { monitor: #monitor.to_owned(), min_delta: #min_delta, patience: #patience, mode: #m, baseline: #baseline, restore_best_weights: #restore_best_weights, start_from_epoch: #start_from_epoch })
        }
        Callback::ReduceLrOnPlateau {
            monitor,
            factor,
            patience,
            mode: m,
            min_delta,
            cooldown,
            min_lr,
        } => {
            let [factor, min_delta, min_lr] = [*factor, *min_delta, *min_lr].map(f);
            let m = mode(*m);
            quote!(ir::Callback::ReduceLrOnPlateau { monitor: #monitor.to_owned(), factor: #factor, patience: #patience, mode: #m, min_delta: #min_delta, cooldown: #cooldown, min_lr: #min_lr })
        }
        Callback::ModelCheckpoint {
            path,
            monitor,
            save_best_only,
            save_weights_only,
            mode: m,
        } => {
            let m = mode(*m);
            quote!(ir::Callback::ModelCheckpoint { path: #path.to_owned(), monitor: #monitor.to_owned(), save_best_only: #save_best_only, save_weights_only: #save_weights_only, mode: #m })
        }
        Callback::CsvLogger {
            filename,
            separator,
            append,
        } => {
            quote!(ir::Callback::CsvLogger { filename: #filename.to_owned(), separator: #separator.to_owned(), append: #append })
        }
        Callback::TensorBoard { log_dir } => {
            quote!(ir::Callback::TensorBoard { log_dir: #log_dir.to_owned() })
        }
        Callback::TerminateOnNan => quote!(ir::Callback::TerminateOnNan),
    }
}

/// `ir::Loss::…` for `l`.
pub fn loss(l: Loss) -> TokenStream {
    match l {
        Loss::SparseCategoricalCrossentropy { from_logits } => {
            quote!(ir::Loss::SparseCategoricalCrossentropy { from_logits: #from_logits })
        }
        Loss::CategoricalCrossentropy { from_logits } => {
            quote!(ir::Loss::CategoricalCrossentropy { from_logits: #from_logits })
        }
        Loss::BinaryCrossentropy { from_logits } => {
            quote!(ir::Loss::BinaryCrossentropy { from_logits: #from_logits })
        }
        Loss::MeanSquaredError => quote!(ir::Loss::MeanSquaredError),
        Loss::MeanAbsoluteError => quote!(ir::Loss::MeanAbsoluteError),
        Loss::Huber { delta } => {
            let delta = float(delta);
            quote!(ir::Loss::Huber { delta: #delta })
        }
    }
}

fn metric(m: Metric) -> TokenStream {
    match m {
        Metric::Accuracy => quote!(ir::Metric::Accuracy),
        Metric::BinaryAccuracy { threshold } => {
            let t = float(threshold);
            quote!(ir::Metric::BinaryAccuracy { threshold: #t })
        }
        Metric::CategoricalAccuracy => quote!(ir::Metric::CategoricalAccuracy),
        Metric::SparseCategoricalAccuracy => quote!(ir::Metric::SparseCategoricalAccuracy),
        Metric::MeanAbsoluteError => quote!(ir::Metric::MeanAbsoluteError),
        Metric::MeanSquaredError => quote!(ir::Metric::MeanSquaredError),
        Metric::RootMeanSquaredError => quote!(ir::Metric::RootMeanSquaredError),
        Metric::Precision { threshold } => {
            let t = float(threshold);
            quote!(ir::Metric::Precision { threshold: #t })
        }
        Metric::Recall { threshold } => {
            let t = float(threshold);
            quote!(ir::Metric::Recall { threshold: #t })
        }
        Metric::Auc { num_thresholds } => {
            let n = size(num_thresholds);
            quote!(ir::Metric::Auc { num_thresholds: #n })
        }
    }
}
