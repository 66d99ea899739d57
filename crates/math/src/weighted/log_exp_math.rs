//! Port of Balancer V2 `LogExpMath.sol`: `pow`, `exp` and `ln` on 18-decimal fixed point, with
//! 20- and 36-decimal internal precision. The Solidity works on `int256`; a small sign-magnitude
//! integer stands in for it (division truncates toward zero, `%` takes the dividend's sign, as in
//! Solidity).

use std::cmp::Ordering;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use crate::{MathError, MathResult, Protocol, U256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct I256 {
    neg: bool,
    mag: U256,
}

impl I256 {
    const ZERO: I256 = I256 { neg: false, mag: U256::ZERO };
    fn pos(mag: U256) -> Self {
        I256 { neg: false, mag }
    }
    fn from_u128(v: u128) -> Self {
        I256::pos(U256::from(v))
    }
    fn from_i128(v: i128) -> Self {
        I256 { neg: v < 0, mag: U256::from(v.unsigned_abs()) }.norm()
    }
    fn from_dec(s: &str) -> Self {
        // constants only; validated by the unit test below
        I256::pos(s.parse().unwrap_or(U256::ZERO))
    }
    fn norm(self) -> Self {
        if self.mag.is_zero() { I256::ZERO } else { self }
    }
    fn is_neg(self) -> bool {
        self.neg && !self.mag.is_zero()
    }
}

impl PartialOrd for I256 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for I256 {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_neg(), other.is_neg()) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.mag.cmp(&other.mag),
            (true, true) => other.mag.cmp(&self.mag),
        }
    }
}
impl Neg for I256 {
    type Output = I256;
    fn neg(self) -> I256 {
        I256 { neg: !self.neg, mag: self.mag }.norm()
    }
}
impl Add for I256 {
    type Output = I256;
    fn add(self, o: I256) -> I256 {
        if self.is_neg() == o.is_neg() {
            I256 { neg: self.is_neg(), mag: self.mag.wrapping_add(o.mag) }.norm()
        } else if self.mag >= o.mag {
            I256 { neg: self.is_neg(), mag: self.mag - o.mag }.norm()
        } else {
            I256 { neg: o.is_neg(), mag: o.mag - self.mag }.norm()
        }
    }
}
impl Sub for I256 {
    type Output = I256;
    fn sub(self, o: I256) -> I256 {
        self + (-o)
    }
}
impl Mul for I256 {
    type Output = I256;
    fn mul(self, o: I256) -> I256 {
        I256 { neg: self.is_neg() != o.is_neg(), mag: self.mag.wrapping_mul(o.mag) }.norm()
    }
}
impl Div for I256 {
    type Output = I256;
    fn div(self, o: I256) -> I256 {
        // divisors are constants or checked positive by callers
        let mag = self.mag.checked_div(o.mag).unwrap_or(U256::ZERO);
        I256 { neg: self.is_neg() != o.is_neg(), mag }.norm()
    }
}
impl Rem for I256 {
    type Output = I256;
    fn rem(self, o: I256) -> I256 {
        let mag = self.mag.checked_rem(o.mag).unwrap_or(U256::ZERO);
        I256 { neg: self.is_neg(), mag }.norm()
    }
}

struct Constants {
    one_18: I256,
    one_20: I256,
    one_36: I256,
    // (x_n, a_n) pairs; x0/x1 with 18 decimals and a0/a1 plain integers, the rest 20 decimals
    x: [I256; 12],
    a: [I256; 12],
}

fn constants() -> &'static Constants {
    use std::sync::OnceLock;
    static C: OnceLock<Constants> = OnceLock::new();
    C.get_or_init(|| {
        let d = I256::from_dec;
        Constants {
            one_18: I256::from_u128(1_000_000_000_000_000_000),
            one_20: I256::from_u128(100_000_000_000_000_000_000),
            one_36: d("1000000000000000000000000000000000000"),
            x: [
                d("128000000000000000000"),
                d("64000000000000000000"),
                d("3200000000000000000000"),
                d("1600000000000000000000"),
                d("800000000000000000000"),
                d("400000000000000000000"),
                d("200000000000000000000"),
                d("100000000000000000000"),
                d("50000000000000000000"),
                d("25000000000000000000"),
                d("12500000000000000000"),
                d("6250000000000000000"),
            ],
            a: [
                d("38877084059945950922200000000000000000000000000000000000"),
                d("6235149080811616882910000000"),
                d("7896296018268069516100000000000000"),
                d("888611052050787263676000000"),
                d("298095798704172827474000"),
                d("5459815003314423907810"),
                d("738905609893065022723"),
                d("271828182845904523536"),
                d("164872127070012814685"),
                d("128402541668774148407"),
                d("113314845306682631683"),
                d("106449445891785942956"),
            ],
        }
    })
}

const fn bal(code: &'static str) -> MathError {
    MathError::revert(Protocol::Balancer, code)
}

// BAL#006 X_OUT_OF_BOUNDS, #007 Y_OUT_OF_BOUNDS, #008 PRODUCT_OUT_OF_BOUNDS, #009 INVALID_EXPONENT
const X_OUT_OF_BOUNDS: &str = "BAL#006";
const Y_OUT_OF_BOUNDS: &str = "BAL#007";
const PRODUCT_OUT_OF_BOUNDS: &str = "BAL#008";
const INVALID_EXPONENT: &str = "BAL#009";

/// `LogExpMath.pow(x, y)`: `x^y` for unsigned 18-decimal `x` and `y`.
pub fn pow(x: U256, y: U256) -> MathResult<U256> {
    let c = constants();
    if y.is_zero() {
        // We solve the 0^0 indetermination by making it equal one.
        return Ok(c.one_18.mag);
    }
    if x.is_zero() {
        return Ok(U256::ZERO);
    }
    // The ln function takes a signed value, so we need to make sure x fits in the signed 256 bit range.
    if x.bit_len() > 255 {
        return Err(bal(X_OUT_OF_BOUNDS));
    }
    let x_int = I256::pos(x);
    // MILD_EXPONENT_BOUND = 2^254 / ONE_20: prevents y * ln(x) from overflowing
    let mild_exponent_bound = (U256::ONE << 254) / c.one_20.mag;
    if y >= mild_exponent_bound {
        return Err(bal(Y_OUT_OF_BOUNDS));
    }
    let y_int = I256::pos(y);
    let ln_36_lower = c.one_18 - I256::from_u128(100_000_000_000_000_000);
    let ln_36_upper = c.one_18 + I256::from_u128(100_000_000_000_000_000);

    let mut logx_times_y = if ln_36_lower < x_int && x_int < ln_36_upper {
        let ln_36_x = ln_36(x_int);
        // ln_36_x has 36 decimal places, so multiplying by y_int256 isn't as straightforward, since we can't just
        // bring y_int256 to 36 decimal places, as it might overflow. Instead, we perform two 18 decimal
        // multiplications and add the results: one with the first 18 decimals of ln_36_x, and one with the
        // (downscaled) last 18 decimals.
        (ln_36_x / c.one_18) * y_int + ((ln_36_x % c.one_18) * y_int) / c.one_18
    } else {
        ln_internal(x_int) * y_int
    };
    logx_times_y = logx_times_y / c.one_18;

    // Finally, we compute exp(y * ln(x)) to arrive at x^y
    let (min_exp, max_exp) = exponent_bounds();
    if logx_times_y < min_exp || logx_times_y > max_exp {
        return Err(bal(PRODUCT_OUT_OF_BOUNDS));
    }
    let r = exp(logx_times_y)?;
    Ok(r.mag)
}

fn exponent_bounds() -> (I256, I256) {
    // MIN_NATURAL_EXPONENT = -41e18, MAX_NATURAL_EXPONENT = 130e18
    (I256::from_i128(-41_000_000_000_000_000_000), I256::from_i128(130_000_000_000_000_000_000))
}

/// `LogExpMath.exp`: natural exponentiation of a signed 18-decimal exponent.
fn exp(mut x: I256) -> MathResult<I256> {
    let c = constants();
    let (min_exp, max_exp) = exponent_bounds();
    if x < min_exp || x > max_exp {
        return Err(bal(INVALID_EXPONENT));
    }
    if x.is_neg() {
        // We only handle positive exponents: e^(-x) is computed as 1 / e^x.
        return Ok((c.one_18 * c.one_18) / exp(-x)?);
    }
    // Decompose x into a sum of powers of two x_n with precomputed e^x_n = a_n. The first two a_n are
    // plain integers (too large as 18-decimal numbers), and x0 + x1 exceeds the maximum exponent.
    let first_an = if x >= c.x[0] {
        x = x - c.x[0];
        c.a[0]
    } else if x >= c.x[1] {
        x = x - c.x[1];
        c.a[1]
    } else {
        I256::from_u128(1) // One with no decimal places
    };
    // We now transform x into a 20 decimal fixed point number, to have enhanced precision when computing the
    // smaller terms.
    x = x * I256::from_u128(100);
    let mut product = c.one_20;
    for n in 2..=9 {
        if x >= c.x[n] {
            x = x - c.x[n];
            product = (product * c.a[n]) / c.one_20;
        }
    }
    // x10 and x11 are unnecessary here since we have high enough precision already.
    // Taylor series for e^x with 12 terms is sufficient for 18 decimal precision.
    let mut series_sum = c.one_20;
    let mut term = x;
    series_sum = series_sum + term;
    for k in 2..=12u128 {
        term = ((term * x) / c.one_20) / I256::from_u128(k);
        series_sum = series_sum + term;
    }
    Ok((((product * series_sum) / c.one_20) * first_an) / I256::from_u128(100))
}

/// `_ln`: natural logarithm of a signed 18-decimal argument (positive).
fn ln_internal(mut a: I256) -> I256 {
    let c = constants();
    if a < c.one_18 {
        // ln(a) = -ln(1/a); 1/a > 1 so the recursion does not come back here.
        return -ln_internal((c.one_18 * c.one_18) / a);
    }
    let mut sum = I256::ZERO;
    if a >= c.a[0] * c.one_18 {
        a = a / c.a[0]; // Integer, not fixed point division
        sum = sum + c.x[0];
    }
    if a >= c.a[1] * c.one_18 {
        a = a / c.a[1]; // Integer, not fixed point division
        sum = sum + c.x[1];
    }
    // All other a_n and x_n are stored as 20 digit fixed point numbers, so we convert the sum and a to this format.
    sum = sum * I256::from_u128(100);
    a = a * I256::from_u128(100);
    for n in 2..=11 {
        if a >= c.a[n] {
            a = (a * c.one_20) / c.a[n];
            sum = sum + c.x[n];
        }
    }
    // a is now smaller than a_11 (~1.06): z = (a - 1) / (a + 1), ln(a) = 2 (z + z^3/3 + z^5/5 + ...)
    let z = ((a - c.one_20) * c.one_20) / (a + c.one_20);
    let z_squared = (z * z) / c.one_20;
    let mut num = z;
    let mut series_sum = num;
    for k in [3u128, 5, 7, 9, 11] {
        num = (num * z_squared) / c.one_20;
        series_sum = series_sum + num / I256::from_u128(k);
    }
    // 6 Taylor terms are sufficient for 36 decimal precision.
    series_sum = series_sum * I256::from_u128(2);
    (sum + series_sum) / I256::from_u128(100)
}

/// `_ln_36`: 36-decimal natural logarithm for arguments close to one.
fn ln_36(x: I256) -> I256 {
    let c = constants();
    let x = x * c.one_18;
    let z = ((x - c.one_36) * c.one_36) / (x + c.one_36);
    let z_squared = (z * z) / c.one_36;
    let mut num = z;
    let mut series_sum = num;
    for k in [3u128, 5, 7, 9, 11, 13, 15] {
        num = (num * z_squared) / c.one_36;
        series_sum = series_sum + num / I256::from_u128(k);
    }
    // 8 Taylor terms are sufficient for 36 decimal precision.
    series_sum * I256::from_u128(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: u128 = 1_000_000_000_000_000_000;

    fn f(x: U256) -> f64 {
        crate::u256_to_f64(x) / 1e18
    }

    #[test]
    fn constants_parsed() {
        let c = constants();
        assert!(c.x.iter().chain(&c.a).all(|v| !v.mag.is_zero()));
        assert_eq!(c.one_36.mag, U256::from(10u8).pow(U256::from(36u8)));
    }

    #[test]
    fn pow_is_accurate_to_1e_14_relative() {
        for (x, y) in
            [(0.5, 0.25), (0.95, 1.5), (1.05, 0.3), (2.0, 0.5), (123.456, 0.8), (0.7, 4.0 / 3.0), (0.999, 99.0)]
        {
            let xi = U256::from((x * 1e18) as u128);
            let yi = U256::from((y * 1e18) as u128);
            let got = f(pow(xi, yi).unwrap());
            let want = libm::pow(x, y);
            assert!((got / want - 1.0).abs() < 1e-14, "pow({x},{y}) = {got}, want {want}");
        }
        assert_eq!(pow(U256::from(ONE), U256::ZERO), Ok(U256::from(ONE)));
        assert_eq!(pow(U256::ZERO, U256::from(ONE)), Ok(U256::ZERO));
        assert!(pow(U256::from(ONE) << 200, U256::from(100 * ONE)).is_err());
    }
}
