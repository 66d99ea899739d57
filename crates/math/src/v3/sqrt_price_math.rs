//! Port of Uniswap v3 `SqrtPriceMath.sol`: next sqrt price from amounts, and amount deltas.

use crate::full_math::{div_rounding_up, mul_div, mul_div_rounding_up, to_u160};
use crate::{MathError, MathResult, Protocol, U256};

/// `FixedPoint96.Q96`.
pub const Q96: U256 = U256::from_limbs([0, 1 << 32, 0, 0]);
const MAX_U160: U256 = U256::from_limbs([u64::MAX, u64::MAX, u32::MAX as u64, 0]);

const fn bare_revert() -> MathError {
    // the contract's unnamed `require(...)`
    MathError::revert(Protocol::UniswapV3, "require")
}

/// `getNextSqrtPriceFromAmount0RoundingUp`. Always rounds up: in the exact output case (price up)
/// the price moves at least far enough for the output; in the exact input case (price down) it
/// moves less so that no more than owed is sent out.
pub fn get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_px96: U256,
    liquidity: u128,
    amount: U256,
    add: bool,
) -> MathResult<U256> {
    // we short circuit amount == 0 because the result is otherwise not guaranteed to equal the input price
    if amount.is_zero() {
        return Ok(sqrt_px96);
    }
    let numerator1 = U256::from(liquidity) << 96usize;
    if let Some(product) = amount.checked_mul(sqrt_px96) {
        if add {
            if let Some(denominator) = numerator1.checked_add(product) {
                // always fits in 160 bits
                return to_u160(mul_div_rounding_up(numerator1, sqrt_px96, denominator)?, "SqrtPriceMath.amount0");
            }
        } else if product < numerator1 {
            let denominator = numerator1 - product;
            return to_u160(mul_div_rounding_up(numerator1, sqrt_px96, denominator)?, "SqrtPriceMath.amount0");
        }
    }
    if sqrt_px96.is_zero() {
        return Err(bare_revert());
    }
    let base = numerator1 / sqrt_px96;
    let denominator1 = if add {
        base.checked_add(amount).ok_or(MathError::Overflow { what: "SqrtPriceMath.amount0 add" })?
    } else {
        base.checked_sub(amount).ok_or(bare_revert())?
    };
    if denominator1.is_zero() {
        return Err(bare_revert());
    }
    to_u160(div_rounding_up(numerator1, denominator1)?, "SqrtPriceMath.amount0")
}

/// `getNextSqrtPriceFromAmount1RoundingDown`. Always rounds down; the formula
/// `sqrtP +- amount / liquidity` is lossless up to that rounding.
pub fn get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_px96: U256,
    liquidity: u128,
    amount: U256,
    add: bool,
) -> MathResult<U256> {
    let l = U256::from(liquidity);
    if l.is_zero() {
        return Err(MathError::DivisionByZero { what: "SqrtPriceMath.amount1" });
    }
    // if we're adding (subtracting), rounding down requires rounding the quotient down (up)
    if add {
        let quotient = if amount <= MAX_U160 { (amount << 96usize) / l } else { mul_div(amount, Q96, l)? };
        let next = sqrt_px96.checked_add(quotient).ok_or(MathError::Overflow { what: "SqrtPriceMath.amount1" })?;
        to_u160(next, "SqrtPriceMath.amount1")
    } else {
        let quotient =
            if amount <= MAX_U160 { div_rounding_up(amount << 96, l)? } else { mul_div_rounding_up(amount, Q96, l)? };
        if sqrt_px96 <= quotient {
            return Err(bare_revert());
        }
        // always fits 160 bits
        Ok(sqrt_px96 - quotient)
    }
}

/// `getNextSqrtPriceFromInput`: the price after `amount_in` of token0 (`zero_for_one`) or token1.
/// Reverts when price or liquidity is zero or the next price is out of bounds.
pub fn get_next_sqrt_price_from_input(
    sqrt_px96: U256,
    liquidity: u128,
    amount_in: U256,
    zero_for_one: bool,
) -> MathResult<U256> {
    if sqrt_px96.is_zero() || liquidity == 0 {
        return Err(bare_revert());
    }
    // round to make sure that we don't pass the target price
    if zero_for_one {
        get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_in, true)
    } else {
        get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_in, true)
    }
}

/// `getNextSqrtPriceFromOutput`: the price after taking `amount_out` of token1 (`zero_for_one`)
/// or token0 out.
pub fn get_next_sqrt_price_from_output(
    sqrt_px96: U256,
    liquidity: u128,
    amount_out: U256,
    zero_for_one: bool,
) -> MathResult<U256> {
    if sqrt_px96.is_zero() || liquidity == 0 {
        return Err(bare_revert());
    }
    // round to make sure that we pass the target price
    if zero_for_one {
        get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_out, false)
    } else {
        get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_out, false)
    }
}

/// `getAmount0Delta`: `liquidity * (sqrtB - sqrtA) / (sqrtA * sqrtB)`, in either argument order.
pub fn get_amount0_delta(sqrt_a: U256, sqrt_b: U256, liquidity: u128, round_up: bool) -> MathResult<U256> {
    let (a, b) = if sqrt_a > sqrt_b { (sqrt_b, sqrt_a) } else { (sqrt_a, sqrt_b) };
    if a.is_zero() {
        return Err(bare_revert());
    }
    let numerator1 = U256::from(liquidity) << 96usize;
    let numerator2 = b - a;
    if round_up {
        div_rounding_up(mul_div_rounding_up(numerator1, numerator2, b)?, a)
    } else {
        Ok(mul_div(numerator1, numerator2, b)? / a)
    }
}

/// `getAmount1Delta`: `liquidity * (sqrtB - sqrtA)`, in either argument order.
pub fn get_amount1_delta(sqrt_a: U256, sqrt_b: U256, liquidity: u128, round_up: bool) -> MathResult<U256> {
    let (a, b) = if sqrt_a > sqrt_b { (sqrt_b, sqrt_a) } else { (sqrt_a, sqrt_b) };
    if round_up {
        mul_div_rounding_up(U256::from(liquidity), b - a, Q96)
    } else {
        mul_div(U256::from(liquidity), b - a, Q96)
    }
}
