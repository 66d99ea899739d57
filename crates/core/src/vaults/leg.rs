//! A vault's yield leg: a share of one holding kept supplied to a lending market, earning the
//! supply rate. Its timing depends on the market: a rebalance that sells the token needs the
//! deposit back first, and the vault puts the rebalance off while the reserve is too utilized to
//! withdraw from (at 100 % nothing can be withdrawn at all), instead of sending transactions that
//! would revert. Between rebalances it supplies what idles above its buffer and takes back what
//! the buffer lacks.

use meshsim_scenario::YieldLeg;

use super::{Decision, VaultConfig, VaultMeta, VaultState};
use crate::lending::Lending;
use crate::pools::Pools;
use crate::tx::{LendOp, Sender};

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

/// The yield leg's need this block, from the vault's planned swaps and the market's state.
#[expect(clippy::too_many_arguments, reason = "the leg reads the plan and the market")]
pub(super) fn leg_step(
    v: &crate::agents::MarketView<'_, Pools>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    state: &VaultState,
    lending: &Lending,
    out: &[crate::tx::Tx],
    first: usize,
    d: Decision,
) -> LegAction {
    let Some(leg) = cfg.spec.yield_leg else { return LegAction::Hold };
    let Some(market) = lending.markets.get(leg.market.0 as usize) else { return LegAction::Hold };
    let Some(r) = market.reserve_of(leg.token).map(|k| &market.reserves[k].reserve) else { return LegAction::Hold };
    let reading = ReserveReading {
        utilization: meshsim_math::u256_to_f64(r.utilization().unwrap_or_default()) / 1e27,
        available: u128::try_from(r.available).unwrap_or(u128::MAX),
    };
    let selling: u128 = out[first..]
        .iter()
        .filter_map(|t| t.swap())
        .filter(|s| s.token_in() == leg.token)
        .map(|s| s.amount_in)
        .fold(0, u128::saturating_add);
    let trading = out.len() > first || state.in_progress || d.remaining;
    let idle = v.balance(meta.account, leg.token);
    leg_action(&leg, selling, idle, cfg.leg_deposit(Some(lending), meta.id), reading, trading)
}

/// A vault's transaction on its yield leg's market.
pub(super) fn leg_tx(
    v: &crate::agents::MarketView<'_, Pools>,
    meta: &VaultMeta,
    cfg: &VaultConfig,
    leg: meshsim_scenario::YieldLeg,
    op: LendOp,
    seq: u32,
) -> crate::tx::Tx {
    let spec = &cfg.spec;
    let lend = crate::tx::Lend::new(leg.market, op);
    let mut tx = crate::tx::Tx::new(
        Sender::Vault(meta.id),
        seq,
        crate::tx::TxKind::Lending,
        spec.priority_fee_wei,
        lend.into(),
        v.block + spec.deadline_blocks - 1,
    );
    if spec.private_relay {
        tx.visibility = crate::tx::Visibility::Private;
    }
    if let Some(max_fee) = spec.max_fee_wei {
        tx.gas.max_fee_wei = max_fee;
    }
    tx
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
