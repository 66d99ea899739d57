//! Oracles: what vaults see instead of the true price. A push oracle follows the external price
//! with a deviation threshold, a heartbeat and a visibility delay (Chainlink-like); a TWAP oracle
//! averages a pool's price (geometric mean) over its last blocks, and with a one-block window is a
//! spot price anyone can move with a trade.

use std::collections::VecDeque;

use bevy_ecs::prelude::*;
use meshsim_scenario::{OracleId, OracleKind, OracleSpec, TokenId};

use crate::chain::BlockClock;
use crate::market::ExternalPrices;
use crate::pools::{PoolEntry, PoolIndex};
use crate::sim_config::SimConfig;

/// One oracle's state.
#[derive(Component, Debug, Clone)]
pub struct Oracle {
    /// Stable id.
    pub id: OracleId,
    /// Token priced (numeraire per whole token).
    pub token: TokenId,
    kind: OracleKind,
    /// Rounds not yet visible: (visible from block, price).
    pending: VecDeque<(u64, f64)>,
    /// Last pushed round: (time, price).
    last_round: (f64, f64),
    /// TWAP: log prices of the last blocks.
    history: VecDeque<f64>,
}

impl Oracle {
    /// An oracle at genesis, reading `genesis_price`.
    pub fn new(spec: &OracleSpec, genesis_price: f64) -> Self {
        Oracle {
            id: spec.id,
            token: spec.token,
            kind: spec.kind,
            pending: VecDeque::new(),
            last_round: (0.0, genesis_price),
            history: VecDeque::from([libm::log(genesis_price)]),
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
#[derive(Resource, Debug, Clone, Default)]
pub struct OracleBook {
    /// Numeraire per whole token.
    pub price: Vec<f64>,
}

/// Observe phase: oracles take this block's reading.
pub fn update_oracles(
    mut oracles: Query<&mut Oracle>,
    clock: Res<BlockClock>,
    prices: Res<ExternalPrices>,
    (pools, index): (Query<&PoolEntry>, Res<PoolIndex>),
    config: Res<SimConfig>,
    events: Res<crate::StressEvents>,
    mut book: ResMut<OracleBook>,
) {
    for mut o in &mut oracles {
        let o = &mut *o;
        if events.0.oracle_frozen(o.id, clock.number) {
            // a frozen feed publishes nothing: its last reading stands
            continue;
        }
        let reading = match o.kind {
            OracleKind::Push { heartbeat_seconds, deviation, latency_blocks } => {
                let truth = prices.per_token[o.token.index()];
                let (t_last, p_last) = o.last_round;
                let moved = (truth / p_last - 1.0).abs() > deviation;
                if moved || clock.timestamp - t_last >= heartbeat_seconds {
                    o.last_round = (clock.timestamp, truth);
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
                let spot = index.0.get(pool.index()).and_then(|e| pools.get(*e).ok()).and_then(|e| {
                    let (i, j) = (e.index_of(o.token)?, e.index_of(config.numeraire)?);
                    let (di, dj) = (config.decimals[o.token.index()], config.decimals[config.numeraire.index()]);
                    Some(e.pool.marginal_price(i, j) * libm::pow(10.0, f64::from(di) - f64::from(dj)))
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
