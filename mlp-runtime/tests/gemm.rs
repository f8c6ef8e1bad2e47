//! The GEMM kernels against the naive reference, on every instruction-set path this CPU
//! has: awkward sizes (0, 1, 7, 33, 785 and non-multiples of every tile size), the real
//! layer shapes, NaN-prefilled outputs for `accumulate == false`, and `accumulate ==
//! true` on random prior contents.

use mlp_runtime::kernels::gemm::{
    matmul_at_on, matmul_at_unblocked_on, matmul_bt_on, matmul_bt_unblocked_on, matmul_on,
    matmul_unblocked_on, Isa, ISA_ENV,
};
use mlp_runtime::kernels::parallel;
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
    // The detected path is the fastest supported one, unless MLP_ISA pins another.
    let fastest = supported().into_iter().next_back();
    assert_eq!(Some(Isa::fastest()), fastest);
    let env = std::env::var(ISA_ENV).ok();
    assert_eq!(Isa::detected(), Isa::from_env_value(env.as_deref()).0);
}

/// `MLP_ISA` values: what each one selects and whether it warns.
#[test]
fn isa_from_env_value() {
    let fastest = Isa::fastest();
    let check = |value: Option<&str>, want: Isa, warns: bool| {
        let (isa, warning) = Isa::from_env_value(value);
        assert_eq!(isa, want, "{value:?}");
        assert_eq!(warning.is_some(), warns, "{value:?}: {warning:?}");
        if let Some(w) = warning {
            assert!(w.contains(ISA_ENV) && w.contains(fastest.name()), "{w}");
        }
    };
    check(None, fastest, false);
    check(Some(""), fastest, false);
    check(Some("  "), fastest, false);
    check(Some("portable"), Isa::Portable, false);
    check(Some(" Portable\n"), Isa::Portable, false);
    check(Some("sse9"), fastest, true);
    check(Some("avx"), fastest, true);
    for isa in [Isa::Avx2, Isa::Avx512] {
        let upper = isa.name().to_uppercase();
        if isa.is_supported() {
            check(Some(isa.name()), isa, false);
            check(Some(&upper), isa, false);
        } else {
            check(Some(isa.name()), fastest, true);
        }
    }
}

/// Set by [`mlp_isa_pins_the_path_in_a_child_process`] for the child it starts: the path
/// the child must find in effect.
const CHILD_EXPECTS: &str = "MLP_GEMM_TEST_EXPECTED_ISA";

/// In a child started by [`mlp_isa_pins_the_path_in_a_child_process`] (and nowhere else:
/// otherwise it does nothing), checks that the pinned path is the one every kernel uses.
#[test]
fn child_sees_the_pinned_isa() {
    let Ok(expected) = std::env::var(CHILD_EXPECTS) else {
        return;
    };
    assert_eq!(Isa::detected().name(), expected);
    // The public kernels run the pinned path: bit-identical to it, on a product whose
    // paths differ in the last bits (the portable path rounds twice).
    let (m, k, n) = (9, 300, 40);
    let mut rng = Rng(99);
    let (a, b) = (rng.vec(m * k), rng.vec(k * n));
    let (mut public, mut pinned) = (vec![0.0; m * n], vec![0.0; m * n]);
    matmul(m, k, n, &a, &b, &mut public, false);
    matmul_on(Isa::detected(), m, k, n, &a, &b, &mut pinned, false);
    assert!(public
        .iter()
        .zip(&pinned)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    // Detection is done once: the warning (if any) is printed once.
    assert_eq!(Isa::detected().name(), expected);
}

#[test]
fn mlp_isa_pins_the_path_in_a_child_process() {
    if std::env::var_os(CHILD_EXPECTS).is_some() {
        return; // already the child
    }
    let exe = std::env::current_exe().unwrap();
    let fastest = Isa::fastest().name();
    let cases = [
        ("portable", "portable", false),
        ("nonsense", fastest, true),
        (
            "avx2",
            if Isa::Avx2.is_supported() {
                "avx2"
            } else {
                fastest
            },
            !Isa::Avx2.is_supported(),
        ),
    ];
    for (value, expected, warns) in cases {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "child_sees_the_pinned_isa",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(ISA_ENV, value)
            .env(CHILD_EXPECTS, expected)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{ISA_ENV}={value}: {stdout}\n{stderr}"
        );
        assert!(stdout.contains("1 passed"), "{ISA_ENV}={value}: {stdout}");
        let warnings = stderr.matches("warning: MLP_ISA").count();
        assert_eq!(warnings, usize::from(warns), "{ISA_ENV}={value}: {stderr}");
    }
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

#[test]
fn blocked_products_cross_every_block_on_every_path() {
    // The cache-blocked driver runs when m ≥ 24 and k·n ≥ 256·256: these cross the row
    // slivers (4 and 6 rows), the 256-step blocks of k and the 256-column blocks of b,
    // with column tails for 4-, 8- and 16-lane vectors.
    for isa in supported() {
        for form in FORMS {
            for (m, k, n) in [
                (37, 300, 300),
                (24, 513, 131),
                (29, 256, 257),
                (25, 97, 700),
            ] {
                check(isa, form, m, k, n, (m * k + n) as u64);
            }
        }
    }
}

/// Runs `form` on `isa` into a NaN-filled buffer and returns the result.
fn product(
    isa: Isa,
    form: Form,
    dims: (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    prior: Option<&[f32]>,
    blocked: bool,
) -> Vec<f32> {
    let (m, k, n) = dims;
    let mut c = prior.map_or_else(|| vec![f32::NAN; m * n], <[f32]>::to_vec);
    let acc = prior.is_some();
    match (form, blocked) {
        (Form::Plain, true) => matmul_on(isa, m, k, n, a, b, &mut c, acc),
        (Form::Bt, true) => matmul_bt_on(isa, m, k, n, a, b, &mut c, acc),
        (Form::At, true) => matmul_at_on(isa, m, k, n, a, b, &mut c, acc),
        (Form::Plain, false) => matmul_unblocked_on(isa, m, k, n, a, b, &mut c, acc),
        (Form::Bt, false) => matmul_bt_unblocked_on(isa, m, k, n, a, b, &mut c, acc),
        (Form::At, false) => matmul_at_unblocked_on(isa, m, k, n, a, b, &mut c, acc),
    }
    c
}

#[test]
fn blocking_and_thread_count_never_change_a_bit() {
    // One chain per element over p in order, whatever the loop nest and the split:
    // blocked, unblocked, one thread and two threads agree bit for bit.
    for isa in supported() {
        for form in FORMS {
            for (m, k, n) in [
                (64, 600, 300),
                (40, 300, 1100),
                (1, 1000, 700),
                (300, 64, 1030),
            ] {
                let mut rng = Rng((m + k + n) as u64);
                let (a, b, prior) = (rng.vec(m * k), rng.vec(k * n), rng.vec(m * n));
                for prior in [None, Some(prior.as_slice())] {
                    let want = product(isa, form, (m, k, n), &a, &b, prior, false);
                    for threads in [1, 2] {
                        parallel::set_threads(threads);
                        let got = product(isa, form, (m, k, n), &a, &b, prior, true);
                        parallel::set_threads(1);
                        let same = got
                            .iter()
                            .zip(&want)
                            .all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(
                            same,
                            "{isa:?} {form:?} m={m} k={k} n={n} threads={threads} \
                             accumulate={}",
                            prior.is_some()
                        );
                    }
                }
            }
        }
    }
}
