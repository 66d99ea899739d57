//! `WadRayMath`, `PercentageMath` and `MathUtils` of Aave v3 on 256-bit integers. Every overflow
//! the contracts revert on is a [`MathError::Overflow`].

use crate::{MathError, MathResult, U256};

/// 1e18.
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// 1e27, the unit of rates and indexes.
pub const RAY: U256 = U256::from_limbs([0x9fd0_803c_e800_0000, 0x33b2e3c, 0, 0]);
/// RAY / 2.
pub const HALF_RAY: U256 = U256::from_limbs([0x4fe8_401e_7400_0000, 0x19d971e, 0, 0]);
/// 1e9 = RAY / WAD.
pub const WAD_RAY_RATIO: U256 = U256::from_limbs([1_000_000_000, 0, 0, 0]);
/// 100 % in basis points.
pub const PERCENTAGE_FACTOR: U256 = U256::from_limbs([10_000, 0, 0, 0]);
/// `365 days` in seconds.
pub const SECONDS_PER_YEAR: U256 = U256::from_limbs([31_536_000, 0, 0, 0]);

fn overflow(what: &'static str) -> MathError {
    MathError::Overflow { what }
}

fn mul_add_div(a: U256, b: U256, add: U256, div: U256, what: &'static str) -> MathResult<U256> {
    if div.is_zero() {
        return Err(MathError::DivisionByZero { what });
    }
    let p = a.checked_mul(b).and_then(|p| p.checked_add(add)).ok_or_else(|| overflow(what))?;
    Ok(p / div)
}

/// `a * b / RAY`, rounded half up (`rayMul`).
pub fn ray_mul(a: U256, b: U256) -> MathResult<U256> {
    mul_add_div(a, b, HALF_RAY, RAY, "rayMul")
}

/// `a * RAY / b`, rounded half up (`rayDiv`).
pub fn ray_div(a: U256, b: U256) -> MathResult<U256> {
    mul_add_div(a, RAY, b >> 1, b, "rayDiv")
}

/// `a * b / RAY`, rounded down (`rayMulFloor`).
pub fn ray_mul_floor(a: U256, b: U256) -> MathResult<U256> {
    mul_add_div(a, b, U256::ZERO, RAY, "rayMulFloor")
}

/// `a * b / RAY`, rounded up (`rayMulCeil`).
pub fn ray_mul_ceil(a: U256, b: U256) -> MathResult<U256> {
    mul_add_div(a, b, RAY - U256::ONE, RAY, "rayMulCeil")
}

/// `a * RAY / b`, rounded down (`rayDivFloor`).
pub fn ray_div_floor(a: U256, b: U256) -> MathResult<U256> {
    mul_add_div(a, RAY, U256::ZERO, b, "rayDivFloor")
}

/// `a * RAY / b`, rounded up (`rayDivCeil`).
pub fn ray_div_ceil(a: U256, b: U256) -> MathResult<U256> {
    if b.is_zero() {
        return Err(MathError::DivisionByZero { what: "rayDivCeil" });
    }
    mul_add_div(a, RAY, b - U256::ONE, b, "rayDivCeil")
}

/// `a * b / WAD`, rounded half up (`wadMul`).
pub fn wad_mul(a: U256, b: U256) -> MathResult<U256> {
    mul_add_div(a, b, WAD >> 1, WAD, "wadMul")
}

/// `a * WAD / b`, rounded half up (`wadDiv`).
pub fn wad_div(a: U256, b: U256) -> MathResult<U256> {
    mul_add_div(a, WAD, b >> 1, b, "wadDiv")
}

/// A ray as a wad, rounded half up (`rayToWad`).
pub fn ray_to_wad(a: U256) -> U256 {
    let (q, r) = a.div_rem(WAD_RAY_RATIO);
    if r >= WAD_RAY_RATIO >> 1 { q + U256::ONE } else { q }
}

/// A wad as a ray (`wadToRay`).
pub fn wad_to_ray(a: U256) -> MathResult<U256> {
    a.checked_mul(WAD_RAY_RATIO).ok_or_else(|| overflow("wadToRay"))
}

/// Basis points as a ray (`bpsToRay` of the V2 strategy: bps x 1e23).
pub fn bps_to_ray(bps: u32) -> U256 {
    U256::from(bps) * U256::from(100_000_000_000_000_000_000_000u128)
}

/// `value * percentage / 1e4`, rounded half up (`percentMul`).
pub fn percent_mul(value: U256, percentage: U256) -> MathResult<U256> {
    mul_add_div(value, percentage, PERCENTAGE_FACTOR >> 1, PERCENTAGE_FACTOR, "percentMul")
}

/// `value * 1e4 / percentage`, rounded half up (`percentDiv`).
pub fn percent_div(value: U256, percentage: U256) -> MathResult<U256> {
    mul_add_div(value, PERCENTAGE_FACTOR, percentage >> 1, percentage, "percentDiv")
}

/// `calculateLinearInterest`: the supply index's growth over `seconds` at `rate` (a ray):
/// `RAY + rate x seconds / SECONDS_PER_YEAR`.
pub fn linear_interest(rate: U256, seconds: u64) -> MathResult<U256> {
    let grown = rate.checked_mul(U256::from(seconds)).ok_or_else(|| overflow("calculateLinearInterest"))?;
    Ok(RAY + grown / SECONDS_PER_YEAR)
}

/// `calculateCompoundedInterest`: the borrow index's growth over `seconds` at `rate` (a ray),
/// the binomial expansion to the third term the contracts use.
pub fn compounded_interest(rate: U256, seconds: u64) -> MathResult<U256> {
    if seconds == 0 {
        return Ok(RAY);
    }
    let exp = U256::from(seconds);
    let exp_minus_one = exp - U256::ONE;
    let exp_minus_two = if seconds > 2 { exp - U256::from(2u8) } else { U256::ZERO };
    let year_squared = SECONDS_PER_YEAR * SECONDS_PER_YEAR;
    let base_power_two = ray_mul(rate, rate)? / year_squared;
    let base_power_three = ray_mul(base_power_two, rate)? / SECONDS_PER_YEAR;
    let what = "calculateCompoundedInterest";
    let second_term =
        exp.checked_mul(exp_minus_one).and_then(|x| x.checked_mul(base_power_two)).ok_or_else(|| overflow(what))?
            / U256::from(2u8);
    let third_term = exp
        .checked_mul(exp_minus_one)
        .and_then(|x| x.checked_mul(exp_minus_two))
        .and_then(|x| x.checked_mul(base_power_three))
        .ok_or_else(|| overflow(what))?
        / U256::from(6u8);
    let first = rate.checked_mul(exp).ok_or_else(|| overflow(what))? / SECONDS_PER_YEAR;
    [first, second_term, third_term].iter().try_fold(RAY, |acc, t| acc.checked_add(*t)).ok_or_else(|| overflow(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ray(x: f64) -> U256 {
        U256::from((x * 1e18) as u128) * U256::from(1_000_000_000u64)
    }

    #[test]
    fn constants_are_what_they_say() {
        assert_eq!(RAY, U256::from(10u8).pow(U256::from(27u8)));
        assert_eq!(HALF_RAY * U256::from(2u8), RAY);
        assert_eq!(WAD * WAD_RAY_RATIO, RAY);
        assert_eq!(bps_to_ray(10_000), RAY);
    }

    #[test]
    fn rounding_is_half_up_floor_and_ceiling_where_named() {
        // 1.5 units after the division
        let (a, b) = (U256::from(3u8), HALF_RAY);
        assert_eq!(ray_mul(a, b).unwrap(), U256::from(2u8));
        assert_eq!(ray_mul_floor(a, b).unwrap(), U256::ONE);
        assert_eq!(ray_mul_ceil(a, b).unwrap(), U256::from(2u8));
        // 1 / 3 of a ray unit
        let third = ray_div(U256::ONE, U256::from(3u8) * RAY).unwrap();
        assert_eq!(third, U256::ZERO);
        assert_eq!(ray_div_ceil(U256::ONE, U256::from(3u8) * RAY).unwrap(), U256::ONE);
        assert_eq!(ray_div_floor(U256::from(2u8), U256::from(3u8) * RAY).unwrap(), U256::ZERO);
        assert_eq!(ray_div(U256::from(2u8), U256::from(3u8) * RAY).unwrap(), U256::ONE);
        assert_eq!(ray_to_wad(U256::from(1_500_000_000u64)), U256::from(2u8));
        assert_eq!(ray_to_wad(U256::from(1_499_999_999u64)), U256::ONE);
        assert_eq!(percent_mul(U256::from(15u8), U256::from(5_000u32)).unwrap(), U256::from(8u8));
        assert_eq!(percent_div(U256::from(1u8), U256::from(3u8)).unwrap(), U256::from(3_333u32));
        assert!(matches!(ray_mul(U256::MAX, U256::from(2u8)), Err(MathError::Overflow { .. })));
        assert!(matches!(ray_div(U256::ONE, U256::ZERO), Err(MathError::DivisionByZero { .. })));
    }

    #[test]
    fn a_year_of_interest_matches_its_closed_forms() {
        let year = 31_536_000;
        let rate = ray(0.05);
        // linear: exactly 1 + r
        assert_eq!(linear_interest(rate, year).unwrap(), RAY + rate);
        // compounded per second to the third term, with the contract's truncations (its
        // basePowerThree keeps one significant digit here): the Solidity formula evaluated with
        // Python integers gives 1.051265681539063650421944000
        let c = compounded_interest(rate, year).unwrap();
        assert_eq!(c, "1051265681539063650421944000".parse::<U256>().unwrap());
        // within 1e-5 of the series 1 + r + r^2/2 + r^3/6, below e^r
        let c = crate::u256_to_f64(c) / 1e27;
        let series = 1.0 + 0.05 + 0.05 * 0.05 / 2.0 + 0.05 * 0.05 * 0.05 / 6.0;
        assert!((c - series).abs() < 1e-5 && c < libm::exp(0.05), "{c} vs {series}");
        assert_eq!(compounded_interest(rate, 0).unwrap(), RAY);
        // one second: exactly the first term
        assert_eq!(compounded_interest(rate, 1).unwrap(), RAY + rate / SECONDS_PER_YEAR);
    }
}
