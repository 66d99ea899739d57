//! Execute phase: transactions run one by one, in block order, against the pools and the ledger.
//! Expired transactions are dropped; gas is charged first (base fee burned, priority fee to the
//! proposer); a swap whose output falls short of its minimum reverts and still pays gas; what
//! does not fit the block gas limit, or cannot pay its gas, is dropped.

use bevy_ecs::prelude::*;
use meshsim_math::SwapQuote;

use crate::chain::{BlockClock, GasMarket};
use crate::ledger::{AccountId, Ledger, Special};
use crate::market::ExternalPrices;
use crate::metrics::Metrics;
use crate::pools::{DirtyPools, PoolEntry, PoolIndex};
use crate::record::{Records, TradeRow};
use crate::sim_config::SimConfig;
use crate::tx::{BlockTxs, Sender, Tx, TxKind};

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
type Quotes = smallvec::SmallVec<[SwapQuote; 3]>;

/// A transaction's result with its gas and the hops it executed.
struct Executed {
    outcome: Outcome,
    gas_units: u64,
    fee: u128,
    quotes: Quotes,
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
    block: u64,
}

impl Executor<'_, '_, '_, '_> {
    fn entry(&self, id: meshsim_scenario::PoolId) -> Option<&PoolEntry> {
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

    /// Quotes every hop in order; the pools of a path are distinct, so no hop sees another's effect.
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
        let dropped =
            |reason| Executed { outcome: Outcome::Dropped { reason }, gas_units: 0, fee: 0, quotes: Quotes::new() };
        if self.block > tx.deadline_block {
            return dropped("expired");
        }
        let (payer, gas_payer) = self.payers(tx.sender);
        let (quotes, gas_units, failure) = match self.quote(tx) {
            Ok((q, g)) => (q, g, None),
            // a transaction that fails in the pool still burns the gas of trying one hop
            Err(reason) => {
                (Quotes::new(), self.config.gas.base_tx + self.config.gas.swap_constant_product, Some(reason))
            }
        };
        if self.gas.gas_used + gas_units > self.gas.gas_limit {
            return dropped("block gas limit");
        }
        let fee = u128::from(gas_units).saturating_mul(self.gas.base_fee_wei.saturating_add(tx.priority_fee_wei));
        let native = self.config.native;
        if self.ledger.balance(gas_payer, native) < fee {
            return dropped("cannot pay gas");
        }
        // charge gas up front: base fee burned, tip to the proposer
        let burn = u128::from(gas_units) * self.gas.base_fee_wei;
        let layout = self.config.layout;
        let charged = self
            .ledger
            .transfer(gas_payer, layout.special(Special::Burn), native, burn)
            .and_then(|_| self.ledger.transfer(gas_payer, layout.special(Special::Proposer), native, fee - burn));
        if charged.is_err() {
            return dropped("cannot pay gas");
        }
        self.gas.gas_used += gas_units;
        let reverted =
            |reason: String| Executed { outcome: Outcome::Reverted { reason }, gas_units, fee, quotes: Quotes::new() };
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
        // apply: each hop moves tokens payer -> pool -> payer
        for (leg, q) in tx.legs.iter().zip(&quotes) {
            let Some(&e) = self.index.0.get(leg.pool.index()) else { continue };
            let Ok(mut entry) = self.pools.get_mut(e) else { continue };
            let applied = entry.pool.swap_exact_in(leg.i.into(), leg.j.into(), q.amount_in);
            debug_assert_eq!(applied.as_ref().ok(), Some(q), "a quoted swap must apply identically");
            let pool_acct = entry.account;
            let moved = self
                .ledger
                .transfer(payer, pool_acct, leg.token_in, q.amount_in)
                .and_then(|_| self.ledger.transfer(pool_acct, payer, leg.token_out, q.amount_out))
                .and_then(|_| {
                    self.ledger.transfer(
                        pool_acct,
                        layout.special(Special::Protocol),
                        leg.token_out,
                        q.protocol_fee_out,
                    )
                });
            if let Err(e) = moved {
                // cannot happen: balances were checked and pools hold what they pay
                return reverted(format!("ledger: {e}"));
            }
            let k = leg.pool.index();
            self.dirty.current[k] = true;
            if let Sender::Vault(v) = tx.sender {
                self.dirty.vault_current[k] = Some(v);
            }
        }
        if tx.hedge {
            let last = tx.legs[tx.legs.len() - 1];
            let back = (meshsim_math::u128_to_f64(out) * self.prices.rate(last.token_out, token_in)) as u128;
            let cex = layout.special(Special::Cex);
            let hedged = self
                .ledger
                .transfer(payer, cex, last.token_out, out)
                .and_then(|_| self.ledger.transfer(cex, payer, token_in, back));
            if let Err(e) = hedged {
                return reverted(format!("cex hedge: {e}"));
            }
        }
        Executed { outcome: Outcome::Success { amount_out: out }, gas_units, fee, quotes }
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
        block: clock.number,
    };
    let mut position = 0u32;
    for tx in &block.0 {
        let Executed { outcome, gas_units, fee, quotes } = ex.run(tx);
        let (reverted, amount_out, reason) = match outcome {
            Outcome::Success { amount_out } => (false, amount_out, String::new()),
            Outcome::Reverted { reason } => (true, 0, reason),
            Outcome::Dropped { reason } => {
                metrics.on_dropped(tx, reason);
                continue;
            }
        };
        let gas_value = prices.value(config.native, fee);
        let first = tx.legs[0];
        let last = tx.legs[tx.legs.len() - 1];
        let value_out = prices.value(last.token_out, amount_out);
        let value_in = prices.value(first.token_in, tx.amount_in);
        let profit = if reverted { -gas_value } else { value_out - value_in - gas_value };
        metrics.on_trade(tx, reverted, profit, gas_value, &prices, &quotes, &ex.dirty.vault_previous);
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
    fn on_dropped(&mut self, tx: &Tx, reason: &'static str) {
        self.dropped += 1;
        if let Sender::Vault(v) = tx.sender
            && let Some(m) = self.vaults.get_mut(v.index())
        {
            m.failed += 1;
            m.last_failure = reason.to_string();
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
        let arbitrage = matches!(tx.kind, TxKind::Arbitrage | TxKind::CycleArbitrage);
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
