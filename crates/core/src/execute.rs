//! Execute phase: transactions run one by one, in block order, against the pools and the ledger.
//! Gas is charged first (base fee burned, priority fee to the proposer); a swap whose output
//! falls short of its minimum reverts and still pays gas; what does not fit the block gas limit,
//! or cannot pay its gas, is dropped.

use bevy_ecs::prelude::*;
use meshsim_math::SwapQuote;

use crate::chain::{BlockClock, GasMarket};
use crate::ledger::{Ledger, Special};
use crate::market::ExternalPrices;
use crate::metrics::Metrics;
use crate::pools::{DirtyPools, PoolEntry, PoolIndex};
use crate::record::{Records, TradeRow};
use crate::sim_config::SimConfig;
use crate::tx::{BlockTxs, Tx};

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
    /// Not included (no gas space, or cannot pay gas).
    Dropped {
        /// Why.
        reason: &'static str,
    },
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
}

impl Executor<'_, '_, '_, '_> {
    fn entry(&self, id: meshsim_scenario::PoolId) -> Option<&PoolEntry> {
        self.pools.get(*self.index.0.get(id.index())?).ok()
    }

    /// Quotes every hop in order; pools in a cycle are distinct, so no hop sees another's effect.
    fn quote(&self, tx: &Tx) -> Result<(Quotes, u64), String> {
        let mut quotes = Quotes::new();
        let mut gas = self.config.gas.base_tx;
        let mut a = tx.amount_in;
        for leg in &tx.legs {
            let entry = self.entry(leg.pool).ok_or("unknown pool")?;
            let q = entry.pool.quote_exact_in(leg.i.into(), leg.j.into(), a).map_err(|e| e.to_string())?;
            if q.amount_in < a {
                return Err("insufficient liquidity".into());
            }
            gas += hop_gas(&self.config.gas, entry, q.ticks_crossed);
            a = q.amount_out;
            quotes.push(q);
        }
        Ok((quotes, gas))
    }

    fn run(&mut self, tx: &Tx) -> Executed {
        let sender = self.config.layout.agent(tx.sender);
        let (quotes, gas_units, failure) = match self.quote(tx) {
            Ok((q, g)) => (q, g, None),
            // a transaction that fails in the pool still burns the gas of trying one hop
            Err(reason) => {
                (Quotes::new(), self.config.gas.base_tx + self.config.gas.swap_constant_product, Some(reason))
            }
        };
        let done = |outcome, gas_units, fee, quotes| Executed { outcome, gas_units, fee, quotes };
        if self.gas.gas_used + gas_units > self.gas.gas_limit {
            return done(Outcome::Dropped { reason: "block gas limit" }, 0, 0, Quotes::new());
        }
        let fee_per_gas = self.gas.base_fee_wei.saturating_add(tx.priority_fee_wei);
        let fee = u128::from(gas_units).saturating_mul(fee_per_gas);
        let native = self.config.native;
        if self.ledger.balance(sender, native) < fee {
            return done(Outcome::Dropped { reason: "cannot pay gas" }, 0, 0, Quotes::new());
        }
        // charge gas up front: base fee burned, tip to the proposer
        let burn = u128::from(gas_units) * self.gas.base_fee_wei;
        let tip = fee - burn;
        let charged = self
            .ledger
            .transfer(sender, self.config.layout.special(Special::Burn), native, burn)
            .and_then(|_| self.ledger.transfer(sender, self.config.layout.special(Special::Proposer), native, tip));
        if charged.is_err() {
            return done(Outcome::Dropped { reason: "cannot pay gas" }, 0, 0, Quotes::new());
        }
        self.gas.gas_used += gas_units;
        if let Some(reason) = failure {
            return done(Outcome::Reverted { reason }, gas_units, fee, Quotes::new());
        }
        let out = quotes.last().map_or(0, |q| q.amount_out);
        if out < tx.min_out {
            return done(
                Outcome::Reverted { reason: format!("output {out} below minimum {}", tx.min_out) },
                gas_units,
                fee,
                Quotes::new(),
            );
        }
        let token_in = tx.legs[0].token_in;
        if self.ledger.balance(sender, token_in) < tx.amount_in {
            return done(Outcome::Reverted { reason: "insufficient balance".into() }, gas_units, fee, Quotes::new());
        }
        // apply: each hop moves tokens sender -> pool -> sender
        for (leg, q) in tx.legs.iter().zip(&quotes) {
            let Some(&e) = self.index.0.get(leg.pool.index()) else {
                continue;
            };
            let Ok(mut entry) = self.pools.get_mut(e) else {
                continue;
            };
            let applied = entry.pool.swap_exact_in(leg.i.into(), leg.j.into(), q.amount_in);
            debug_assert_eq!(applied.as_ref().ok(), Some(q), "a quoted swap must apply identically");
            let pool_acct = entry.account;
            let moved = self
                .ledger
                .transfer(sender, pool_acct, leg.token_in, q.amount_in)
                .and_then(|_| self.ledger.transfer(pool_acct, sender, leg.token_out, q.amount_out))
                .and_then(|_| {
                    self.ledger.transfer(
                        pool_acct,
                        self.config.layout.special(Special::Protocol),
                        leg.token_out,
                        q.protocol_fee_out,
                    )
                });
            if let Err(e) = moved {
                // cannot happen: balances were checked and pools hold what they pay
                return done(Outcome::Reverted { reason: format!("ledger: {e}") }, gas_units, fee, Quotes::new());
            }
            self.dirty.current[leg.pool.index()] = true;
        }
        if tx.hedge {
            let last = tx.legs[tx.legs.len() - 1];
            let back = (out as f64 * self.prices.rate(last.token_out, token_in)) as u128;
            let cex = self.config.layout.special(Special::Cex);
            let hedged = self
                .ledger
                .transfer(sender, cex, last.token_out, out)
                .and_then(|_| self.ledger.transfer(cex, sender, token_in, back));
            if let Err(e) = hedged {
                return done(Outcome::Reverted { reason: format!("cex hedge: {e}") }, gas_units, fee, Quotes::new());
            }
        }
        done(Outcome::Success { amount_out: out }, gas_units, fee, quotes)
    }
}

/// A transaction's result with its gas and the hops it executed.
struct Executed {
    outcome: Outcome,
    gas_units: u64,
    fee: u128,
    quotes: Quotes,
}

/// Quotes of a path's hops (inline for up to three).
type Quotes = smallvec::SmallVec<[SwapQuote; 3]>;

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

/// Execute phase.
#[allow(clippy::too_many_arguments)] // one system owns execution; splitting it would split the transaction
pub fn execute_transactions(
    block: Res<BlockTxs>,
    mut pools: Query<&mut PoolEntry>,
    index: Res<PoolIndex>,
    mut ledger: ResMut<Ledger>,
    mut gas: ResMut<GasMarket>,
    prices: Res<ExternalPrices>,
    config: Res<SimConfig>,
    mut dirty: ResMut<DirtyPools>,
    clock: Res<BlockClock>,
    mut records: ResMut<Records>,
    mut metrics: ResMut<Metrics>,
) {
    let mut ex = Executor {
        pools: &mut pools,
        index: &index,
        ledger: &mut ledger,
        gas: &mut gas,
        prices: &prices,
        config: &config,
        dirty: &mut dirty,
    };
    let mut position = 0u32;
    for tx in &block.0 {
        let Executed { outcome, gas_units, fee, quotes } = ex.run(tx);
        if matches!(outcome, Outcome::Dropped { .. }) {
            metrics.dropped += 1;
            continue;
        }
        let gas_value = prices.value(config.native, fee);
        let (reverted, amount_out, reason) = match &outcome {
            Outcome::Success { amount_out } => (false, *amount_out, String::new()),
            Outcome::Reverted { reason } => (true, 0, reason.clone()),
            Outcome::Dropped { .. } => continue,
        };
        let first = tx.legs[0];
        let last = tx.legs[tx.legs.len() - 1];
        let profit = if reverted {
            -gas_value
        } else if tx.hedge {
            // CEX-DEX: output valued at the external price minus input
            prices.value(last.token_out, amount_out) - prices.value(first.token_in, tx.amount_in) - gas_value
        } else {
            prices.value(first.token_in, amount_out) - prices.value(first.token_in, tx.amount_in) - gas_value
        };
        metrics.on_trade(tx, reverted, profit, gas_value, &prices, &quotes);
        if records.enabled {
            records.trades.push(TradeRow {
                block: clock.number,
                index: position,
                sender: tx.sender,
                kind: tx.kind,
                pools: tx.legs.iter().map(|l| l.pool).collect(),
                token_in: first.token_in,
                token_out: last.token_out,
                amount_in: tx.amount_in,
                amount_out,
                gas_used: gas_units,
                gas_fee_wei: fee,
                reverted,
                revert_reason: reason,
                profit,
            });
        }
        position += 1;
    }
}

impl Metrics {
    fn on_trade(
        &mut self,
        tx: &Tx,
        reverted: bool,
        profit: f64,
        gas_value: f64,
        prices: &ExternalPrices,
        quotes: &[SwapQuote],
    ) {
        self.transactions += 1;
        self.gas_value += gas_value;
        if let Some(agent) = self.agents.get_mut(tx.sender.index()) {
            agent.profit += profit;
            agent.gas_value += gas_value;
            agent.transactions += 1;
        }
        if reverted {
            self.reverted += 1;
            return;
        }
        // a multi-hop profit is shared evenly among its pools
        let per_pool = profit / tx.legs.len() as f64;
        for (leg, q) in tx.legs.iter().zip(quotes) {
            if let Some(p) = self.pools.get_mut(leg.pool.index()) {
                p.trades += 1;
                p.arbitrage_profit += per_pool;
                p.volume += prices.value(leg.token_in, q.amount_in);
                let fee_token = if q.fee_in_output { leg.token_out } else { leg.token_in };
                p.fees += prices.value(fee_token, q.lp_fee);
            }
        }
    }
}
