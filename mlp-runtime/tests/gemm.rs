//! The GEMM kernels against the naive reference, on every instruction-set path this CPU
//! has: awkward sizes (0, 1, 7, 33, 785 and non-multiples of every tile size), the real
//! layer shapes, NaN-prefilled outputs for `accumulate == false`, and `accumulate ==
//! true` on random prior contents.

use mlp_runtime::kernels::gemm::{matmul_at_on, matmul_bt_on, matmul_on, Isa};
use mlp_runtime::kernels::{matmul, matmul_at, matmul_bt, reference};

/// Which product a case exercises.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// `a[m×k] · b[k×n]`
    Plain,
    /// `a[m×k] · b[n×k]ᵀ`
    Bt,
    /// `a[k×m]ᵀ · b[k×n]`
    At,
}

const FORMS: [Form; 3] = [Form::Plain, Form::Bt, Form::At];

/// Elements past `m·n` in the output buffer, which must stay untouched.
const GUARD: usize = 5;

/// The signature all three public kernels share.
type Kernel = fn(usize, usize, usize, &[f32], &[f32], &mut [f32], bool);

/// xorshift64*: a tiny deterministic generator so failures reproduce exactly.
struct Rng(u64);

impl Rng {
    /// Uniform in [-1, 1).
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next_f32()).collect()
    }
}

/// Element `(i, p)` of the left operand and `(p, j)` of the right one, as each form
/// lays them out, so the error bound can be computed independently of any kernel.
fn left(form: Form, a: &[f32], m: usize, k: usize, i: usize, p: usize) -> f32 {
    match form {
        Form::Plain | Form::Bt => a[i * k + p],
        Form::At => a[p * m + i],
    }
}

fn right(form: Form, b: &[f32], k: usize, n: usize, p: usize, j: usize) -> f32 {
    match form {
        Form::Plain | Form::At => b[p * n + j],
        Form::Bt => b[j * k + p],
    }
}

fn run_fast(
    isa: Isa,
    form: Form,
    dims: (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    acc: bool,
) {
    let (m, k, n) = dims;
    match form {
        Form::Plain => matmul_on(isa, m, k, n, a, b, c, acc),
        Form::Bt => matmul_bt_on(isa, m, k, n, a, b, c, acc),
        Form::At => matmul_at_on(isa, m, k, n, a, b, c, acc),
    }
}

fn run_reference(
    form: Form,
    dims: (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    acc: bool,
) {
    let (m, k, n) = dims;
    match form {
        Form::Plain => reference::matmul(m, k, n, a, b, c, acc),
        Form::Bt => reference::matmul_bt(m, k, n, a, b, c, acc),
        Form::At => reference::matmul_at(m, k, n, a, b, c, acc),
    }
}

/// Runs one case on `isa` twice (overwrite into NaN, accumulate onto random values) and
/// compares every element with the reference within `1e-5 · (|c₀| + Σ_p |a||b|)`.
/// Also checks that elements past `m·n` in an over-long `c` are untouched.
fn check(isa: Isa, form: Form, m: usize, k: usize, n: usize, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let a = rng.vec(m * k);
    let b = rng.vec(k * n);
    let prior = rng.vec(m * n);
    for accumulate in [false, true] {
        let mut fast = vec![f32::NAN; m * n + GUARD];
        let mut want = vec![0.0; m * n];
        if accumulate {
            fast[..m * n].copy_from_slice(&prior);
            want.copy_from_slice(&prior);
        }
        run_fast(isa, form, (m, k, n), &a, &b, &mut fast, accumulate);
        run_reference(form, (m, k, n), &a, &b, &mut want, accumulate);
        for i in 0..m {
            for j in 0..n {
                let mag: f32 = (0..k)
                    .map(|p| (left(form, &a, m, k, i, p) * right(form, &b, k, n, p, j)).abs())
                    .sum();
                let base = if accumulate {
                    prior[i * n + j].abs()
                } else {
                    0.0
                };
                let tol = 1e-5 * (mag + base) + f32::MIN_POSITIVE;
                let (got, exp) = (fast[i * n + j], want[i * n + j]);
                assert!(
                    (got - exp).abs() <= tol,
                    "{isa:?} {form:?} m={m} k={k} n={n} accumulate={accumulate}: \
                     c[{i},{j}] = {got}, reference {exp}, tolerance {tol}"
                );
            }
        }
        assert!(
            fast[m * n..].iter().all(|x| x.is_nan()),
            "{isa:?} {form:?} m={m} k={k} n={n}: wrote past m·n"
        );
    }
}

fn supported() -> Vec<Isa> {
    Isa::ALL
        .into_iter()
        .filter(|isa| isa.is_supported())
        .collect()
}

#[test]
fn the_portable_path_always_exists_and_detection_picks_a_supported_path() {
    assert!(Isa::Portable.is_supported());
    assert!(Isa::detected().is_supported());
    // The detected path is the fastest supported one.
    let fastest = supported().into_iter().next_back();
    assert_eq!(Some(Isa::detected()), fastest);
}

#[test]
fn awkward_sizes_on_every_path() {
    const SIZES: [usize; 5] = [0, 1, 7, 33, 785];
    for isa in supported() {
        for form in FORMS {
            for (s, &m) in SIZES.iter().enumerate() {
                for &k in &SIZES {
                    for &n in &SIZES {
                        // Skip only the three cubes too slow for the reference in CI.
                        if m * k * n > 785 * 785 * 33 {
                            continue;
                        }
                        check(isa, form, m, k, n, (s * 131 + k * 17 + n) as u64);
                    }
                }
            }
        }
    }
}

#[test]
fn every_tile_remainder_on_every_path() {
    // m from 1 to 17 covers every row-tile remainder (tiles of 12, 8, 6, 4, 2, 1); n from
    // 1 to 70 covers every column tail for 4-, 8- and 16-lane vectors and every number of
    // vectors per column block; k crosses nothing, it is exercised by the other tests.
    for isa in supported() {
        for form in FORMS {
            for m in 1..=17 {
                for n in (1..=70).step_by(3).chain([16, 32, 48, 64, 65, 128, 129]) {
                    check(isa, form, m, 5, n, (m * 1000 + n) as u64);
                }
            }
        }
    }
}

#[test]
fn reductions_crossing_the_packing_block_on_every_path() {
    // matmul_bt packs 128 steps of k at a time; these cross zero, one and several blocks.
    for isa in supported() {
        for form in FORMS {
            for k in [127, 128, 129, 256, 300] {
                check(isa, form, 9, k, 67, k as u64);
            }
        }
    }
}

#[test]
fn layer_shapes_on_every_path() {
    // Dense 784-64-32-10 at batch 32 and batch 1: forward, weight gradient, input gradient.
    let layers = [(784, 64), (64, 32), (32, 10)];
    for isa in supported() {
        for batch in [1, 32] {
            for (inp, out) in layers {
                check(isa, Form::Plain, batch, inp, out, 1);
                check(isa, Form::At, inp, batch, out, 2);
                check(isa, Form::Bt, batch, out, inp, 3);
            }
        }
    }
}

#[test]
fn the_public_functions_match_the_reference() {
    let (m, k, n) = (33, 65, 70);
    let mut rng = Rng(7);
    let a = rng.vec(m * k);
    let b = rng.vec(k * n);
    let mut want = vec![0.0; m * n];
    let mut got = vec![f32::NAN; m * n];
    let pairs: [(Kernel, Kernel); 3] = [
        (matmul, reference::matmul),
        (matmul_bt, reference::matmul_bt),
        (matmul_at, reference::matmul_at),
    ];
    for (fast, slow) in pairs {
        got.fill(f32::NAN);
        fast(m, k, n, &a, &b, &mut got, false);
        slow(m, k, n, &a, &b, &mut want, false);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4, "{g} vs {w}");
        }
    }
}

#[test]
fn k_zero_writes_zeros_or_leaves_c() {
    for isa in supported() {
        for form in FORMS {
            let mut c = vec![f32::NAN; 6];
            run_fast(isa, form, (2, 0, 3), &[], &[], &mut c, false);
            assert_eq!(c, vec![0.0; 6], "{isa:?} {form:?}");
            let mut c = vec![4.0; 6];
            run_fast(isa, form, (2, 0, 3), &[], &[], &mut c, true);
            assert_eq!(c, vec![4.0; 6], "{isa:?} {form:?}");
        }
    }
}

#[test]
// Exact integers: bit equality is the claim being tested.
#[allow(clippy::float_cmp)]
fn exact_small_integers_give_exact_results_on_every_path() {
    // Products and sums of small integers are exact in f32, so every path must agree
    // with the hand-computed result bit for bit: [[1,2],[3,4]] · [[5,6],[7,8]].
    let a = [1.0, 2.0, 3.0, 4.0];
    let b = [5.0, 6.0, 7.0, 8.0];
    for isa in supported() {
        let mut c = [f32::NAN; 4];
        matmul_on(isa, 2, 2, 2, &a, &b, &mut c, false);
        assert_eq!(c, [19.0, 22.0, 43.0, 50.0], "{isa:?} a·b");
        // a · bᵀ = [[1·5+2·6, 1·7+2·8], [3·5+4·6, 3·7+4·8]]
        matmul_bt_on(isa, 2, 2, 2, &a, &b, &mut c, false);
        assert_eq!(c, [17.0, 23.0, 39.0, 53.0], "{isa:?} a·bᵀ");
        // aᵀ · b = [[1·5+3·7, 1·6+3·8], [2·5+4·7, 2·6+4·8]], then accumulated once more.
        matmul_at_on(isa, 2, 2, 2, &a, &b, &mut c, false);
        assert_eq!(c, [26.0, 30.0, 38.0, 44.0], "{isa:?} aᵀ·b");
        matmul_at_on(isa, 2, 2, 2, &a, &b, &mut c, true);
        assert_eq!(c, [52.0, 60.0, 76.0, 88.0], "{isa:?} aᵀ·b accumulated");
    }
}
