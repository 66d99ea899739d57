//! The two-slope interest rate model of Aave v3 (`DefaultReserveInterestRateStrategyV2`):
//! utilization `U = debt / (available + debt)`; the variable borrow rate rises along `slope1` up to
//! the optimal usage ratio `U*` and along the steep `slope2` above it; suppliers earn the borrow
//! rate times utilization, less the reserve factor.

use super::wad_ray::{PERCENTAGE_FACTOR, RAY, bps_to_ray, percent_mul, ray_div, ray_mul};
use crate::{MathError, MathResult, U256};

/// A reserve's rate parameters, in basis points as the V2 strategy stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStrategy {
    /// Optimal usage ratio `U*` (9_200 = 92 %); 1 % to 99 %.
    pub optimal_usage_bps: u32,
    /// Variable borrow rate at zero utilization.
    pub base_rate_bps: u32,
    /// Rate added from 0 to `U*`.
    pub slope1_bps: u32,
    /// Rate added from `U*` to 100 %.
    pub slope2_bps: u32,
}

/// The rates a reserve pays and charges, rays a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    /// What suppliers earn (`currentLiquidityRate`).
    pub liquidity_rate: U256,
    /// What variable borrowers pay (`currentVariableBorrowRate`).
    pub variable_borrow_rate: U256,
}

impl RateStrategy {
    /// Checks the parameters as the strategy's setter does: `U*` from 1 % to 99 %, slope1 at most
    /// slope2, base + slope1 + slope2 at most 1000 %.
    pub fn validate(&self) -> MathResult<()> {
        let invalid = |detail: String| MathError::InvalidParameter { name: "interest rate strategy", detail };
        if !(100..=9_900).contains(&self.optimal_usage_bps) {
            return Err(invalid(format!("optimal usage {} bps is not in [100, 9900]", self.optimal_usage_bps)));
        }
        if self.slope1_bps > self.slope2_bps {
            return Err(invalid(format!("slope1 {} bps above slope2 {} bps", self.slope1_bps, self.slope2_bps)));
        }
        let max = u64::from(self.base_rate_bps) + u64::from(self.slope1_bps) + u64::from(self.slope2_bps);
        if max > 100_000 {
            return Err(invalid(format!("maximum borrow rate {max} bps is over 1000 %")));
        }
        Ok(())
    }

    /// `calculateInterestRates` without unbacked liquidity: `total_debt` borrowed and
    /// `available` underlying left in the reserve (after the action's added and taken liquidity),
    /// `reserve_factor_bps` kept by the treasury.
    pub fn rates(&self, total_debt: U256, available: U256, reserve_factor_bps: u32) -> MathResult<Rates> {
        let base = bps_to_ray(self.base_rate_bps);
        if total_debt.is_zero() {
            return Ok(Rates { liquidity_rate: U256::ZERO, variable_borrow_rate: base });
        }
        let optimal = bps_to_ray(self.optimal_usage_bps);
        let (slope1, slope2) = (bps_to_ray(self.slope1_bps), bps_to_ray(self.slope2_bps));
        let total =
            available.checked_add(total_debt).ok_or(MathError::Overflow { what: "availableLiquidityPlusDebt" })?;
        let usage = ray_div(total_debt, total)?;
        let borrow = if usage > optimal {
            let excess = ray_div(usage - optimal, RAY - optimal)?;
            base + slope1 + ray_mul(slope2, excess)?
        } else {
            base + ray_div(ray_mul(slope1, usage)?, optimal)?
        };
        let factor = PERCENTAGE_FACTOR - U256::from(reserve_factor_bps.min(10_000));
        let liquidity = percent_mul(ray_mul(borrow, usage)?, factor)?;
        Ok(Rates { liquidity_rate: liquidity, variable_borrow_rate: borrow })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(x: U256) -> f64 {
        crate::u256_to_f64(x) / 1e25
    }

    /// USDC with U* 92 %, slope1 6.5 %, slope2 35 %, reserve factor 10 %: the published values.
    #[test]
    fn the_worked_usdc_values() {
        let s = RateStrategy { optimal_usage_bps: 9_200, base_rate_bps: 0, slope1_bps: 650, slope2_bps: 3_500 };
        s.validate().unwrap();
        let at = |u_pct: u64| {
            let debt = U256::from(u_pct) * U256::from(10u64.pow(18));
            let available = U256::from(100 - u_pct) * U256::from(10u64.pow(18));
            s.rates(debt, available, 1_000).unwrap()
        };
        let r = at(80);
        assert!((pct(r.variable_borrow_rate) - 5.652).abs() < 5e-4, "{}", pct(r.variable_borrow_rate));
        assert!((pct(r.liquidity_rate) - 4.070).abs() < 5e-4, "{}", pct(r.liquidity_rate));
        let r = at(96);
        assert!((pct(r.variable_borrow_rate) - 24.0).abs() < 5e-4, "{}", pct(r.variable_borrow_rate));
        assert!((pct(r.liquidity_rate) - 20.736).abs() < 5e-4, "{}", pct(r.liquidity_rate));
        // the kink is continuous: exactly slope1 at U*
        let r = at(92);
        assert_eq!(r.variable_borrow_rate, bps_to_ray(650));
        // no debt: the base rate, nothing earned
        assert_eq!(
            s.rates(U256::ZERO, U256::from(1u8), 1_000).unwrap(),
            Rates { liquidity_rate: U256::ZERO, variable_borrow_rate: U256::ZERO }
        );
        // 100 % utilization: base + slope1 + slope2
        let r = s.rates(U256::from(5u8), U256::ZERO, 0).unwrap();
        assert_eq!(r.variable_borrow_rate, bps_to_ray(650 + 3_500));
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ok = RateStrategy { optimal_usage_bps: 8_000, base_rate_bps: 0, slope1_bps: 400, slope2_bps: 6_000 };
        assert!(ok.validate().is_ok());
        assert!(RateStrategy { optimal_usage_bps: 0, ..ok }.validate().is_err());
        assert!(RateStrategy { optimal_usage_bps: 99, ..ok }.validate().is_err());
        assert!(RateStrategy { optimal_usage_bps: 9_901, ..ok }.validate().is_err());
        assert!(RateStrategy { slope1_bps: 7_000, ..ok }.validate().is_err());
        assert!(RateStrategy { slope2_bps: 100_000, ..ok }.validate().is_err());
    }
}
