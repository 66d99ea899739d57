//! Depositor flows: deposits are priced at the vault's oracle NAV and mint shares rounded down;
//! withdrawals burn shares and pay every holding pro rata, rounded down (ERC-4626 accounting, in
//! the vault's favour). A yield leg counts in the NAV at the market's supply index, and its part
//! of a redemption is withdrawn from the market; when the reserve cannot pay it (it has lent the
//! liquidity out), the redemption shrinks to what can be paid.

use crate::engine::{Fresh, State, shared};
use meshsim_math::{U256, f64_to_u256};
use meshsim_scenario::Flow;
use rand_distr::{Distribution, Exp1, Poisson};
use smallvec::SmallVec;

use super::plan::oracle_prices;
use super::{FlowState, VaultConfig, VaultMeta, VaultShares};
use crate::SimConfig;
use crate::chain::Chains;
use crate::engine::venue::ExecCtx;
use crate::ledger::Ledger;
use crate::lending::{Lending, Owner};
use crate::market::ExternalPrices;
use crate::metrics::Metrics;
use crate::oracles::OracleBook;
use crate::tx::LendOp;

/// Converts a value to shares at `nav` for `total` shares, rounding down (the vault's favour).
fn shares_for(value_fp: U256, nav_fp: U256, total: u128) -> u128 {
    if nav_fp.is_zero() {
        return 0;
    }
    meshsim_math::full_math::mul_div(value_fp, U256::from(total), nav_fp)
        .ok()
        .and_then(|s| u128::try_from(s).ok())
        .unwrap_or(0)
}

/// Fixed-point value of `amount` at `price` (numeraire per base unit), scaled by 2^128 so that
/// share conversions stay in integers.
fn value_fp(amount: u128, price: f64) -> U256 {
    let p = f64_to_u256(price * 340_282_366_920_938_463_463_374_607_431_768_211_456.0);
    U256::from(amount).saturating_mul(p)
}

/// What depositor flows read and write of the shared state.
type FlowsState<'w, 's> = State<
    'w,
    's,
    (
        &'static mut Ledger,
        &'static OracleBook,
        &'static Chains,
        &'static mut Metrics,
        Option<&'static mut Lending>,
        &'static ExternalPrices,
        &'static SimConfig,
    ),
>;

/// Observe phase: depositor flows. Deposits are priced at the vault's oracle NAV and mint shares
/// rounded down; withdrawals burn shares and pay every holding pro rata, rounded down.
pub(super) fn apply_flows(
    mut vaults: Fresh<(&VaultMeta, &VaultConfig, &mut VaultShares, &mut FlowState)>,
    state: FlowsState,
) {
    let (mut ledger, book, chains, mut metrics, mut lending, external, config) = shared(state);
    let clock = &chains.active().clock;
    let days = clock.dt / 86_400.0;
    for (meta, cfg, mut shares, mut flow) in &mut vaults {
        if meta.chain != chains.active {
            continue;
        }
        let mut deposits: SmallVec<[u128; 4]> = SmallVec::new();
        let mut withdraw_fractions: SmallVec<[f64; 4]> = SmallVec::new();
        let mut withdraw_shares: u128 = 0;
        let flow = &mut *flow;
        for f in &cfg.spec.flows {
            match *f {
                Flow::Poisson { deposits_per_day, mean_deposit, withdrawals_per_day, mean_withdraw_fraction } => {
                    let n_dep = Poisson::new(deposits_per_day * days).map_or(0.0, |d| d.sample(&mut flow.rng)) as u64;
                    for _ in 0..n_dep {
                        let e: f64 = Exp1.sample(&mut flow.rng);
                        deposits.push((e * meshsim_math::u128_to_f64(mean_deposit)) as u128);
                    }
                    let n_wd = Poisson::new(withdrawals_per_day * days).map_or(0.0, |d| d.sample(&mut flow.rng)) as u64;
                    for _ in 0..n_wd {
                        let e: f64 = Exp1.sample(&mut flow.rng);
                        withdraw_fractions.push((e * mean_withdraw_fraction).min(1.0));
                    }
                }
                Flow::Deposit { block, amount } if block == clock.number => deposits.push(amount),
                Flow::Withdraw { block, fraction } if block == clock.number => withdraw_fractions.push(fraction),
                Flow::WithdrawShares { block, shares } if block == clock.number => {
                    withdraw_shares = withdraw_shares.saturating_add(shares);
                }
                Flow::BankRun { start_block, blocks, fraction } if start_block == clock.number => {
                    let per_block = (meshsim_math::u128_to_f64(shares.total) * fraction / blocks as f64) as u128;
                    flow.runs.push((start_block + blocks - 1, per_block));
                }
                _ => {}
            }
        }
        for (last, per_block) in &flow.runs {
            if clock.number <= *last {
                withdraw_shares = withdraw_shares.saturating_add(*per_block);
            }
        }
        flow.runs.retain(|(last, _)| clock.number < *last);

        let prices = oracle_prices(cfg, book);
        let m = &mut metrics.vaults[meta.id.index()];
        for amount in deposits {
            let available = ledger.balance(meta.depositors, cfg.spec.deposit_token);
            let amount = amount.min(available);
            let lending = lending.as_deref();
            let nav_fp = (0..cfg.universe.len()).fold(U256::ZERO, |acc, k| {
                acc.saturating_add(value_fp(cfg.holding(&ledger, lending, meta, k), prices[k]))
            });
            let k = cfg.universe.iter().position(|t| *t == cfg.spec.deposit_token).unwrap_or(0);
            let minted = shares_for(value_fp(amount, prices[k]), nav_fp, shares.total);
            if amount == 0 || minted == 0 {
                continue;
            }
            if ledger.transfer(meta.depositors, meta.account, cfg.spec.deposit_token, amount).is_ok() {
                shares.total += minted;
                m.deposits += 1;
            }
        }
        for fraction in withdraw_fractions {
            withdraw_shares =
                withdraw_shares.saturating_add((meshsim_math::u128_to_f64(shares.total) * fraction) as u128);
        }
        let mut burn = withdraw_shares.min(shares.total.saturating_sub(1)); // the vault never empties completely
        if burn > 0 {
            // the yield leg's share comes out of the market; what the reserve cannot pay now (it
            // lent it out) the depositors cannot redeem now: the redemption shrinks to fit
            if let (Some(leg), Some(lending)) = (cfg.spec.yield_leg, lending.as_deref_mut()) {
                let idle = ledger.balance(meta.account, leg.token);
                let deposit = cfg.leg_deposit(Some(lending), meta.id);
                let owed = pro_rata_of(idle.saturating_add(deposit), burn, shares.total);
                if owed > idle {
                    let payable = lending
                        .markets
                        .get(leg.market.0 as usize)
                        .and_then(|m| m.reserve_of(leg.token).map(|r| &m.reserves[r].reserve.available))
                        .map_or(0, |a| u128::try_from(*a).unwrap_or(u128::MAX))
                        .min(deposit);
                    let short = (owed - idle).min(payable);
                    if short < owed - idle {
                        // shares whose payout the leg can cover
                        burn = burn.min(pro_rata_of(burn, idle.saturating_add(short), owed.max(1)));
                        m.withdrawals_blocked += 1;
                    }
                    let need = pro_rata_of(idle.saturating_add(deposit), burn, shares.total).saturating_sub(idle);
                    if need > 0 {
                        let mut ctx = ExecCtx {
                            ledger: &mut ledger,
                            prices: external,
                            config,
                            block: clock.number,
                            now: clock.timestamp as u64,
                            native: chains.active().native,
                            time: clock.timestamp,
                        };
                        let market = lending.markets.get_mut(leg.market.0 as usize);
                        let op = LendOp::Withdraw { token: leg.token, amount: need };
                        match market.map(|mk| mk.execute(Owner::Vault(meta.id), op, meta.account, &mut ctx)) {
                            Some(Ok(e)) => m.leg_principal = m.leg_principal.saturating_sub(e.amount as i128),
                            // cannot pay the leg's part: nobody redeems this block
                            _ => burn = 0,
                        }
                    }
                }
            }
        }
        if burn > 0 {
            for t in &cfg.universe {
                let held = ledger.balance(meta.account, *t);
                let deposit = if Some(*t) == cfg.spec.yield_leg.map(|l| l.token) {
                    cfg.leg_deposit(lending.as_deref(), meta.id)
                } else {
                    0
                };
                // a pro-rata share of everything held, paid out of the idle balance (the leg's
                // part was withdrawn above)
                let out = pro_rata_of(held.saturating_add(deposit), burn, shares.total).min(held);
                // cannot fail: out <= held
                let _ = ledger.transfer(meta.account, meta.depositors, *t, out);
            }
            shares.total -= burn;
            m.withdrawals += 1;
        }
    }
}

/// `held x burn / total`, rounded down.
fn pro_rata_of(held: u128, burn: u128, total: u128) -> u128 {
    meshsim_math::full_math::mul_div(U256::from(held), U256::from(burn), U256::from(total))
        .ok()
        .and_then(|v| u128::try_from(v).ok())
        .unwrap_or(0)
}
