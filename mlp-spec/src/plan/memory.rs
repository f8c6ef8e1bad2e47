//! What a plan's model holds in memory, by kind, and byte counts as people read them.

use std::fmt;

/// The bytes a model holds, by kind (see [`Plan::memory`](super::Plan::memory)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// Trainable parameters.
    pub params: u64,
    /// Their gradients.
    pub grads: u64,
    /// The optimiser's slots.
    pub slots: u64,
    /// Non-trainable state.
    pub state: u64,
    /// Every buffer of the plan (activations, their gradients, batch statistics, folded
    /// weights, probabilities) at the batch.
    pub buffers: u64,
}

impl Memory {
    /// Everything, in bytes (saturating).
    #[must_use]
    pub fn total(&self) -> u64 {
        self.params
            .saturating_add(self.grads)
            .saturating_add(self.slots)
            .saturating_add(self.state)
            .saturating_add(self.buffers)
    }
}

impl fmt::Display for Memory {
    /// `1.23 MiB (parameters 205.66 KiB, gradients …, optimiser slots …, state …,
    /// buffers …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (parameters {}, gradients {}, optimiser slots {}, state {}, buffers {})",
            Bytes(self.total()),
            Bytes(self.params),
            Bytes(self.grads),
            Bytes(self.slots),
            Bytes(self.state),
            Bytes(self.buffers)
        )
    }
}

/// A byte count in binary units, two decimals: `512 B`, `1.50 KiB`, `6.36 GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.2} {}", UNITS[unit])
    }
}
