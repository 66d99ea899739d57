//! A vault's yield leg: a share of one holding kept supplied to a lending market, earning the
//! supply rate. Its timing depends on the market: a rebalance that sells the token needs the
//! deposit back first, and the vault puts the rebalance off while the reserve is too utilized to
//! withdraw from (at 100 % nothing can be withdrawn at all), instead of sending transactions that
//! would revert. Between rebalances it supplies what idles above its buffer and takes back what
//! the buffer lacks.

use meshsim_scenario::YieldLeg;

/// What the leg needs this block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegAction {
    /// Nothing.
    Hold,
    /// The rebalance needs more of the token than is idle, and the market cannot give it back
    /// now: put the rebalance off.
    Defer,
    /// Withdraw this much (before the block's swaps, or to refill the idle buffer).
    Withdraw(u128),
    /// Supply this much of the idle balance.
    Supply(u128),
}

/// The reserve as the leg sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReserveReading {
    /// Utilization, 0 to 1.
    pub utilization: f64,
    /// Underlying the reserve holds, base units.
    pub available: u128,
}

/// Pure policy. `selling`: how much of the token this block's swaps sell; `idle` and `deposit`:
/// what the vault holds of it in its account and in the market; `trading`: whether it sends
/// swaps this block (the buffer is set right only in quiet blocks, once trades have landed).
pub fn leg_action(
    leg: &YieldLeg,
    selling: u128,
    idle: u128,
    deposit: u128,
    reserve: ReserveReading,
    trading: bool,
) -> LegAction {
    let can_withdraw =
        |amount: u128| reserve.utilization <= leg.max_utilization && amount <= reserve.available && amount <= deposit;
    if selling > idle {
        let short = selling - idle;
        return if can_withdraw(short) { LegAction::Withdraw(short) } else { LegAction::Defer };
    }
    if trading {
        return LegAction::Hold;
    }
    let total = idle.saturating_add(deposit);
    let target = (meshsim_math::u128_to_f64(total) * leg.share) as u128;
    // a 1 % dead band, so that interest alone never sends a transaction
    let slack = total / 100;
    if deposit.saturating_add(slack) < target {
        LegAction::Supply((target - deposit).min(idle))
    } else if deposit > target.saturating_add(slack) && can_withdraw(deposit - target) {
        LegAction::Withdraw(deposit - target)
    } else {
        LegAction::Hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshsim_scenario::{MarketId, TokenId};

    const LEG: YieldLeg = YieldLeg { market: MarketId(0), token: TokenId(1), share: 0.8, max_utilization: 0.95 };
    const CALM: ReserveReading = ReserveReading { utilization: 0.5, available: 1_000_000 };

    #[test]
    fn a_sale_beyond_the_idle_balance_withdraws_the_difference_first() {
        assert_eq!(leg_action(&LEG, 300, 200, 800, CALM, true), LegAction::Withdraw(100));
        assert_eq!(leg_action(&LEG, 150, 200, 800, CALM, true), LegAction::Hold);
    }

    #[test]
    fn a_busy_or_drained_reserve_defers_the_rebalance() {
        let busy = ReserveReading { utilization: 0.97, available: 1_000_000 };
        assert_eq!(leg_action(&LEG, 300, 200, 800, busy, true), LegAction::Defer);
        let drained = ReserveReading { utilization: 0.9, available: 50 };
        assert_eq!(leg_action(&LEG, 300, 200, 800, drained, true), LegAction::Defer);
        // and a deposit smaller than the shortfall cannot be found either
        assert_eq!(leg_action(&LEG, 1_200, 200, 800, CALM, true), LegAction::Defer);
    }

    #[test]
    fn quiet_blocks_keep_the_deposit_at_its_share_within_a_dead_band() {
        // 1,000 idle and nothing supplied: supply 800
        assert_eq!(leg_action(&LEG, 0, 1_000, 0, CALM, false), LegAction::Supply(800));
        // on target, or within 1 % of the holding: nothing
        assert_eq!(leg_action(&LEG, 0, 200, 800, CALM, false), LegAction::Hold);
        assert_eq!(leg_action(&LEG, 0, 195, 805, CALM, false), LegAction::Hold);
        // the idle buffer ran low: take some back, unless the reserve is too busy
        assert_eq!(leg_action(&LEG, 0, 0, 1_000, CALM, false), LegAction::Withdraw(200));
        let busy = ReserveReading { utilization: 0.99, available: 1_000_000 };
        assert_eq!(leg_action(&LEG, 0, 0, 1_000, busy, false), LegAction::Hold);
        // while trading, the buffer waits for the trades to land
        assert_eq!(leg_action(&LEG, 0, 1_000, 0, CALM, true), LegAction::Hold);
    }
}
