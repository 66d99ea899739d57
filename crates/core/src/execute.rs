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
        let Some(fee) = self.charge_gas(gas_payer, gas_units, tx.priority_fee_wei) else {
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

fn run_bundle(ex: &mut Executor<'_, '_, '_, '_>, bundle: &Bundle, victim: Option<Tx>, out: &mut Results) {
    let order: Vec<&Tx> = bundle.before.iter().chain(victim.as_ref()).chain(&bundle.after).collect();
    let ok = ex.simulate(&order);
    let own_ok = order.iter().zip(&ok).all(|(t, good)| *good || victim.as_ref().is_some_and(|v| v.id == t.id));
    if !own_ok {
        // all or nothing: the searcher's part is dropped, the victim runs alone
        if let Some(v) = victim {
            let e = ex.run(&v);
            out.push((v, e));
        }
        return;
    }
    for tx in bundle.before.iter().chain(victim.as_ref()).chain(&bundle.after) {
        let e = ex.run(tx);
        out.push((tx.clone(), e));
    }
    // the bid goes to the builder (proposer)
    let searcher = ex.config.layout.agent(bundle.searcher);
    let proposer = ex.config.layout.special(Special::Proposer);
    let _ = ex.ledger.transfer(searcher, proposer, ex.config.native, bundle.bid_wei);
}

/// Batch auction: orders of each token pair net against each other at one uniform price; the
/// remainder trades through the first order's path in the remainder's direction.
fn run_batch(ex: &mut Executor<'_, '_, '_, '_>, txs: Vec<Tx>, out: &mut Results) {
    let settlement = ex.config.layout.special(Special::Settlement);
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
        // gas first, per order, and custody moves to the settlement account
        let mut live: Vec<(Tx, u64, u128)> = Vec::new();
        for tx in orders {
            let (payer, gas_payer) = ex.payers(tx.sender);
            let gas_units = ex.config.gas.base_tx + ex.config.gas.swap_constant_product;
            if ex.block > tx.deadline_block {
                out.push((
                    tx,
                    Executed {
                        outcome: Outcome::Dropped { reason: "expired" },
                        gas_units: 0,
                        fee: 0,
                        quotes: Quotes::new(),
                        amount_in: 0,
                    },
                ));
                continue;
            }
            let Some(fee) = ex.charge_gas(gas_payer, gas_units, tx.priority_fee_wei) else {
                out.push((
                    tx,
                    Executed {
                        outcome: Outcome::Dropped { reason: "cannot pay gas" },
                        gas_units: 0,
                        fee: 0,
                        quotes: Quotes::new(),
                        amount_in: 0,
                    },
                ));
                continue;
            };
            if ex.ledger.transfer(payer, settlement, tx.legs[0].token_in, tx.amount_in).is_err() {
                out.push((
                    tx.clone(),
                    Executed {
                        outcome: Outcome::Reverted { reason: "insufficient balance".into() },
                        gas_units,
                        fee,
                        quotes: Quotes::new(),
                        amount_in: tx.amount_in,
                    },
                ));
                continue;
            }
            live.push((tx, gas_units, fee));
        }
        if live.is_empty() {
            continue;
        }
        let (sell_a, sell_b): (Vec<&(Tx, u64, u128)>, Vec<&(Tx, u64, u128)>) =
            live.iter().partition(|(t, _, _)| t.legs[0].token_in.0 == lo);
        let sum_a: u128 = sell_a.iter().map(|(t, _, _)| t.amount_in).sum();
        let sum_b: u128 = sell_b.iter().map(|(t, _, _)| t.amount_in).sum();
        // the residual side and its path (an order's own path, or its reverse)
        let path_a: Option<Vec<Leg>> = sell_a
            .first()
            .map(|(t, _, _)| t.legs.to_vec())
            .or_else(|| sell_b.first().map(|(t, _, _)| reverse(&t.legs)));
        let Some(path_a) = path_a else { continue };
        let path_b = reverse(&path_a);
        let mid: f64 = path_a
            .iter()
            .filter_map(|l| ex.entry(l.pool).map(|e| e.pool.marginal_price(l.i.into(), l.j.into())))
            .product();
        // residual of A (positive) or of B (negative) at a fixed point of the execution price
        let (fa, fb) = (u128_to_f64(sum_a), u128_to_f64(sum_b));
        let mut price = mid; // B per A
        let mut residual: (bool, u128) = (true, 0);
        for _ in 0..4 {
            let excess_a = fa - fb / price;
            residual = if excess_a >= 0.0 { (true, excess_a as u128) } else { (false, (-excess_a * price) as u128) };
            let (path, amount) = if residual.0 { (&path_a, residual.1) } else { (&path_b, residual.1) };
            if amount == 0 {
                break;
            }
            let Ok((q, _)) = ex.quote_on(&[], path, amount) else { break };
            let got = q.last().map_or(0, |x| x.amount_out);
            if got == 0 {
                break;
            }
            price = if residual.0 {
                u128_to_f64(got) / u128_to_f64(amount)
            } else {
                u128_to_f64(amount) / u128_to_f64(got)
            };
        }
        // the remainder touches the pools once, from the settlement account
        let mut quotes = Quotes::new();
        let (mut total_a, mut total_b) = (sum_a, sum_b);
        if residual.1 > 0 {
            let path = if residual.0 { &path_a } else { &path_b };
            let holder = Tx::new(
                live[0].0.sender,
                0,
                TxKind::Rebalance,
                0,
                path.iter().copied().collect(),
                residual.1,
                0,
                ex.block,
            );
            let Ok((q, _)) = ex.quote_on(&[], path, residual.1) else { continue };
            let mut settled = true;
            for (leg, hop) in path.iter().zip(&q) {
                let mut mover = holder.clone();
                mover.id = live[0].0.id;
                if ex.settle_hop(settlement, leg, hop, &mover).is_err() {
                    settled = false;
                }
            }
            if !settled {
                continue;
            }
            let got = q.last().map_or(0, |x| x.amount_out);
            if residual.0 {
                total_a -= residual.1;
                total_b += got;
            } else {
                total_b -= residual.1;
                total_a += got;
            }
            quotes = q;
        }
        // every order gets the same price for its side, rounded down; dust stays in settlement
        for (tx, gas_units, fee) in &live {
            let (payer, _) = ex.payers(tx.sender);
            let (received, token_out) = if tx.legs[0].token_in.0 == lo {
                (mul_div_floor(tx.amount_in, total_b, sum_a), tx.legs[tx.legs.len() - 1].token_out)
            } else {
                (mul_div_floor(tx.amount_in, total_a, sum_b), tx.legs[tx.legs.len() - 1].token_out)
            };
            let executed = if received < tx.min_out {
                // refund the input: the order fails its own limit
                let _ = ex.ledger.transfer(settlement, payer, tx.legs[0].token_in, tx.amount_in);
                Executed {
                    outcome: Outcome::Reverted {
                        reason: format!("batch price gives {received} below minimum {}", tx.min_out),
                    },
                    gas_units: *gas_units,
                    fee: *fee,
                    quotes: Quotes::new(),
                    amount_in: tx.amount_in,
                }
            } else {
                let _ = ex.ledger.transfer(settlement, payer, token_out, received);
                // its pro-rata share of the remainder's fees, for cost accounting
                let share = |q: &SwapQuote| SwapQuote {
                    lp_fee: mul_div_floor(
                        q.lp_fee,
                        tx.amount_in,
                        if tx.legs[0].token_in.0 == lo { sum_a } else { sum_b },
                    ),
                    ..*q
                };
                Executed {
                    outcome: Outcome::Success { amount_out: received },
                    gas_units: *gas_units,
                    fee: *fee,
                    quotes: quotes.iter().map(share).collect(),
                    amount_in: tx.amount_in,
                }
            };
            out.push((tx.clone(), executed));
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
    for item in std::mem::take(&mut plan.0) {
        match item {
            Item::Single(tx) => {
                let e = ex.run(&tx);
                results.push((tx, e));
            }
            Item::Bundle { bundle, victim } => run_bundle(&mut ex, &bundle, victim, &mut results),
            Item::Batch(txs) => run_batch(&mut ex, txs, &mut results),
        }
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
        metrics.on_trade(&tx, reverted, profit, gas_value, &prices, &quotes, &vault_previous);
        if !reverted {
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

    fn on_mev(&mut self, searcher: Sender, victim: Sender, profit: f64, kind: TxKind) {
        if let Sender::Agent(a) = searcher
            && let Some(m) = self.agents.get_mut(a.index())
        {
            m.mev_profit += profit;
        }
        if let Sender::Vault(v) = victim
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.mev_loss += profit;
            if kind == TxKind::SandwichFront {
                m.sandwiched += 1;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_trade(
        &mut self,
        tx: &Tx,
        reverted: bool,
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
                    if reverted {
                        m.failed += 1;
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
        if reverted {
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
