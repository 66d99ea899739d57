//! The validated, typed scenario: names resolved to ids, amounts in base units, pools built.

use meshsim_math::Pool;

use crate::raw::RawWorld;

/// A token's stable id: its position in `tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId(pub u16);
/// A pool's stable id: its position in `pools`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolId(pub u32);
/// An oracle's stable id: its position in `oracles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OracleId(pub u32);
/// A vault's stable id: its position in `vaults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VaultId(pub u32);

/// A chain's stable id: its position in the world's chains (0: the hub, or the only chain).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId(pub u16);

impl ChainId {
    /// As an index.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A bridge's stable id: its position in `bridges`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BridgeId(pub u16);

impl BridgeId {
    /// As an index.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// An order book's stable id: its position in `books`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BookId(pub u32);

impl BookId {
    /// As an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An order book, validated: units exact, fees in millionths of the quote amount.
#[derive(Debug, Clone, PartialEq)]
pub struct BookSpec {
    /// Id.
    pub id: BookId,
    /// Name.
    pub name: String,
    /// The token traded.
    pub base: TokenId,
    /// The token prices are in.
    pub quote: TokenId,
    /// The chain both live on.
    pub chain: ChainId,
    /// Base units per lot.
    pub lot_size: u128,
    /// Quote base units per whole base token per tick (the price step).
    pub tick_size: u128,
    /// Quote base units per lot per tick (what one lot at one tick costs).
    pub tick_value: u128,
    /// Maker fee, millionths of the quote amount (negative: a rebate).
    pub maker_fee_ppm: i32,
    /// Taker fee, millionths of the quote amount.
    pub taker_fee_ppm: u32,
}

/// A lending market's stable id: its position in `lending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MarketId(pub u32);

impl MarketId {
    /// As an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl OracleId {
    /// As an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
impl VaultId {
    /// As an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An agent's stable id: its position in `agents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(pub u32);

impl TokenId {
    /// As an index.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}
impl PoolId {
    /// As an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
impl AgentId {
    /// As an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A loaded world, ready to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// World name.
    pub name: String,
    /// SHA-256 of the world file's bytes (hex), for provenance in outputs.
    pub world_hash: String,
    /// Master seed.
    pub seed: u64,
    /// Default run length.
    pub blocks: u64,
    /// Chains by id; the first is the hub, whose blocks count the run and schedule its events.
    pub chains: Vec<Chain>,
    /// Bridges by id.
    pub bridges: Vec<BridgeSpec>,
    /// Valuation token.
    pub numeraire: TokenId,
    /// Tokens by id.
    pub tokens: Vec<Token>,
    /// External market.
    pub market: Market,
    /// Pools by id.
    pub pools: Vec<PoolSpec>,
    /// Order books by id.
    pub books: Vec<BookSpec>,
    /// Agents by id.
    pub agents: Vec<AgentSpec>,
    /// Oracles by id.
    pub oracles: Vec<OracleSpec>,
    /// Vaults by id.
    pub vaults: Vec<VaultSpec>,
    /// Lending markets by id.
    pub lending: Vec<LendingSpec>,
    /// Gas units per action.
    pub gas: GasCosts,
    /// Scheduled stress events, in file order.
    pub events: Events,
    /// The document as written, for sweeps that patch fields and re-validate.
    pub raw: RawWorld,
}

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Symbol.
    pub symbol: String,
    /// Decimals of the base unit.
    pub decimals: u8,
    /// The chain it lives on.
    pub chain: ChainId,
    /// The token whose external price it takes (itself unless linked to another chain's).
    pub asset: TokenId,
}

/// Block arrivals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BlockTime {
    /// Constant gap.
    Fixed {
        /// Seconds.
        seconds: f64,
    },
    /// Exponential gaps.
    Poisson {
        /// Mean seconds.
        mean_seconds: f64,
    },
}

impl BlockTime {
    /// Mean seconds per block.
    pub fn mean_seconds(self) -> f64 {
        match self {
            BlockTime::Fixed { seconds } => seconds,
            BlockTime::Poisson { mean_seconds } => mean_seconds,
        }
    }
}

/// Chain parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Name.
    pub name: String,
    /// Block arrivals.
    pub block_time: BlockTime,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Base fee of the first block, wei per gas.
    pub base_fee_wei: u128,
    /// EIP-1559 base-fee updates on or off.
    pub eip1559: bool,
    /// Token gas is paid in (18 decimals assumed for wei).
    pub native: TokenId,
    /// Price-elastic outside traffic anchored at the initial base fee.
    pub background_demand: bool,
    /// Ordering policy.
    pub ordering: Ordering,
}

/// The external market.
#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    /// Assets in declaration order (the numeraire is not one).
    pub assets: Vec<AssetSpec>,
    /// Correlation matrix of log returns, `assets.len()` square, positive definite.
    pub correlation: Vec<Vec<f64>>,
    /// Merton jumps.
    pub jumps: Option<Jumps>,
    /// Regime-switching volatility.
    pub regimes: Option<Regimes>,
    /// A replayed price path.
    pub replay: Option<Replay>,
    /// Scheduled shocks.
    pub shocks: Vec<Shock>,
}

/// One external asset.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetSpec {
    /// Its token.
    pub token: TokenId,
    /// Initial price, numeraire per whole token.
    pub price: f64,
    /// Annualized volatility.
    pub volatility: f64,
    /// Annualized drift.
    pub drift: f64,
}

/// Merton jumps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jumps {
    /// Jumps per year.
    pub intensity_per_year: f64,
    /// Mean log jump.
    pub mean: f64,
    /// Stdev of the log jump.
    pub stdev: f64,
}

/// Regimes.
#[derive(Debug, Clone, PartialEq)]
pub struct Regimes {
    /// Volatility multiplier per regime.
    pub multipliers: Vec<f64>,
    /// Exit rate per year per regime.
    pub switches_per_year: Vec<f64>,
}

/// A replayed path: `prices[row][asset]` at `times[row]` seconds from the start; each block uses
/// the last row at or before its timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Row times, strictly increasing, starting at 0.
    pub times: Vec<f64>,
    /// Prices per row, in asset order.
    pub prices: Vec<Vec<f64>>,
}

/// A scheduled shock on one asset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shock {
    /// Index into `Market::assets`.
    pub asset: usize,
    /// First block.
    pub start_block: u64,
    /// Spread over this many blocks.
    pub blocks: u64,
    /// Log-price change applied in each of those blocks.
    pub log_step: f64,
}

/// A pool, built.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    /// Id.
    pub id: PoolId,
    /// Name.
    pub name: String,
    /// Its tokens, in the pool's own order.
    pub tokens: Vec<TokenId>,
    /// The pool state.
    pub pool: Pool,
    /// Token balances the pool holds at the start, in the pool's token order.
    pub balances: Vec<u128>,
}

/// An agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpec {
    /// Id.
    pub id: AgentId,
    /// Name.
    pub name: String,
    /// Starting balances.
    pub capital: Vec<(TokenId, u128)>,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
    /// Network latency, seconds.
    pub latency_s: f64,
    /// Latency to particular chains, (chain, seconds), where it differs.
    pub chain_latency_s: Vec<(ChainId, f64)>,
    /// The chain it acts on: its pools' or market's (a cyclic arbitrageur names it).
    pub chain: ChainId,
    /// Behaviour.
    pub kind: AgentKind,
}

/// Agent behaviours.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentKind {
    /// CEX-DEX arbitrage.
    Arbitrageur {
        /// Watched pools.
        pools: Vec<PoolId>,
        /// Books it trades back to the external price.
        books: Vec<BookId>,
        /// Minimum profit net of gas, numeraire units.
        min_profit: f64,
    },
    /// Cross-chain arbitrage with inventory on several chains.
    CrossChainArbitrageur {
        /// One pool per chain, all of the same two assets.
        pools: Vec<PoolId>,
        /// Bridges it refills through.
        bridges: Vec<BridgeId>,
        /// Refill below this share of the starting balance.
        refill_below: f64,
        /// Cost of capital in transit, bps an hour.
        capital_cost_bps_per_hour: f64,
        /// Minimum profit net of gas, numeraire.
        min_profit: f64,
        /// The second leg is funded by bridging the first leg's proceeds.
        bridged: bool,
    },
    /// Cyclic arbitrage.
    CycleArbitrageur {
        /// 2 or 3.
        max_cycle_len: u8,
        /// Books it trades against the pools.
        books: Vec<BookId>,
        /// Minimum profit net of gas, numeraire units.
        min_profit: f64,
    },
    /// MEV searcher.
    Searcher {
        /// What it hunts.
        strategy: SearcherStrategy,
        /// Watched pools.
        pools: Vec<PoolId>,
        /// Minimum profit net of gas and bid, numeraire.
        min_profit: f64,
        /// Bid share when alone.
        solo_bid_share: f64,
        /// Margin kept when competing.
        competitive_margin: f64,
    },
    /// Lending liquidator.
    Liquidator {
        /// Market watched.
        market: MarketId,
        /// Minimum profit net of gas, numeraire.
        min_profit: f64,
        /// Where seized collateral is sold.
        sell: Sale,
        /// Liquidate with flash loans, selling in the same transaction.
        flash: bool,
    },
    /// A population of leveraged borrowers.
    Borrowers {
        /// Market.
        market: MarketId,
        /// Collateral token.
        collateral: TokenId,
        /// Debt token.
        debt: TokenId,
        /// New positions a day.
        arrivals_per_day: f64,
        /// Mean collateral of a new position, base units.
        mean_collateral: u128,
        /// Share of the reserve's LTV borrowed.
        target_ltv: f64,
        /// Health factor floor.
        deleverage_below: f64,
        /// Slippage tolerance.
        slippage: f64,
    },
    /// A market maker on a book.
    MarketMaker(MakerParams),
    /// A noise trader on a book.
    NoiseTrader(NoiseParams),
    /// A rate-sensitive supplier.
    Supplier {
        /// Token supplied.
        token: TokenId,
        /// Markets it chooses among.
        markets: Vec<MarketId>,
        /// Least advantage that moves it, bps a year.
        min_spread_bps: u32,
        /// Blocks between looks at the rates.
        every_blocks: u64,
    },
}

/// An Avellaneda-Stoikov market maker's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MakerParams {
    /// The book.
    pub book: BookId,
    /// Lots per quote.
    pub lots: u64,
    /// Risk aversion per quote token.
    pub risk_aversion: f64,
    /// 1/kappa, as a fraction of the price.
    pub depth_decay: f64,
    /// Horizon, seconds.
    pub horizon_s: f64,
    /// Narrowest total spread, a fraction of the price.
    pub min_spread: f64,
    /// Inventory limit, lots either side of its start.
    pub max_inventory_lots: u64,
    /// Requote threshold, a fraction of the price (0: every block).
    pub refresh: f64,
    /// Order lifetime, blocks.
    pub ttl_blocks: u64,
}

/// A noise trader's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseParams {
    /// The book.
    pub book: BookId,
    /// Market orders a second.
    pub market_rate: f64,
    /// Limit orders a second.
    pub limit_rate: f64,
    /// Mean size, lots (exponential, at least one).
    pub mean_lots: f64,
    /// Farthest limit offset, a fraction of the price.
    pub limit_offset: f64,
    /// Market orders' worst price, a fraction from the external price.
    pub max_slippage: f64,
    /// Order lifetime, blocks.
    pub ttl_blocks: u64,
}

/// Searcher strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SearcherStrategy {
    /// Sandwich public swaps.
    Sandwich,
    /// Back-run large public swaps.
    Backrun,
    /// Trade ahead of predicted vault rebalances.
    TriggerPrediction,
}

/// Block ordering policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ordering {
    /// Priority-gas auction.
    #[default]
    PriorityGasAuction,
    /// First come, first served.
    FirstComeFirstServed,
    /// Uniform-price batch for vault orders.
    BatchAuction,
    /// Bundle auction.
    BuilderAuction,
    /// Book cancels, then book makers, then the rest, each by priority fee.
    CancelsFirst,
}

impl Ordering {
    /// Name in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Ordering::PriorityGasAuction => "priority_gas_auction",
            Ordering::FirstComeFirstServed => "first_come_first_served",
            Ordering::BatchAuction => "batch_auction",
            Ordering::BuilderAuction => "builder_auction",
            Ordering::CancelsFirst => "cancels_first",
        }
    }
}

/// Gas units per action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasCosts {
    /// Intrinsic.
    pub base_tx: u64,
    /// v2 hop.
    pub swap_constant_product: u64,
    /// v3 hop.
    pub swap_concentrated: u64,
    /// Per tick crossed.
    pub tick_cross: u64,
    /// Curve hop.
    pub swap_stableswap: u64,
    /// Balancer hop.
    pub swap_weighted: u64,
    /// Lending supply, withdraw, borrow or repay.
    pub lending_action: u64,
    /// Liquidation call.
    pub liquidation: u64,
    /// Sending a bridge transfer.
    pub bridge_send: u64,
    /// Placing or replacing a book order.
    pub book_order: u64,
    /// Cancelling a book order.
    pub book_cancel: u64,
    /// Per fill of a book order.
    pub book_fill: u64,
}

/// An oracle.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleSpec {
    /// Id.
    pub id: OracleId,
    /// Name.
    pub name: String,
    /// Token priced.
    pub token: TokenId,
    /// How.
    pub kind: OracleKind,
}

/// Oracle kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OracleKind {
    /// Push oracle on the external price.
    Push {
        /// Heartbeat, seconds.
        heartbeat_seconds: f64,
        /// Relative deviation threshold.
        deviation: f64,
        /// Visibility delay, blocks.
        latency_blocks: u64,
    },
    /// Pool TWAP (geometric mean of the pool's price at the end of each of the last blocks).
    Twap {
        /// Pool.
        pool: PoolId,
        /// Window, blocks (>= 1).
        window_blocks: u64,
    },
}

/// Most tokens one vault handles: its holdings, targets and deposit token together.
pub const MAX_VAULT_TOKENS: usize = 8;

/// A vault.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultSpec {
    /// Id.
    pub id: VaultId,
    /// Name.
    pub name: String,
    /// Deposit token.
    pub deposit_token: TokenId,
    /// Genesis holdings, base units.
    pub holdings: Vec<(TokenId, u128)>,
    /// Keeper's native-token gas budget, wei.
    pub keeper_gas_wei: u128,
    /// Oracle per token (tokens not listed are the numeraire).
    pub oracles: Vec<(TokenId, OracleId)>,
    /// Allocation rule.
    pub strategy: Strategy,
    /// Trigger.
    pub trigger: Trigger,
    /// Minimum blocks between rebalances.
    pub min_interval_blocks: u64,
    /// Sizing rule.
    pub sizing: Sizing,
    /// Most numeraire value traded per block.
    pub max_trade_value: Option<f64>,
    /// Slippage tolerance.
    pub slippage: f64,
    /// Deadline, blocks.
    pub deadline_blocks: u64,
    /// 1 or 2.
    pub max_hops: u8,
    /// Split across two routes when better.
    pub split: bool,
    /// Pools it may route through.
    pub venues: Vec<PoolId>,
    /// Priority fee, wei per gas.
    pub priority_fee_wei: u128,
    /// Max fee (base fee included), wei per gas; `None`: no cap.
    pub max_fee_wei: Option<u128>,
    /// Flows.
    pub flows: Vec<Flow>,
    /// Private relay.
    pub private_relay: bool,
    /// Random delay of each rebalance, 0..=N blocks.
    pub jitter_blocks: u64,
    /// Secret random scale of each rebalance's band, `1 +- band_jitter`.
    pub band_jitter: f64,
    /// Keeper latency, seconds.
    pub latency_s: f64,
    /// Keeper latency to particular chains, (chain, seconds), where it differs.
    pub chain_latency_s: Vec<(ChainId, f64)>,
    /// Part of one holding kept supplied to a lending market.
    pub yield_leg: Option<YieldLeg>,
    /// Bridges it moves value through (a vault across chains; empty: one chain).
    pub bridges: Vec<BridgeId>,
    /// Tokens it may hold on the way between chains: every token its bridges carry of an asset
    /// it holds or targets (target zero unless targeted).
    pub transit: Vec<TokenId>,
    /// Order books it may trade on.
    pub books: Vec<BookId>,
    /// How it trades on them.
    pub execution: Execution,
}

impl VaultSpec {
    /// The tokens it values and trades: what it holds, its targets and its deposit token, and
    /// (across chains) what it may hold on the way between them, in id order.
    pub fn universe(&self) -> Vec<TokenId> {
        let mut universe: Vec<TokenId> = self.holdings.iter().map(|(t, _)| *t).collect();
        match &self.strategy {
            Strategy::ConstantMix { targets } => universe.extend(targets.iter().map(|(t, _)| *t)),
            Strategy::Cppi { risky, safe, .. } => universe.extend([*risky, *safe]),
            Strategy::Leveraged { risky, debt, .. } => universe.extend([*risky, *debt]),
        }
        universe.push(self.deposit_token);
        universe.extend(&self.transit);
        universe.sort();
        universe.dedup();
        universe
    }
}

/// How a vault trades on its order books.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Execution {
    /// Take liquidity, splitting between books and pools.
    #[default]
    Active,
    /// Rest post-only orders at the oracle price.
    Passive {
        /// Distance on its own side of the oracle price, a fraction.
        offset: f64,
        /// Requote threshold, a fraction.
        requote: f64,
        /// Blocks before the rest is taken actively.
        max_wait_blocks: u64,
    },
}

/// A vault's yield leg (see `RawYieldLeg`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YieldLeg {
    /// Lending market.
    pub market: MarketId,
    /// Token supplied.
    pub token: TokenId,
    /// Share of the holding kept supplied.
    pub share: f64,
    /// Utilization above which rebalances that need the deposit back wait.
    pub max_utilization: f64,
}

/// Allocation rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Fixed weights (token, weight), summing to 1.
    ConstantMix {
        /// Targets.
        targets: Vec<(TokenId, f64)>,
    },
    /// CPPI.
    Cppi {
        /// Risky token.
        risky: TokenId,
        /// Safe token.
        safe: TokenId,
        /// Floor as a fraction of genesis NAV.
        floor: f64,
        /// Multiplier.
        multiplier: f64,
        /// Ratchet fraction of peak NAV.
        ratchet: Option<f64>,
    },
    /// Leverage through a lending market.
    Leveraged {
        /// Market.
        market: MarketId,
        /// Collateral held long.
        risky: TokenId,
        /// Token borrowed.
        debt: TokenId,
        /// Risky value over NAV.
        target_leverage: f64,
        /// Health factor floor.
        health_floor: f64,
    },
}

/// Trigger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Band on weights.
    Threshold {
        /// Half-width.
        band: f64,
        /// Relative to the target.
        relative: bool,
    },
    /// Every N blocks.
    PeriodicBlocks(u64),
    /// Every N seconds.
    PeriodicSeconds(f64),
    /// EWMA-scaled band.
    VolatilityAdjusted {
        /// Band at the reference volatility.
        base_band: f64,
        /// Reference annualized volatility.
        reference_volatility: f64,
        /// Half-life, blocks.
        halflife_blocks: f64,
        /// Bounds.
        min_band: f64,
        /// Bounds.
        max_band: f64,
    },
    /// A band from the vault's costs (see the engine's `vaults::cost_band`).
    CostAware {
        /// Relative risk aversion.
        risk_aversion: f64,
        /// Smallest band.
        min_band: f64,
        /// Largest band.
        max_band: f64,
        /// Gas units per rebalance (`None`: one transaction of one swap hop).
        gas_units: Option<u64>,
    },
    /// A band that also fires ahead of a likely breach, when gas is cheap.
    Predictive {
        /// Half-width.
        band: f64,
        /// Look-ahead, blocks.
        horizon_blocks: u64,
        /// Probability threshold.
        probability: f64,
        /// EWMA half-life, blocks.
        halflife_blocks: f64,
        /// Base-fee window, blocks.
        gas_window_blocks: u64,
        /// Trade ahead of the crowd.
        crowd: bool,
    },
}

/// Sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// Back to target.
    Full,
    /// To the band edge.
    ToBandEdge,
}

/// Depositor flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Flow {
    /// Poisson deposits and withdrawals.
    Poisson {
        /// Per day.
        deposits_per_day: f64,
        /// Mean deposit, base units of the deposit token.
        mean_deposit: u128,
        /// Per day.
        withdrawals_per_day: f64,
        /// Mean fraction withdrawn.
        mean_withdraw_fraction: f64,
    },
    /// A deposit.
    Deposit {
        /// Block.
        block: u64,
        /// Base units.
        amount: u128,
    },
    /// A withdrawal.
    Withdraw {
        /// Block.
        block: u64,
        /// Fraction of depositor shares.
        fraction: f64,
    },
    /// A withdrawal of exact shares.
    WithdrawShares {
        /// Block.
        block: u64,
        /// Shares, 18 decimals.
        shares: u128,
    },
    /// A bank run.
    BankRun {
        /// First block.
        start_block: u64,
        /// Blocks.
        blocks: u64,
        /// Total fraction.
        fraction: f64,
    },
}

/// A scheduled stress event, validated (see [`crate::raw::RawEvent`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Volatility multiplied over a window.
    VolatilitySpike {
        /// First block.
        start_block: u64,
        /// Blocks.
        blocks: u64,
        /// Multiplier.
        multiplier: f64,
    },
    /// LPs withdraw a share of a pool's liquidity.
    LiquidityWithdrawal {
        /// Pool.
        pool: PoolId,
        /// Block.
        block: u64,
        /// Millionths of the LPs' liquidity.
        share_ppm: u32,
    },
    /// An oracle publishes nothing over a window.
    OracleFreeze {
        /// Oracle.
        oracle: OracleId,
        /// First block.
        start_block: u64,
        /// Blocks.
        blocks: u64,
    },
    /// Outside gas demand multiplied over a window.
    GasSpike {
        /// First block.
        start_block: u64,
        /// Blocks.
        blocks: u64,
        /// Multiplier.
        multiplier: f64,
    },
}

/// The scheduled stress events of a world, and what they mean at a given block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Events(pub Vec<Event>);

impl Events {
    /// Product of the volatility spikes active at `block` (1 when none).
    pub fn volatility_multiplier(&self, block: u64) -> f64 {
        self.product_at(block, |e| match *e {
            Event::VolatilitySpike { start_block, blocks, multiplier } => Some((start_block, blocks, multiplier)),
            _ => None,
        })
    }

    /// Product of the gas spikes active at `block` (1 when none).
    pub fn gas_demand_multiplier(&self, block: u64) -> f64 {
        self.product_at(block, |e| match *e {
            Event::GasSpike { start_block, blocks, multiplier } => Some((start_block, blocks, multiplier)),
            _ => None,
        })
    }

    /// Product of the multipliers of the windows `pick` finds, among those open at `block`.
    fn product_at(&self, block: u64, pick: impl Fn(&Event) -> Option<(u64, u64, f64)>) -> f64 {
        self.0
            .iter()
            .filter_map(pick)
            .filter(|(start, blocks, _)| in_window(block, *start, *blocks))
            .map(|w| w.2)
            .product()
    }

    /// Whether `oracle` is frozen at `block`.
    pub fn oracle_frozen(&self, oracle: OracleId, block: u64) -> bool {
        self.0.iter().any(|e| {
            matches!(e, Event::OracleFreeze { oracle: o, start_block, blocks }
                if *o == oracle && in_window(block, *start_block, *blocks))
        })
    }

    /// Liquidity withdrawals at `block`: (pool, millionths), in file order.
    pub fn withdrawals_at(&self, block: u64) -> impl Iterator<Item = (PoolId, u32)> + '_ {
        self.0.iter().filter_map(move |e| match e {
            Event::LiquidityWithdrawal { pool, block: b, share_ppm } if *b == block => Some((*pool, *share_ppm)),
            _ => None,
        })
    }
}

fn in_window(block: u64, start: u64, blocks: u64) -> bool {
    block >= start && block - start < blocks
}

/// A lending market (Aave v3 style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LendingSpec {
    /// Id.
    pub id: MarketId,
    /// Name.
    pub name: String,
    /// Reserves, one per token, in file order.
    pub reserves: Vec<ReserveSpec>,
    /// Borrowers at genesis, in groups.
    pub positions: Vec<PositionsSpec>,
    /// Share of a position's debt one liquidation may repay above health 0.95, bps.
    pub close_factor_bps: u32,
}

/// A group of genesis borrowers (see `RawPositions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionsSpec {
    /// Positions in the group.
    pub count: u32,
    /// Collateral reserve (index in the market).
    pub collateral: usize,
    /// Debt reserve (index in the market).
    pub debt: usize,
    /// Collateral of each, base units.
    pub collateral_each: u128,
    /// Health factor range at genesis prices, in 1e-4 (10_500 = 1.05).
    pub health_e4: (u32, u32),
}

/// Where a liquidator sells seized collateral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sale {
    /// On the pools, as transactions.
    Pools,
    /// On the CEX at the external price.
    Cex,
}

/// One reserve of a lending market, parameters as the contracts store them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveSpec {
    /// Token.
    pub token: TokenId,
    /// Oracle pricing it (`None` for the numeraire, priced at 1).
    pub oracle: Option<OracleId>,
    /// Interest rate model.
    pub strategy: meshsim_math::lending::RateStrategy,
    /// Treasury's share of interest, bps.
    pub reserve_factor_bps: u32,
    /// Loan-to-value, bps.
    pub ltv_bps: u32,
    /// Liquidation threshold, bps.
    pub liquidation_threshold_bps: u32,
    /// Liquidation bonus, bps (10_500 = 5 %).
    pub liquidation_bonus_bps: u32,
    /// Protocol's share of the bonus, bps.
    pub liquidation_protocol_fee_bps: u32,
    /// Supply cap, base units.
    pub supply_cap: Option<u128>,
    /// Borrow cap, base units.
    pub borrow_cap: Option<u128>,
    /// Passive deposits at genesis, base units.
    pub supplied: u128,
    /// Passive debt at genesis, base units.
    pub borrowed: u128,
}

/// A bridge between two chains.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeSpec {
    /// Id.
    pub id: BridgeId,
    /// Name.
    pub name: String,
    /// Its chains: out goes from the first to the second.
    pub chains: (ChainId, ChainId),
    /// Token pairs it carries, (first chain's, second chain's).
    pub tokens: Vec<(TokenId, TokenId)>,
    /// Speed and fees.
    pub kind: BridgeKind,
    /// Relayer capital, base units, per carried pair: (on the first chain, on the second).
    pub relayer_capital: Vec<(u128, u128)>,
    /// Halts: intervals in seconds from genesis.
    pub halts: Vec<(f64, f64)>,
}

/// A bridge's kind and parameters (seconds; fees in bps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BridgeKind {
    /// A rollup's own bridge.
    Canonical {
        /// Seconds for a deposit.
        deposit_s: f64,
        /// Seconds for a withdrawal.
        withdrawal_s: f64,
    },
    /// Burn-and-mint with an attestation.
    Attestation {
        /// Seconds, standard.
        standard_s: f64,
        /// Seconds, fast.
        fast_s: f64,
        /// Fast fee, bps.
        fast_fee_bps: u32,
    },
    /// A relayer fronts the funds.
    Intent {
        /// Seconds until the fill.
        fill_s: f64,
        /// Fee, bps.
        fee_bps: u32,
        /// Seconds until the relayer is repaid.
        repay_s: f64,
        /// Seconds before an unfilled transfer is refunded.
        max_wait_s: f64,
    },
}

impl Scenario {
    /// The hub chain (the only one in a single-chain world).
    pub fn hub(&self) -> &Chain {
        &self.chains[0]
    }

    /// The chain a pool lives on: its tokens' (validation keeps them on one chain).
    pub fn pool_chain(&self, pool: PoolId) -> ChainId {
        self.pools[pool.index()].tokens.first().map_or(ChainId(0), |t| self.tokens[t.index()].chain)
    }

    /// The chain a vault lives on: its deposit token's.
    pub fn vault_chain(&self, vault: VaultId) -> ChainId {
        self.tokens[self.vaults[vault.index()].deposit_token.index()].chain
    }

    /// The chain a lending market lives on: its reserves' tokens'.
    pub fn market_chain(&self, market: MarketId) -> ChainId {
        self.lending[market.index()].reserves.first().map_or(ChainId(0), |r| self.tokens[r.token.index()].chain)
    }

    /// The chain an oracle lives on: its token's.
    pub fn oracle_chain(&self, oracle: OracleId) -> ChainId {
        self.tokens[self.oracles[oracle.index()].token.index()].chain
    }

    /// Whether the world has more than one chain.
    pub fn multi_chain(&self) -> bool {
        self.chains.len() > 1
    }
}
