//! The IR as a Rust expression: the generated `model_ir()` builds the exact `ir::Model` the
//! code was generated from (returned by `Model::ir`), without parsing anything at run time.
//!
//! Paths are relative to `ir`, which the generated block imports as `::mlp::spec::ir`, and
//! `Some` / `None`, which it imports from `::core::option::Option`.

use crate::lit::{float, int, size};
use mlp_spec::ir::{
    Activation, ActivationClass, BatchNorm, Dense, Initializer, Layer, LayerKind, Loss, Metric,
    Model, Optimizer, ParamCounts, Regularizer, TrainConfig,
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
            let (momentum, epsilon) = (float(*momentum), float(*epsilon));
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
    let optimizer = optimizer(t.optimizer);
    let loss = loss(t.loss);
    let metrics = t.metrics.iter().map(|&m| metric(m));
    let (batch, epochs, seed) = (size(t.batch), size(t.epochs), int(t.seed));
    let split = option(t.validation_split.map(float));
    let shuffle = t.shuffle;
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
        }
    }
}

fn optimizer(o: Optimizer) -> TokenStream {
    match o {
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            epsilon,
        } => {
            let [lr, beta1, beta2, epsilon] = [lr, beta1, beta2, epsilon].map(float);
            quote!(ir::Optimizer::Adam { lr: #lr, beta1: #beta1, beta2: #beta2, epsilon: #epsilon })
        }
        Optimizer::Sgd {
            lr,
            momentum,
            nesterov,
        } => {
            let [lr, momentum] = [lr, momentum].map(float);
            quote!(ir::Optimizer::Sgd { lr: #lr, momentum: #momentum, nesterov: #nesterov })
        }
        Optimizer::RmsProp {
            lr,
            rho,
            momentum,
            epsilon,
        } => {
            let [lr, rho, momentum, epsilon] = [lr, rho, momentum, epsilon].map(float);
            quote!(ir::Optimizer::RmsProp { lr: #lr, rho: #rho, momentum: #momentum, epsilon: #epsilon })
        }
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
