//! The optimiser pass: one call of the runtime's `optim::update` per run of adjacent
//! tensors sharing a regulariser (per tensor under `clipnorm`;
//! `ParamLayout::update_runs_for`, the runs `optim::step` takes for `Network`), after the
//! step's scalars (`optim::begin_step`: the learning rate, scheduled or not, and the
//! rule's coefficients) and, under `global_clipnorm`, the global norm. The same calls in
//! the same order as `Network`, so both stay bit for bit equal.

use super::Gen;
use mlp_spec::ir::{Clip, LearningRate, Optimizer, OptimizerKind};
use mlp_spec::plan::TensorId;
use proc_macro2::TokenStream;
use quote::quote;

/// `fn optimizer_step(&mut self)`.
pub fn optimizer_fn(g: &Gen) -> TokenStream {
    let optim = g.module("optim");
    let opt = &g.m.train.optimizer;
    let layout = &g.plan.layout;
    let trainable: Vec<TensorId> = layout
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.trainable)
        .map(|(i, _)| TensorId(i))
        .collect();
    let mut next = 0;
    let mut norms = Vec::new();
    let mut lines = Vec::new();
    for run in layout.update_runs_for(opt) {
        let ids = &trainable[next..next + run.tensors];
        next += run.tensors;
        let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
            continue;
        };
        let (cf, cl) = (g.tensor_const(first), g.tensor_const(last));
        let range = if first == last {
            quote!(Self::#cf)
        } else {
            quote!(Self::#cf.start..Self::#cl.end)
        };
        let start = quote!(Self::#cf.start);
        let reg = match run.regularizer {
            Some(r) => {
                let c = g.regularizer_const(first, r);
                quote!(Some(#c))
            }
            None => quote!(None),
        };
        norms.push(quote! {
            #optim::squared_norm(&self.core.params[#range], &self.core.grads[#range], #reg)
        });
        lines.push(quote! {
            #optim::update(opt, &step, Self::PARAMS, #start, &mut self.core.params[#range], &self.core.grads[#range], &mut self.core.slots, #reg);
        });
    }
    let doc = super::text::docs(&format!(
        "Optimiser step ({}): {}; `optim::begin_step` gives the step's learning rate and coefficients, then one fused pass per run of adjacent tensors sharing a regulariser, in layout order, adds its regularisation gradient{}.",
        g.cite_train(),
        optimizer_name(opt),
        match opt.clip {
            Some(Clip::Norm(_)) => ", clips each tensor's gradient to its norm bound, decays and updates (one pass per tensor)",
            Some(Clip::GlobalNorm(_)) => ", scales every gradient by the global norm bound, decays and updates",
            Some(Clip::Value(_)) => ", clips every element, decays and updates",
            None => " and updates",
        }
    ));
    if lines.is_empty() {
        return quote! {
            #doc
            fn optimizer_step(&mut self) {
                let opt = &self.core.ir.train.optimizer;
                let _ = #optim::begin_step(opt, &mut self.core.optimizer, self.core.iterations);
            }
        };
    }
    let global = if matches!(opt.clip, Some(Clip::GlobalNorm(_))) {
        quote! {
            let squared: f64 = 0.0 #(+ #norms)*;
            let step = step.with_global_norm(opt, squared);
        }
    } else {
        TokenStream::new()
    };
    quote! {
        #doc
        fn optimizer_step(&mut self) {
            let opt = &self.core.ir.train.optimizer;
            let step = #optim::begin_step(opt, &mut self.core.optimizer, self.core.iterations);
            #global
            #(#lines)*
        }
    }
}

/// The optimiser and its hyper-parameters, for docs (`Adam (lr = 0.001, …)`).
#[must_use]
pub fn optimizer_name(opt: &Optimizer) -> String {
    let lr = match &opt.learning_rate {
        LearningRate::Constant(lr) => format!("lr = {lr}"),
        LearningRate::Schedule(s) => format!("lr = {} from {}", s.keras_class(), s.initial()),
    };
    let own = match opt.kind {
        OptimizerKind::Adam {
            beta1,
            beta2,
            epsilon,
            amsgrad,
        }
        | OptimizerKind::AdamW {
            beta1,
            beta2,
            epsilon,
            amsgrad,
        } => format!(
            "beta1 = {beta1}, beta2 = {beta2}, epsilon = {epsilon:e}{}",
            if amsgrad { ", amsgrad" } else { "" }
        ),
        OptimizerKind::Nadam {
            beta1,
            beta2,
            epsilon,
        }
        | OptimizerKind::Adamax {
            beta1,
            beta2,
            epsilon,
        } => format!("beta1 = {beta1}, beta2 = {beta2}, epsilon = {epsilon:e}"),
        OptimizerKind::Adagrad {
            initial_accumulator_value,
            epsilon,
        } => format!(
            "initial_accumulator_value = {initial_accumulator_value}, epsilon = {epsilon:e}"
        ),
        OptimizerKind::Adadelta { rho, epsilon } => format!("rho = {rho}, epsilon = {epsilon:e}"),
        OptimizerKind::Lion { beta1, beta2 } => format!("beta1 = {beta1}, beta2 = {beta2}"),
        OptimizerKind::Sgd { momentum, nesterov } => {
            format!("momentum = {momentum}, nesterov = {nesterov}")
        }
        OptimizerKind::RmsProp {
            rho,
            momentum,
            epsilon,
            centered,
        } => format!(
            "rho = {rho}, momentum = {momentum}, epsilon = {epsilon:e}{}",
            if centered { ", centered" } else { "" }
        ),
    };
    let mut extra = String::new();
    if let Some(wd) = opt.weight_decay {
        extra.push_str(&format!(", weight_decay = {wd}"));
    }
    match opt.clip {
        Some(Clip::Norm(c)) => extra.push_str(&format!(", clipnorm = {c}")),
        Some(Clip::GlobalNorm(c)) => extra.push_str(&format!(", global_clipnorm = {c}")),
        Some(Clip::Value(c)) => extra.push_str(&format!(", clipvalue = {c}")),
        None => {}
    }
    format!("{} ({lr}, {own}{extra})", opt.keras_class())
}
