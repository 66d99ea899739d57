//! The RON schema as written by users: raw serde structs, checked only for shape. Every struct
//! denies unknown fields; validation ([`crate::from_raw`]) turns a [`RawWorld`] into a typed
//! [`crate::Scenario`] once, collecting every problem with its location.

use serde::{Deserialize, Serialize};

/// The schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A world file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename = "World")]
pub struct RawWorld {
    /// Must equal [`SCHEMA_VERSION`].
    pub version: u32,
    /// Name used in outputs.
    pub name: String,
    /// Master seed; every random stream derives from it.
    pub seed: u64,
    /// Blocks to run unless the command line says otherwise.
    pub blocks: u64,
    /// The chain, for a world on one chain (named `main` unless it says otherwise). Give either
    /// this or `chains`.
    #[serde(default)]
    pub chain: Option<RawChain>,
    /// The chains, for a world on several: each needs a name; the first is the hub whose blocks
    /// count the run's length and schedule its events and shocks.
    #[serde(default)]
    pub chains: Vec<RawChain>,
    /// Bridges between chains.
    #[serde(default)]
    pub bridges: Vec<RawBridge>,
    /// Token used to value everything (its external price is 1).
    pub numeraire: String,
    /// Tokens, in order; their position is their id.
    pub tokens: Vec<RawToken>,
    /// The external (CEX) market.
    pub market: RawMarket,
    /// AMM pools.
    #[serde(default)]
    pub pools: Vec<RawPool>,
    /// Central limit order books.
    #[serde(default)]
    pub books: Vec<RawBook>,
    /// Agents.
    #[serde(default)]
    pub agents: Vec<RawAgent>,
    /// Price oracles vaults read.
    #[serde(default)]
    pub oracles: Vec<RawOracle>,
    /// Rebalancing vaults.
    #[serde(default)]
    pub vaults: Vec<RawVault>,
    /// Gas units per action.
    #[serde(default)]
    pub gas: RawGas,
    /// Lending markets (Aave v3 style).
    #[serde(default)]
    pub lending: Vec<RawLending>,
    /// Scheduled stress events (price shocks are `market.shocks`).
    #[serde(default)]
    pub events: Vec<RawEvent>,
}

/// A central limit order book of one base token against one quote token (both on one chain):
/// prices in whole ticks, sizes in whole lots, price-time priority.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBook {
    /// Unique name.
    pub name: String,
    /// The token traded.
    pub base: String,
    /// The token prices are quoted in.
    pub quote: String,
    /// Price step, quote tokens per whole base token (e.g. `"0.01"`).
    pub tick_size: String,
    /// Size step, base tokens (e.g. `"0.001"`).
    pub lot_size: String,
    /// Maker fee, bps of the quote amount; negative is a rebate, at most the taker fee.
    #[serde(default)]
    pub maker_fee_bps: f64,
    /// Taker fee, bps of the quote amount.
    #[serde(default)]
    pub taker_fee_bps: f64,
}

/// A market maker quoting one book around the external price, Avellaneda-Stoikov style: the
/// spread widens with volatility, risk aversion and the horizon, and both quotes shift against
/// its inventory.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMarketMaker {
    /// Unique agent name.
    pub name: String,
    /// Starting balances (base, quote and the gas token).
    pub capital: Vec<(String, String)>,
    /// The book it quotes.
    pub book: String,
    /// Size of each quote, base tokens.
    pub size: String,
    /// Risk aversion (CARA), per quote token of wealth.
    #[serde(default = "risk_aversion")]
    pub risk_aversion: f64,
    /// How fast takers' flow thins with distance from the mid: the distance, bps, over which
    /// the arrival rate falls by a factor e (the model's 1/kappa).
    #[serde(default = "ten")]
    pub depth_decay_bps: f64,
    /// The model's horizon, seconds (how long it expects to carry inventory).
    #[serde(default = "sixty")]
    pub horizon_s: f64,
    /// Narrowest total spread it quotes, bps.
    #[serde(default)]
    pub min_spread_bps: f64,
    /// It stops adding to a side once its inventory is this far from its start, base tokens.
    pub max_inventory: String,
    /// It requotes when its quotes are this far (bps) from where the model puts them now; 0:
    /// every block.
    #[serde(default)]
    pub refresh_bps: f64,
    /// Its orders expire after this many blocks unless refreshed.
    #[serde(default = "ten_blocks")]
    pub order_ttl_blocks: u64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds (first-come-first-served ordering).
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

fn risk_aversion() -> f64 {
    0.001
}

fn ten() -> f64 {
    10.0
}

fn sixty() -> f64 {
    60.0
}

fn ten_blocks() -> u64 {
    10
}

/// Uninformed traders on one book: market orders and limit orders at Poisson times, sides at
/// random, sizes exponential.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNoiseTrader {
    /// Unique agent name.
    pub name: String,
    /// Starting balances (base, quote and the gas token).
    pub capital: Vec<(String, String)>,
    /// The book it trades.
    pub book: String,
    /// Market orders a minute (immediate-or-cancel, bounded by `max_slippage_bps`).
    #[serde(default)]
    pub market_orders_per_minute: f64,
    /// Limit orders a minute, at a uniform distance up to `limit_offset_bps` from the external
    /// price on the passive side.
    #[serde(default)]
    pub limit_orders_per_minute: f64,
    /// Mean order size, base tokens.
    pub mean_size: String,
    /// Farthest a limit order rests from the external price, bps.
    #[serde(default = "fifty")]
    pub limit_offset_bps: f64,
    /// A market order takes nothing priced worse than this, bps from the external price.
    #[serde(default = "hundred_bps")]
    pub max_slippage_bps: f64,
    /// Its limit orders expire after this many blocks.
    #[serde(default = "ten_blocks")]
    pub order_ttl_blocks: u64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds (first-come-first-served ordering).
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

fn fifty() -> f64 {
    50.0
}

fn hundred_bps() -> f64 {
    100.0
}

/// A lending market: a pool of reserves, one per token, as an Aave v3 pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLending {
    /// Unique name.
    pub name: String,
    /// One reserve per token.
    pub reserves: Vec<RawReserve>,
    /// Borrowers' positions at genesis, in groups.
    #[serde(default)]
    pub positions: Vec<RawPositions>,
    /// Share of a position's debt one liquidation may repay above health 0.95, bps.
    #[serde(default = "aave_close_factor")]
    pub close_factor_bps: u32,
}

fn aave_close_factor() -> u32 {
    5_000
}

/// A group of borrowers at genesis: each supplies `collateral_each` of one reserve's token as
/// collateral and owes another's; their health factors are spread evenly over `health`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPositions {
    /// How many positions.
    pub count: u32,
    /// Collateral token (a reserve of the market with a liquidation threshold).
    pub collateral: String,
    /// Debt token (another reserve of the market).
    pub debt: String,
    /// Collateral of each position, decimal whole tokens.
    pub collateral_each: String,
    /// Lowest and highest health factor at genesis prices, above 1.
    pub health: (f64, f64),
}

/// One reserve of a lending market; rates and risk parameters in basis points.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReserve {
    /// Token lent and borrowed.
    pub token: String,
    /// Oracle pricing the token for health factors (the numeraire needs none).
    #[serde(default)]
    pub oracle: Option<String>,
    /// Optimal usage ratio `U*`, bps (1 % to 99 %).
    pub optimal_usage_bps: u32,
    /// Variable borrow rate at zero utilization, bps a year.
    #[serde(default)]
    pub base_rate_bps: u32,
    /// Rate added up to `U*`, bps a year.
    pub slope1_bps: u32,
    /// Rate added from `U*` to 100 %, bps a year.
    pub slope2_bps: u32,
    /// Share of interest kept by the treasury, bps.
    #[serde(default)]
    pub reserve_factor_bps: u32,
    /// Loan-to-value: how much may be borrowed against it, bps (0: not usable to borrow against).
    #[serde(default)]
    pub ltv_bps: u32,
    /// Liquidation threshold, bps (0: not collateral).
    #[serde(default)]
    pub liquidation_threshold_bps: u32,
    /// Liquidation bonus, bps over 100 % (10_500: a 5 % bonus).
    #[serde(default = "no_bonus")]
    pub liquidation_bonus_bps: u32,
    /// Protocol's share of the bonus, bps.
    #[serde(default)]
    pub liquidation_protocol_fee_bps: u32,
    /// Most that may be supplied, whole tokens (decimal); absent: no cap.
    #[serde(default)]
    pub supply_cap: Option<String>,
    /// Most that may be borrowed, whole tokens (decimal); absent: no cap.
    #[serde(default)]
    pub borrow_cap: Option<String>,
    /// Deposits of passive suppliers at genesis, decimal.
    #[serde(default)]
    pub supplied: String,
    /// Debt of passive borrowers at genesis (collateralized outside the simulation, never
    /// liquidated), decimal; at most `supplied`.
    #[serde(default)]
    pub borrowed: String,
}

fn no_bonus() -> u32 {
    10_000
}

/// A scheduled stress event.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum RawEvent {
    /// Every asset's volatility is multiplied by `multiplier` for `blocks` blocks from
    /// `start_block` (on top of any regime).
    VolatilitySpike {
        /// First block affected.
        start_block: u64,
        /// Blocks it lasts (>= 1).
        blocks: u64,
        /// Volatility multiplier (> 0).
        multiplier: f64,
    },
    /// The pool's passive LPs withdraw `fraction` of their liquidity at `block`, in proportion
    /// (the contract's burn / remove_liquidity / exit); the price stays, the depth goes.
    LiquidityWithdrawal {
        /// Pool name.
        pool: String,
        /// Block at whose start they withdraw.
        block: u64,
        /// Share of the LPs' liquidity, in (0, 1].
        fraction: f64,
    },
    /// The oracle publishes nothing for `blocks` blocks from `start_block`: vaults reading it see
    /// its last value (a halted feed, a stalled keeper, a sequencer outage).
    OracleFreeze {
        /// Oracle name.
        oracle: String,
        /// First frozen block.
        start_block: u64,
        /// Blocks it lasts (>= 1).
        blocks: u64,
    },
    /// Demand outside the simulation rises `multiplier`-fold for `blocks` blocks: the base fee
    /// climbs (at most 12.5 % a block under EIP-1559) toward `multiplier` times its level and
    /// falls back afterwards. Needs `chain.background_demand` and `chain.eip1559`.
    GasSpike {
        /// First block affected.
        start_block: u64,
        /// Blocks it lasts (>= 1).
        blocks: u64,
        /// Demand multiplier (> 0).
        multiplier: f64,
    },
}

/// Chain parameters.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    /// Unique name (needed in `chains`; a lone `chain` is `main` by default).
    #[serde(default)]
    pub name: Option<String>,
    /// Time between blocks.
    pub block_time: RawBlockTime,
    /// Block gas limit (EIP-1559 target is half).
    pub gas_limit: u64,
    /// Base fee of the first block, gwei.
    pub base_fee_gwei: f64,
    /// Whether the base fee follows EIP-1559 (otherwise it stays fixed).
    #[serde(default = "yes")]
    pub eip1559: bool,
    /// Token that pays gas.
    pub native_token: String,
    /// Traffic outside the simulation: when on (the default), it fills each block to the EIP-1559
    /// target at the initial base fee and less as the fee rises (unit elasticity), so the base
    /// fee settles near its initial value and rises with simulated demand.
    #[serde(default = "yes")]
    pub background_demand: bool,
    /// How the block is ordered.
    #[serde(default)]
    pub ordering: RawOrdering,
}

/// Block ordering policy.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
pub enum RawOrdering {
    /// Priority-gas auction: highest priority fee first, ties by sender then sequence.
    #[default]
    PriorityGasAuction,
    /// First come, first served: arrival time (submission plus the sender's latency) decides;
    /// nobody can be placed ahead of a transaction already seen.
    FirstComeFirstServed,
    /// Vault orders clear together at uniform prices, netting opposite orders before the rest
    /// touches the pools; everything else by priority fee.
    BatchAuction,
    /// Searchers bid for bundles; the builder takes the revenue-maximising set of non-conflicting
    /// bundles, then the rest by priority fee.
    BuilderAuction,
    /// As on some on-chain order books: every transaction that only cancels book orders first,
    /// then those that add liquidity (limit and post-only orders, replaces), then the rest (takers,
    /// swaps); by priority fee within each.
    CancelsFirst,
}

fn yes() -> bool {
    true
}

/// Block arrival process.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawBlockTime {
    /// Every block after exactly this many seconds.
    Fixed(f64),
    /// Exponential gaps with this mean, in seconds (Poisson arrivals).
    Poisson(f64),
}

/// A token.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    /// Symbol, unique.
    pub symbol: String,
    /// Decimals of the base unit (0..=36).
    pub decimals: u8,
    /// The chain it lives on (default: the first). USDC on Arbitrum is its own token.
    #[serde(default)]
    pub chain: Option<String>,
    /// The token whose external price it takes (the same asset on another chain, e.g. `USDC` for
    /// `USDC.arb`); default: its own price process, or the numeraire's price if it is the
    /// numeraire.
    #[serde(default)]
    pub asset: Option<String>,
}

/// The external market: correlated GBM with optional jumps, regimes, replay and shocks.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMarket {
    /// One entry per non-numeraire token.
    pub assets: Vec<RawAsset>,
    /// Pairwise log-return correlations; unlisted pairs are 0.
    #[serde(default)]
    pub correlations: Vec<RawCorrelation>,
    /// Merton jumps.
    #[serde(default)]
    pub jumps: Option<RawJumps>,
    /// Markov regime-switching volatility.
    #[serde(default)]
    pub regimes: Option<RawRegimes>,
    /// A CSV price path replayed instead of the GBM (path relative to the world file).
    #[serde(default)]
    pub replay: Option<String>,
    /// Scheduled shocks.
    #[serde(default)]
    pub shocks: Vec<RawShock>,
}

/// One asset of the external market.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAsset {
    /// Token symbol.
    pub token: String,
    /// Initial price in numeraire per whole token.
    pub price: f64,
    /// Annualized volatility of log returns (0.8 = 80 %).
    pub volatility: f64,
    /// Annualized drift of the price (0 = martingale).
    #[serde(default)]
    pub drift: f64,
}

/// A correlation between two assets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    /// First token.
    pub a: String,
    /// Second token.
    pub b: String,
    /// Correlation in [-1, 1].
    pub rho: f64,
}

/// Merton jumps applied to every asset independently.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawJumps {
    /// Expected jumps per year.
    pub intensity_per_year: f64,
    /// Mean of the log jump size.
    pub mean: f64,
    /// Standard deviation of the log jump size.
    pub stdev: f64,
}

/// Markov-switching volatility: regime `k` scales every volatility by `multipliers[k]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegimes {
    /// Volatility multiplier per regime.
    pub multipliers: Vec<f64>,
    /// Expected regime changes per year, per regime (leaving it); the next regime is uniform
    /// among the others.
    pub switches_per_year: Vec<f64>,
}

/// A scheduled shock: the asset's price is multiplied by `1 + change` spread evenly (in log
/// terms) over `blocks` blocks starting at `start_block`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawShock {
    /// Token symbol.
    pub token: String,
    /// First block affected.
    pub start_block: u64,
    /// Number of blocks it is spread over (>= 1).
    pub blocks: u64,
    /// Total relative change, e.g. -0.4 for -40 %.
    pub change: f64,
}

/// An AMM pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawPool {
    /// Uniswap v2.
    ConstantProduct {
        /// Unique name.
        name: String,
        /// (token0, token1).
        tokens: (String, String),
        /// Initial reserves, decimal token amounts.
        reserves: (String, String),
        /// Fee in basis points (30 = 0.30 %).
        fee_bps: f64,
    },
    /// Uniswap v3.
    Concentrated {
        /// Unique name.
        name: String,
        /// (token0, token1).
        tokens: (String, String),
        /// Fee in basis points (5, 30, 100 on mainnet).
        fee_bps: f64,
        /// Tick spacing.
        tick_spacing: i32,
        /// Initial price, whole token1 per whole token0.
        price: f64,
        /// Initial positions (owned by the passive LP account).
        positions: Vec<RawPosition>,
    },
    /// Curve stableswap.
    StableSwap {
        /// Unique name.
        name: String,
        /// 2 to 4 tokens.
        tokens: Vec<String>,
        /// Initial balances, decimal token amounts.
        balances: Vec<String>,
        /// Amplification `A` as in the contract (NG accepts fractions like 85.5).
        amp: f64,
        /// Fee in basis points.
        fee_bps: f64,
        /// Share of the fee that goes to the protocol (0..=1; NG uses 0.5).
        #[serde(default)]
        admin_fee: f64,
        /// Integer formulas: `Classic` or `Ng`.
        #[serde(default)]
        variant: RawStableVariant,
        /// NG off-peg fee multiplier (1.0 or below disables).
        #[serde(default)]
        offpeg_fee_multiplier: f64,
    },
    /// Balancer weighted.
    Weighted {
        /// Unique name.
        name: String,
        /// 2 to 8 tokens.
        tokens: Vec<String>,
        /// Initial balances, decimal token amounts.
        balances: Vec<String>,
        /// Weights, summing to 1.
        weights: Vec<f64>,
        /// Fee in basis points.
        fee_bps: f64,
    },
}

/// Curve integer formulas.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
pub enum RawStableVariant {
    /// 3pool-era.
    #[default]
    Classic,
    /// stableswap-ng.
    Ng,
}

/// A v3 position: a tick range and either its liquidity or the token amounts to deposit.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPosition {
    /// Lower tick (a multiple of the spacing).
    pub lower_tick: i32,
    /// Upper tick.
    pub upper_tick: i32,
    /// Liquidity as an integer, or ...
    #[serde(default)]
    pub liquidity: Option<String>,
    /// ... the most liquidity these decimal amounts of (token0, token1) can mint.
    #[serde(default)]
    pub amounts: Option<(String, String)>,
}

/// An agent.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawAgent {
    /// CEX-DEX arbitrageur: trades pools back to the external price, hedging on the CEX.
    Arbitrageur(RawArbitrageur),
    /// Cyclic DEX arbitrageur: trades cycles of pools whose product of prices exceeds one.
    CycleArbitrageur(RawCycleArbitrageur),
    /// Cross-chain arbitrageur: holds inventory on several chains, sells where the asset is dear
    /// and buys where it is cheap (each leg in its own chain's block), and refills inventory
    /// through bridges when a chain runs low.
    CrossChainArbitrageur(RawCrossChainArbitrageur),
    /// MEV searcher: sandwiches public swaps, back-runs large ones, or trades ahead of vault
    /// rebalances it predicts.
    Searcher(RawSearcher),
    /// Liquidator: repays under-water positions of a lending market with its own capital and
    /// sells the seized collateral.
    Liquidator(RawLiquidator),
    /// A population of leveraged borrowers: new positions arrive at Poisson times, each supplies
    /// collateral, borrows against it and buys more collateral on the pools; each deleverages
    /// when its health falls below its floor.
    Borrowers(RawBorrowers),
    /// A rate-sensitive supplier: keeps its deposits of one token in the market paying the best
    /// supply rate, moving them when the spread is wide enough (Morpho-style reallocation).
    Supplier(RawSupplier),
    /// Market maker: quotes a book around the external price with an inventory skew.
    MarketMaker(RawMarketMaker),
    /// Noise trader: Poisson market and limit orders on a book.
    NoiseTrader(RawNoiseTrader),
}

/// Rate-sensitive supplier.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSupplier {
    /// Unique agent name.
    pub name: String,
    /// Starting balances: the token it supplies, and gas.
    pub capital: Vec<(String, String)>,
    /// Token it supplies.
    pub token: String,
    /// Markets it chooses among (each must lend the token).
    pub markets: Vec<String>,
    /// Least supply-rate advantage, bps a year, that makes it move its deposit.
    pub min_spread_bps: u32,
    /// It looks at the rates every this many blocks.
    #[serde(default = "hundred")]
    pub every_blocks: u64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds.
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

fn hundred() -> u64 {
    100
}

/// Leveraged borrowers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBorrowers {
    /// Unique agent name.
    pub name: String,
    /// The population's pooled wallet: collateral to open positions with, and gas.
    pub capital: Vec<(String, String)>,
    /// Lending market.
    pub market: String,
    /// Collateral token (bought with the loan).
    pub collateral: String,
    /// Debt token (borrowed).
    pub debt: String,
    /// New positions a day (Poisson).
    pub arrivals_per_day: f64,
    /// Mean collateral a new position brings, decimal whole tokens (exponentially distributed).
    pub mean_collateral: String,
    /// Share of the reserve's loan-to-value a position borrows, (0, 1].
    pub target_ltv: f64,
    /// Health factor below which a position sells collateral to repay, above 1.
    pub deleverage_below: f64,
    /// Slippage tolerance of its swaps.
    #[serde(default = "one_percent")]
    pub slippage: f64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds.
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

fn one_percent() -> f64 {
    0.01
}

/// Where a liquidator sells the collateral it seizes.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum RawSale {
    /// On the world's pools, by the best route, as public transactions the next block.
    #[default]
    Pools,
    /// On the CEX at the external price (no pool moves): the counterfactual of the spiral.
    Cex,
}

/// Liquidator.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLiquidator {
    /// Unique agent name.
    pub name: String,
    /// Starting balances (the debt tokens it repays with, and gas).
    pub capital: Vec<(String, String)>,
    /// Lending market it watches.
    pub market: String,
    /// Minimum profit net of gas, numeraire units.
    #[serde(default)]
    pub min_profit: f64,
    /// Where it sells seized collateral.
    #[serde(default)]
    pub sell: RawSale,
    /// Borrow the debt it repays with a flash loan and sell the collateral in the same
    /// transaction (no capital of the debt token needed; the sale is on the pools).
    #[serde(default)]
    pub flash: bool,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds.
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

impl RawAgent {
    /// The agent's name.
    pub fn name(&self) -> &str {
        match self {
            RawAgent::Arbitrageur(a) => &a.name,
            RawAgent::CycleArbitrageur(a) => &a.name,
            RawAgent::CrossChainArbitrageur(a) => &a.name,
            RawAgent::Searcher(a) => &a.name,
            RawAgent::Liquidator(a) => &a.name,
            RawAgent::Borrowers(a) => &a.name,
            RawAgent::Supplier(a) => &a.name,
            RawAgent::MarketMaker(a) => &a.name,
            RawAgent::NoiseTrader(a) => &a.name,
        }
    }
}

/// What a searcher hunts.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum RawStrategyKind {
    /// Front-run and back-run a public swap with slack in its minimum output.
    Sandwich,
    /// Trade a pool back to the external price right after a large public swap.
    Backrun,
    /// Read public vault state and oracle rounds, and position ahead of a rebalance it predicts.
    TriggerPrediction,
}

/// An MEV searcher.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSearcher {
    /// Unique agent name.
    pub name: String,
    /// What it hunts.
    pub strategy: RawStrategyKind,
    /// Starting balances.
    pub capital: Vec<(String, String)>,
    /// Pools it watches.
    #[serde(default)]
    pub pools: RawPoolSet,
    /// Minimum profit net of gas and bid, numeraire.
    #[serde(default)]
    pub min_profit: f64,
    /// Share of the expected profit bid when alone on an opportunity.
    #[serde(default = "tenth")]
    pub solo_bid_share: f64,
    /// Profit it keeps when competing: bids rise to `1 - margin` of the profit.
    #[serde(default = "twentieth")]
    pub competitive_margin: f64,
    /// Network latency, milliseconds (first-come-first-served ordering).
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

fn tenth() -> f64 {
    0.1
}

fn twentieth() -> f64 {
    0.05
}

/// Pools an agent watches.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub enum RawPoolSet {
    /// Every pool.
    #[default]
    All,
    /// These pools, by name.
    Only(Vec<String>),
}

/// CEX-DEX arbitrageur.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawArbitrageur {
    /// Unique agent name.
    pub name: String,
    /// Starting balances, (symbol, decimal amount).
    pub capital: Vec<(String, String)>,
    /// Pools it watches.
    #[serde(default)]
    pub pools: RawPoolSet,
    /// Order books it trades back to the external price (taking what is mispriced, hedging on
    /// the CEX), on the chain of its pools.
    #[serde(default)]
    pub books: Vec<String>,
    /// Minimum profit net of fees and gas, in numeraire units.
    #[serde(default)]
    pub min_profit: f64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds (first-come-first-served ordering).
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

/// Cyclic arbitrageur.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCycleArbitrageur {
    /// Unique agent name.
    pub name: String,
    /// Starting balances.
    pub capital: Vec<(String, String)>,
    /// Longest cycle, in pools (2 or 3).
    #[serde(default = "three")]
    pub max_cycle_len: u8,
    /// The chain whose pools it trades (default: the first).
    #[serde(default)]
    pub chain: Option<String>,
    /// Order books it also trades against the pools of the same pair (buy on one, sell on the
    /// other, in one block), on its chain.
    #[serde(default)]
    pub books: Vec<String>,
    /// Minimum profit net of gas, numeraire units.
    #[serde(default)]
    pub min_profit: f64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds (first-come-first-served ordering).
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

fn three() -> u8 {
    3
}

/// Cross-chain arbitrageur.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrossChainArbitrageur {
    /// Unique agent name.
    pub name: String,
    /// Starting balances, tokens of any of its pools' chains.
    pub capital: Vec<(String, String)>,
    /// Pools of the same two assets, one per chain.
    pub pools: Vec<String>,
    /// Bridges it may refill inventory through (none: pre-positioned inventory only).
    #[serde(default)]
    pub bridges: Vec<String>,
    /// How the second leg is funded: from inventory already on the other chain (default), or by
    /// bridging the first leg's proceeds there.
    #[serde(default)]
    pub style: RawArbStyle,
    /// Refill a token on a chain once it falls below this share of its starting balance.
    #[serde(default = "refill_share")]
    pub refill_below: f64,
    /// What a second of capital in transit costs it, bps an hour (how it weighs a bridge's
    /// latency against its fee).
    #[serde(default = "one")]
    pub capital_cost_bps_per_hour: f64,
    /// Minimum profit of a pair of legs net of both chains' gas, numeraire units.
    #[serde(default)]
    pub min_profit: f64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Network latency, milliseconds (first-come-first-served ordering).
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
}

/// How a cross-chain arbitrageur funds its second leg.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum RawArbStyle {
    /// Pre-positioned inventory: both legs at once, each in its chain's next block.
    #[default]
    Inventory,
    /// The first leg's proceeds are bridged and sold on arrival.
    Bridge,
}

fn refill_share() -> f64 {
    0.3
}

/// Gas units per action (defaults near mainnet costs).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGas {
    /// Intrinsic gas of any transaction.
    pub base_tx: u64,
    /// A Uniswap v2 swap hop.
    pub swap_constant_product: u64,
    /// A Uniswap v3 swap hop.
    pub swap_concentrated: u64,
    /// Extra per initialized tick crossed.
    pub tick_cross: u64,
    /// A Curve exchange.
    pub swap_stableswap: u64,
    /// A Balancer swap.
    pub swap_weighted: u64,
    /// A lending market's supply, withdraw, borrow or repay.
    pub lending_action: u64,
    /// A lending market's liquidation call.
    pub liquidation: u64,
    /// Sending a bridge transfer (a deposit, a burn, an intent).
    pub bridge_send: u64,
    /// Placing or replacing an order on a book (matching excluded).
    pub book_order: u64,
    /// Cancelling an order.
    pub book_cancel: u64,
    /// Each fill an order makes.
    pub book_fill: u64,
}

impl Default for RawGas {
    fn default() -> Self {
        RawGas {
            base_tx: 21_000,
            swap_constant_product: 90_000,
            swap_concentrated: 110_000,
            tick_cross: 20_000,
            swap_stableswap: 130_000,
            swap_weighted: 100_000,
            lending_action: 180_000,
            liquidation: 320_000,
            bridge_send: 120_000,
            book_order: 40_000,
            book_cancel: 15_000,
            book_fill: 25_000,
        }
    }
}

/// A price oracle.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawOracle {
    /// Chainlink-like push oracle on the external price: a new round when the price moved more
    /// than `deviation` or `heartbeat_seconds` passed; rounds become visible `latency_blocks` later.
    Push {
        /// Unique name.
        name: String,
        /// Token priced (in the numeraire).
        token: String,
        /// Seconds after which a round is pushed even without a move.
        heartbeat_seconds: f64,
        /// Relative move that triggers a round (0.005 = 0.5 %).
        deviation: f64,
        /// Blocks between a round and its visibility.
        #[serde(default)]
        latency_blocks: u64,
    },
    /// Time-weighted geometric mean of a pool's price over the last `window_blocks` blocks (1 is
    /// the spot price of the previous block: cheap to manipulate). The pool must pair the token
    /// with the numeraire.
    Twap {
        /// Unique name.
        name: String,
        /// Pool read.
        pool: String,
        /// Token priced.
        token: String,
        /// Blocks averaged.
        window_blocks: u64,
    },
}

/// A rebalancing vault.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawVault {
    /// Unique name.
    pub name: String,
    /// Token deposits arrive in (withdrawals are paid in kind).
    pub deposit_token: String,
    /// Holdings at genesis, (symbol, decimal amount); the genesis share price is 1 numeraire.
    pub holdings: Vec<(String, String)>,
    /// Native token the vault's keeper holds to pay gas.
    #[serde(default)]
    pub keeper_gas: String,
    /// Oracle per priced token, (symbol, oracle name); every non-numeraire holding needs one.
    pub oracles: Vec<(String, String)>,
    /// What to hold.
    pub strategy: RawStrategy,
    /// When to trade.
    pub trigger: RawTrigger,
    /// Never rebalance more often than this.
    #[serde(default)]
    pub min_interval_blocks: u64,
    /// How far to trade when triggered.
    #[serde(default)]
    pub sizing: RawSizing,
    /// Most value traded per block (numeraire); larger rebalances continue in later blocks.
    #[serde(default)]
    pub max_trade_value: Option<f64>,
    /// Slippage tolerance of each swap against the oracle price (0.005 = 0.5 %).
    pub slippage: f64,
    /// Blocks a rebalance transaction stays valid.
    #[serde(default = "three_blocks")]
    pub deadline_blocks: u64,
    /// Routing: longest path (1 or 2 pools).
    #[serde(default = "two")]
    pub max_hops: u8,
    /// Routing: split across the two best routes when that pays more.
    #[serde(default)]
    pub split: bool,
    /// Routing: only these pools (default: every pool).
    #[serde(default)]
    pub venues: RawPoolSet,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
    /// Most it pays per gas, base fee included, gwei (EIP-1559 max fee): its rebalances wait out
    /// base-fee spikes above this, and expire at their deadline. Default: no cap.
    #[serde(default)]
    pub max_fee_gwei: Option<f64>,
    /// Depositor flows.
    #[serde(default)]
    pub flows: Vec<RawFlow>,
    /// Defence: send rebalances through a private relay (invisible to searchers, never bundled).
    #[serde(default)]
    pub private_relay: bool,
    /// Defence: delay each rebalance by a random 0..=N blocks (its own random stream).
    #[serde(default)]
    pub jitter_blocks: u64,
    /// Each rebalance's band is the trigger's band times a factor drawn uniformly from
    /// `[1 - band_jitter, 1 + band_jitter]` on its own stream when the previous rebalance starts,
    /// and kept secret until it trades (commit-reveal style): its public rule no longer says
    /// exactly when it will trade.
    #[serde(default)]
    pub band_jitter: f64,
    /// Keeper's network latency, milliseconds (first-come-first-served ordering).
    #[serde(default)]
    pub latency_ms: f64,
    /// Latency to particular chains where it differs from `latency_ms`: (chain, milliseconds).
    #[serde(default)]
    pub chain_latency_ms: Vec<(String, f64)>,
    /// A yield leg: part of one token's holding kept supplied to a lending market.
    #[serde(default)]
    pub yield_leg: Option<RawYieldLeg>,
    /// Bridges it moves value through: with any, its holdings and targets may be tokens of the
    /// chains they join.
    #[serde(default)]
    pub bridges: Vec<String>,
    /// Order books it may trade on (beside its pools), each of two tokens it holds or targets,
    /// on its chain.
    #[serde(default)]
    pub books: Vec<String>,
    /// How it trades on its books: taking liquidity (default), or resting post-only orders.
    #[serde(default)]
    pub execution: RawExecution,
}

/// How a vault trades on its order books.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
pub enum RawExecution {
    /// Take liquidity: each trade goes to the pools, a book (an immediate-or-cancel order) or
    /// both, whichever split gives the most after gas.
    #[default]
    Active,
    /// Rest post-only limit orders on its books at the oracle price, requoting as the price
    /// moves; what has not filled after a while is taken actively.
    Passive(RawPassive),
}

/// Passive rebalancing's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPassive {
    /// How far on its own side of the oracle price it rests, bps (0: at the price).
    #[serde(default)]
    pub offset_bps: f64,
    /// It requotes when the oracle price moves this far from its order, bps.
    #[serde(default = "five")]
    pub requote_bps: f64,
    /// Blocks a rebalance waits for passive fills before it takes the rest.
    #[serde(default = "thirty")]
    pub max_wait_blocks: u64,
}

fn five() -> f64 {
    5.0
}

fn thirty() -> u64 {
    30
}

/// A vault's yield leg: `share` of its `token` holding supplied to lending `market`, counted at
/// the market's supply index; withdrawn before a rebalance sells it, and the rebalance deferred
/// while the reserve's utilization is above `max_utilization`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawYieldLeg {
    /// Lending market.
    pub market: String,
    /// Token supplied (one of the vault's tokens, a reserve of the market).
    pub token: String,
    /// Share of the vault's holding of the token kept supplied, (0, 1].
    pub share: f64,
    /// Above this utilization the vault defers rebalances that need its deposit back, (0, 1].
    #[serde(default = "one")]
    pub max_utilization: f64,
}

fn one() -> f64 {
    1.0
}

fn three_blocks() -> u64 {
    3
}

fn two() -> u8 {
    2
}

/// Allocation rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawStrategy {
    /// Fixed target weights over 2 to 8 tokens, summing to 1.
    ConstantMix {
        /// (symbol, weight).
        targets: Vec<(String, f64)>,
    },
    /// Constant-proportion portfolio insurance: risky exposure = multiplier x (NAV - floor),
    /// at most NAV.
    Cppi {
        /// Risky token.
        risky: String,
        /// Safe token.
        safe: String,
        /// Floor as a fraction of the genesis NAV.
        floor: f64,
        /// Multiplier (> 1).
        multiplier: f64,
        /// Optional ratchet: the floor rises to this fraction of the highest NAV seen.
        #[serde(default)]
        ratchet: Option<f64>,
    },
    /// Leverage through a lending market: `risky` supplied as collateral, `debt` borrowed
    /// against it, held at `target_leverage` (risky value / NAV) within the trigger's band;
    /// below `health_floor` it deleverages whatever the band says.
    Leveraged {
        /// Lending market.
        market: String,
        /// Token held long (collateral).
        risky: String,
        /// Token borrowed.
        debt: String,
        /// Risky value over NAV to hold, above 1.
        target_leverage: f64,
        /// Health factor below which it deleverages at once, above 1.
        #[serde(default = "health_floor")]
        health_floor: f64,
    },
}

fn health_floor() -> f64 {
    1.3
}

/// Rebalancing trigger.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawTrigger {
    /// Trade when any weight leaves its band: `|w - target| > band` (absolute) or
    /// `|w - target| > band x target` (relative).
    Threshold {
        /// Band half-width.
        band: f64,
        /// Relative to the target weight.
        #[serde(default)]
        relative: bool,
    },
    /// Every N blocks.
    PeriodicBlocks(u64),
    /// Every N seconds.
    PeriodicSeconds(f64),
    /// Threshold whose band scales with an EWMA estimate of realized volatility.
    VolatilityAdjusted {
        /// Band at the reference volatility.
        base_band: f64,
        /// Annualized volatility at which the band equals `base_band`.
        reference_volatility: f64,
        /// EWMA half-life, blocks.
        halflife_blocks: f64,
        /// Smallest band.
        min_band: f64,
        /// Largest band.
        max_band: f64,
    },
    /// The no-trade band worked out from the vault's own costs each block: LP fees and impact of
    /// the trade a rebalance would make, and gas relative to its NAV (small-cost asymptotics of
    /// optimal rebalancing); it trades back inside the band rather than to its edge when gas
    /// matters.
    CostAware {
        /// Relative risk aversion of its holders: how much drift away from the targets costs them.
        risk_aversion: f64,
        /// Smallest band.
        #[serde(default = "min_cost_band")]
        min_band: f64,
        /// Largest band.
        #[serde(default = "max_cost_band")]
        max_band: f64,
        /// Gas units a rebalance burns (default: one transaction of one swap hop).
        #[serde(default)]
        gas_per_rebalance: Option<u64>,
    },
    /// A threshold that also fires early: when the oracle's recent drift and volatility (EWMA)
    /// make a breach of the band within `horizon_blocks` more likely than `probability` and gas
    /// is at or below its recent median; with `crowd`, also ahead of other vaults whose public
    /// rules say they are about to trade the same way.
    Predictive {
        /// Band half-width (absolute).
        band: f64,
        /// How far ahead it looks, blocks.
        horizon_blocks: u64,
        /// Breach probability above which it trades early.
        probability: f64,
        /// EWMA half-life of the drift and volatility estimates, blocks.
        #[serde(default = "hundred_f")]
        halflife_blocks: f64,
        /// Blocks of base fees whose median is "cheap enough".
        #[serde(default = "three_hundred")]
        gas_window_blocks: u64,
        /// Also trade ahead of other vaults predicted to trade the same way.
        #[serde(default)]
        crowd: bool,
    },
}

fn hundred_f() -> f64 {
    100.0
}

fn three_hundred() -> u64 {
    300
}

fn min_cost_band() -> f64 {
    0.001
}

fn max_cost_band() -> f64 {
    0.25
}

/// How far a triggered rebalance trades.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
pub enum RawSizing {
    /// All the way back to the targets.
    #[default]
    Full,
    /// Only back to the edge of the band (threshold triggers).
    ToBandEdge,
}

/// Depositor flow.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawFlow {
    /// Poisson arrivals of deposits and withdrawals.
    Poisson {
        /// Deposits per day.
        deposits_per_day: f64,
        /// Mean deposit (exponential), decimal amount of the deposit token.
        mean_deposit: String,
        /// Withdrawals per day.
        withdrawals_per_day: f64,
        /// Mean fraction of the depositors' shares withdrawn (exponential, capped at 1).
        mean_withdraw_fraction: f64,
    },
    /// One deposit at a block.
    Deposit {
        /// Block.
        block: u64,
        /// Decimal amount of the deposit token.
        amount: String,
    },
    /// One withdrawal of a fraction of the depositors' shares at a block.
    Withdraw {
        /// Block.
        block: u64,
        /// Fraction in (0, 1].
        fraction: f64,
    },
    /// One withdrawal of an exact number of shares (decimal, 18 decimals) at a block.
    WithdrawShares {
        /// Block.
        block: u64,
        /// Shares, e.g. "1000.5".
        shares: String,
    },
    /// A bank run: `fraction` of the shares leave, spread evenly over `blocks` blocks.
    BankRun {
        /// First block.
        start_block: u64,
        /// Duration.
        blocks: u64,
        /// Total fraction of shares withdrawn.
        fraction: f64,
    },
}

/// A bridge between two chains, for the tokens it carries.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBridge {
    /// Unique name.
    pub name: String,
    /// Its two chains: transfers go from the first to the second (out) or back.
    pub chains: (String, String),
    /// Pairs of tokens it carries: (token on the first chain, token on the second), linked to
    /// the same asset and of equal decimals.
    pub tokens: Vec<(String, String)>,
    /// Speed and fees.
    pub kind: RawBridgeKind,
    /// Intervals during which it accepts and delivers nothing (a halt), seconds from genesis.
    #[serde(default)]
    pub halts: Vec<(f64, f64)>,
}

/// How a bridge moves value.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum RawBridgeKind {
    /// A rollup's own bridge: deposits arrive in minutes, withdrawals after the challenge period.
    Canonical {
        /// Seconds for a deposit (first chain to second).
        deposit_s: f64,
        /// Seconds for a withdrawal (second to first).
        withdrawal_s: f64,
    },
    /// Burn-and-mint with an attestation (CCTP-like): standard after finality, fast for a fee.
    Attestation {
        /// Seconds for a standard transfer.
        standard_s: f64,
        /// Seconds for a fast transfer.
        fast_s: f64,
        /// Fee of a fast transfer, bps.
        fast_fee_bps: u32,
    },
    /// A relayer fronts funds on the destination for a fee and is repaid later from the source.
    Intent {
        /// Seconds until the relayer fills.
        fill_s: f64,
        /// Relayer's fee, bps.
        fee_bps: u32,
        /// Seconds until its capital comes back after a fill.
        repay_s: f64,
        /// An unfilled transfer is refunded after this many seconds.
        max_wait_s: f64,
        /// The relayer's capital on each chain: (token, decimal amount) pairs, tokens of either
        /// chain.
        capital: Vec<(String, String)>,
    },
}
