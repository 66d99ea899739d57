//! Trading ahead of the crowd: a predictive vault with `crowd: true` reads the other vaults'
//! public state (weights, targets, band at their last decision) and, with its own estimates of
//! each shared token's drift and volatility, predicts which of them will rebalance within its
//! horizon; when one will trade a token the same way it would (both over, or both under, their
//! targets), it rebalances first rather than after the crowd has moved the pools. The defensive
//! mirror of the trigger-predicting searcher.

use bevy_ecs::prelude::*;
use meshsim_scenario::{TokenId, Trigger, VaultId};

use super::strategy::breach_probability;
use super::{VaultConfig, VaultMeta, VaultState};
use crate::chain::Chains;
use crate::engine::{Fresh, State, shared};

/// One vault's public position in one token: (vault, token, weight, target, band).
type Position = (VaultId, TokenId, f64, f64, f64);

/// Decide phase, before the vaults decide: each crowd-aware vault learns whether another vault is
/// about to trade one of its tokens the way it would.
pub(super) fn predict_crowd(
    mut vaults: Fresh<(&VaultMeta, &VaultConfig, &mut VaultState)>,
    chains: State<(&Chains,)>,
    mut public: Local<Vec<Position>>,
) {
    let (chains,) = shared(chains);
    public.clear();
    for (meta, cfg, state) in &vaults {
        if meta.chain != chains.active {
            continue;
        }
        for (k, t) in cfg.universe.iter().enumerate() {
            let (w, target) = (state.weights.get(k).copied(), state.targets.get(k).copied());
            if let (Some(w), Some(target)) = (w, target) {
                public.push((meta.id, *t, w, target, state.band));
            }
        }
    }
    // in vault id order, whatever the query's order
    public.sort_unstable_by_key(|p| (p.0, p.1));
    for (meta, cfg, mut state) in &mut vaults {
        let Trigger::Predictive { horizon_blocks, probability, crowd: true, .. } = cfg.spec.trigger else { continue };
        if meta.chain != chains.active {
            continue;
        }
        let mut ahead = false;
        for (k, t) in cfg.universe.iter().enumerate() {
            let (Some(w), Some(target)) = (state.weights.get(k).copied(), state.targets.get(k).copied()) else {
                continue;
            };
            let mine = w - target;
            if mine == 0.0 {
                continue;
            }
            let mu = state.drift[k];
            let sigma = libm::sqrt((state.drift_sq[k] - mu * mu).max(0.0));
            ahead |= public.iter().filter(|p| p.1 == *t && p.0 != meta.id).any(|&(_, _, ow, ot, oband)| {
                // the same side of its target as this vault, and likely to leave its band soon
                (ow - ot).signum() == mine.signum()
                    && oband > 0.0
                    && breach_probability(ow, ot, oband, mu, sigma, horizon_blocks as f64) > probability
            });
        }
        state.crowd_ahead = ahead;
    }
}
