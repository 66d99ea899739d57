//! Port of Balancer V2 `FixedPoint.sol`: 18-decimal arithmetic with explicit rounding.

use super::log_exp_math;
use crate::{MathError, MathResult, Protocol, U256};

/// 1.0 in 18-decimal fixed point.
pub const ONE: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
const TWO: U256 = U256::from_limbs([2_000_000_000_000_000_000, 0, 0, 0]);
const FOUR: U256 = U256::from_limbs([4_000_000_000_000_000_000, 0, 0, 0]);
/// 10^-14 relative error allowance of `pow`.
const MAX_POW_RELATIVE_ERROR: U256 = U256::from_limbs([10_000, 0, 0, 0]);

const fn bal(code: &'static str) -> MathError {
    MathError::revert(Protocol::Balancer, code)
}

/// Checked addition (`BAL#000` ADD_OVERFLOW).
pub fn add(a: U256, b: U256) -> MathResult<U256> {
    a.checked_add(b).ok_or(bal("BAL#000"))
}

/// Checked subtraction (`BAL#001` SUB_OVERFLOW).
pub fn sub(a: U256, b: U256) -> MathResult<U256> {
    a.checked_sub(b).ok_or(bal("BAL#001"))
}

/// `a * b / ONE`, rounded down (`BAL#003` MUL_OVERFLOW).
pub fn mul_down(a: U256, b: U256) -> MathResult<U256> {
    Ok(a.checked_mul(b).ok_or(bal("BAL#003"))? / ONE)
}

/// `a * b / ONE`, rounded up.
pub fn mul_up(a: U256, b: U256) -> MathResult<U256> {
    let product = a.checked_mul(b).ok_or(bal("BAL#003"))?;
    Ok(if product.is_zero() { U256::ZERO } else { (product - U256::ONE) / ONE + U256::ONE })
}

/// `a * ONE / b`, rounded down (`BAL#004` ZERO_DIVISION, `BAL#005` DIV_INTERNAL).
pub fn div_down(a: U256, b: U256) -> MathResult<U256> {
    if b.is_zero() {
        return Err(bal("BAL#004"));
    }
    Ok(a.checked_mul(ONE).ok_or(bal("BAL#005"))? / b)
}

/// `a * ONE / b`, rounded up.
pub fn div_up(a: U256, b: U256) -> MathResult<U256> {
    if b.is_zero() {
        return Err(bal("BAL#004"));
    }
    let inflated = a.checked_mul(ONE).ok_or(bal("BAL#005"))?;
    Ok(if inflated.is_zero() { U256::ZERO } else { (inflated - U256::ONE) / b + U256::ONE })
}

/// `x^y` rounded down: never above the true value.
pub fn pow_down(x: U256, y: U256) -> MathResult<U256> {
    // Optimize for when y equals 1.0, 2.0 or 4.0 (50/50 and 80/20 pools)
    if y == ONE {
        Ok(x)
    } else if y == TWO {
        mul_down(x, x)
    } else if y == FOUR {
        let square = mul_down(x, x)?;
        mul_down(square, square)
    } else {
        let raw = log_exp_math::pow(x, y)?;
        let max_error = add(mul_up(raw, MAX_POW_RELATIVE_ERROR)?, U256::ONE)?;
        Ok(raw.saturating_sub(max_error))
    }
}

/// `x^y` rounded up: never below the true value.
pub fn pow_up(x: U256, y: U256) -> MathResult<U256> {
    if y == ONE {
        Ok(x)
    } else if y == TWO {
        mul_up(x, x)
    } else if y == FOUR {
        let square = mul_up(x, x)?;
        mul_up(square, square)
    } else {
        let raw = log_exp_math::pow(x, y)?;
        let max_error = add(mul_up(raw, MAX_POW_RELATIVE_ERROR)?, U256::ONE)?;
        add(raw, max_error)
    }
}

/// `1 - x`, floored at zero.
pub fn complement(x: U256) -> U256 {
    if x < ONE { ONE - x } else { U256::ZERO }
}
