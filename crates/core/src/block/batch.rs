//! The batch auction: vault orders of each token pair clear together at one uniform price, and
//! only the net remainder touches the pools.

use meshsim_math::{SwapQuote, u128_to_f64};

use super::executor::Executor;
use crate::ledger::Special;
use crate::pools::PoolBook;
use crate::tx::{DropReason, Effect, Fills, HopFill, Leg, Outcome, Path, Quotes, Swap, SwapEffect, Tx, reverse_path};

/// One pair's batch, cleared: the residual that trades against the pools and what each side
/// receives in total.
struct Clearing {
    /// Path for selling the pair's first token (`lo`), and its reverse.
    path_a: Path,
    /// The residual: sells the first token (`true`) or the second, and how much.
    residual: (bool, u128),
    /// Exact quotes of the residual on the current pools.
    quotes: Quotes,
    /// Inputs of each side.
    sum_a: u128,
    sum_b: u128,
    /// What each side receives in total after netting and the residual trade.
    total_a: u128,
    total_b: u128,
}

impl Clearing {
    /// What `tx` receives: its pro-rata share of its side's total, rounded down.
    fn received(&self, swap: &Swap, lo: u16) -> u128 {
        if swap.token_in().0 == lo {
            mul_div_floor(swap.amount_in, self.total_b, self.sum_a)
        } else {
            mul_div_floor(swap.amount_in, self.total_a, self.sum_b)
        }
    }
}

/// Clears one pair's orders at a uniform price. When the price at which the orders exactly net
/// (B offered per A offered) lies inside the pools' bid-ask band, the orders fill each other at
/// it and the pools are not touched. Otherwise the heavier side's excess trades through the
/// pools, sized so that its own average price is the clearing price (a fixed point, found by
/// iteration from the band's edge; the map contracts because impact is small next to the
/// sizes). `None` if the residual cannot trade.
fn clear_pair(ex: &Executor<'_>, live: &[(Tx, Swap)], lo: u16) -> Option<Clearing> {
    let costs = ex.ctx.config.gas;
    let pools = &*ex.pools;
    let sells_lo = |s: &Swap| s.token_in().0 == lo;
    let sum_a: u128 = live.iter().filter(|(_, s)| sells_lo(s)).map(|(_, s)| s.amount_in).sum();
    let sum_b: u128 = live.iter().filter(|(_, s)| !sells_lo(s)).map(|(_, s)| s.amount_in).sum();
    let path_a: Path = live
        .iter()
        .find(|(_, s)| sells_lo(s))
        .map(|(_, s)| s.legs.clone())
        .or_else(|| live.iter().find(|(_, s)| !sells_lo(s)).map(|(_, s)| reverse_path(&s.legs)))?;
    let path_b = reverse_path(&path_a);
    // the band: B per A received when selling A at the margin (bid), paid when buying A (ask)
    let edge = |path: &[Leg]| -> f64 {
        path.iter()
            .filter_map(|l| {
                pools.pool(l.pool).map(|e| e.marginal_price(l.i.into(), l.j.into()) * (1.0 - e.pool.fee_fraction()))
            })
            .product()
    };
    let (bid, ask) = (edge(&path_a), 1.0 / edge(&path_b));
    let (fa, fb) = (u128_to_f64(sum_a), u128_to_f64(sum_b));
    let sells_a = if sum_a == 0 {
        false
    } else if sum_b == 0 {
        true
    } else {
        let crossing = fb / fa;
        if crossing >= bid && crossing <= ask {
            return Some(Clearing {
                path_a,
                residual: (true, 0),
                quotes: Quotes::new(),
                sum_a,
                sum_b,
                total_a: sum_a,
                total_b: sum_b,
            });
        }
        crossing < bid
    };
    let path = if sells_a { &path_a } else { &path_b };
    // the residual at a trial price (B per A), clamped: a float of a large sum can round above it
    let residual_at = |price: f64| -> u128 {
        if sells_a {
            if sum_b == 0 { sum_a } else { ((fa - fb / price).max(0.0) as u128).min(sum_a) }
        } else if sum_a == 0 {
            sum_b
        } else {
            ((fb - fa * price).max(0.0) as u128).min(sum_b)
        }
    };
    let mut price = if sells_a { bid } else { ask };
    let mut residual = 0u128;
    for _ in 0..64 {
        let next = residual_at(price);
        if next == residual || next == 0 {
            residual = next;
            break;
        }
        residual = next;
        let got = pools.quote_path(&[], path, residual, &costs).ok()?.amount_out();
        if got == 0 {
            return None;
        }
        price =
            if sells_a { u128_to_f64(got) / u128_to_f64(residual) } else { u128_to_f64(residual) / u128_to_f64(got) };
    }
    let (mut total_a, mut total_b) = (sum_a, sum_b);
    let mut quotes = Quotes::new();
    if residual > 0 {
        let q = pools.quote_path(&[], path, residual, &costs).ok()?;
        let got = q.amount_out();
        if sells_a {
            total_a = total_a.checked_sub(residual)?;
            total_b = total_b.checked_add(got)?;
        } else {
            total_b = total_b.checked_sub(residual)?;
            total_a = total_a.checked_add(got)?;
        }
        quotes = q.hops;
    }
    Some(Clearing { path_a, residual: (sells_a, residual), quotes, sum_a, sum_b, total_a, total_b })
}

/// One pair's orders, each with its swap.
type Orders = Vec<(Tx, Swap)>;

/// Batch auction: the vault orders of each token pair clear together at one uniform price.
/// Opposite orders net against each other (coincidence of wants) and only the remainder touches
/// the pools, once. An order whose limit the batch price would break leaves the batch before
/// anything executes (the most demanding first, then the batch clears again) and pays nothing,
/// as with an unfilled order of a batch-auction protocol.
pub(super) fn run_batch(ex: &mut Executor<'_>, txs: Vec<Tx>) {
    let dropped = |ex: &mut Executor<'_>, tx: Tx, reason| {
        let r = ex.receipt(tx, Outcome::Dropped(reason), 0, 0, Effect::None);
        ex.file(r);
    };
    let settlement = ex.ctx.config.layout.special(Special::Settlement);
    let gas_units = ex.ctx.config.gas.base_tx + ex.ctx.config.gas.swap_constant_product;
    let mut groups: Vec<((u16, u16), Orders)> = Vec::new();
    for tx in txs {
        // only swaps clear in a batch
        let Some(swap) = tx.swap().cloned() else {
            dropped(ex, tx, DropReason::BatchCannotClear);
            continue;
        };
        let (a, b) = (swap.token_in().0, swap.token_out().0);
        let key = (a.min(b), a.max(b));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push((tx, swap)),
            None => groups.push((key, vec![(tx, swap)])),
        }
    }
    for ((lo, _), orders) in groups {
        // admission: what cannot execute leaves before the clearing
        let mut live: Vec<(Tx, Swap)> = Vec::new();
        let mut room = ex.gas.gas_limit.saturating_sub(ex.gas.gas_used);
        for (tx, swap) in orders {
            let (payer, gas_payer) = ex.payers(tx.sender);
            let tip = tx.gas.tip(ex.gas.base_fee_wei);
            let fee = u128::from(gas_units).saturating_mul(ex.gas.base_fee_wei.saturating_add(tip));
            let reason = if ex.ctx.block > tx.deadline_block {
                Some(DropReason::Expired)
            } else if tx.gas.max_fee_wei < ex.gas.base_fee_wei {
                Some(DropReason::MaxFeeBelowBaseFee)
            } else if room < gas_units {
                Some(DropReason::BlockFull)
            } else if ex.ctx.ledger.balance(gas_payer, ex.ctx.native) < fee {
                Some(DropReason::CannotPayGas)
            } else if ex.ctx.ledger.balance(payer, swap.token_in()) < swap.amount_in {
                Some(DropReason::InsufficientBalance)
            } else {
                None
            };
            match reason {
                Some(r) => dropped(ex, tx, r),
                None => {
                    room -= gas_units;
                    live.push((tx, swap));
                }
            }
        }
        // clearing: drop the order with the most demanding limit until every limit holds
        let clearing = loop {
            if live.is_empty() {
                break None;
            }
            let Some(c) = clear_pair(ex, &live, lo) else {
                for (tx, _) in live.drain(..) {
                    dropped(ex, tx, DropReason::BatchCannotClear);
                }
                break None;
            };
            let worst = live
                .iter()
                .enumerate()
                .filter(|(_, (_, s))| c.received(s, lo) < s.min_out)
                .max_by(|(_, (_, x)), (_, (_, y))| {
                    let limit = |s: &Swap| u128_to_f64(s.min_out) / u128_to_f64(s.amount_in.max(1));
                    limit(x).total_cmp(&limit(y))
                })
                .map(|(k, _)| k);
            match worst {
                Some(k) => {
                    let (tx, _) = live.remove(k);
                    dropped(ex, tx, DropReason::LimitNotMet);
                }
                None => break Some(c),
            }
        };
        let Some(c) = clearing else { continue };
        // execution: gas and custody, the residual once from the settlement account, payouts
        let mut fees = Vec::with_capacity(live.len());
        for (tx, swap) in &live {
            let (payer, gas_payer) = ex.payers(tx.sender);
            let tip = tx.gas.tip(ex.gas.base_fee_wei);
            let fee = ex.charge_gas(gas_payer, gas_units, tip).unwrap_or(0);
            let _moved = ex.ctx.ledger.transfer(payer, settlement, swap.token_in(), swap.amount_in);
            debug_assert!(_moved.is_ok(), "admission checked the balance");
            fees.push(fee);
        }
        if c.residual.1 > 0 {
            let path = if c.residual.0 { c.path_a.clone() } else { reverse_path(&c.path_a) };
            for (leg, hop) in path.iter().zip(&c.quotes) {
                let settled = ex.pools.settle_hop(settlement, leg, hop, &live[0].0, &mut ex.ctx);
                debug_assert!(settled.is_ok(), "the clearing quoted this hop on the same pools");
            }
        }
        for ((tx, swap), fee) in live.into_iter().zip(fees) {
            let (payer, _) = ex.payers(tx.sender);
            let received = c.received(&swap, lo);
            let _paid = ex.ctx.ledger.transfer(settlement, payer, swap.token_out(), received);
            debug_assert!(_paid.is_ok(), "the settlement holds each side's total");
            // the residual's side shares its pool fees pro rata (for cost accounting); the
            // other side was filled entirely by netting and paid none
            let sells_a = swap.token_in().0 == lo;
            let side = if sells_a { c.sum_a } else { c.sum_b };
            let share =
                |q: &SwapQuote| HopFill { lp_fee: mul_div_floor(q.lp_fee, swap.amount_in, side), ..HopFill::from(q) };
            let hops = if sells_a == c.residual.0 { c.quotes.iter().map(share).collect() } else { Fills::new() };
            let effect = Effect::Swap(SwapEffect { amount_in: swap.amount_in, amount_out: received, hops });
            let r = ex.receipt(tx, Outcome::Included, gas_units, fee, effect);
            ex.file(r);
        }
    }
}

fn mul_div_floor(a: u128, b: u128, d: u128) -> u128 {
    if d == 0 {
        return 0;
    }
    meshsim_math::full_math::mul_div(
        meshsim_math::U256::from(a),
        meshsim_math::U256::from(b),
        meshsim_math::U256::from(d),
    )
    .ok()
    .and_then(|v| u128::try_from(v).ok())
    .unwrap_or(0)
}
