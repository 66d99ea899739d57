//! An account across reserves, as Aave v3's `GenericLogic` and `LiquidationLogic` see it: values
//! in the oracle's base currency (8 decimals), the health factor, how much debt a liquidation may
//! cover (the close factor), and how much collateral it seizes with the bonus and the protocol's
//! fee on the bonus.

use super::wad_ray::{PERCENTAGE_FACTOR, WAD, percent_div, percent_mul, wad_div};
use crate::{MathError, MathResult, Protocol, U256};

/// Below this health factor a liquidation may cover all the debt (0.95, a wad).
pub const CLOSE_FACTOR_HF_THRESHOLD: U256 = U256::from_limbs([950_000_000_000_000_000, 0, 0, 0]);
/// Share of the debt one liquidation may cover otherwise (50 %, bps).
pub const DEFAULT_CLOSE_FACTOR_BPS: u32 = 5_000;
/// Positions whose collateral or debt in the reserve is worth less than this ($2,000, base
/// currency with 8 decimals) may be liquidated whole.
pub const MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD: U256 = U256::from_limbs([200_000_000_000, 0, 0, 0]);
/// A partial liquidation must leave at least this much debt and collateral ($1,000).
pub const MIN_LEFTOVER_BASE: U256 = U256::from_limbs([100_000_000_000, 0, 0, 0]);

/// An amount of a token in the base currency: `amount x price / 10^decimals`
/// (`_getUserBalanceInBaseCurrency`), price with the oracle's 8 decimals.
pub fn value_in_base(amount: U256, price: U256, decimals: u8) -> MathResult<U256> {
    let unit = U256::from(10u8).pow(U256::from(decimals));
    Ok(amount.checked_mul(price).ok_or(MathError::Overflow { what: "balance in base currency" })? / unit)
}

/// One collateral position: its value in the base currency and its liquidation threshold (bps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collateral {
    /// Value in base currency.
    pub value: U256,
    /// Liquidation threshold, bps.
    pub liquidation_threshold_bps: u32,
}

/// `calculateUserAccountData`'s health factor, a wad: the collateral weighted by liquidation
/// thresholds over the debt; `U256::MAX` without debt.
pub fn health_factor(collateral: &[Collateral], total_debt: U256) -> MathResult<U256> {
    if total_debt.is_zero() {
        return Ok(U256::MAX);
    }
    let total: U256 = collateral.iter().fold(U256::ZERO, |a, c| a + c.value);
    if total.is_zero() {
        return Ok(U256::ZERO);
    }
    let weighted = collateral.iter().try_fold(U256::ZERO, |a, c| {
        c.value.checked_mul(U256::from(c.liquidation_threshold_bps)).and_then(|x| a.checked_add(x))
    });
    let average_threshold = weighted.ok_or(MathError::Overflow { what: "avgLiquidationThreshold" })? / total;
    wad_div(percent_mul(total, average_threshold)?, total_debt)
}

/// The most of one debt reserve a liquidation may cover (`executeLiquidationCall`): half the
/// account's debt, or all of it when the health factor is at or below 0.95 or the position in
/// either reserve is worth less than $2,000. Values in base currency.
pub fn max_liquidatable_debt(
    health: U256,
    total_debt: U256,
    reserve_debt: U256,
    reserve_collateral: U256,
) -> MathResult<U256> {
    let small =
        reserve_collateral < MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD || reserve_debt < MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD;
    if small || health <= CLOSE_FACTOR_HF_THRESHOLD {
        return Ok(reserve_debt);
    }
    Ok(reserve_debt.min(percent_mul(total_debt, U256::from(DEFAULT_CLOSE_FACTOR_BPS))?))
}

/// What a liquidation moves, in token amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seizure {
    /// Collateral to the liquidator (bonus included, protocol fee excluded).
    pub collateral_to_liquidator: U256,
    /// Collateral to the protocol (its fee on the bonus).
    pub protocol_fee: U256,
    /// Debt actually repaid.
    pub debt_repaid: U256,
}

/// Prices and decimals of the two tokens of a liquidation, the oracle's 8-decimal prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// Debt token price.
    pub debt_price: U256,
    /// Debt token decimals.
    pub debt_decimals: u8,
    /// Collateral token price.
    pub collateral_price: U256,
    /// Collateral token decimals.
    pub collateral_decimals: u8,
}

/// `_calculateAvailableCollateralToLiquidate`: the collateral `debt_to_cover` buys at the bonus
/// (10_500 = 5 % bonus), limited by the account's `collateral_balance` (then less debt is
/// repaid), and the protocol's `protocol_fee_bps` share of the bonus part.
pub fn seize(
    pair: Pair,
    debt_to_cover: U256,
    collateral_balance: U256,
    liquidation_bonus_bps: u32,
    protocol_fee_bps: u32,
) -> MathResult<Seizure> {
    if pair.debt_price.is_zero() || pair.collateral_price.is_zero() {
        return Err(MathError::Revert { protocol: Protocol::Aave, reason: "PRICE_ORACLE_SENTINEL_CHECK_FAILED" });
    }
    let unit = |d: u8| U256::from(10u8).pow(U256::from(d));
    let (debt_unit, collateral_unit) = (unit(pair.debt_decimals), unit(pair.collateral_decimals));
    let overflow = || MathError::Overflow { what: "collateral to liquidate" };
    let bonus = U256::from(liquidation_bonus_bps);
    let base_collateral =
        pair.debt_price.checked_mul(debt_to_cover).and_then(|x| x.checked_mul(collateral_unit)).ok_or_else(overflow)?
            / pair.collateral_price.checked_mul(debt_unit).ok_or_else(overflow)?;
    let max_collateral = percent_mul(base_collateral, bonus)?;
    let (collateral, debt_repaid) = if max_collateral > collateral_balance {
        let needed = pair
            .collateral_price
            .checked_mul(collateral_balance)
            .and_then(|x| x.checked_mul(debt_unit))
            .ok_or_else(overflow)?
            / pair.debt_price.checked_mul(collateral_unit).ok_or_else(overflow)?;
        (collateral_balance, percent_div(needed, bonus)?)
    } else {
        (max_collateral, debt_to_cover)
    };
    let protocol_fee = if protocol_fee_bps == 0 {
        U256::ZERO
    } else {
        let bonus_part = collateral - percent_div(collateral, bonus)?;
        percent_mul(bonus_part, U256::from(protocol_fee_bps))?
    };
    Ok(Seizure { collateral_to_liquidator: collateral - protocol_fee, protocol_fee, debt_repaid })
}

/// Whether a partial liquidation leaves enough behind: at least $1,000 of debt and of
/// collateral in the two reserves, unless it takes all of either (v3.3's dust rule).
pub fn leftover_allowed(debt_left: U256, collateral_left: U256) -> bool {
    debt_left.is_zero()
        || collateral_left.is_zero()
        || (debt_left >= MIN_LEFTOVER_BASE && collateral_left >= MIN_LEFTOVER_BASE)
}

/// A health factor as a float, for screens and tables (never for decisions).
pub fn health_f64(health: U256) -> f64 {
    if health == U256::MAX { f64::INFINITY } else { crate::u256_to_f64(health) / crate::u256_to_f64(WAD) }
}

/// 100 % in basis points, as a `u32` (for parameter checks).
pub const FULL_BPS: u32 = 10_000;

const _: () = assert!(PERCENTAGE_FACTOR.as_limbs()[0] == FULL_BPS as u64);

#[cfg(test)]
mod tests {
    use super::*;

    const USD: u64 = 100_000_000; // one dollar in base currency

    fn base(dollars: u64) -> U256 {
        U256::from(dollars) * U256::from(USD)
    }

    #[test]
    fn health_weighs_collateral_by_its_threshold() {
        // $10,000 of ETH at 82.5 % and $5,000 of WBTC at 78 % against $9,000 of debt
        let c = [
            Collateral { value: base(10_000), liquidation_threshold_bps: 8_250 },
            Collateral { value: base(5_000), liquidation_threshold_bps: 7_800 },
        ];
        let hf = health_f64(health_factor(&c, base(9_000)).unwrap());
        assert!((hf - (8_250.0 + 3_900.0) / 9_000.0).abs() < 1e-4, "{hf}");
        assert_eq!(health_factor(&c, U256::ZERO).unwrap(), U256::MAX);
    }

    #[test]
    fn the_close_factor_doubles_below_095_and_for_small_positions() {
        let (debt, coll) = (base(10_000), base(12_000));
        let half = max_liquidatable_debt(WAD * U256::from(99u8) / U256::from(100u8), debt, debt, coll).unwrap();
        assert_eq!(half, base(5_000));
        let all = max_liquidatable_debt(CLOSE_FACTOR_HF_THRESHOLD, debt, debt, coll).unwrap();
        assert_eq!(all, debt);
        let small = max_liquidatable_debt(WAD * U256::from(99u8) / U256::from(100u8), base(1_500), base(1_500), coll);
        assert_eq!(small.unwrap(), base(1_500));
    }

    #[test]
    fn a_liquidation_seizes_debt_value_times_the_bonus_and_the_protocol_takes_its_share() {
        // ETH at $2,000 (18 decimals) seized for USDC debt at $1 (6 decimals)
        let pair = Pair {
            debt_price: U256::from(USD),
            debt_decimals: 6,
            collateral_price: U256::from(2_000 * USD),
            collateral_decimals: 18,
        };
        let e18 = U256::from(10u64.pow(18));
        // $1,000 of debt at a 5 % bonus: 0.525 ETH, 10 % of the 0.025 ETH bonus to the protocol
        let s = seize(pair, U256::from(1_000_000_000u64), U256::from(10u8) * e18, 10_500, 1_000).unwrap();
        assert_eq!(s.debt_repaid, U256::from(1_000_000_000u64));
        assert_eq!(s.protocol_fee, U256::from(2_500_000_000_000_000u64));
        assert_eq!(s.collateral_to_liquidator + s.protocol_fee, U256::from(525_000_000_000_000_000u64));
        // not enough collateral: all of it goes, and less debt is repaid
        let s = seize(pair, U256::from(10_000_000_000u64), e18 / U256::from(4u8), 10_500, 0).unwrap();
        assert_eq!(s.collateral_to_liquidator, e18 / U256::from(4u8));
        // $500 of collateral covers 500 / 1.05 = $476.190476 of debt
        assert_eq!(s.debt_repaid, U256::from(476_190_476u64));
    }

    proptest::proptest! {
        /// A liquidation of an unhealthy account never lowers its health while its collateral
        /// still covers its debt with the bonus (collateral / debt >= bonus, i.e. health >=
        /// threshold x bonus); below that margin each liquidation lowers it (the spiral).
        #[test]
        fn liquidation_does_not_lower_health_within_the_margin(
            collateral in 2_000u64..10_000_000, hf_pct in 50u64..100, lt in 5_000u32..9_000,
            bonus_bp in 0u32..2_000, cover_pct in 1u64..=100,
        ) {
            let bonus = 10_000 + bonus_bp;
            // debt that puts the health factor at hf_pct %
            let debt = collateral * u64::from(lt) / 10_000 * 100 / hf_pct;
            proptest::prop_assume!(debt > 0);
            let c = [Collateral { value: base(collateral), liquidation_threshold_bps: lt }];
            let before = health_factor(&c, base(debt)).unwrap();
            proptest::prop_assume!(before < WAD);
            let max = max_liquidatable_debt(before, base(debt), base(debt), base(collateral)).unwrap();
            let cover = max * U256::from(cover_pct) / U256::from(100u8);
            proptest::prop_assume!(!cover.is_zero());
            // the same token price and decimals for both: amounts are base-currency values
            let pair = Pair { debt_price: U256::from(USD), debt_decimals: 8, collateral_price: U256::from(USD), collateral_decimals: 8 };
            let s = seize(pair, cover, base(collateral), bonus, 0).unwrap();
            let (c_left, d_left) = (base(collateral) - s.collateral_to_liquidator, base(debt) - s.debt_repaid);
            let after = health_factor(&[Collateral { value: c_left, liquidation_threshold_bps: lt }], d_left).unwrap();
            // collateral / debt against the bonus, both in bps
            let margin = collateral as f64 / debt as f64 - f64::from(bonus) / 1e4;
            if margin > 1e-6 {
                // a few units of the wad's last digits for rounding
                proptest::prop_assert!(after.saturating_add(U256::from(1_000_000u64)) >= before, "{} -> {}", health_f64(before), health_f64(after));
            } else if margin < -1e-6 && !d_left.is_zero() {
                proptest::prop_assert!(after <= before.saturating_add(U256::from(1_000_000u64)), "{} -> {}", health_f64(before), health_f64(after));
            }
        }
    }

    #[test]
    fn dust_may_not_be_left_behind() {
        assert!(leftover_allowed(base(1_000), base(5_000)));
        assert!(!leftover_allowed(base(999), base(5_000)));
        assert!(leftover_allowed(U256::ZERO, base(10)));
    }
}
