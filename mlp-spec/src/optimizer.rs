//! The optimiser part of the IR: the update rule, the learning rate (a constant or one of
//! Keras's schedules), weight decay and gradient clipping, with Keras 3's defaults.
//!
//! Hyper-parameters are kept as the `f64` the spec wrote, as Keras keeps them as Python
//! floats: every constant the update uses is derived from them as Keras derives it — for
//! Adam's `1 - beta_1` in f64 and only then rounded to f32 (Keras subtracts the Python
//! float), for Lion's and Nadam's in f32 from the rounded `beta_1` (Keras casts first) —
//! see the runtime's `optim` module, which follows each Keras source line by line.

use serde::{Deserialize, Serialize};

/// An optimiser: its update rule and the options every Keras 3 optimiser takes.
///
/// Deserialises from this form and from the one checkpoints of earlier versions hold
/// (`{"Adam": {"lr": 0.001, "beta1": 0.9, …}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "repr::OptimizerRepr")]
pub struct Optimizer {
    /// The update rule and its own hyper-parameters.
    pub kind: OptimizerKind,
    /// The learning rate: a constant, or a schedule evaluated at `iterations`.
    pub learning_rate: LearningRate,
    /// Decoupled weight decay (Keras `weight_decay`): before each update every trainable
    /// variable becomes `w - w·wd·lr`. `None` when not set (`adamw` defaults to 0.004).
    pub weight_decay: Option<f64>,
    /// Gradient clipping (Keras allows one of `clipnorm`, `global_clipnorm`, `clipvalue`).
    pub clip: Option<Clip>,
}

/// The update rules, Keras 3's, with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam (defaults `beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7, amsgrad = false`).
    Adam {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to `sqrt(v)` (the "epsilon hat" form).
        epsilon: f64,
        /// Keep the running maximum of `v` (AMSGrad).
        amsgrad: bool,
    },
    /// `AdamW`: Adam with `weight_decay` (default 0.004) always set.
    AdamW {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to `sqrt(v)`.
        epsilon: f64,
        /// Keep the running maximum of `v` (AMSGrad).
        amsgrad: bool,
    },
    /// Nadam (defaults `beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7`).
    Nadam {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to `sqrt(v_hat)`.
        epsilon: f64,
    },
    /// Adamax (defaults `beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7`).
    Adamax {
        /// First-moment decay.
        beta1: f64,
        /// Decay of the infinity norm.
        beta2: f64,
        /// Added to the norm.
        epsilon: f64,
    },
    /// Adagrad (defaults `initial_accumulator_value = 0.1, epsilon = 1e-7`).
    Adagrad {
        /// The accumulators' starting value.
        initial_accumulator_value: f64,
        /// Added to the accumulator under the square root.
        epsilon: f64,
    },
    /// Adadelta (defaults `rho = 0.95, epsilon = 1e-7`).
    Adadelta {
        /// Decay of both running averages.
        rho: f64,
        /// Added under both square roots.
        epsilon: f64,
    },
    /// Lion (defaults `beta_1 = 0.9, beta_2 = 0.99`).
    Lion {
        /// Interpolation of the update direction.
        beta1: f64,
        /// Decay of the momentum.
        beta2: f64,
    },
    /// SGD (defaults `momentum = 0, nesterov = false`).
    /// `v = momentum·v - lr·g; w += v` (nesterov: `w += momentum·v - lr·g`).
    Sgd {
        /// Momentum in `[0, 1)`.
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// `RMSprop` (defaults `rho = 0.9, momentum = 0, epsilon = 1e-7, centered = false`).
    RmsProp {
        /// Decay of the squared-gradient average.
        rho: f64,
        /// Momentum in `[0, 1)`.
        momentum: f64,
        /// Added to the mean square under the square root.
        epsilon: f64,
        /// Subtract the squared mean gradient from the mean square.
        centered: bool,
    },
}

/// The learning rate of an optimiser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LearningRate {
    /// A constant (the optimiser's `learning_rate` variable; `reduce_lr_on_plateau` may
    /// change it while training).
    Constant(f64),
    /// A schedule of the optimiser's `iterations` (0 at the first step).
    Schedule(Schedule),
}

/// Keras 3's learning-rate schedules (`keras.optimizers.schedules`), evaluated in f32 as
/// Keras evaluates them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// `initial · decay_rate ^ (step / decay_steps)` (floored with `staircase`).
    ExponentialDecay {
        /// The rate at step 0.
        initial: f64,
        /// Steps per decay period (≥ 1).
        decay_steps: u64,
        /// Factor per period.
        decay_rate: f64,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// `initial / (1 + decay_rate · step / decay_steps)` (floored with `staircase`).
    InverseTimeDecay {
        /// The rate at step 0.
        initial: f64,
        /// Steps per decay period (≥ 1).
        decay_steps: u64,
        /// Decay per period.
        decay_rate: f64,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// `(initial - end) · (1 - step / decay_steps) ^ power + end`, the step capped at
    /// `decay_steps` (or, with `cycle`, `decay_steps` grown to the next multiple).
    PolynomialDecay {
        /// The rate at step 0.
        initial: f64,
        /// Steps to reach `end` (≥ 1).
        decay_steps: u64,
        /// The final rate (Keras default 0.0001).
        end: f64,
        /// The polynomial's power (default 1).
        power: f64,
        /// Restart after `decay_steps`.
        cycle: bool,
    },
    /// `values[i]` for `boundaries[i-1] < step ≤ boundaries[i]`.
    PiecewiseConstant {
        /// Increasing step boundaries (one fewer than `values`).
        boundaries: Vec<u64>,
        /// The rate in each interval.
        values: Vec<f64>,
    },
    /// Cosine decay from `initial` (or, after a linear warm-up, from `warmup_target`) to
    /// `alpha · initial` over `decay_steps`.
    CosineDecay {
        /// The rate at step 0.
        initial: f64,
        /// Steps of the decay (≥ 1).
        decay_steps: u64,
        /// The final rate as a fraction of the initial one.
        alpha: f64,
        /// The rate reached after the warm-up (`None`: no warm-up).
        warmup_target: Option<f64>,
        /// Steps of the linear warm-up.
        warmup_steps: u64,
    },
    /// Cosine decay with warm restarts (SGDR).
    CosineDecayRestarts {
        /// The rate at step 0.
        initial: f64,
        /// Steps of the first period (≥ 1).
        first_decay_steps: u64,
        /// Growth of each period's length (default 2).
        t_mul: f64,
        /// Factor on each restart's rate (default 1).
        m_mul: f64,
        /// The minimum as a fraction of the initial rate.
        alpha: f64,
    },
}

/// Gradient clipping, applied to the gradients (penalties included) before weight decay
/// and the update, as Keras's `BaseOptimizer._clip_gradients` does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Clip {
    /// `clipnorm`: each tensor's gradient scaled to L2 norm ≤ the value.
    Norm(f64),
    /// `global_clipnorm`: all gradients scaled together to a global L2 norm ≤ the value.
    GlobalNorm(f64),
    /// `clipvalue`: every gradient element clipped to `[-value, value]`.
    Value(f64),
}

impl Optimizer {
    /// Number of state slots (each as long as the trainable parameters), in Keras's order
    /// ([`Optimizer::slot_names`]).
    #[must_use]
    pub fn slots(&self) -> usize {
        self.slot_names().len()
    }

    /// Keras's names of the optimiser's per-variable slots, in the order Keras builds them
    /// (`adam/dense_kernel_momentum`, …): the checkpoint names and the state layout.
    #[must_use]
    pub fn slot_names(&self) -> &'static [&'static str] {
        match self.kind {
            OptimizerKind::Adam { amsgrad, .. } | OptimizerKind::AdamW { amsgrad, .. } => {
                if amsgrad {
                    &["momentum", "velocity", "velocity_hat"]
                } else {
                    &["momentum", "velocity"]
                }
            }
            OptimizerKind::Nadam { .. } => &["momentum", "velocity"],
            OptimizerKind::Adamax { .. } => &["momentum", "norm"],
            OptimizerKind::Adagrad { .. } => &["accumulator"],
            OptimizerKind::Adadelta { .. } => &["accumulated_grad", "accumulated_delta_var"],
            OptimizerKind::Lion { .. } => &["momentum"],
            OptimizerKind::Sgd { momentum, .. } => {
                if momentum == 0.0 {
                    &[]
                } else {
                    &["momentum"]
                }
            }
            OptimizerKind::RmsProp {
                momentum, centered, ..
            } => match (momentum > 0.0, centered) {
                (false, false) => &["velocity"],
                (true, false) => &["velocity", "momentum"],
                (false, true) => &["velocity", "average_gradient"],
                (true, true) => &["velocity", "momentum", "average_gradient"],
            },
        }
    }

    /// The value every element of slot `slot` starts at (Adagrad's accumulators start at
    /// `initial_accumulator_value`; every other slot at 0).
    #[must_use]
    pub fn slot_initial_value(&self, slot: usize) -> f32 {
        match self.kind {
            OptimizerKind::Adagrad {
                initial_accumulator_value,
                ..
            } if slot == 0 => initial_accumulator_value as f32,
            _ => 0.0,
        }
    }

    /// Keras's class name (`Adam`, `AdamW`, `SGD`, `RMSprop`, …).
    #[must_use]
    pub fn keras_class(&self) -> &'static str {
        match self.kind {
            OptimizerKind::Adam { .. } => "Adam",
            OptimizerKind::AdamW { .. } => "AdamW",
            OptimizerKind::Nadam { .. } => "Nadam",
            OptimizerKind::Adamax { .. } => "Adamax",
            OptimizerKind::Adagrad { .. } => "Adagrad",
            OptimizerKind::Adadelta { .. } => "Adadelta",
            OptimizerKind::Lion { .. } => "Lion",
            OptimizerKind::Sgd { .. } => "SGD",
            OptimizerKind::RmsProp { .. } => "RMSprop",
        }
    }

    /// The constant learning rate, or the schedule's rate at step 0.
    #[must_use]
    pub fn initial_learning_rate(&self) -> f64 {
        match &self.learning_rate {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(s) => s.initial(),
        }
    }
}

impl Schedule {
    /// Keras's class name (`ExponentialDecay`, …).
    #[must_use]
    pub fn keras_class(&self) -> &'static str {
        match self {
            Schedule::ExponentialDecay { .. } => "ExponentialDecay",
            Schedule::InverseTimeDecay { .. } => "InverseTimeDecay",
            Schedule::PolynomialDecay { .. } => "PolynomialDecay",
            Schedule::PiecewiseConstant { .. } => "PiecewiseConstantDecay",
            Schedule::CosineDecay { .. } => "CosineDecay",
            Schedule::CosineDecayRestarts { .. } => "CosineDecayRestarts",
        }
    }

    /// The rate the schedule starts from (`values[0]` for a piecewise constant).
    #[must_use]
    pub fn initial(&self) -> f64 {
        match self {
            Schedule::ExponentialDecay { initial, .. }
            | Schedule::InverseTimeDecay { initial, .. }
            | Schedule::PolynomialDecay { initial, .. }
            | Schedule::CosineDecay { initial, .. }
            | Schedule::CosineDecayRestarts { initial, .. } => *initial,
            Schedule::PiecewiseConstant { values, .. } => values.first().copied().unwrap_or(0.0),
        }
    }
}

impl Default for Optimizer {
    /// Keras's `adam` with its defaults.
    fn default() -> Self {
        Optimizer {
            kind: OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            learning_rate: LearningRate::Constant(0.001),
            weight_decay: None,
            clip: None,
        }
    }
}

/// The serde forms an [`Optimizer`] is read from.
mod repr {
    use super::{LearningRate, Optimizer, OptimizerKind};
    use crate::optimizer::Clip;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum OptimizerRepr {
        Current {
            kind: OptimizerKind,
            learning_rate: LearningRate,
            weight_decay: Option<f64>,
            clip: Option<Clip>,
        },
        Legacy(Legacy),
    }

    /// The optimiser of a checkpoint written before schedules and weight decay existed.
    #[derive(Deserialize)]
    pub(super) enum Legacy {
        Adam {
            lr: f64,
            beta1: f64,
            beta2: f64,
            epsilon: f64,
        },
        Sgd {
            lr: f64,
            momentum: f64,
            nesterov: bool,
        },
        RmsProp {
            lr: f64,
            rho: f64,
            momentum: f64,
            epsilon: f64,
        },
    }

    impl From<OptimizerRepr> for Optimizer {
        fn from(r: OptimizerRepr) -> Optimizer {
            match r {
                OptimizerRepr::Current {
                    kind,
                    learning_rate,
                    weight_decay,
                    clip,
                } => Optimizer {
                    kind,
                    learning_rate,
                    weight_decay,
                    clip,
                },
                OptimizerRepr::Legacy(l) => {
                    let (kind, lr) = match l {
                        Legacy::Adam {
                            lr,
                            beta1,
                            beta2,
                            epsilon,
                        } => (
                            OptimizerKind::Adam {
                                beta1,
                                beta2,
                                epsilon,
                                amsgrad: false,
                            },
                            lr,
                        ),
                        Legacy::Sgd {
                            lr,
                            momentum,
                            nesterov,
                        } => (OptimizerKind::Sgd { momentum, nesterov }, lr),
                        Legacy::RmsProp {
                            lr,
                            rho,
                            momentum,
                            epsilon,
                        } => (
                            OptimizerKind::RmsProp {
                                rho,
                                momentum,
                                epsilon,
                                centered: false,
                            },
                            lr,
                        ),
                    };
                    Optimizer {
                        kind,
                        learning_rate: LearningRate::Constant(lr),
                        weight_decay: None,
                        clip: None,
                    }
                }
            }
        }
    }
}
