//! Size limits that keep a hostile world file from exhausting memory or time.

/// Largest world file read.
pub const MAX_WORLD_BYTES: u64 = 8 * 1024 * 1024;
/// Deepest RON nesting accepted.
pub const MAX_NESTING: usize = 64;
/// Most tokens.
pub const MAX_TOKENS: usize = 64;
/// Most pools.
pub const MAX_POOLS: usize = 1_024;
/// Most agents.
pub const MAX_AGENTS: usize = 4_096;
/// Most v3 positions in one pool.
pub const MAX_POSITIONS: usize = 4_096;
/// Most scheduled shocks.
pub const MAX_SHOCKS: usize = 10_000;
/// Longest run.
pub const MAX_BLOCKS: u64 = 1_000_000_000;
/// Largest replay CSV.
pub const MAX_REPLAY_BYTES: u64 = 256 * 1024 * 1024;
/// Most replay rows.
pub const MAX_REPLAY_ROWS: usize = 10_000_000;
/// Most oracles.
pub const MAX_ORACLES: usize = 1_024;
/// Most vaults.
pub const MAX_VAULTS: usize = 1_024;
/// Most flows per vault.
pub const MAX_FLOWS: usize = 10_000;
/// Longest TWAP window, blocks.
pub const MAX_TWAP_WINDOW: u64 = 100_000;
/// Most lending markets.
pub const MAX_MARKETS: usize = 16;
/// Most genesis borrower positions in one market.
pub const MAX_BORROWERS: usize = 100_000;
/// Most commands in a command log.
pub const MAX_COMMANDS: usize = 100_000;

// Physical ranges: a value outside them validates as a number but makes a run meaningless (or
// overflows the integer arithmetic of fees), so the world is refused.

/// Highest gas price in gwei a world may set (base fee, priority fee, fee cap): a million gwei,
/// a thousand times the highest base fee mainnet has seen.
pub const MAX_GAS_PRICE_GWEI: f64 = 1e6;
/// Most gas one operation of the gas schedule may cost.
pub const MAX_GAS_PER_OPERATION: u64 = 100_000_000;
/// Price range, in numeraire per whole token, of an external price at genesis.
pub const GENESIS_PRICE_RANGE: (f64, f64) = (1e-18, 1e18);
/// Price range, in numeraire per whole token, an external price may reach during a run; beyond it
/// the run stops with an error naming the block and token.
pub const RUN_PRICE_RANGE: (f64, f64) = (1e-30, 1e30);
/// Largest relative change of one scheduled shock (+10,000 %).
pub const MAX_SHOCK_CHANGE: f64 = 100.0;
/// Largest value, in numeraire, of a profit threshold or a trade cap.
pub const MAX_VALUE: f64 = 1e15;
/// Highest base fee in wei a run may reach (1e18 gwei); past it the run stops with an error.
pub const MAX_BASE_FEE_WEI: u128 = 1_000_000_000_000_000_000_000_000_000;
/// Most chains.
pub const MAX_CHAINS: usize = 16;
/// Most bridges.
pub const MAX_BRIDGES: usize = 64;
