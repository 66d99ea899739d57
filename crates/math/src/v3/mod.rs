//! Uniswap v3 concentrated liquidity: the libraries (`TickMath`, `SqrtPriceMath`, `SwapMath`,
//! `LiquidityMath`) and a pool with initialized ticks, positions with fee growth, and the full
//! swap loop.

mod pool;
pub mod sqrt_price_math;
pub mod swap_math;
pub mod tick_math;

pub use pool::{
    PositionInfo, PositionKey, TickInfo, V3Pool, V3Quote, V3SwapResult, amounts_for_liquidity, liquidity_for_amounts,
};
pub use swap_math::{AmountRemaining, SwapStep, compute_swap_step};

use crate::{MathError, MathResult, Protocol};

/// `LiquidityMath.addDelta`: reverts `LS` on underflow and `LA` on overflow.
pub fn add_delta(x: u128, y: i128) -> MathResult<u128> {
    if y < 0 {
        x.checked_sub(y.unsigned_abs()).ok_or(MathError::revert(Protocol::UniswapV3, "LS"))
    } else {
        x.checked_add(y as u128).ok_or(MathError::revert(Protocol::UniswapV3, "LA"))
    }
}

/// `Tick.tickSpacingToMaxLiquidityPerTick`.
pub fn tick_spacing_to_max_liquidity_per_tick(tick_spacing: i32) -> u128 {
    let min_tick = (tick_math::MIN_TICK / tick_spacing) * tick_spacing;
    let max_tick = (tick_math::MAX_TICK / tick_spacing) * tick_spacing;
    let num_ticks = ((max_tick - min_tick) / tick_spacing) as u128 + 1;
    u128::MAX / num_ticks
}
