//! Port of Uniswap v3 `SwapMath.sol`: one swap step within a single tick range.

use super::sqrt_price_math::{
    get_amount0_delta, get_amount1_delta, get_next_sqrt_price_from_input, get_next_sqrt_price_from_output,
};
use crate::full_math::{mul_div, mul_div_rounding_up};
use crate::{MathError, MathResult, U256};

/// How much is left to swap: the contract's signed `amountRemaining` (positive = exact input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountRemaining {
    /// Exact input of this much (fee included).
    ExactIn(U256),
    /// Exact output of this much.
    ExactOut(U256),
}

/// What `computeSwapStep` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapStep {
    /// The price after the step, never past the target.
    pub sqrt_next_x96: U256,
    /// Input taken by the step, fee excluded.
    pub amount_in: U256,
    /// Output paid by the step.
    pub amount_out: U256,
    /// Fee taken from the input.
    pub fee_amount: U256,
}

/// `SwapMath.computeSwapStep`. The direction is implied by `sqrt_price >= sqrt_target`.
pub fn compute_swap_step(
    sqrt_price_x96: U256,
    sqrt_target_x96: U256,
    liquidity: u128,
    amount_remaining: AmountRemaining,
    fee_pips: u32,
) -> MathResult<SwapStep> {
    if fee_pips >= 1_000_000 {
        return Err(MathError::InvalidParameter { name: "fee_pips", detail: format!("{fee_pips} >= 1e6") });
    }
    let zero_for_one = sqrt_price_x96 >= sqrt_target_x96;
    let one = U256::from(1_000_000u32);
    let fee = U256::from(fee_pips);
    let mut amount_in = U256::ZERO;
    let mut amount_out = U256::ZERO;
    let sqrt_next;

    match amount_remaining {
        AmountRemaining::ExactIn(remaining) => {
            let remaining_less_fee = mul_div(remaining, one - fee, one)?;
            amount_in = if zero_for_one {
                get_amount0_delta(sqrt_target_x96, sqrt_price_x96, liquidity, true)?
            } else {
                get_amount1_delta(sqrt_price_x96, sqrt_target_x96, liquidity, true)?
            };
            sqrt_next = if remaining_less_fee >= amount_in {
                sqrt_target_x96
            } else {
                get_next_sqrt_price_from_input(sqrt_price_x96, liquidity, remaining_less_fee, zero_for_one)?
            };
        }
        AmountRemaining::ExactOut(remaining) => {
            amount_out = if zero_for_one {
                get_amount1_delta(sqrt_target_x96, sqrt_price_x96, liquidity, false)?
            } else {
                get_amount0_delta(sqrt_target_x96, sqrt_price_x96, liquidity, false)?
            };
            sqrt_next = if remaining >= amount_out {
                sqrt_target_x96
            } else {
                get_next_sqrt_price_from_output(sqrt_price_x96, liquidity, remaining, zero_for_one)?
            };
        }
    }

    let max = sqrt_target_x96 == sqrt_next;
    let exact_in = matches!(amount_remaining, AmountRemaining::ExactIn(_));

    // get the input/output amounts
    if zero_for_one {
        if !max || !exact_in {
            amount_in = get_amount0_delta(sqrt_price_x96, sqrt_next, liquidity, true)?;
        }
        if !max || exact_in {
            amount_out = get_amount1_delta(sqrt_next, sqrt_price_x96, liquidity, false)?;
        }
    } else {
        if !max || !exact_in {
            amount_in = get_amount1_delta(sqrt_price_x96, sqrt_next, liquidity, true)?;
        }
        if !max || exact_in {
            amount_out = get_amount0_delta(sqrt_next, sqrt_price_x96, liquidity, false)?;
        }
    }

    let fee_amount = match amount_remaining {
        // cap the output amount to not exceed the remaining output amount
        AmountRemaining::ExactOut(remaining) => {
            amount_out = amount_out.min(remaining);
            mul_div_rounding_up(amount_in, fee, one - fee)?
        }
        // we didn't reach the target, so take the remainder of the maximum input as fee
        AmountRemaining::ExactIn(remaining) if sqrt_next != sqrt_target_x96 => {
            remaining.checked_sub(amount_in).ok_or(MathError::Overflow { what: "SwapMath.feeAmount" })?
        }
        AmountRemaining::ExactIn(_) => mul_div_rounding_up(amount_in, fee, one - fee)?,
    };

    Ok(SwapStep { sqrt_next_x96: sqrt_next, amount_in, amount_out, fee_amount })
}
