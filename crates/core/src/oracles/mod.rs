//! Oracles: what vaults see instead of the true price. A push oracle follows the external price
//! with a deviation threshold, a heartbeat and a visibility delay (Chainlink-like); a TWAP oracle
//! averages a pool's price (geometric mean) over its last blocks, and with a one-block window is a
//! spot price anyone can move with a trade.

use std::collections::VecDeque;

use bevy_ecs::prelude::*;
use meshsim_scenario::{OracleId, OracleKind, OracleSpec, TokenId};
use sha2::{Digest as _, Sha256};

use crate::chain::Chains;
use crate::engine::{App, Fresh, Phase, Plugin, State, StateView, shared};
use crate::market::ExternalPrices;
use crate::pools::Pools;
use crate::snapshot::Snapshot;
use crate::{SimConfig, SimError};

/// Oracles and the book of their readings.
pub struct OraclesPlugin;

impl Plugin for OraclesPlugin {
    fn name(&self) -> &'static str {
        "oracles"
    }

    fn present(&self, s: &meshsim_scenario::Scenario, _: &crate::SimOptions) -> bool {
        // vaults read the book even when every token they hold is the numeraire
        !s.oracles.is_empty() || !s.vaults.is_empty()
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let s = app.scenario;
        let config = app.state::<SimConfig>();
        let numeraire_decimals = config.decimals[config.numeraire.index()];
        let prices = app.state::<ExternalPrices>();
        // oracles read the genesis external price until their first round
        let mut book = OracleBook { price: Vec::new() };
        let mut oracles = Vec::new();
        for o in &s.oracles {
            let p = prices.per_token[o.token.index()];
            book.price.push(p);
            let scale = libm::pow(10.0, f64::from(s.tokens[o.token.index()].decimals) - f64::from(numeraire_decimals));
            let mut oracle = Oracle::new(o, p, scale);
            oracle.chain = s.oracle_chain(o.id);
            oracles.push(oracle);
        }
        app.insert_state(book);
        app.world.spawn_batch(oracles);
        if !s.oracles.is_empty() {
            app.add_systems(Phase::Oracles, update_oracles);
        }
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        for p in &world.state::<OracleBook>().price {
            h.update(p.to_bits().to_le_bytes());
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        snap.oracle_prices.clone_from(&world.state::<OracleBook>().price);
    }
}

/// One oracle's state.
#[derive(Component, Debug, Clone)]
pub struct Oracle {
    /// Stable id.
    pub id: OracleId,
    /// Token priced (numeraire per whole token).
    pub token: TokenId,
    /// The chain it publishes on (its token's): it updates in that chain's blocks.
    pub chain: crate::chain::ChainId,
    kind: OracleKind,
    /// Rounds not yet visible: (visible from block, price).
    pending: VecDeque<(u64, f64)>,
    /// Last pushed round: (time, price).
    last_round: (f64, f64),
    /// TWAP: log prices of the last blocks.
    history: VecDeque<f64>,
    /// TWAP: `10^(token decimals - numeraire decimals)`, base-unit price to whole-token price.
    twap_scale: f64,
}

impl Oracle {
    /// An oracle at genesis, reading `genesis_price`; `twap_scale` turns a pool's base-unit price
    /// into numeraire per whole token.
    pub fn new(spec: &OracleSpec, genesis_price: f64, twap_scale: f64) -> Self {
        let window = match spec.kind {
            OracleKind::Twap { window_blocks, .. } => window_blocks.min(4096) as usize + 1,
            OracleKind::Push { .. } => 1,
        };
        let mut history = VecDeque::with_capacity(window);
        history.push_back(libm::log(genesis_price));
        Oracle {
            id: spec.id,
            token: spec.token,
            chain: crate::chain::ChainId(0),
            kind: spec.kind,
            pending: VecDeque::with_capacity(4),
            last_round: (0.0, genesis_price),
            history,
            twap_scale,
        }
    }
}

impl Oracle {
    /// The round that becomes visible next block, if one is pending (public: oracle updates are
    /// transactions anyone can watch).
    pub fn next_reading(&self, block: u64) -> Option<f64> {
        self.pending.iter().take_while(|(at, _)| *at <= block + 1).last().map(|(_, p)| *p)
    }
}

/// What every oracle reads this block, by oracle id.
#[derive(Component, Debug, Clone, Default)]
pub struct OracleBook {
    /// Numeraire per whole token.
    pub price: Vec<f64>,
}

/// Oracles phase: oracles take this block's reading.
fn update_oracles(
    mut oracles: Fresh<&mut Oracle>,
    state: State<(&Chains, &ExternalPrices, &Pools, &SimConfig, &mut OracleBook)>,
) {
    let (chains, prices, pools, config, mut book) = shared(state);
    let clock = &chains.active().clock;
    for mut o in &mut oracles {
        let o = &mut *o;
        if o.chain != chains.active {
            continue;
        }
        // outages are scheduled in hub blocks
        if config.events.oracle_frozen(o.id, chains.hub_number()) {
            // a frozen feed publishes nothing: its last reading stands
            continue;
        }
        let reading = match o.kind {
            OracleKind::Push { heartbeat_seconds, deviation, latency_blocks } => {
                let truth = prices.per_token[o.token.index()];
                let (t_last, p_last) = o.last_round;
                let moved = (truth / p_last - 1.0).abs() > deviation;
                let pushes = moved || clock.timestamp - t_last >= heartbeat_seconds;
                if pushes {
                    o.last_round = (clock.timestamp, truth);
                }
                if latency_blocks == 0 && o.pending.is_empty() {
                    // no latency and nothing in flight: a round is visible in the block it is
                    // pushed (what the queue below would give, without going through it)
                    if let Some(slot) = book.price.get_mut(o.id.index())
                        && pushes
                    {
                        *slot = truth;
                    }
                    continue;
                }
                if pushes {
                    o.pending.push_back((clock.number + latency_blocks, truth));
                }
                // the newest round that has become visible
                let mut visible = None;
                while o.pending.front().is_some_and(|(at, _)| *at <= clock.number) {
                    visible = o.pending.pop_front().map(|(_, p)| p);
                }
                visible.unwrap_or_else(|| book.price.get(o.id.index()).copied().unwrap_or(p_last))
            }
            OracleKind::Twap { pool, window_blocks } => {
                // the pool's price at the end of the previous block, in numeraire per token
                let spot = pools.entries.get(pool.index()).and_then(|e| {
                    let (i, j) = (e.index_of(o.token)?, e.tokens.iter().position(|t| config.is_numeraire(*t))?);
                    Some(e.marginal_price(i, j) * o.twap_scale)
                });
                if let Some(spot) = spot.filter(|p| p.is_finite() && *p > 0.0) {
                    o.history.push_back(libm::log(spot));
                }
                while o.history.len() as u64 > window_blocks {
                    o.history.pop_front();
                }
                libm::exp(o.history.iter().sum::<f64>() / o.history.len().max(1) as f64)
            }
        };
        if let Some(slot) = book.price.get_mut(o.id.index()) {
            *slot = reading;
        }
    }
}
