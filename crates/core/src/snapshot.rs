//! Plain data copies of the simulation state for front ends.

use meshsim_math::PoolKind;
use meshsim_scenario::{AgentId, PoolId, TokenId};

use crate::metrics::totals::Metrics;

/// The state at the end of a block; each plugin fills its part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Block number (0 before the first block).
    pub block: u64,
    /// Seconds since genesis.
    pub timestamp: f64,
    /// Base fee of the next block, wei.
    pub base_fee_wei: u128,
    /// Tokens by id.
    pub tokens: Vec<TokenSnapshot>,
    /// Pools by id.
    pub pools: Vec<PoolSnapshot>,
    /// Agents by id.
    pub agents: Vec<AgentSnapshot>,
    /// Vaults by id.
    pub vaults: Vec<VaultSnapshot>,
    /// Oracle readings by oracle id, numeraire per whole token.
    pub oracle_prices: Vec<f64>,
    /// Transactions waiting in the mempool, by id.
    pub pending: Vec<crate::tx::Tx>,
    /// Totals.
    pub metrics: Metrics,
    /// Lending markets by id.
    pub lending: Vec<MarketSnapshot>,
    /// Each chain's clock and gas, by chain id.
    pub chains: Vec<ChainSnapshot>,
    /// Bridges and their transfers in flight, by id.
    pub bridges: Vec<BridgeSnapshot>,
    /// Order books, by id.
    pub books: Vec<BookSnapshot>,
}

/// An order book: its best levels and totals.
#[derive(Debug, Clone, PartialEq)]
pub struct BookSnapshot {
    /// Id.
    pub id: meshsim_scenario::BookId,
    /// Name.
    pub name: String,
    /// Base token.
    pub base: meshsim_scenario::TokenId,
    /// Quote token.
    pub quote: meshsim_scenario::TokenId,
    /// Best bid levels, best first: (tick, lots).
    pub bids: Vec<(u64, u64)>,
    /// Best ask levels, best first: (tick, lots).
    pub asks: Vec<(u64, u64)>,
    /// Base units per lot.
    pub lot_size: u128,
    /// Quote base units per whole base token per tick.
    pub tick_size: u128,
    /// Totals.
    pub stats: crate::books::state::BookStats,
}

/// One chain's clock and gas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainSnapshot {
    /// Its block number.
    pub block: u64,
    /// Its latest block's time, seconds since genesis.
    pub timestamp: f64,
    /// Base fee of its next block, wei.
    pub base_fee_wei: u128,
}

/// A lending market.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSnapshot {
    /// Id.
    pub id: meshsim_scenario::MarketId,
    /// Name.
    pub name: String,
    /// Reserves in file order.
    pub reserves: Vec<ReserveSnapshot>,
    /// Positions that owe something.
    pub borrowers: u32,
    /// Of those, with a health factor below 1 at this block's prices.
    pub under_water: u32,
    /// Lowest health factor among positions that owe something (infinite without any).
    pub lowest_health: f64,
}

/// One reserve of a lending market.
#[derive(Debug, Clone, PartialEq)]
pub struct ReserveSnapshot {
    /// Token.
    pub token: TokenId,
    /// The oracle price the market uses, numeraire per whole token.
    pub price: f64,
    /// Utilization, 0 to 1.
    pub utilization: f64,
    /// Variable borrow rate a year.
    pub borrow_rate: f64,
    /// Supply rate a year.
    pub supply_rate: f64,
    /// Underlying held, base units.
    pub available: u128,
    /// Owed by borrowers, base units.
    pub borrowed: u128,
    /// Bad debt written off, base units.
    pub deficit: u128,
    /// Liquidations that repaid this reserve's debt.
    pub liquidations: u64,
}

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSnapshot {
    /// Symbol.
    pub symbol: String,
    /// Decimals.
    pub decimals: u8,
    /// External price, numeraire per whole token.
    pub price: f64,
}

/// A pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSnapshot {
    /// Id.
    pub id: PoolId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: PoolKind,
    /// Tokens.
    pub tokens: Vec<TokenId>,
    /// Balances, base units.
    pub balances: Vec<u128>,
    /// Marginal price of token0 in token1, whole units.
    pub price: f64,
    /// `price / external - 1`.
    pub deviation: f64,
    /// Fee fraction.
    pub fee: f64,
    /// Value at external prices, numeraire.
    pub value: f64,
}

/// An agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSnapshot {
    /// Id.
    pub id: AgentId,
    /// Name.
    pub name: String,
    /// Behaviour.
    pub kind: &'static str,
    /// Balances by token id, base units.
    pub balances: Vec<u128>,
    /// Profit net of gas so far, numeraire.
    pub profit: f64,
}

/// A vault.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultSnapshot {
    /// Id.
    pub id: meshsim_scenario::VaultId,
    /// Name.
    pub name: String,
    /// Tokens it values, by id.
    pub tokens: Vec<TokenId>,
    /// Balances, base units, per token above.
    pub balances: Vec<u128>,
    /// NAV at external prices.
    pub nav: f64,
    /// NAV per share.
    pub share_price: f64,
    /// Shares outstanding (18 decimals).
    pub shares: u128,
    /// Weights at external prices.
    pub weights: Vec<f64>,
    /// Targets.
    pub targets: Vec<f64>,
    /// Band of its trigger now.
    pub band: f64,
    /// Working through a rebalance.
    pub in_progress: bool,
    /// Block of the last rebalance start.
    pub last_rebalance: Option<u64>,
    /// Buy-and-hold benchmark NAV.
    pub hold_nav: f64,
    /// Costless continuous benchmark NAV.
    pub continuous_nav: f64,
    /// Its parameters now (commands may have changed them since genesis).
    pub spec: meshsim_scenario::VaultSpec,
}

/// One bridge in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeSnapshot {
    /// Id.
    pub id: meshsim_scenario::BridgeId,
    /// Name.
    pub name: String,
    /// Its two chains.
    pub chains: (meshsim_scenario::ChainId, meshsim_scenario::ChainId),
    /// Halted now.
    pub halted: bool,
    /// Transfers on their way or waiting for a relayer.
    pub in_flight: Vec<TransferSnapshot>,
}

/// One transfer in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransferSnapshot {
    /// Id within its token pair.
    pub id: u64,
    /// Token sent.
    pub from: meshsim_scenario::TokenId,
    /// Token delivered.
    pub to: meshsim_scenario::TokenId,
    /// Amount sent.
    pub amount: u128,
    /// Fee.
    pub fee: u128,
    /// Sent at, seconds.
    pub sent_at: f64,
    /// Due at, seconds (`None`: waiting for a relayer).
    pub arrives_at: Option<f64>,
    /// Who sent it.
    pub sender: Option<crate::tx::Sender>,
}
