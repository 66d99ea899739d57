//! Execute phase: the block plan runs item by item against the pools and the ledger. Expired
//! transactions are dropped; gas is charged first (base fee burned, priority fee to the proposer);
//! a swap whose output falls short of its minimum reverts and still pays gas; bundles are all or
//! nothing (simulated first); batch-auction vault orders net against each other and only the
//! remainder touches the pools, at one uniform price per token pair.

use bevy_ecs::prelude::*;
use meshsim_math::{Pool, SwapQuote, u128_to_f64};
use meshsim_scenario::PoolId;
use smallvec::SmallVec;

use crate::attribution::Provenance;
use crate::builder::{BlockPlan, Item};
use crate::cascade::CascadeTracker;
use crate::chain::{BlockClock, GasMarket};
use crate::ledger::{AccountId, Ledger, Special};
use crate::market::ExternalPrices;
use crate::mempool::Bundle;
use crate::metrics::Metrics;
use crate::pools::{DirtyPools, PoolEntry, PoolIndex};
use crate::record::{Records, TradeRow};
use crate::sim_config::SimConfig;
use crate::tx::{Leg, Sender, Tx, TxKind};

/// What happened to a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Included and executed.
    Success {
        /// Output of the last hop.
        amount_out: u128,
    },
    /// Included, reverted, gas paid.
    Reverted {
        /// Why.
        reason: String,
    },
    /// Not included (expired, no gas space, or cannot pay gas).
    Dropped {
        /// Why.
        reason: &'static str,
    },
}

/// Quotes of a path's hops (inline for up to three).
type Quotes = SmallVec<[SwapQuote; 3]>;

/// A transaction's result with its gas and the hops it executed.
struct Executed {
    outcome: Outcome,
    gas_units: u64,
    fee: u128,
    quotes: Quotes,
    /// Input actually taken (batch orders may differ from the request).
    amount_in: u128,
}

/// Everything the execution of one transaction needs, borrowed from the world.
struct Executor<'a, 'w, 's, 'q> {
    pools: &'a mut Query<'w, 's, &'q mut PoolEntry>,
    index: &'a PoolIndex,
    ledger: &'a mut Ledger,
    gas: &'a mut GasMarket,
    prices: &'a ExternalPrices,
    config: &'a SimConfig,
    dirty: &'a mut DirtyPools,
    provenance: &'a mut Provenance,
    block: u64,
}

impl Executor<'_, '_, '_, '_> {
    fn entry(&self, id: PoolId) -> Option<&PoolEntry> {
        self.pools.get(*self.index.0.get(id.index())?).ok()
    }

    /// Accounts that pay the tokens and the gas.
    fn payers(&self, sender: Sender) -> (AccountId, AccountId) {
        let l = &self.config.layout;
        match sender {
            Sender::Agent(a) => (l.agent(a), l.agent(a)),
            Sender::Vault(v) => (l.vault(v), l.keeper(v)),
        }
    }

    /// Quotes every hop in order on `pools` as they are; the pools of a path are distinct.
    fn quote_on(&self, overlay: &[(PoolId, Pool)], legs: &[Leg], amount_in: u128) -> Result<(Quotes, u64), String> {
        let mut quotes = Quotes::new();
        let mut gas = self.config.gas.base_tx;
        let mut a = amount_in;
        for leg in legs {
            let entry = self.entry(leg.pool).ok_or("unknown pool")?;
            let pool = overlay.iter().find(|(p, _)| *p == leg.pool).map_or(&entry.pool, |(_, p)| p);
            let q = pool.quote_exact_in(leg.i.into(), leg.j.into(), a).map_err(|e| e.to_string())?;
            if q.amount_in < a {
                return Err("insufficient liquidity".into());
            }
            gas += hop_gas(&self.config.gas, entry, q.ticks_crossed);
            a = q.amount_out;
            quotes.push(q);
        }
        Ok((quotes, gas))
    }

    /// Charges gas for `gas_units` at the base fee plus `tip`; false if the payer cannot.
    fn charge_gas(&mut self, gas_payer: AccountId, gas_units: u64, tip: u128) -> Option<u128> {
        if self.gas.gas_used + gas_units > self.gas.gas_limit {
            return None;
        }
        let fee = u128::from(gas_units).saturating_mul(self.gas.base_fee_wei.saturating_add(tip));
        let native = self.config.native;
        let burn = u128::from(gas_units) * self.gas.base_fee_wei;
        let layout = self.config.layout;
        if self.ledger.balance(gas_payer, native) < fee {
            return None;
        }
        self.ledger.transfer(gas_payer, layout.special(Special::Burn), native, burn).ok()?;
        self.ledger.transfer(gas_payer, layout.special(Special::Proposer), native, fee - burn).ok()?;
        self.gas.gas_used += gas_units;
        Some(fee)
    }

    /// Moves tokens for one executed hop and remembers who moved the pool.
    fn settle_hop(&mut self, payer: AccountId, leg: &Leg, q: &SwapQuote, tx: &Tx) -> Result<(), String> {
        let Some(&e) = self.index.0.get(leg.pool.index()) else { return Err("unknown pool".into()) };
        let Ok(mut entry) = self.pools.get_mut(e) else { return Err("unknown pool".into()) };
        let applied = entry.pool.swap_exact_in(leg.i.into(), leg.j.into(), q.amount_in);
        debug_assert_eq!(applied.as_ref().ok(), Some(q), "a quoted swap must apply identically");
        let pool_acct = entry.account;
        let protocol = self.config.layout.special(Special::Protocol);
        self.ledger
            .transfer(payer, pool_acct, leg.token_in, q.amount_in)
            .and_then(|_| self.ledger.transfer(pool_acct, payer, leg.token_out, q.amount_out))
            .and_then(|_| self.ledger.transfer(pool_acct, protocol, leg.token_out, q.protocol_fee_out))
            .map_err(|e| format!("ledger: {e}"))?;
        let k = leg.pool.index();
        self.dirty.current[k] = true;
        if let Sender::Vault(v) = tx.sender {
            self.dirty.vault_current[k] = Some(v);
        }
        self.provenance.record(leg.pool, self.block, tx.id, tx.kind);
        Ok(())
    }

    fn run(&mut self, tx: &Tx) -> Executed {
        let dropped = |reason| Executed {
            outcome: Outcome::Dropped { reason },
            gas_units: 0,
            fee: 0,
            quotes: Quotes::new(),
            amount_in: 0,
        };
        if self.block > tx.deadline_block {
            return dropped("expired");
        }
        let (payer, gas_payer) = self.payers(tx.sender);
        let (quotes, gas_units, failure) = match self.quote_on(&[], &tx.legs, tx.amount_in) {
            Ok((q, g)) => (q, g, None),
            // a transaction that fails in the pool still burns the gas of trying one hop
            Err(reason) => {
                (Quotes::new(), self.config.gas.base_tx + self.config.gas.swap_constant_product, Some(reason))
            }
        };
        if tx.max_fee_wei < self.gas.base_fee_wei {
            return dropped("max fee below base fee");
        }
        // past its gas limit it reverts, having burnt all of it
        let out_of_gas = gas_units > tx.gas_limit;
        let (gas_units, failure) =
            if out_of_gas { (tx.gas_limit, Some("out of gas".to_string())) } else { (gas_units, failure) };
        let tip = crate::builder::tip(tx, self.gas.base_fee_wei);
        let Some(fee) = self.charge_gas(gas_payer, gas_units, tip) else {
            return dropped(if self.gas.gas_used + gas_units > self.gas.gas_limit {
                "block gas limit"
            } else {
                "cannot pay gas"
            });
        };
        let reverted = |reason: String| Executed {
            outcome: Outcome::Reverted { reason },
            gas_units,
            fee,
            quotes: Quotes::new(),
            amount_in: tx.amount_in,
        };
        if let Some(reason) = failure {
            return reverted(reason);
        }
        let out = quotes.last().map_or(0, |q| q.amount_out);
        if out < tx.min_out {
            return reverted(format!("output {out} below minimum {}", tx.min_out));
        }
        let token_in = tx.legs[0].token_in;
        if self.ledger.balance(payer, token_in) < tx.amount_in {
            return reverted("insufficient balance".into());
        }
        for (leg, q) in tx.legs.iter().zip(&quotes) {
            if let Err(e) = self.settle_hop(payer, leg, q, tx) {
                // cannot happen: balances were checked and pools hold what they pay
                return reverted(e);
            }
        }
        if tx.hedge {
            let last = tx.legs[tx.legs.len() - 1];
            let back = (u128_to_f64(out) * self.prices.rate(last.token_out, token_in)) as u128;
            let cex = self.config.layout.special(Special::Cex);
            let hedged = self
                .ledger
                .transfer(payer, cex, last.token_out, out)
                .and_then(|_| self.ledger.transfer(cex, payer, token_in, back));
            if let Err(e) = hedged {
                return reverted(format!("cex hedge: {e}"));
            }
        }
        Executed { outcome: Outcome::Success { amount_out: out }, gas_units, fee, quotes, amount_in: tx.amount_in }
    }

    /// Whether every one of `txs` would succeed in this order (quotes on copies of the pools).
    fn simulate(&self, txs: &[&Tx]) -> Vec<bool> {
        let mut overlay: SmallVec<[(PoolId, Pool); 4]> = SmallVec::new();
        txs.iter()
            .map(|tx| {
                if self.block > tx.deadline_block {
                    return false;
                }
                let Ok((quotes, _)) = self.quote_on(&overlay, &tx.legs, tx.amount_in) else { return false };
                if quotes.last().is_none_or(|q| q.amount_out < tx.min_out) {
                    return false;
                }
                for (leg, q) in tx.legs.iter().zip(&quotes) {
                    let k = match overlay.iter().position(|(p, _)| *p == leg.pool) {
                        Some(k) => k,
                        None => match self.entry(leg.pool) {
                            Some(e) => {
                                overlay.push((leg.pool, e.pool.clone()));
                                overlay.len() - 1
                            }
                            None => return false,
                        },
                    };
                    if overlay[k].1.swap_exact_in(leg.i.into(), leg.j.into(), q.amount_in).is_err() {
                        return false;
                    }
                }
                true
            })
            .collect()
    }
}

/// Gas units of one hop.
pub fn hop_gas(gas: &meshsim_scenario::GasCosts, entry: &PoolEntry, ticks: u32) -> u64 {
    use meshsim_math::PoolKind::*;
    match entry.pool.kind() {
        ConstantProduct => gas.swap_constant_product,
        Concentrated => gas.swap_concentrated + u64::from(ticks) * gas.tick_cross,
        StableSwap => gas.swap_stableswap,
        Weighted => gas.swap_weighted,
    }
}

/// The outcome of an item: each transaction with what happened to it.
type Results = Vec<(Tx, Executed)>;

/// What bundles did besides their transactions.
#[derive(Default)]
struct BundleEffects {
    /// What a sandwich's victim lost: the output it would have received without the front-run
    /// less what it received, in its output token.
    shortfalls: Vec<(crate::tx::TxId, u128)>,
    /// Bids paid to the builder, wei.
    bids: Vec<(meshsim_scenario::AgentId, u128)>,
    /// Victims of bundles that failed, to run unbundled at the end of the block.
    deferred: Vec<Tx>,
}

fn run_bundle(
    ex: &mut Executor<'_, '_, '_, '_>,
    bundle: &Bundle,
    victim: Option<Tx>,
    out: &mut Results,
    effects: &mut BundleEffects,
) {
    let order: Vec<&Tx> = bundle.before.iter().chain(victim.as_ref()).chain(&bundle.after).collect();
    let ok = ex.simulate(&order);
    let own_ok = order.iter().zip(&ok).all(|(t, good)| *good || victim.as_ref().is_some_and(|v| v.id == t.id));
    if !own_ok {
        // all or nothing: the builder drops the bundle and its victim lands unbundled, after the
        // block's other items (where a zero-bid transaction would go)
        effects.deferred.extend(victim);
        return;
    }
    let alone = victim
        .as_ref()
        .filter(|_| !bundle.before.is_empty())
        .and_then(|v| ex.quote_on(&[], &v.legs, v.amount_in).ok())
        .and_then(|(q, _)| q.last().map(|q| q.amount_out));
    for tx in bundle.before.iter().chain(victim.as_ref()).chain(&bundle.after) {
        let e = ex.run(tx);
        if let (Some(alone), Outcome::Success { amount_out }) = (alone, &e.outcome)
            && victim.as_ref().is_some_and(|v| v.id == tx.id)
        {
            effects.shortfalls.push((tx.id, alone.saturating_sub(*amount_out)));
        }
        out.push((tx.clone(), e));
    }
    // the bid goes to the builder (proposer)
    let searcher = ex.config.layout.agent(bundle.searcher);
    let proposer = ex.config.layout.special(Special::Proposer);
    if bundle.bid_wei > 0 && ex.ledger.transfer(searcher, proposer, ex.config.native, bundle.bid_wei).is_ok() {
        effects.bids.push((bundle.searcher, bundle.bid_wei));
    }
}

/// One pair's batch, cleared: the residual that trades against the pools and what each side
/// receives in total.
struct Clearing {
    /// Path for selling the pair's first token (`lo`), and its reverse.
    path_a: Vec<Leg>,
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
    fn received(&self, tx: &Tx, lo: u16) -> u128 {
        if tx.legs[0].token_in.0 == lo {
            mul_div_floor(tx.amount_in, self.total_b, self.sum_a)
        } else {
            mul_div_floor(tx.amount_in, self.total_a, self.sum_b)
        }
    }
}

/// Clears one pair's orders at a uniform price. When the price at which the orders exactly net
/// (B offered per A offered) lies inside the pools' bid-ask band, the orders fill each other at
/// it and the pools are not touched. Otherwise the heavier side's excess trades through the
/// pools, sized so that its own average price is the clearing price (a fixed point, found by
/// iteration from the band's edge; the map contracts because impact is small next to the
/// sizes). `None` if the residual cannot trade.
fn clear_pair(ex: &Executor<'_, '_, '_, '_>, live: &[Tx], lo: u16) -> Option<Clearing> {
    let (sell_a, sell_b): (Vec<&Tx>, Vec<&Tx>) = live.iter().partition(|t| t.legs[0].token_in.0 == lo);
    let sum_a: u128 = sell_a.iter().map(|t| t.amount_in).sum();
    let sum_b: u128 = sell_b.iter().map(|t| t.amount_in).sum();
    let path_a: Vec<Leg> =
        sell_a.first().map(|t| t.legs.to_vec()).or_else(|| sell_b.first().map(|t| reverse(&t.legs)))?;
    let path_b = reverse(&path_a);
    // the band: B per A received when selling A at the margin (bid), paid when buying A (ask)
    let edge = |path: &[Leg]| -> f64 {
        path.iter()
            .filter_map(|l| {
                ex.entry(l.pool).map(|e| e.pool.marginal_price(l.i.into(), l.j.into()) * (1.0 - e.pool.fee_fraction()))
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
        let (q, _) = ex.quote_on(&[], path, residual).ok()?;
        let got = q.last().map_or(0, |x| x.amount_out);
        if got == 0 {
            return None;
        }
        price =
            if sells_a { u128_to_f64(got) / u128_to_f64(residual) } else { u128_to_f64(residual) / u128_to_f64(got) };
    }
    let (mut total_a, mut total_b) = (sum_a, sum_b);
    let mut quotes = Quotes::new();
    if residual > 0 {
        let (q, _) = ex.quote_on(&[], path, residual).ok()?;
        let got = q.last().map_or(0, |x| x.amount_out);
        if sells_a {
            total_a = total_a.checked_sub(residual)?;
            total_b = total_b.checked_add(got)?;
        } else {
            total_b = total_b.checked_sub(residual)?;
            total_a = total_a.checked_add(got)?;
        }
        quotes = q;
    }
    Some(Clearing { path_a, residual: (sells_a, residual), quotes, sum_a, sum_b, total_a, total_b })
}

/// Batch auction: the vault orders of each token pair clear together at one uniform price.
/// Opposite orders net against each other (coincidence of wants) and only the remainder touches
/// the pools, once. An order whose limit the batch price would break leaves the batch before
/// anything executes (the most demanding first, then the batch clears again) and pays nothing,
/// as with an unfilled order of a batch-auction protocol.
fn run_batch(ex: &mut Executor<'_, '_, '_, '_>, txs: Vec<Tx>, out: &mut Results) {
    let dropped = |reason| Executed {
        outcome: Outcome::Dropped { reason },
        gas_units: 0,
        fee: 0,
        quotes: Quotes::new(),
        amount_in: 0,
    };
    let settlement = ex.config.layout.special(Special::Settlement);
    let gas_units = ex.config.gas.base_tx + ex.config.gas.swap_constant_product;
    let mut groups: Vec<((u16, u16), Vec<Tx>)> = Vec::new();
    for tx in txs {
        let (a, b) = (tx.legs[0].token_in.0, tx.legs[tx.legs.len() - 1].token_out.0);
        let key = (a.min(b), a.max(b));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(tx),
            None => groups.push((key, vec![tx])),
        }
    }
    for ((lo, _), orders) in groups {
        // admission: what cannot execute leaves before the clearing
        let mut live: Vec<Tx> = Vec::new();
        let mut room = ex.gas.gas_limit.saturating_sub(ex.gas.gas_used);
        for tx in orders {
            let (payer, gas_payer) = ex.payers(tx.sender);
            let tip = crate::builder::tip(&tx, ex.gas.base_fee_wei);
            let fee = u128::from(gas_units).saturating_mul(ex.gas.base_fee_wei.saturating_add(tip));
            let reason = if ex.block > tx.deadline_block {
                Some("expired")
            } else if tx.max_fee_wei < ex.gas.base_fee_wei {
                Some("max fee below base fee")
            } else if room < gas_units {
                Some("block full")
            } else if ex.ledger.balance(gas_payer, ex.config.native) < fee {
                Some("cannot pay gas")
            } else if ex.ledger.balance(payer, tx.legs[0].token_in) < tx.amount_in {
                Some("insufficient balance")
            } else {
                None
            };
            match reason {
                Some(r) => out.push((tx, dropped(r))),
                None => {
                    room -= gas_units;
                    live.push(tx);
                }
            }
        }
        // clearing: drop the order with the most demanding limit until every limit holds
        let clearing = loop {
            if live.is_empty() {
                break None;
            }
            let Some(c) = clear_pair(ex, &live, lo) else {
                for tx in live.drain(..) {
                    out.push((tx, dropped("batch cannot clear")));
                }
                break None;
            };
            let worst = live
                .iter()
                .enumerate()
                .filter(|(_, t)| c.received(t, lo) < t.min_out)
                .max_by(|(_, x), (_, y)| {
                    let limit = |t: &Tx| u128_to_f64(t.min_out) / u128_to_f64(t.amount_in.max(1));
                    limit(x).total_cmp(&limit(y))
                })
                .map(|(k, _)| k);
            match worst {
                Some(k) => {
                    let tx = live.remove(k);
                    out.push((tx, dropped("limit not met at the batch price")));
                }
                None => break Some(c),
            }
        };
        let Some(c) = clearing else { continue };
        // execution: gas and custody, the residual once from the settlement account, payouts
        let mut fees = Vec::with_capacity(live.len());
        for tx in &live {
            let (payer, gas_payer) = ex.payers(tx.sender);
            let tip = crate::builder::tip(tx, ex.gas.base_fee_wei);
            let fee = ex.charge_gas(gas_payer, gas_units, tip).unwrap_or(0);
            let _moved = ex.ledger.transfer(payer, settlement, tx.legs[0].token_in, tx.amount_in);
            debug_assert!(_moved.is_ok(), "admission checked the balance");
            fees.push(fee);
        }
        if c.residual.1 > 0 {
            let path = if c.residual.0 { c.path_a.clone() } else { reverse(&c.path_a) };
            for (leg, hop) in path.iter().zip(&c.quotes) {
                let settled = ex.settle_hop(settlement, leg, hop, &live[0]);
                debug_assert!(settled.is_ok(), "the clearing quoted this hop on the same pools");
            }
        }
        for (tx, fee) in live.into_iter().zip(fees) {
            let (payer, _) = ex.payers(tx.sender);
            let received = c.received(&tx, lo);
            let token_out = tx.legs[tx.legs.len() - 1].token_out;
            let _paid = ex.ledger.transfer(settlement, payer, token_out, received);
            debug_assert!(_paid.is_ok(), "the settlement holds each side's total");
            // the residual's side shares its pool fees pro rata (for cost accounting); the
            // other side was filled entirely by netting and paid none
            let sells_a = tx.legs[0].token_in.0 == lo;
            let side = if sells_a { c.sum_a } else { c.sum_b };
            let share = |q: &SwapQuote| SwapQuote { lp_fee: mul_div_floor(q.lp_fee, tx.amount_in, side), ..*q };
            let quotes = if sells_a == c.residual.0 { c.quotes.iter().map(share).collect() } else { Quotes::new() };
            let amount_in = tx.amount_in;
            out.push((
                tx,
                Executed { outcome: Outcome::Success { amount_out: received }, gas_units, fee, quotes, amount_in },
            ));
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

fn reverse(legs: &[Leg]) -> Vec<Leg> {
    legs.iter()
        .rev()
        .map(|l| Leg { pool: l.pool, i: l.j, j: l.i, token_in: l.token_out, token_out: l.token_in })
        .collect()
}

/// Execute phase.
#[allow(clippy::too_many_arguments)] // one system owns execution; splitting it would split the transaction
pub fn execute_block(
    mut plan: ResMut<BlockPlan>,
    mut pools: Query<&mut PoolEntry>,
    index: Res<PoolIndex>,
    mut ledger: ResMut<Ledger>,
    mut gas: ResMut<GasMarket>,
    prices: Res<ExternalPrices>,
    config: Res<SimConfig>,
    mut dirty: ResMut<DirtyPools>,
    mut provenance: ResMut<Provenance>,
    clock: Res<BlockClock>,
    mut records: ResMut<Records>,
    mut metrics: ResMut<Metrics>,
    mut cascades: ResMut<CascadeTracker>,
) {
    let mut ex = Executor {
        pools: &mut pools,
        index: &index,
        ledger: &mut ledger,
        gas: &mut gas,
        prices: &prices,
        config: &config,
        dirty: &mut dirty,
        provenance: &mut provenance,
        block: clock.number,
    };
    let mut results: Results = Vec::new();
    let mut effects = BundleEffects::default();
    for item in std::mem::take(&mut plan.0) {
        match item {
            Item::Single(tx) => {
                let e = ex.run(&tx);
                results.push((tx, e));
            }
            Item::Bundle { bundle, victim } => run_bundle(&mut ex, &bundle, victim, &mut results, &mut effects),
            Item::Batch(txs) => run_batch(&mut ex, txs, &mut results),
        }
    }
    for tx in std::mem::take(&mut effects.deferred) {
        let e = ex.run(&tx);
        results.push((tx, e));
    }
    let vault_previous = ex.dirty.vault_previous.clone();
    // who sent each transaction of the block, so that MEV can be charged to its victim
    let mut senders: Vec<(crate::tx::TxId, Sender)> = results.iter().map(|(t, _)| (t.id, t.sender)).collect();
    senders.sort_unstable_by_key(|x| x.0);
    let mut position = 0u32;
    for (tx, Executed { outcome, gas_units, fee, quotes, amount_in }) in results {
        let (reverted, amount_out, reason) = match outcome {
            Outcome::Success { amount_out } => (false, amount_out, String::new()),
            Outcome::Reverted { reason } => (true, 0, reason),
            Outcome::Dropped { reason } => {
                metrics.on_dropped(&tx, reason);
                continue;
            }
        };
        let gas_value = prices.value(config.native, fee);
        let first = tx.legs[0];
        let last = tx.legs[tx.legs.len() - 1];
        let value_out = prices.value(last.token_out, amount_out);
        let value_in = prices.value(first.token_in, amount_in);
        let profit = if reverted { -gas_value } else { value_out - value_in - gas_value };
        metrics.on_trade(
            &tx,
            reverted.then_some(reason.as_str()),
            profit,
            gas_value,
            &prices,
            &quotes,
            &vault_previous,
        );
        if let Sender::Agent(a) = tx.sender
            && let Some(k) = effects.bids.iter().position(|(b, _)| *b == a)
            && tx.kind.is_mev()
        {
            // a builder bid is charged with the first of its bundle's transactions
            let (_, wei) = effects.bids.remove(k);
            metrics.on_bid(a, prices.value(config.native, wei));
        }
        if !reverted {
            if let Some((_, lost)) = effects.shortfalls.iter().find(|(id, _)| *id == tx.id) {
                metrics.on_sandwiched(tx.sender, prices.value(last.token_out, *lost));
            }
            if tx.kind.is_mev()
                && let crate::tx::Cause::Victim(v) = tx.cause
                && let Ok(k) = senders.binary_search_by_key(&v, |x| x.0)
            {
                metrics.on_mev(tx.sender, senders[k].1, profit, tx.kind);
            }
            let pools: SmallVec<[PoolId; 3]> = tx.legs.iter().map(|l| l.pool).collect();
            cascades.record(tx.id, tx.kind, clock.number, tx.cause.parents(), value_in, &pools);
        }
        if records.enabled {
            records.trades.push(TradeRow {
                block: clock.number,
                index: position,
                tx_id: tx.id,
                sender: tx.sender,
                kind: tx.kind,
                pools: tx.legs.iter().map(|l| l.pool).collect(),
                token_in: first.token_in,
                token_out: last.token_out,
                amount_in,
                amount_out,
                gas_used: gas_units,
                gas_fee_wei: fee,
                reverted,
                revert_reason: reason,
                profit,
                cause: tx.cause.clone(),
                note: tx.note.clone(),
                value_in,
            });
        }
        position += 1;
    }
}

impl Metrics {
    fn on_dropped(&mut self, tx: &Tx, reason: &'static str) {
        self.dropped += 1;
        if let Sender::Vault(v) = tx.sender
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.failed += 1;
            m.last_failure = reason.to_string();
        }
    }

    /// A searcher's profit from a victim's transaction. A back-run does not hurt its victim: it
    /// takes the value the victim's price impact left in the pool, so for a vault it counts as
    /// arbitrage after its trades, like the plain arbitrageurs'.
    fn on_mev(&mut self, searcher: Sender, victim: Sender, profit: f64, kind: TxKind) {
        if let Sender::Agent(a) = searcher
            && let Some(m) = self.agents.get_mut(a.index())
        {
            m.mev_profit += profit;
        }
        if kind == TxKind::Backrun
            && let Sender::Vault(v) = victim
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.arbitrage_after += profit.max(0.0);
        }
    }

    /// A searcher paid `value` to the builder for a bundle.
    fn on_bid(&mut self, agent: meshsim_scenario::AgentId, value: f64) {
        if let Some(m) = self.agents.get_mut(agent.index()) {
            m.profit -= value;
            m.mev_profit -= value;
            m.bids_value += value;
        }
    }

    /// A vault's transaction ran inside a sandwich and lost `value` to the front-run.
    fn on_sandwiched(&mut self, victim: Sender, value: f64) {
        if let Sender::Vault(v) = victim
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.mev_loss += value;
            m.sandwiched += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_trade(
        &mut self,
        tx: &Tx,
        revert_reason: Option<&str>,
        profit: f64,
        gas_value: f64,
        prices: &ExternalPrices,
        quotes: &[SwapQuote],
        vault_previous: &[Option<meshsim_scenario::VaultId>],
    ) {
        self.transactions += 1;
        self.gas_value += gas_value;
        match tx.sender {
            Sender::Agent(a) => {
                if let Some(agent) = self.agents.get_mut(a.index()) {
                    agent.profit += profit;
                    agent.gas_value += gas_value;
                    agent.transactions += 1;
                }
            }
            Sender::Vault(v) => {
                if let Some(m) = self.vaults.get_mut(v.index()) {
                    m.gas_value += gas_value;
                    m.transactions += 1;
                    if let Some(reason) = revert_reason {
                        m.failed += 1;
                        reason.clone_into(&mut m.last_failure);
                    } else {
                        // execution cost at external prices, split into LP fees and price impact
                        let fees: f64 = tx
                            .legs
                            .iter()
                            .zip(quotes)
                            .map(|(l, q)| {
                                prices.value(if q.fee_in_output { l.token_out } else { l.token_in }, q.lp_fee)
                            })
                            .sum();
                        let cost = -(profit + gas_value);
                        m.turnover_value += prices.value(tx.legs[0].token_in, tx.amount_in);
                        m.fees += fees;
                        m.slippage += cost - fees;
                    }
                }
            }
        }
        if revert_reason.is_some() {
            self.reverted += 1;
            return;
        }
        let arbitrage = tx.kind.is_arbitrage();
        // a multi-hop profit is shared evenly among its pools
        let per_pool = profit / tx.legs.len() as f64;
        for (leg, q) in tx.legs.iter().zip(quotes) {
            let k = leg.pool.index();
            if let Some(p) = self.pools.get_mut(k) {
                p.trades += 1;
                if arbitrage {
                    p.arbitrage_profit += per_pool;
                }
                p.volume += prices.value(leg.token_in, q.amount_in);
                let fee_token = if q.fee_in_output { leg.token_out } else { leg.token_in };
                p.fees += prices.value(fee_token, q.lp_fee);
            }
            // arbitrage right after a vault moved this pool is value the vault's trade leaked
            if arbitrage
                && let Some(Some(v)) = vault_previous.get(k)
                && let Some(m) = self.vaults.get_mut(v.index())
            {
                m.arbitrage_after += per_pool.max(0.0);
            }
        }
    }
}
