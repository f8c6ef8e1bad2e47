//! Memory checked before it is used: how much the machine has, and allocations that fail
//! with an error instead of aborting.
//!
//! A model's buffers are sized once, at construction. [`check`] compares what it needs
//! (computed from the plan, see `mlp_spec::plan::Plan::memory`) with what the machine has
//! ([`available`]) and an optional caller's limit, before anything is allocated; [`zeros`]
//! then allocates each buffer through `try_reserve_exact`, so a refusal by the allocator is
//! an [`AllocError`] too.

use mlp_spec::plan::Bytes;
use thiserror::Error;

/// Why a model's buffers cannot be allocated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllocError {
    /// The model needs more than the machine has available (or than the caller allows).
    #[error("the model needs {needed} at this batch size, but only {available} {what}", needed = Bytes(*.needed), available = Bytes(*.available))]
    TooLarge {
        /// Bytes the model needs.
        needed: u64,
        /// Bytes available (or allowed).
        available: u64,
        /// Where `available` comes from: "are available" or "are allowed by --max-memory".
        what: &'static str,
    },
    /// The allocator refused a buffer.
    #[error("cannot allocate {bytes} for {buffer}", bytes = Bytes(*.bytes))]
    Refused {
        /// Bytes of the buffer.
        bytes: u64,
        /// Its name.
        buffer: String,
    },
}

/// Bytes of memory this process can still use: the smaller of the kernel's
/// `MemAvailable` (`/proc/meminfo`) and the room left under a cgroup v2 memory limit;
/// `None` where neither can be read (another operating system).
#[must_use]
pub fn available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_available(&text));
    let cgroup = cgroup_room();
    match (meminfo, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `MemAvailable:  123456 kB` in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// `memory.max - memory.current` of this process's cgroup (v2), when it has a limit.
fn cgroup_room() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let max = std::fs::read_to_string(dir.join("memory.max")).ok()?;
    let max: u64 = max.trim().parse().ok()?; // "max" (no limit) does not parse
    let current: u64 = std::fs::read_to_string(dir.join("memory.current"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(max.saturating_sub(current))
}

/// Refuses `needed` bytes when they exceed `limit` (a caller's `--max-memory`) or what
/// the machine has [`available`].
///
/// # Errors
/// [`AllocError::TooLarge`] naming both figures.
pub fn check(needed: u64, limit: Option<u64>) -> Result<(), AllocError> {
    if let Some(limit) = limit {
        if needed > limit {
            return Err(AllocError::TooLarge {
                needed,
                available: limit,
                what: "are allowed by --max-memory",
            });
        }
    }
    match available() {
        Some(available) if needed > available => Err(AllocError::TooLarge {
            needed,
            available,
            what: "are available",
        }),
        Some(_) | None => Ok(()),
    }
}

/// `n` zeros, or [`AllocError::Refused`] naming `buffer` when the allocator says no.
///
/// # Errors
/// See above.
pub fn zeros(n: usize, buffer: &str) -> Result<Vec<f32>, AllocError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| AllocError::Refused {
        bytes: (n as u64).saturating_mul(4),
        buffer: buffer.to_owned(),
    })?;
    v.resize(n, 0.0);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::{check, mem_available, zeros, AllocError};

    #[test]
    fn mem_available_reads_the_kernel_line() {
        let text = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(mem_available(text), Some(2048 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn a_limit_or_the_machine_refuses_too_much() {
        assert_eq!(check(10, Some(100)), Ok(()));
        assert!(matches!(
            check(1000, Some(100)),
            Err(AllocError::TooLarge {
                needed: 1000,
                available: 100,
                ..
            })
        ));
        // No machine has an exbibyte to spare.
        let err = check(u64::MAX, None).expect_err("refused");
        assert!(err.to_string().contains("EiB"), "{err}");
    }

    #[test]
    fn zeros_allocates_or_says_which_buffer() {
        assert_eq!(zeros(3, "b"), Ok(vec![0.0; 3]));
        let err = zeros(usize::MAX / 2, "huge").expect_err("refused");
        assert!(err.to_string().contains("huge"), "{err}");
    }
}
