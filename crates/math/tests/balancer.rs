//! Differential test of the Balancer weighted math against `balancer-maths` (PyPI), Balancer's own
//! Python implementation: at least 100,000 seeded random cases of `_calcOutGivenIn`,
//! `_calcInGivenOut` and `LogExpMath.pow`, each answered by both sides, which must agree exactly:
//! the same integer, or both refusing the case.
//!
//! It needs Python with the package, so it is ignored by default; `.ci/balancer-diff.sh` installs
//! both and runs it (as CI does), with `MESHSIM_BALANCER_PYTHON` naming that Python by absolute path.

use std::io::Write;
use std::process::{Command, Stdio};

use meshsim_math::U256;
use meshsim_math::weighted::{calc_in_given_out, calc_out_given_in, pow};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;

const CASES: usize = 120_000;
const E18: u128 = 1_000_000_000_000_000_000;

/// A value spread over many orders of magnitude: `10^u` for `u` uniform in `[lo, hi)`.
fn log_uniform(rng: &mut ChaCha12Rng, lo: f64, hi: f64) -> u128 {
    libm::pow(10.0, rng.random_range(lo..hi)) as u128
}

/// One random case: the operation and its arguments.
fn case(rng: &mut ChaCha12Rng) -> (&'static str, Vec<u128>) {
    // weights from 1 % to 99 %; a third of the pairs are the 50/50 and 80/20 shortcuts
    let mut weight = || match rng.random_range(0..6) {
        0 => E18 / 2,
        1 => E18 * 4 / 5,
        _ => rng.random_range(E18 / 100..E18 * 99 / 100),
    };
    let (w_in, w_out) = (weight(), weight());
    match rng.random_range(0..10) {
        0..4 => {
            let b_in = log_uniform(rng, 6.0, 33.0);
            let b_out = log_uniform(rng, 6.0, 33.0);
            // up to a bit past the 30 % limit, so both sides must refuse the same cases
            let a = (b_in as f64 * libm::pow(10.0, rng.random_range(-14.0..-0.45))) as u128;
            ("out", vec![b_in, w_in, b_out, w_out, a.max(1)])
        }
        4..8 => {
            let b_in = log_uniform(rng, 6.0, 33.0);
            let b_out = log_uniform(rng, 6.0, 33.0);
            let a = (b_out as f64 * libm::pow(10.0, rng.random_range(-14.0..-0.45))) as u128;
            ("in", vec![b_in, w_in, b_out, w_out, a.max(1)])
        }
        _ => {
            // bases around one (what swaps use) and far from it; exponents of weight ratios
            let x = if rng.random_bool(0.7) { rng.random_range(E18 / 2..E18 * 2) } else { log_uniform(rng, 0.0, 36.0) };
            let y = log_uniform(rng, 15.0, 20.5);
            ("pow", vec![x, y])
        }
    }
}

fn ours(op: &str, a: &[u128]) -> Result<U256, String> {
    let u: Vec<U256> = a.iter().map(|x| U256::from(*x)).collect();
    let r = match op {
        "out" => calc_out_given_in(u[0], u[1], u[2], u[3], u[4]),
        "in" => calc_in_given_out(u[0], u[1], u[2], u[3], u[4]),
        _ => pow(u[0], u[1]),
    };
    r.map_err(|e| e.to_string())
}

#[test]
#[ignore = "needs Python with balancer-maths; CI runs it with MESHSIM_BALANCER_PYTHON set"]
fn weighted_math_matches_balancer_maths() {
    let python = std::env::var("MESHSIM_BALANCER_PYTHON")
        .expect("set MESHSIM_BALANCER_PYTHON to a Python that has balancer-maths installed");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/balancer/oracle.py");
    let mut rng = ChaCha12Rng::seed_from_u64(0xba1a);
    let cases: Vec<(&str, Vec<u128>)> = (0..CASES).map(|_| case(&mut rng)).collect();
    let input: String = cases
        .iter()
        .map(|(op, a)| format!("{op} {}\n", a.iter().map(u128::to_string).collect::<Vec<_>>().join(" ")))
        .collect();
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("the oracle runs");
    writer.join().expect("writer").expect("the oracle reads its input");
    assert!(output.status.success(), "the oracle failed: {}", String::from_utf8_lossy(&output.stdout));
    let answers: Vec<String> = String::from_utf8(output.stdout).expect("utf-8").lines().map(str::to_string).collect();
    assert_eq!(answers.len(), CASES, "one answer per case");

    let mut mismatches = Vec::new();
    let mut counts = std::collections::BTreeMap::<(&str, bool), usize>::new();
    for ((op, args), answer) in cases.iter().zip(&answers) {
        let theirs = answer.strip_prefix("ok ").map(|n| U256::from_str_radix(n, 10).expect("a number"));
        let mine = ours(op, args);
        *counts.entry((op, mine.is_ok())).or_default() += 1;
        let agree = match (&mine, &theirs) {
            (Ok(a), Some(b)) => a == b,
            (Err(_), None) => true,
            _ => false,
        };
        if !agree {
            mismatches.push(format!("{op} {args:?}: meshsim {mine:?}, balancer-maths {answer}"));
        }
    }
    eprintln!("{CASES} cases (op, answered): {counts:?}");
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
    // the cases exercise both answers of every operation
    for op in ["out", "in", "pow"] {
        assert!(counts.get(&(op, true)).copied().unwrap_or(0) > CASES / 20, "{op}: too few answered cases");
    }
    assert!(counts.get(&("out", false)).copied().unwrap_or(0) > 100, "the 30 % limit is never hit");
}
