//! The run's totals as plain data: per pool, agent and vault, and overall. What fills them (from
//! receipts) is the metrics plugin's; the front ends' snapshot carries them.

use bevy_ecs::prelude::*;

use crate::tx::Failure;

/// Per-pool totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolMetrics {
    /// Successful transactions through the pool.
    pub trades: u64,
    /// Profit of arbitrageurs attributed to the pool, numeraire.
    pub arbitrage_profit: f64,
    /// Input volume, numeraire at execution.
    pub volume: f64,
    /// LP fees earned, numeraire at execution.
    pub fees: f64,
    /// `sum_k sum_i R_i,k (P_i,k+1 - P_i,k)`: the rebalancing portfolio's gain. The world's own
    /// totals hold the stretches of blocks closed by a change of the pool's balances; the copies
    /// read out through `Simulation::metrics` and snapshots also hold the open one
    /// ([`crate::metrics::HoldingsGain`]).
    pub holdings_gain: f64,
    /// Pool value at genesis, numeraire.
    pub initial_value: f64,
}

impl PoolMetrics {
    /// The LPs' loss against the rebalancing portfolio, net of the fees they earned, with the
    /// pool now worth `value_now` (its [`crate::PoolSnapshot::value`]):
    /// `sum_k R_k . (P_k+1 - P_k) - (V_now - V_0)`. With only arbitrageurs trading it equals
    /// their profit plus the gas they paid, path by path.
    pub fn loss_vs_rebalancing(&self, value_now: f64) -> f64 {
        self.holdings_gain - (value_now - self.initial_value)
    }

    /// Loss-versus-rebalancing before fees (Milionis et al.): the net loss plus the fees earned.
    /// Equals [`PoolMetrics::loss_vs_rebalancing`] in fee-free pools.
    pub fn lvr(&self, value_now: f64) -> f64 {
        self.loss_vs_rebalancing(value_now) + self.fees
    }
}

/// Per-agent totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentMetrics {
    /// Profit net of gas, numeraire at execution.
    pub profit: f64,
    /// Gas paid, numeraire.
    pub gas_value: f64,
    /// Transactions included.
    pub transactions: u64,
    /// Part of the profit made from other senders' transactions (MEV), numeraire.
    pub mev_profit: f64,
    /// Paid to the builder for bundles (builder auction), numeraire; already out of `profit`.
    pub bids_value: f64,
}

/// Per-vault totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VaultMetrics {
    /// Rebalances started.
    pub rebalances: u64,
    /// Rebalancing transactions included.
    pub transactions: u64,
    /// Rebalancing transactions that reverted or were dropped.
    pub failed: u64,
    /// Why the last one failed (or found no route).
    pub last_failure: Option<Failure>,
    /// Rebalances that found no route.
    pub no_route: u64,
    /// Value sold, numeraire at execution.
    pub turnover_value: f64,
    /// Of which sold through its resting book orders (passive fills), numeraire.
    pub passive_turnover: f64,
    /// Gas paid by the keeper, numeraire.
    pub gas_value: f64,
    /// LP fees paid, numeraire.
    pub fees: f64,
    /// Price impact and pool mispricing paid beyond fees, numeraire.
    pub slippage: f64,
    /// Arbitrage profit made in the next block on pools the vault moved, numeraire.
    pub arbitrage_after: f64,
    /// Deposits and withdrawals processed.
    pub deposits: u64,
    /// Withdrawals processed.
    pub withdrawals: u64,
    /// What its sandwiched transactions lost to the front-runs: the output each would have
    /// received alone less what it received, numeraire.
    pub mev_loss: f64,
    /// Its transactions that were sandwiched.
    pub sandwiched: u64,
    /// Sum over blocks of its tracking error at external prices.
    pub tracking_sum: f64,
    /// Largest tracking error seen.
    pub tracking_max: f64,
    /// Blocks measured.
    pub tracked_blocks: u64,
    /// Highest share price seen at external prices.
    pub peak_share_price: f64,
    /// Largest fall of the share price from its running peak, as a fraction.
    pub max_drawdown: f64,
    /// Rebalances put off because the yield leg's reserve was too utilized to withdraw from.
    pub lending_deferred: u64,
    /// Redemptions cut short because the yield leg's deposit could not be withdrawn in full.
    pub withdrawals_blocked: u64,
    /// Net amount supplied to the yield leg (supplied less withdrawn), base units.
    pub leg_principal: i128,
    /// Net amount a leveraged vault borrowed (borrowed less repaid), base units of its debt token.
    pub borrowed_principal: i128,
    /// Bridge and relayer fees paid moving value between chains, numeraire.
    pub bridge_fees: f64,
    /// Gas paid by the keeper on each chain, numeraire, by chain id.
    pub gas_by_chain: Vec<f64>,
}

impl VaultMetrics {
    /// Time-average tracking error.
    pub fn tracking_mean(&self) -> f64 {
        if self.tracked_blocks == 0 { 0.0 } else { self.tracking_sum / self.tracked_blocks as f64 }
    }

    /// What rebalancing cost it, numeraire: gas, LP fees, price impact, sandwich losses and
    /// bridge fees.
    pub fn cost(&self) -> f64 {
        self.gas_value + self.fees + self.slippage + self.mev_loss + self.bridge_fees
    }
}

/// Run totals.
#[derive(Component, Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// By pool id.
    pub pools: Vec<PoolMetrics>,
    /// By agent id.
    pub agents: Vec<AgentMetrics>,
    /// By vault id.
    pub vaults: Vec<VaultMetrics>,
    /// Transactions included.
    pub transactions: u64,
    /// Of which reverted.
    pub reverted: u64,
    /// Not included.
    pub dropped: u64,
    /// Left the mempool past their deadline.
    pub expired: u64,
    /// Gas paid by everyone, numeraire.
    pub gas_value: f64,
    /// Each order book's quote token (its fees are paid in it), by book id.
    pub book_quotes: Vec<meshsim_scenario::TokenId>,
}
