//! 512-bit intermediate multiply-divide, ported from Uniswap v3 `FullMath.sol` and `UnsafeMath.sol`.
//!
//! The Solidity versions use the Remco Bloemen 512-bit trick; here a widening multiply into a
//! `U512` gives the same results (the full product, then an exact division), with a 256-bit fast
//! path when the product does not overflow.

use crate::{MathError, MathResult, U256, U512};

/// `floor(a * b / denominator)` with a full-precision intermediate.
/// Reverts (as `FullMath.mulDiv`) when `denominator == 0` or the result overflows 256 bits.
#[inline]
pub fn mul_div(a: U256, b: U256, denominator: U256) -> MathResult<U256> {
    if denominator.is_zero() {
        return Err(MathError::DivisionByZero { what: "FullMath.mulDiv" });
    }
    if let Some(product) = a.checked_mul(b) {
        return Ok(product / denominator);
    }
    let product: U512 = a.widening_mul(b);
    let quotient = product / U512::from(denominator);
    narrow(quotient, "FullMath.mulDiv")
}

/// `ceil(a * b / denominator)`; reverts like `FullMath.mulDivRoundingUp`.
#[inline]
pub fn mul_div_rounding_up(a: U256, b: U256, denominator: U256) -> MathResult<U256> {
    if denominator.is_zero() {
        return Err(MathError::DivisionByZero { what: "FullMath.mulDivRoundingUp" });
    }
    if let Some(product) = a.checked_mul(b) {
        let (q, r) = product.div_rem(denominator);
        return if r.is_zero() {
            Ok(q)
        } else {
            q.checked_add(U256::ONE).ok_or(MathError::Overflow { what: "FullMath.mulDivRoundingUp" })
        };
    }
    let product: U512 = a.widening_mul(b);
    let (q, r) = product.div_rem(U512::from(denominator));
    let q = narrow(q, "FullMath.mulDivRoundingUp")?;
    if r.is_zero() {
        Ok(q)
    } else {
        q.checked_add(U256::ONE).ok_or(MathError::Overflow { what: "FullMath.mulDivRoundingUp" })
    }
}

/// `ceil(x / y)`, `UnsafeMath.divRoundingUp`. The contract divides by zero silently (returning 0 in
/// the EVM); every caller there guarantees `y != 0`, so here it is an error instead.
#[inline]
pub fn div_rounding_up(x: U256, y: U256) -> MathResult<U256> {
    if y.is_zero() {
        return Err(MathError::DivisionByZero { what: "UnsafeMath.divRoundingUp" });
    }
    let (q, r) = x.div_rem(y);
    Ok(if r.is_zero() { q } else { q + U256::ONE })
}

/// The 256-bit product of two u128s as (high, low) halves.
#[inline]
fn widening_mul_u128(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & u128::from(u64::MAX));
    let (b1, b0) = (b >> 64, b & u128::from(u64::MAX));
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // middle column: the high half of p00 plus the low halves of the cross products
    let mid = (p00 >> 64) + (p01 & u128::from(u64::MAX)) + (p10 & u128::from(u64::MAX));
    let lo = (mid << 64) | (p00 & u128::from(u64::MAX));
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// `floor(a * b / d)` for 128-bit operands and a quotient that fits 128 bits, exactly; `None` if
/// `d == 0` or the quotient does not fit. Where `a * b` overflows 128 bits, the quotient is
/// estimated in f64 and then corrected exactly with the 256-bit remainder, which is small when
/// the estimate is good (a few ulps); otherwise it falls back to full 512-bit division. The
/// result is always the exact floor.
#[inline]
pub fn mul_div_u128(a: u128, b: u128, d: u128) -> Option<u128> {
    if d == 0 {
        return None;
    }
    if let Some(p) = a.checked_mul(b) {
        return Some(p / d);
    }
    let (hi, lo) = widening_mul_u128(a, b);
    if hi >= d {
        return None; // a * b >= d * 2^128: the quotient needs more than 128 bits
    }
    let estimate = crate::u128_to_f64(a) * crate::u128_to_f64(b) / crate::u128_to_f64(d);
    if estimate.is_finite() && estimate < 3.0e38 {
        let q0 = crate::f64_to_u128(estimate);
        let (qh, ql) = widening_mul_u128(q0, d);
        // r = a b - q0 d as a signed 256-bit value; correct when it fits 128 bits
        let (ge, dh, dl) = if (hi, lo) >= (qh, ql) {
            let (l, borrow) = lo.overflowing_sub(ql);
            (true, hi - qh - u128::from(borrow), l)
        } else {
            let (l, borrow) = ql.overflowing_sub(lo);
            (false, qh - hi - u128::from(borrow), l)
        };
        if dh == 0 {
            let q = if ge { q0.checked_add(dl / d)? } else { q0.checked_sub(dl.div_ceil(d))? };
            return Some(q);
        }
    }
    let q = U512::from(U256::from(a).widening_mul::<256, 4, 512, 8>(U256::from(b))) / U512::from(d);
    u128::try_from(q).ok()
}

fn narrow(x: U512, what: &'static str) -> MathResult<U256> {
    if x.bit_len() > 256 {
        return Err(MathError::Overflow { what });
    }
    let limbs = x.as_limbs();
    Ok(U256::from_limbs([limbs[0], limbs[1], limbs[2], limbs[3]]))
}

/// Checked narrowing to `uint160`, as `SafeCast.toUint160`.
#[inline]
pub fn to_u160(x: U256, what: &'static str) -> MathResult<U256> {
    if x.bit_len() > 160 { Err(MathError::Overflow { what }) } else { Ok(x) }
}

/// Checked narrowing to `u128`.
#[inline]
pub fn to_u128(x: U256, what: &'static str) -> MathResult<u128> {
    u128::try_from(x).map_err(|_| MathError::Overflow { what })
}

/// Integer square root, rounded down (`Math.sqrt` / Babylonian in the contracts; exact here).
#[inline]
pub fn isqrt(x: U256) -> U256 {
    x.root(2)
}

/// Integer square root of a `u128`, rounded down.
#[inline]
pub fn isqrt_u128(x: u128) -> u128 {
    if x < 2 {
        return x;
    }
    // f64 gives an estimate within a few units; correct it exactly.
    let mut r = (x as f64).sqrt() as u128;
    while r.checked_mul(r).is_none_or(|sq| sq > x) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= x) {
        r += 1;
    }
    r
}

#[cfg(test)]
mod u128_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn mul_div_u128_is_the_exact_floor(a in any::<u128>(), b in any::<u128>(), d in 1u128..) {
            let exact = (U512::from(a) * U512::from(b)) / U512::from(d);
            prop_assert_eq!(mul_div_u128(a, b, d), u128::try_from(exact).ok());
        }

        #[test]
        fn mul_div_u128_is_exact_on_amm_sized_operands(
            a in (1u128 << 60)..(1u128 << 100), b in (1u128 << 60)..(1u128 << 110), d in (1u128 << 80)..(1u128 << 125),
        ) {
            let exact = (U512::from(a) * U512::from(b)) / U512::from(d);
            prop_assert_eq!(mul_div_u128(a, b, d), u128::try_from(exact).ok());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u(x: u128) -> U256 {
        U256::from(x)
    }

    #[test]
    fn mul_div_uses_full_precision_when_the_product_overflows() {
        // (2^255 * 4) / 8 = 2^254, the product needs 258 bits.
        let a = U256::ONE << 255;
        assert_eq!(mul_div(a, u(4), u(8)), Ok(U256::ONE << 254));
        assert_eq!(mul_div(U256::MAX, U256::MAX, U256::MAX), Ok(U256::MAX));
    }

    #[test]
    fn mul_div_reverts_on_overflow_and_zero_denominator() {
        assert!(matches!(mul_div(U256::MAX, u(2), u(1)), Err(MathError::Overflow { .. })));
        assert!(matches!(mul_div(u(1), u(1), U256::ZERO), Err(MathError::DivisionByZero { .. })));
        // rounding up of MAX*MAX/(MAX-1) overflows, as in the v3-core FullMath tests
        assert!(mul_div_rounding_up(U256::MAX, U256::MAX, U256::MAX - U256::ONE).is_err());
    }

    #[test]
    fn isqrt_u128_matches_definition_at_edges() {
        for x in [0u128, 1, 2, 3, 4, 15, 16, 17, u64::MAX as u128, u128::MAX] {
            let r = isqrt_u128(x);
            assert!(r * r <= x);
            assert!((r + 1).checked_mul(r + 1).is_none_or(|s| s > x));
        }
    }

    proptest! {
        #[test]
        fn rounding_up_is_floor_plus_remainder_flag(a in any::<u128>(), b in any::<u128>(), d in 1u128..) {
            let down = mul_div(u(a), u(b), u(d)).unwrap();
            let up = mul_div_rounding_up(u(a), u(b), u(d)).unwrap();
            let exact = (U512::from(a) * U512::from(b)) % U512::from(d) == U512::ZERO;
            prop_assert_eq!(up, if exact { down } else { down + U256::ONE });
        }

        #[test]
        fn isqrt_u128_is_floor_sqrt(x in any::<u128>()) {
            let r = isqrt_u128(x);
            prop_assert!(r * r <= x);
            prop_assert!((r + 1).checked_mul(r + 1).is_none_or(|s| s > x));
            prop_assert_eq!(U256::from(r), isqrt(U256::from(x)));
        }
    }
}
