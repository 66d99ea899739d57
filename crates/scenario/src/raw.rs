//! The RON schema as written by users: raw serde structs, checked only for shape. Every struct
//! denies unknown fields; [`crate::validate`] turns a [`RawWorld`] into a typed
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
    /// Chain parameters.
    pub chain: RawChain,
    /// Token used to value everything (its external price is 1).
    pub numeraire: String,
    /// Tokens, in order; their position is their id.
    pub tokens: Vec<RawToken>,
    /// The external (CEX) market.
    pub market: RawMarket,
    /// AMM pools.
    #[serde(default)]
    pub pools: Vec<RawPool>,
    /// Agents.
    #[serde(default)]
    pub agents: Vec<RawAgent>,
    /// Gas units per action.
    #[serde(default)]
    pub gas: RawGas,
}

/// Chain parameters.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
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
    /// Minimum profit net of fees and gas, in numeraire units.
    #[serde(default)]
    pub min_profit: f64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
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
    /// Minimum profit net of gas, numeraire units.
    #[serde(default)]
    pub min_profit: f64,
    /// Priority fee bid, gwei per gas.
    #[serde(default)]
    pub priority_fee_gwei: f64,
}

fn three() -> u8 {
    3
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
        }
    }
}
