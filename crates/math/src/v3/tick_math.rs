//! Port of Uniswap v3 `TickMath.sol`: sqrt(1.0001^tick) as Q64.96 and its inverse.

use crate::{MathError, MathResult, Protocol, U256};

/// The minimum tick (log base 1.0001 of 2^-128).
pub const MIN_TICK: i32 = -887_272;
/// The maximum tick.
pub const MAX_TICK: i32 = -MIN_TICK;
/// `getSqrtRatioAtTick(MIN_TICK)`.
pub const MIN_SQRT_RATIO: U256 = U256::from_limbs([4_295_128_739, 0, 0, 0]);
/// `getSqrtRatioAtTick(MAX_TICK)` = 1461446703485210103287273052203988822378723970342.
pub const MAX_SQRT_RATIO: U256 = U256::from_limbs([0x5d951d5263988d26, 0xefd1fc6a50648849, 0xfffd8963, 0]);

// sqrt(1.0001^-(2^i)) as Q128.128, for i = 0..19 (the contract's magic numbers).
const MAGIC: [u128; 20] = [
    0xfffcb933bd6fad37aa2d162d1a594001,
    0xfff97272373d413259a46990580e213a,
    0xfff2e50f5f656932ef12357cf3c7fdcc,
    0xffe5caca7e10e4e61c3624eaa0941cd0,
    0xffcb9843d60f6159c9db58835c926644,
    0xff973b41fa98c081472e6896dfb254c0,
    0xff2ea16466c96a3843ec78b326b52861,
    0xfe5dee046a99a2a811c461f1969c3053,
    0xfcbe86c7900a88aedcffc83b479aa3a4,
    0xf987a7253ac413176f2b074cf7815e54,
    0xf3392b0822b70005940c7a398e4b70f3,
    0xe7159475a2c29b7443b29c7fa6e889d9,
    0xd097f3bdfd2022b8845ad8f792aa5825,
    0xa9f746462d870fdf8a65dc1f90e061e5,
    0x70d869a156d2a1b890bb3df62baf32f7,
    0x31be135f97d08fd981231505542fcfa6,
    0x9aa508b5b7a84e1c677de54f3e99bc9,
    0x5d6af8dedb81196699c329225ee604,
    0x2216e584f5fa1ea926041bedfe98,
    0x48a170391f7dc42444e8fa2,
];

/// `TickMath.getSqrtRatioAtTick`: `sqrt(1.0001^tick) * 2^96`, rounded up. Reverts `T` when
/// `|tick| > MAX_TICK`.
pub fn get_sqrt_ratio_at_tick(tick: i32) -> MathResult<U256> {
    let abs_tick = tick.unsigned_abs();
    if abs_tick > MAX_TICK as u32 {
        return Err(MathError::revert(Protocol::UniswapV3, "T"));
    }
    let mut ratio = if abs_tick & 1 != 0 { U256::from(MAGIC[0]) } else { U256::ONE << 128usize };
    for (bit, magic) in MAGIC.iter().enumerate().skip(1) {
        if abs_tick & (1 << bit) != 0 {
            ratio = (ratio * U256::from(*magic)) >> 128;
        }
    }
    if tick > 0 {
        ratio = U256::MAX / ratio;
    }
    // this divides by 1<<32 rounding up to go from a Q128.128 to a Q128.96.
    // we round up in the division so getTickAtSqrtRatio of the output price is always consistent
    let round = if (ratio & U256::from(u32::MAX)).is_zero() { U256::ZERO } else { U256::ONE };
    Ok((ratio >> 32) + round)
}

/// Two's-complement `int256` helpers on `U256`, for the signed log arithmetic below.
fn neg(x: U256) -> U256 {
    U256::ZERO.wrapping_sub(x)
}

/// `TickMath.getTickAtSqrtRatio`: the greatest tick whose sqrt ratio is `<= sqrt_price_x96`.
/// Reverts `R` outside `[MIN_SQRT_RATIO, MAX_SQRT_RATIO)`.
pub fn get_tick_at_sqrt_ratio(sqrt_price_x96: U256) -> MathResult<i32> {
    // second inequality must be < because the price can never reach the price at the max tick
    if sqrt_price_x96 < MIN_SQRT_RATIO || sqrt_price_x96 >= MAX_SQRT_RATIO {
        return Err(MathError::revert(Protocol::UniswapV3, "R"));
    }
    let ratio = sqrt_price_x96 << 32usize;
    let msb = ratio.bit_len() - 1;
    let mut r = if msb >= 128 { ratio >> (msb - 127) } else { ratio << (127 - msb) };

    // log_2 as a signed Q64.64 (fits i128); integer part first
    let mut log_2: i128 = (msb as i128 - 128) << 64;
    for shift in (50..=63).rev() {
        r = (r * r) >> 127;
        let f = (r >> 128usize).to::<u32>();
        log_2 |= (f as i128) << shift;
        r >>= f as usize;
    }

    // log_sqrt10001 = log_2 * 255738958999603826347141, a Q128.128 in int256
    let magnitude = U256::from(log_2.unsigned_abs()) * U256::from(255_738_958_999_603_826_347_141u128);
    let log_sqrt10001 = if log_2 < 0 { neg(magnitude) } else { magnitude };
    let low_offset = U256::from(3_402_992_956_809_132_418_596_140_100_660_247_210u128);
    let high_offset = U256::from(291_339_464_771_989_622_907_027_621_153_398_088_495u128);
    let tick_low = low_i32(log_sqrt10001.wrapping_sub(low_offset).arithmetic_shr(128));
    let tick_high = low_i32(log_sqrt10001.wrapping_add(high_offset).arithmetic_shr(128));

    Ok(if tick_low == tick_high {
        tick_low
    } else if get_sqrt_ratio_at_tick(tick_high)? <= sqrt_price_x96 {
        tick_high
    } else {
        tick_low
    })
}

/// The low 32 bits of a two's-complement word, as `int24(x)` would keep the value in range.
fn low_i32(x: U256) -> i32 {
    x.as_limbs()[0] as u32 as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_consistent() {
        assert_eq!(get_sqrt_ratio_at_tick(MIN_TICK), Ok(MIN_SQRT_RATIO));
        assert_eq!(get_sqrt_ratio_at_tick(MAX_TICK), Ok(MAX_SQRT_RATIO));
        assert_eq!(get_tick_at_sqrt_ratio(MIN_SQRT_RATIO), Ok(MIN_TICK));
        assert_eq!(get_tick_at_sqrt_ratio(MAX_SQRT_RATIO - U256::ONE), Ok(MAX_TICK - 1));
    }

    #[test]
    fn tick_round_trips_over_a_sweep() {
        let mut tick = MIN_TICK;
        while tick < MAX_TICK {
            let s = get_sqrt_ratio_at_tick(tick).unwrap();
            assert_eq!(get_tick_at_sqrt_ratio(s), Ok(tick));
            if s > MIN_SQRT_RATIO {
                assert_eq!(get_tick_at_sqrt_ratio(s - U256::ONE), Ok(tick - 1));
            }
            tick += 997;
        }
    }
}
