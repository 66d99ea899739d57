//! Trigger prediction: vault state, oracle rounds and rebalancing rules are public, so a searcher
//! can run a vault's own rule one block ahead. When it predicts a rebalance, it buys what the
//! vault will buy on the vault's route now, and sells right behind the vault's transaction when
//! that appears (or after two blocks if it does not).

use bevy_ecs::prelude::*;

use crate::engine::{Fresh, State, shared};
use meshsim_scenario::{Ordering as Policy, VaultId};

use super::Searcher;
use crate::agents::{AgentMeta, MarketView, PendingTxs, ViewParams};
use crate::block::{Blocks, Bundle, Mempool, PendingBundles};
use crate::oracles::{Oracle, OracleBook};
use crate::pools::PoolBook;
use crate::tx::{Cause, Note, Path, Sender, Swap, Tx, TxKind, reverse_path};
use crate::vaults::routing::{RouteTable, path_output};
use crate::vaults::{VaultConfig, VaultMeta, VaultShares, VaultState, oracle_prices, plan_rebalance};

/// Share of the predicted vault trade the predictor takes ahead of it.
pub const POSITION_SHARE: f64 = 0.5;

/// An open position waiting for the vault.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The vault it expects.
    pub vault: VaultId,
    /// The path it bought along (the vault's predicted route).
    pub path: Path,
    /// Amount of the path's output token it holds for this position.
    pub amount: u128,
    /// Block it was opened.
    pub opened: u64,
}

/// The predictor's open positions (its own state).
#[derive(Component, Debug, Clone, Default)]
pub struct PredictorBook(pub Vec<Position>);

/// Decide phase: open positions ahead of the rebalances predicted for the next block.
pub(super) fn open_predictions(
    view: ViewParams,
    mut predictors: Fresh<(&AgentMeta, &Searcher, &mut PredictorBook, &mut PendingTxs)>,
    vaults: Fresh<(&VaultMeta, &VaultConfig, &VaultState, &VaultShares)>,
    oracles: Fresh<&Oracle>,
    state: State<(Option<&OracleBook>, Option<&RouteTable>)>,
) {
    // a predictor in a world without vaults has nothing to predict
    let (Some(book), Some(table)) = shared(state) else { return };
    let mut vault_list: Vec<_> = vaults.iter().collect();
    vault_list.sort_by_key(|v| v.0.id);
    let mut oracle_list: Vec<&Oracle> = oracles.iter().collect();
    oracle_list.sort_by_key(|o| o.id);
    view.with_view(|v| {
        // next block's oracle readings: pending rounds become visible
        let mut next_book = book.clone();
        for o in &oracle_list {
            if let Some(p) = o.next_reading(v.block) {
                next_book.price[o.id.index()] = p;
            }
        }
        for (me, cfg, mut positions, mut txs) in &mut predictors {
            if cfg.strategy != meshsim_scenario::SearcherStrategy::TriggerPrediction || me.chain != v.chain {
                continue;
            }
            for (meta, vcfg, state, shares) in &vault_list {
                if meta.chain != v.chain
                    || positions.0.iter().any(|p| p.vault == meta.id)
                    || state.in_progress
                    || state.trading
                {
                    continue;
                }
                let prices = oracle_prices(vcfg, &next_book);
                // a vault's secret band scale is not public: the predictor runs the nominal rule
                let public;
                let state = if state.band_scale != 1.0 {
                    public = VaultState { band_scale: 1.0, ..(*state).clone() };
                    &public
                } else {
                    state
                };
                let plan = plan_rebalance(v, meta, vcfg, state, shares, &prices, table);
                let Some(vault_swap) = plan.txs.first().and_then(|t| t.swap()) else { continue };
                if vault_swap.legs.iter().any(|l| cfg.pools.binary_search(&l.pool).is_err()) {
                    continue;
                }
                let token_in = vault_swap.token_in();
                let amount =
                    ((vault_swap.amount_in as f64 * POSITION_SHARE) as u128).min(v.balance(me.account, token_in));
                let Some(out) = path_output(v.pools, &vault_swap.legs, amount) else { continue };
                if amount == 0 || out == 0 {
                    continue;
                }
                let swap = Swap::new(vault_swap.legs.clone(), amount, out);
                let mut tx =
                    Tx::new(Sender::Agent(me.id), txs.0.len() as u32, TxKind::PredictFront, 0, swap.into(), v.block);
                tx.cause = Cause::Schedule;
                tx.note = Note::Predicts(meta.id);
                txs.0.push(tx);
                positions.0.push(Position {
                    vault: meta.id,
                    path: vault_swap.legs.clone(),
                    amount: out,
                    opened: v.block,
                });
            }
        }
    });
}

/// Search phase: sell right behind the vault's transaction when it appears, or give up after
/// two blocks.
pub(super) fn unwind_predictions(
    view: ViewParams,
    mut predictors: Fresh<(&AgentMeta, &mut PredictorBook, &mut PendingTxs, &mut PendingBundles)>,
    blocks: State<&Blocks>,
) {
    let chains = view.chains();
    let mempool = &shared(blocks).of(chains.active).mempool;
    view.with_view(|v| {
        for (me, mut positions, mut txs, mut bundles) in &mut predictors {
            if me.chain != v.chain {
                continue;
            }
            unwind(v, me, &mut positions, &mut txs, &mut bundles, mempool, chains.active().ordering);
        }
    });
}

fn unwind<B: PoolBook + ?Sized>(
    v: &MarketView<'_, B>,
    me: &AgentMeta,
    positions: &mut PredictorBook,
    txs: &mut PendingTxs,
    bundles: &mut PendingBundles,
    mempool: &Mempool,
    policy: Policy,
) {
    let mut keep = Vec::new();
    for p in positions.0.drain(..) {
        if p.opened >= v.block {
            keep.push(p);
            continue;
        }
        let back = reverse_path(&p.path);
        let victim = mempool.public().find(|t| {
            t.sender == Sender::Vault(p.vault)
                && t.swap().and_then(|s| s.legs.first()).map(|l| l.token_in) == p.path.first().map(|l| l.token_in)
        });
        let amount = p.amount;
        match victim {
            Some(vt) if policy != Policy::FirstComeFirstServed || vt.arrival <= 0.0 => {
                let mut tx = Tx::new(
                    Sender::Agent(me.id),
                    100 + bundles.0.len() as u32,
                    TxKind::PredictUnwind,
                    0,
                    Swap::new(back, amount, 0).into(),
                    v.block,
                );
                tx.cause = Cause::Victim(vt.id);
                bundles.0.push(Bundle {
                    searcher: me.id,
                    seq: bundles.0.len() as u32,
                    before: Vec::new(),
                    victim: Some(vt.id),
                    after: vec![tx],
                    bid_wei: 0,
                });
            }
            _ if v.block >= p.opened + 2 => {
                let mut tx = Tx::new(
                    Sender::Agent(me.id),
                    200 + txs.0.len() as u32,
                    TxKind::PredictUnwind,
                    0,
                    Swap::new(back, amount, 0).into(),
                    v.block,
                );
                tx.cause = Cause::Schedule;
                tx.note = Note::PredictionMissed;
                txs.0.push(tx);
            }
            _ => keep.push(p),
        }
    }
    positions.0 = keep;
}
