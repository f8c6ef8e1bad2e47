//! Keras 3's learning-rate schedules (`keras/src/optimizers/schedules/
//! learning_rate_schedule.py`), evaluated at the optimiser's `iterations` (0 at the first
//! step) in f32 operation by operation as Keras evaluates them: every Python float is
//! converted to a float32 tensor first (`ops.convert_to_tensor`, `ops.cast`), except where
//! the source subtracts Python floats first (`1 - self.alpha` in `CosineDecay`).

use mlp_spec::ir::Schedule;

/// The learning rate `schedule` gives at optimiser step `step` (0-based: Keras calls the
/// schedule with `iterations` before incrementing it).
#[must_use]
pub fn learning_rate(schedule: &Schedule, step: u64) -> f32 {
    let step_f = step as f32;
    match *schedule {
        Schedule::ExponentialDecay {
            initial,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            let mut p = step_f / decay_steps as f32;
            if staircase {
                p = p.floor();
            }
            initial as f32 * (decay_rate as f32).powf(p)
        }
        Schedule::InverseTimeDecay {
            initial,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            let mut p = step_f / decay_steps as f32;
            if staircase {
                p = p.floor();
            }
            initial as f32 / (1.0 + decay_rate as f32 * p)
        }
        Schedule::PolynomialDecay {
            initial,
            decay_steps,
            end,
            power,
            cycle,
        } => {
            let (initial, end) = (initial as f32, end as f32);
            let mut decay = decay_steps as f32;
            let mut s = step_f;
            if cycle {
                // `ceil(global_step / self.decay_steps)`, 1 at step 0.
                let multiplier = if s == 0.0 { 1.0 } else { (s / decay).ceil() };
                decay *= multiplier;
            } else {
                s = s.min(decay);
            }
            let p = s / decay;
            (initial - end) * (1.0 - p).powf(power as f32) + end
        }
        Schedule::PiecewiseConstant {
            ref boundaries,
            ref values,
        } => piecewise(boundaries, values, step),
        Schedule::CosineDecay {
            initial,
            decay_steps,
            alpha,
            warmup_target,
            warmup_steps,
        } => {
            let initial_f = initial as f32;
            let decay = decay_steps as f32;
            match warmup_target {
                None => cosine(step_f.min(decay), decay, initial_f, alpha),
                Some(target) => {
                    let (target, warmup) = (target as f32, warmup_steps as f32);
                    let s = step_f.min(decay + warmup);
                    if s < warmup {
                        (target - initial_f) * (s / warmup) + initial_f
                    } else {
                        cosine(s - warmup, decay, target, alpha)
                    }
                }
            }
        }
        Schedule::CosineDecayRestarts {
            initial,
            first_decay_steps,
            t_mul,
            m_mul,
            alpha,
        } => {
            let first = first_decay_steps as f32;
            let (alpha, t_mul, m_mul) = (alpha as f32, t_mul as f32, m_mul as f32);
            let mut fraction = step_f / first;
            let restart = if t_mul == 1.0 {
                let i = fraction.floor();
                fraction -= i;
                i
            } else {
                let i = ((1.0 - fraction * (1.0 - t_mul)).ln() / t_mul.ln()).floor();
                let sum_r = (1.0 - t_mul.powf(i)) / (1.0 - t_mul);
                fraction = (fraction - sum_r) / t_mul.powf(i);
                i
            };
            let m_fac = m_mul.powf(restart);
            let decayed_cos = 0.5 * m_fac * (1.0 + (std::f32::consts::PI * fraction).cos());
            let decayed = (1.0 - alpha) * decayed_cos + alpha;
            initial as f32 * decayed
        }
    }
}

/// `CosineDecay._decay_function`: `from · ((1 - alpha)·½(1 + cos(π·step/decay)) + alpha)`,
/// `1 - alpha` taken on the Python float.
fn cosine(step: f32, decay: f32, from: f32, alpha: f64) -> f32 {
    let fraction = step / decay;
    let decayed_cos = 0.5 * (1.0 + (std::f32::consts::PI * fraction).cos());
    let decayed = (1.0 - alpha) as f32 * decayed_cos + alpha as f32;
    from * decayed
}

/// `PiecewiseConstantDecay`: `values[0]` up to and including `boundaries[0]`, `values[i]`
/// for `boundaries[i-1] < step ≤ boundaries[i]`, the last value after the last boundary.
fn piecewise(boundaries: &[u64], values: &[f64], step: u64) -> f32 {
    let i = boundaries.iter().take_while(|&&b| step > b).count();
    values.get(i).or(values.last()).map_or(0.0, |&v| v as f32)
}

#[cfg(test)]
mod tests {
    use super::learning_rate;
    use mlp_spec::ir::Schedule;

    #[test]
    fn piecewise_constant_switches_after_each_boundary() {
        let s = Schedule::PiecewiseConstant {
            boundaries: vec![5, 10],
            values: vec![0.1, 0.05, 0.01],
        };
        let got: Vec<f32> = [0, 5, 6, 10, 11, 100]
            .iter()
            .map(|&t| learning_rate(&s, t))
            .collect();
        assert_eq!(got, [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]);
    }

    #[test]
    fn cosine_decay_reaches_alpha_times_initial_and_stays() {
        let s = Schedule::CosineDecay {
            initial: 0.1,
            decay_steps: 10,
            alpha: 0.1,
            warmup_target: None,
            warmup_steps: 0,
        };
        assert_eq!(learning_rate(&s, 0), 0.1);
        let end = learning_rate(&s, 10);
        assert!((end - 0.01).abs() < 1e-8, "{end}");
        assert_eq!(learning_rate(&s, 50), end);
    }

    #[test]
    fn staircase_exponential_decay_halves_per_period() {
        let s = Schedule::ExponentialDecay {
            initial: 0.01,
            decay_steps: 4,
            decay_rate: 0.5,
            staircase: true,
        };
        assert_eq!(learning_rate(&s, 3), 0.01);
        assert_eq!(learning_rate(&s, 4), 0.005);
        assert_eq!(learning_rate(&s, 8), 0.0025);
    }
}
