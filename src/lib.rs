//! `mlp`: describe a small neural network in a `.mlp` file or an `mlp! { … }` macro and get
//! Keras-exact, fused, allocation-free training code.
//!
//! ```no_run
//! use mlp::prelude::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//!
//! mlp! {
//!     /// A small MNIST classifier.
//!     model Net {
//!         input [28, 28]
//!         Flatten
//!         Dense(64, activation = relu)
//!         Dense(10, activation = softmax)
//!     }
//! }
//!
//! let data = load_mnist(None)?; // --data, $MLP_DATA, the cache, or a download
//! let mut net = Net::new(0);
//! let options = FitOptions::from_config(&net.ir().train);
//! let history = fit(&mut net, &data.train, Some(&data.test), &options)?;
//! println!("val_loss per epoch: {:?}", history.val_loss);
//! # Ok(())
//! # }
//! ```
//!
//! This facade re-exports the language ([`spec`]), the runtime ([`runtime`]) and the
//! macros [`mlp!`] and [`include_mlp!`]; [`prelude`] gathers what a program needs. The code
//! the macros generate names only `::mlp::…` paths, so depending on this crate is enough.

#![forbid(unsafe_code)]

pub use mlp_macro::{include_mlp, mlp};
pub use mlp_runtime as runtime;
pub use mlp_spec as spec;

/// Everything a program using the macros needs: `use mlp::prelude::*;`.
pub mod prelude {
    pub use crate::{include_mlp, mlp};
    pub use mlp_runtime::data::{
        load_mnist, load_mnist_with, read_csv, read_npy, CsvOptions, Dataset, Features,
        LoadOptions, Mnist, TargetSet,
    };
    pub use mlp_runtime::{
        adapt, evaluate, fit, fit_with_progress, predict, predict_u8, Evaluation, FitOptions,
        History, Model, Network, Progress, StepStats, Targets,
    };
}
