//! Chains: each has its block clock (fixed or Poisson block times) and its EIP-1559 gas market,
//! keyed by [`ChainId`]. One schedule run is one block of one chain, the *active* chain: the
//! clock phase picks the chain whose next block comes first (ties to the lower id, so the hub
//! first), and every resource that belongs to a chain (clock, gas market, mempool, block plan)
//! and every system that acts on a chain's entities follows the active chain's id.
//!
//! The hub (the first chain) keeps the world's calendar: its blocks count the run's length and
//! schedule events and shocks. A world with one chain draws its block times exactly as before
//! (no block is drawn ahead), so single-chain digests are unchanged.

use bevy_ecs::prelude::*;
use meshsim_scenario::{BlockTime, Chain};
use rand::RngExt;
use rand_chacha::ChaCha12Rng;
use sha2::{Digest as _, Sha256};

use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::rng::{Purpose, stream};
use crate::snapshot::Snapshot;
pub use crate::tx::ChainId;
use crate::{SimConfig, SimError};

/// Block clocks and gas markets.
pub struct ChainPlugin;

impl Plugin for ChainPlugin {
    fn name(&self) -> &'static str {
        "chain"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        let multi = s.multi_chain();
        let list = s
            .chains
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let mut clock = BlockClock::new(c.block_time, stream(s.seed, Purpose::BlockTime, k as u64));
                if multi {
                    // the next block's time must be known to pick the chain that goes first
                    clock.draw_next();
                }
                ChainState {
                    id: ChainId(k as u16),
                    clock,
                    gas: GasMarket::new(c),
                    native: c.native,
                    ordering: c.ordering,
                }
            })
            .collect();
        app.insert_state(Chains { active: ChainId(0), list, now: 0.0, elapsed: 0.0, steps: 0, hub_block: true });
        app.add_systems(Phase::Clock, advance_clock);
        app.add_systems(Phase::Settle, roll_base_fee);
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        let chains = world.state::<Chains>();
        if chains.list.len() > 1 {
            // which chain goes next is state (single-chain digests stay as they were)
            h.update(chains.now.to_bits().to_le_bytes());
            h.update(chains.steps.to_le_bytes());
        }
        for c in &chains.list {
            h.update(c.clock.number.to_le_bytes());
            h.update(c.clock.timestamp.to_bits().to_le_bytes());
            h.update(c.clock.rng_word_pos().to_le_bytes());
            h.update(c.gas.base_fee_wei.to_le_bytes());
            h.update(c.gas.gas_used.to_le_bytes());
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        let chains = world.state::<Chains>();
        let c = chains.hub();
        snap.block = c.clock.number;
        snap.timestamp = chains.now;
        snap.base_fee_wei = c.gas.base_fee_wei;
        snap.chains = chains
            .list
            .iter()
            .map(|c| crate::snapshot::ChainSnapshot {
                block: c.clock.number,
                timestamp: c.clock.timestamp,
                base_fee_wei: c.gas.base_fee_wei,
            })
            .collect();
    }
}

/// One chain's clock and gas market.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainState {
    /// Its id.
    pub id: ChainId,
    /// Block number and time.
    pub clock: BlockClock,
    /// Base fee and gas of the current block.
    pub gas: GasMarket,
    /// Token that pays gas.
    pub native: meshsim_scenario::TokenId,
    /// How its blocks are ordered.
    pub ordering: meshsim_scenario::Ordering,
}

/// Every chain's state, by id, and the chain whose block is being run.
#[derive(Component, Debug, Clone)]
pub struct Chains {
    /// The chain whose block the schedule is running.
    pub active: ChainId,
    /// By id.
    pub list: Vec<ChainState>,
    /// Seconds since genesis: the active block's time.
    pub now: f64,
    /// Seconds since the previous block of any chain (what the external market moves by).
    pub elapsed: f64,
    /// Blocks run, all chains together.
    pub steps: u64,
    /// Whether the active block is the hub's (events and shocks act only then).
    pub hub_block: bool,
}

impl Chains {
    /// The hub: the first chain, whose blocks keep the world's calendar.
    pub fn hub(&self) -> &ChainState {
        &self.list[0]
    }

    /// The hub's block number: what events, shocks and run lengths count.
    pub fn hub_number(&self) -> u64 {
        self.list[0].clock.number
    }

    /// Whether the active chain is `chain`.
    #[inline]
    pub fn is_active(&self, chain: ChainId) -> bool {
        self.active == chain
    }

    /// The chain whose block comes next (ties to the lower id); the only one in a one-chain world.
    pub fn next(&self) -> ChainId {
        let mut best = ChainId(0);
        let mut at = f64::INFINITY;
        for c in &self.list {
            let t = c.clock.next_at();
            if t < at {
                at = t;
                best = c.id;
            }
        }
        best
    }

    /// Runs the clock: picks the next chain and advances its block.
    fn step(&mut self) {
        self.steps += 1;
        if self.list.len() == 1 {
            let c = &mut self.list[0].clock;
            c.advance();
            self.now = c.timestamp;
            self.elapsed = c.dt;
            return;
        }
        let id = self.next();
        self.active = id;
        self.hub_block = id.index() == 0;
        let c = &mut self.list[id.index()].clock;
        c.advance_drawn();
        self.elapsed = c.timestamp - self.now;
        self.now = c.timestamp;
    }
    /// The active chain.
    pub fn active(&self) -> &ChainState {
        &self.list[self.active.index()]
    }

    /// The active chain, mutably.
    pub fn active_mut(&mut self) -> &mut ChainState {
        let k = self.active.index();
        &mut self.list[k]
    }
}

/// Block number and time.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockClock {
    /// Current block (0 = genesis, before any block ran).
    pub number: u64,
    /// Seconds since genesis.
    pub timestamp: f64,
    /// Seconds since the previous block.
    pub dt: f64,
    block_time: BlockTime,
    rng: ChaCha12Rng,
    /// The next block's gap, drawn ahead (several chains only).
    next_dt: Option<f64>,
}

impl BlockClock {
    /// Genesis clock.
    pub fn new(block_time: BlockTime, rng: ChaCha12Rng) -> Self {
        BlockClock { number: 0, timestamp: 0.0, dt: 0.0, block_time, rng, next_dt: None }
    }

    /// The configured block time.
    pub fn block_time(&self) -> BlockTime {
        self.block_time
    }

    /// Position of the block-time stream (for digests).
    pub fn rng_word_pos(&self) -> u128 {
        self.rng.get_word_pos()
    }

    fn gap(&mut self) -> f64 {
        match self.block_time {
            BlockTime::Fixed { seconds } => seconds,
            BlockTime::Poisson { mean_seconds } => {
                // exponential gap by inversion; 1 - u is in (0, 1]
                let u: f64 = self.rng.random();
                -mean_seconds * libm::log(1.0 - u)
            }
        }
    }

    fn advance(&mut self) {
        self.dt = self.gap();
        self.number += 1;
        self.timestamp += self.dt;
    }

    /// Draws the next block's gap ahead of time.
    fn draw_next(&mut self) {
        self.next_dt = Some(self.gap());
    }

    /// When the next block comes (drawn ahead), seconds since genesis.
    pub fn next_at(&self) -> f64 {
        self.timestamp + self.next_dt.unwrap_or(f64::INFINITY)
    }

    /// Advances by the gap drawn ahead and draws the one after.
    fn advance_drawn(&mut self) {
        self.dt = self.next_dt.unwrap_or(0.0);
        self.number += 1;
        self.timestamp += self.dt;
        self.draw_next();
    }
}

/// Base fee and gas accounting of the current block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasMarket {
    /// Base fee of the current block, wei per gas.
    pub base_fee_wei: u128,
    /// Gas used so far in the current block.
    pub gas_used: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Whether the base fee follows EIP-1559.
    pub eip1559: bool,
    /// Base fee at which outside traffic fills blocks to the target (0: no outside traffic).
    pub background_reference_wei: u128,
    /// The reference without any gas spike.
    pub background_normal_wei: u128,
}

impl GasMarket {
    /// From the chain parameters.
    pub fn new(chain: &Chain) -> Self {
        let reference = if chain.background_demand { chain.base_fee_wei } else { 0 };
        let mut g = GasMarket {
            base_fee_wei: chain.base_fee_wei,
            gas_used: 0,
            gas_limit: chain.gas_limit,
            eip1559: chain.eip1559,
            background_reference_wei: reference,
            background_normal_wei: reference,
        };
        g.gas_used = g.background_gas();
        g
    }

    /// Gas outside traffic uses at the current base fee: the target at the reference fee, in
    /// inverse proportion to the fee above or below it, within the block limit.
    pub fn background_gas(&self) -> u64 {
        if self.background_reference_wei == 0 {
            return 0;
        }
        let target = u128::from(self.gas_limit / 2);
        let used = target * self.background_reference_wei / self.base_fee_wei.max(1);
        used.min(u128::from(self.gas_limit)) as u64
    }

    /// EIP-1559: the next block's base fee from this block's gas used (target = limit / 2, max
    /// change 1/8 per block, at least +1 wei when above target).
    pub fn next_base_fee(&self) -> u128 {
        if !self.eip1559 {
            return self.base_fee_wei;
        }
        let target = u128::from(self.gas_limit / 2).max(1);
        let used = u128::from(self.gas_used);
        let base = self.base_fee_wei;
        if base == 0 && used <= target {
            // a free chain below its target stays free (and skips two 128-bit divisions)
            return 0;
        }
        // base x (used - target) may pass 128 bits before the division: exact 256-bit product
        let moved = |gap: u128| meshsim_math::full_math::mul_div_u128(base, gap, target).unwrap_or(u128::MAX) / 8;
        if used > target { base.saturating_add(moved(used - target).max(1)) } else { base - moved(target - used) }
    }
}

/// Clock phase: pick the chain whose block comes next and advance its number and time.
fn advance_clock(chains: State<&mut Chains>) {
    shared(chains).step();
}

/// Settle phase: roll the base fee for the next block and reset gas used.
fn roll_base_fee(state: State<(&mut Chains, &SimConfig, &mut crate::SimStatus)>) {
    let (mut chains, config, mut status) = shared(state);
    let hub = chains.active.index() == 0;
    let ChainState { clock, gas, .. } = chains.active_mut();
    gas.base_fee_wei = gas.next_base_fee();
    let max = meshsim_scenario::limits::MAX_BASE_FEE_WEI;
    if gas.base_fee_wei > max && status.failure.is_none() {
        status.failure = Some(SimError::OutOfRange {
            block: clock.number,
            what: "the base fee in wei".into(),
            value: meshsim_math::u128_to_f64(gas.base_fee_wei),
            min: 0.0,
            max: meshsim_math::u128_to_f64(max),
        });
    }
    // a gas spike (scheduled in hub blocks, on the hub) scales outside demand in the next block
    let spike = if hub { config.events.gas_demand_multiplier(clock.number + 1) } else { 1.0 };
    // exact, not through an f64, when no spike is on
    gas.background_reference_wei = if spike == 1.0 {
        gas.background_normal_wei
    } else {
        (meshsim_math::u128_to_f64(gas.background_normal_wei) * spike) as u128
    };
    // outside traffic takes its share of the next block before any simulated transaction
    gas.gas_used = gas.background_gas();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market(base: u128, used: u64) -> GasMarket {
        GasMarket {
            base_fee_wei: base,
            gas_used: used,
            gas_limit: 30_000_000,
            eip1559: true,
            background_reference_wei: 0,
            background_normal_wei: 0,
        }
    }

    #[test]
    fn eip1559_moves_by_at_most_an_eighth() {
        assert_eq!(market(1_000_000_000, 15_000_000).next_base_fee(), 1_000_000_000);
        assert_eq!(market(1_000_000_000, 30_000_000).next_base_fee(), 1_125_000_000);
        assert_eq!(market(1_000_000_000, 0).next_base_fee(), 875_000_000);
        assert_eq!(market(7, 15_000_001).next_base_fee(), 8, "at least one wei up");
        assert_eq!(market(0, 0).next_base_fee(), 0);
        // a base fee whose product with the gas gap passes 128 bits still moves by an eighth
        let huge = u128::MAX / 1_000;
        assert_eq!(market(huge, 30_000_000).next_base_fee(), huge + huge / 8);
        assert_eq!(market(huge, 0).next_base_fee(), huge - huge / 8);
    }

    #[test]
    fn elastic_background_settles_the_base_fee_near_its_reference() {
        let mut g = GasMarket {
            base_fee_wei: 10_000_000_000,
            gas_used: 0,
            gas_limit: 30_000_000,
            eip1559: true,
            background_reference_wei: 10_000_000_000,
            background_normal_wei: 10_000_000_000,
        };
        // simulated demand of 3M gas a block on top of the background
        for _ in 0..2_000 {
            g.gas_used = g.background_gas() + 3_000_000;
            g.base_fee_wei = g.next_base_fee();
        }
        // equilibrium: target x ref / b + D = target  =>  b = ref x 15M / 12M
        let expected = 10_000_000_000.0 * 15.0 / 12.0;
        assert!((g.base_fee_wei as f64 / expected - 1.0).abs() < 0.01, "{}", g.base_fee_wei);
    }

    #[test]
    fn poisson_gaps_have_the_configured_mean() {
        let mut c = BlockClock::new(
            BlockTime::Poisson { mean_seconds: 12.0 },
            crate::rng::stream(1, crate::rng::Purpose::BlockTime, 0),
        );
        let n = 200_000;
        for _ in 0..n {
            c.advance();
        }
        let mean = c.timestamp / n as f64;
        // exponential: stdev of the mean is 12 / sqrt(n) = 0.027; allow 5 of them
        assert!((mean - 12.0).abs() < 5.0 * 12.0 / (n as f64).sqrt(), "mean gap {mean}");
    }
}
