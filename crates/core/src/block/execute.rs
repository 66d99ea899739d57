//! Execute phase: the block plan runs item by item through the executor: lone transactions,
//! bundles all or nothing (simulated first), batches cleared together; then the victims of
//! bundles that failed. Every transaction leaves a receipt.

use meshsim_scenario::AgentId;

use super::batch::run_batch;
use super::builder::{BlockPlan, BundleItem, Item};
use super::executor::Executor;
use super::mempool::Bundle;
use crate::SimConfig;
use crate::chain::ChainState;
use crate::engine::venue::ExecCtx;
use crate::ledger::{Ledger, Special};
use crate::lending::Lending;
use crate::market::ExternalPrices;
use crate::pools::{Pools, QuoteCache};
use crate::tx::{Effect, Outcome, Receipt, Tx};

/// Runs a bundle all or nothing: if any of its own transactions would fail, it is dropped and its
/// victim lands unbundled at the end of the block (where a zero-bid transaction would go).
fn run_bundle(ex: &mut Executor<'_>, bundle: Bundle, victim: Option<Tx>, deferred: &mut Vec<Tx>) {
    let victim_id = victim.as_ref().map(|v| v.id);
    let order: Vec<&Tx> = bundle.before.iter().chain(victim.as_ref()).chain(&bundle.after).collect();
    ex.simulate(&order);
    let own_ok = order.iter().zip(&ex.simulated).all(|(t, good)| *good || Some(t.id) == victim_id);
    drop(order);
    if !own_ok {
        deferred.extend(victim);
        return;
    }
    // what the victim would have received alone, to measure what the front-run took
    let costs = ex.ctx.config.gas;
    let alone = victim
        .as_ref()
        .filter(|_| !bundle.before.is_empty())
        .and_then(|v| v.swap())
        .and_then(|s| ex.pools.quote_path(&[], &s.legs, s.amount_in, &costs).ok())
        .map(|q| q.amount_out());
    let mut first_own = None;
    let Bundle { searcher, before, after, bid_wei, .. } = bundle;
    for tx in before {
        let k = ex.run(tx);
        first_own.get_or_insert(k);
    }
    if let Some(v) = victim {
        let k = ex.run(v);
        let r = &mut ex.receipts[k];
        if let (Some(alone), Outcome::Included, Effect::Swap(s)) = (alone, &r.outcome, &r.effect) {
            r.sandwich_shortfall = Some(alone.saturating_sub(s.amount_out));
        }
    }
    for tx in after {
        let k = ex.run(tx);
        first_own.get_or_insert(k);
    }
    pay_bid(ex, searcher, bid_wei, first_own);
}

/// The bid goes to the builder (proposer), charged with the bundle's first own transaction.
fn pay_bid(ex: &mut Executor<'_>, searcher: AgentId, bid_wei: u128, first_own: Option<usize>) {
    let from = ex.ctx.config.layout.agent(searcher);
    let proposer = ex.ctx.config.layout.special(Special::Proposer);
    if bid_wei > 0
        && ex.ctx.ledger.transfer(from, proposer, ex.ctx.native, bid_wei).is_ok()
        && let Some(k) = first_own
    {
        ex.receipts[k].builder_bid_wei = bid_wei;
    }
}

/// Reused buffers of the executor.
#[derive(Debug, Default)]
pub(super) struct ExecScratch {
    deferred: Vec<Tx>,
    simulated: Vec<bool>,
}

/// The venues a block executes on: the pools, and the others a world may have.
pub(super) struct Venues<'a> {
    /// The AMM pools.
    pub pools: &'a mut Pools,
    /// Quotes their senders already computed.
    pub quotes: &'a QuoteCache,
    /// Lending markets.
    pub lending: Option<&'a mut Lending>,
    /// Bridges.
    pub bridges: Option<&'a mut crate::bridges::Bridges>,
    /// Order books.
    pub books: Option<&'a mut crate::books::Books>,
}

/// Executes `plan` on `chain`: every item in order, then the victims of failed bundles; a
/// receipt for every transaction.
#[expect(clippy::too_many_arguments, reason = "execution touches every venue and the chain")]
pub(super) fn execute(
    plan: &mut BlockPlan,
    venues: Venues<'_>,
    ledger: &mut Ledger,
    chain: &mut ChainState,
    prices: &ExternalPrices,
    config: &SimConfig,
    receipts: &mut Vec<Receipt>,
    scratch: &mut ExecScratch,
) {
    let block = chain.clock.number;
    let now = chain.clock.timestamp as u64;
    let native = chain.native;
    let Venues { pools, quotes, lending, bridges, books } = venues;
    let mut ex = Executor {
        pools,
        quotes,
        lending,
        bridges,
        books,
        ctx: ExecCtx { ledger, prices, config, block, now, native, time: chain.clock.timestamp },
        gas: &mut chain.gas,
        receipts,
        position: 0,
        simulated: std::mem::take(&mut scratch.simulated),
    };
    ex.run_all(&mut plan.txs);
    for item in plan.items.drain(..) {
        match item {
            Item::Single(tx) => {
                ex.run(tx);
            }
            Item::Bundle(b) => {
                let BundleItem { bundle, victim } = *b;
                run_bundle(&mut ex, bundle, victim, &mut scratch.deferred)
            }
            Item::Batch(txs) => run_batch(&mut ex, txs),
        }
    }
    for tx in scratch.deferred.drain(..) {
        ex.run(tx);
    }
    scratch.simulated = std::mem::take(&mut ex.simulated);
}
