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
/// Most commands in a command log.
pub const MAX_COMMANDS: usize = 100_000;
