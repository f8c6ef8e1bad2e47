//! The optimiser as Keras sees it: its class, its hyper-parameters under Keras's and
//! mlp's names, and the order of its variables in `optimizer/vars`.
//!
//! [`from_ir`] is the one place that reads [`ir::Optimizer`]: every other part of this
//! crate works on the [`Hyper`] it returns (hyper-parameters as `f64`, however the IR
//! stores them), so a new optimiser or a change of the IR's number type is one `match`
//! here.

use mlp_spec::ir::{self, LearningRate, OptimizerKind};
use mlp_spec::kw;

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Keras `Adam`.
    Adam,
    /// Keras `SGD`.
    Sgd,
    /// Keras `RMSprop`.
    RmsProp,
}

/// One numeric hyper-parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Param {
    /// Keras's config key (`beta_1`).
    pub(crate) keras: &'static str,
    /// mlp's argument name (`beta1`).
    pub(crate) mlp: &'static str,
    /// The value.
    pub(crate) value: f64,
}

/// An optimiser's class and hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hyper {
    /// Which optimiser.
    pub(crate) kind: Kind,
    /// The learning rate (Keras stores it as a float32 variable too).
    pub(crate) learning_rate: f64,
    /// The other numeric hyper-parameters, in Keras's config order.
    pub(crate) values: Vec<Param>,
    /// SGD's `nesterov`.
    pub(crate) nesterov: Option<bool>,
}

impl Kind {
    /// Keras's class name.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Kind::Adam => "Adam",
            Kind::Sgd => "SGD",
            Kind::RmsProp => "RMSprop",
        }
    }

    /// Keras's default instance name, and mlp's keyword.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Adam => kw::ADAM,
            Kind::Sgd => kw::SGD,
            Kind::RmsProp => kw::RMSPROP,
        }
    }

    /// The kind of Keras class `class`.
    pub(crate) fn from_class(class: &str) -> Option<Kind> {
        [Kind::Adam, Kind::Sgd, Kind::RmsProp]
            .into_iter()
            .find(|k| k.class() == class || k.name() == class)
    }

    /// Keras's class-specific config keys that mlp has no setting for, with the only
    /// value mlp accepts (`amsgrad`, `centered`).
    pub(crate) fn fixed_keys(self) -> &'static [(&'static str, bool)] {
        match self {
            Kind::Adam => &[("amsgrad", false)],
            Kind::Sgd => &[],
            Kind::RmsProp => &[("centered", false)],
        }
    }

    /// Keras's numeric keys of the class with mlp's name for each and its Keras default.
    pub(crate) fn keys(self) -> &'static [(&'static str, &'static str, f64)] {
        match self {
            Kind::Adam => &[
                ("beta_1", kw::BETA1, 0.9),
                ("beta_2", kw::BETA2, 0.999),
                ("epsilon", kw::EPSILON, 1e-7),
            ],
            Kind::Sgd => &[("momentum", kw::MOMENTUM, 0.0)],
            Kind::RmsProp => &[
                ("rho", kw::RHO, 0.9),
                ("momentum", kw::MOMENTUM, 0.0),
                ("epsilon", kw::EPSILON, 1e-7),
            ],
        }
    }

    /// Keras's default learning rate.
    pub(crate) fn default_learning_rate(self) -> f64 {
        match self {
            Kind::Adam | Kind::RmsProp => 0.001,
            Kind::Sgd => 0.01,
        }
    }

    /// Whether Keras lays the slots out variable by variable (Adam: `m`, `v` of the
    /// first variable, then of the second, …) rather than slot by slot (`RMSprop`: every
    /// velocity, then every momentum), as its `add_optimizer_variables` is called once
    /// with every slot name or once per slot.
    pub(crate) fn interleaves_slots(self) -> bool {
        match self {
            Kind::Adam => true,
            Kind::Sgd | Kind::RmsProp => false,
        }
    }
}

/// Why `opt` has no `.keras` form in this version (a rule, schedule, weight decay or
/// clipping the export does not write yet), or `None` when [`from_ir`] describes it.
pub(crate) fn unsupported(opt: &ir::Optimizer) -> Option<String> {
    let rule = match opt.kind {
        OptimizerKind::Adam { amsgrad: false, .. }
        | OptimizerKind::Sgd { .. }
        | OptimizerKind::RmsProp {
            centered: false, ..
        } => None,
        _ => Some(format!("the optimiser {}", opt.keras_class())),
    };
    rule.or_else(|| match opt.learning_rate {
        LearningRate::Constant(_) => None,
        LearningRate::Schedule(_) => Some("a learning-rate schedule".to_owned()),
    })
    .or_else(|| opt.weight_decay.map(|_| "weight_decay".to_owned()))
    .or_else(|| opt.clip.map(|_| "gradient clipping".to_owned()))
    .map(|what| format!("{what} cannot be written to a `.keras` file yet"))
}

/// The optimiser of an mlp model as Keras sees it (the one reader of [`ir::Optimizer`]);
/// for what [`unsupported`] refuses, the closest constant-rate form (never written: the
/// export checks first).
pub(crate) fn from_ir(opt: &ir::Optimizer) -> Hyper {
    let v = |kind: Kind, i: usize, value: f64| {
        let (keras, mlp, _) = kind.keys()[i];
        Param { keras, mlp, value }
    };
    let learning_rate = opt.initial_learning_rate();
    match opt.kind {
        OptimizerKind::Sgd { momentum, nesterov } => Hyper {
            kind: Kind::Sgd,
            learning_rate,
            values: vec![v(Kind::Sgd, 0, momentum)],
            nesterov: Some(nesterov),
        },
        OptimizerKind::RmsProp {
            rho,
            momentum,
            epsilon,
            ..
        } => Hyper {
            kind: Kind::RmsProp,
            learning_rate,
            values: vec![
                v(Kind::RmsProp, 0, rho),
                v(Kind::RmsProp, 1, momentum),
                v(Kind::RmsProp, 2, epsilon),
            ],
            nesterov: None,
        },
        OptimizerKind::Adam {
            beta1,
            beta2,
            epsilon,
            ..
        }
        | OptimizerKind::AdamW {
            beta1,
            beta2,
            epsilon,
            ..
        }
        | OptimizerKind::Nadam {
            beta1,
            beta2,
            epsilon,
        }
        | OptimizerKind::Adamax {
            beta1,
            beta2,
            epsilon,
        } => Hyper {
            kind: Kind::Adam,
            learning_rate,
            values: vec![
                v(Kind::Adam, 0, beta1),
                v(Kind::Adam, 1, beta2),
                v(Kind::Adam, 2, epsilon),
            ],
            nesterov: None,
        },
        OptimizerKind::Adagrad { epsilon, .. } | OptimizerKind::Adadelta { epsilon, .. } => Hyper {
            kind: Kind::Adam,
            learning_rate,
            values: vec![
                v(Kind::Adam, 0, 0.9),
                v(Kind::Adam, 1, 0.999),
                v(Kind::Adam, 2, epsilon),
            ],
            nesterov: None,
        },
        OptimizerKind::Lion { beta1, beta2 } => Hyper {
            kind: Kind::Adam,
            learning_rate,
            values: vec![
                v(Kind::Adam, 0, beta1),
                v(Kind::Adam, 1, beta2),
                v(Kind::Adam, 2, 1e-7),
            ],
            nesterov: None,
        },
    }
}

/// The index in `optimizer/vars` of slot `slot` (mlp's slot order, see
/// [`mlp_runtime::checkpoint::slot_names`]) of trainable tensor `tensor`, for a model with
/// `tensors` trainable tensors and `slots` slots: after the step count (0) and the
/// learning rate (1), in Keras's order ([`Kind::interleaves_slots`]).
pub(crate) fn var_index(
    kind: Kind,
    slot: usize,
    tensor: usize,
    slots: usize,
    tensors: usize,
) -> usize {
    if kind.interleaves_slots() {
        2 + tensor * slots + slot
    } else {
        2 + slot * tensors + tensor
    }
}

/// The spec text of `hyper`: `adam(lr = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7)`.
pub(crate) fn spec_text(hyper: &Hyper) -> String {
    let mut args = vec![format!(
        "{} = {}",
        kw::LR,
        crate::spec::number(hyper.learning_rate)
    )];
    for v in &hyper.values {
        args.push(format!("{} = {}", v.mlp, crate::spec::number(v.value)));
    }
    if let Some(n) = hyper.nesterov {
        args.push(format!("{} = {n}", kw::NESTEROV));
    }
    format!("{}({})", hyper.kind.name(), args.join(", "))
}

#[cfg(test)]
mod tests {
    use super::{var_index, Kind};

    #[test]
    fn adam_interleaves_its_moments_and_rmsprop_blocks_them() {
        // Two slots over three tensors: Adam m0 v0 m1 v1 m2 v2, RMSprop a0 a1 a2 m0 m1 m2
        // (Keras 3.15's optimizer/vars of a trained model, after iterations and lr).
        let adam: Vec<usize> = (0..3)
            .flat_map(|t| (0..2).map(move |s| var_index(Kind::Adam, s, t, 2, 3)))
            .collect();
        assert_eq!(adam, [2, 3, 4, 5, 6, 7]);
        let rms: Vec<(usize, usize)> = (0..2).flat_map(|s| (0..3).map(move |t| (s, t))).collect();
        let idx: Vec<usize> = rms
            .iter()
            .map(|&(s, t)| var_index(Kind::RmsProp, s, t, 2, 3))
            .collect();
        assert_eq!(idx, [2, 3, 4, 5, 6, 7]);
        assert_eq!(var_index(Kind::RmsProp, 1, 0, 2, 3), 5);
        assert_eq!(var_index(Kind::Adam, 1, 0, 2, 3), 3);
    }
}
