//! The AMM venue: quotes and executes [`Swap`] actions along pool paths, exactly as the contracts
//! do, and remembers who moved each pool (for decisions and cascades).

use meshsim_math::{Pool, PoolKind, SwapQuote, f64_to_u128, u128_to_f64};
use meshsim_scenario::{GasCosts, PoolId};

use super::{PoolEntry, Pools};
use crate::engine::venue::{ExecCtx, Venue};
use crate::ledger::{AccountId, Special};
use crate::tx::{Effect, Fills, HopFill, Leg, Quotes, RevertReason, Sender, Swap, SwapEffect, Tx};

/// A path's exact quote: each hop, and the gas the swap burns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathQuote {
    /// Each hop as it would execute.
    pub hops: Quotes,
    /// Gas units: the transaction's base plus each hop's.
    pub gas_units: u64,
}

impl PathQuote {
    /// Output of the last hop.
    pub fn amount_out(&self) -> u128 {
        self.hops.last().map_or(0, |q| q.amount_out)
    }
}

/// An exact quote a sender computed on a pool: `quote` is `quote_exact_in(i, j, amount_in)` on
/// the pool at `version` ([`PoolEntry::version`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedQuote {
    /// The pool.
    pub pool: PoolId,
    /// Its state when quoted.
    pub version: u64,
    /// Input token index.
    pub i: u8,
    /// Output token index.
    pub j: u8,
    /// The input quoted.
    pub amount_in: u128,
    /// The pool's answer.
    pub quote: SwapQuote,
}

impl SharedQuote {
    /// `quote`, made of `amount_in` from `i` to `j` on `entry` as it is now.
    pub fn of(entry: &PoolEntry, i: u8, j: u8, amount_in: u128, quote: SwapQuote) -> Self {
        SharedQuote { pool: entry.id, version: entry.version(), i, j, amount_in, quote }
    }
}

/// Exact quotes that senders already computed, for the executor to reuse while their pool has
/// not moved since: an arbitrageur sizes its trade with the pool's exact quote, and executing it
/// first in the block would compute the same numbers again. One slot per pool, the last quote
/// put there; a pure cache, so results are the same with it or without it.
#[derive(Debug, Clone, Default)]
pub struct QuoteCache {
    slots: Vec<Option<SharedQuote>>,
}

impl QuoteCache {
    /// Remembers `q`.
    pub fn put(&mut self, q: SharedQuote) {
        let k = q.pool.index();
        if self.slots.len() <= k {
            self.slots.resize(k + 1, None);
        }
        self.slots[k] = Some(q);
    }

    /// The quote of `amount_in` from `i` to `j` on `entry` as it is now, if one was put.
    #[inline]
    pub fn get(&self, entry: &PoolEntry, i: u8, j: u8, amount_in: u128) -> Option<SwapQuote> {
        let c = self.slots.get(entry.id.index())?.as_ref()?;
        let hit = c.version == entry.version() && c.i == i && c.j == j && c.amount_in == amount_in;
        debug_assert!(
            !hit || entry.pool.quote_exact_in(i.into(), j.into(), amount_in).ok() == Some(c.quote),
            "a shared quote must be the pool's own"
        );
        hit.then_some(c.quote)
    }
}

/// Gas units of one hop on a pool of `kind` that crosses `ticks` initialized ticks.
pub fn hop_gas(gas: &GasCosts, kind: PoolKind, ticks: u32) -> u64 {
    match kind {
        PoolKind::ConstantProduct => gas.swap_constant_product,
        PoolKind::Concentrated => gas.swap_concentrated + u64::from(ticks) * gas.tick_cross,
        PoolKind::StableSwap => gas.swap_stableswap,
        PoolKind::Weighted => gas.swap_weighted,
    }
}

impl Pools {
    /// Quotes every hop of `legs` in order, each hop on the `overlay` copy of its pool if there is
    /// one (bundle simulation), else on the pool as it is. The pools of a path are distinct.
    pub fn quote_path(
        &self,
        overlay: &[(PoolId, Pool)],
        legs: &[Leg],
        amount_in: u128,
        costs: &GasCosts,
    ) -> Result<PathQuote, RevertReason> {
        self.quote_path_cached(overlay, None, legs, amount_in, costs)
    }

    /// [`Pools::quote_path`], taking a hop's quote from `cache` where it holds one for the pool
    /// as it is (never for a pool on the overlay).
    pub fn quote_path_cached(
        &self,
        overlay: &[(PoolId, Pool)],
        cache: Option<&QuoteCache>,
        legs: &[Leg],
        amount_in: u128,
        costs: &GasCosts,
    ) -> Result<PathQuote, RevertReason> {
        let mut quote = PathQuote { hops: Quotes::new(), gas_units: costs.base_tx };
        let mut a = amount_in;
        for leg in legs {
            let entry = self.entries.get(leg.pool.index()).ok_or(RevertReason::UnknownVenue)?;
            let on_overlay = overlay.iter().find(|(p, _)| *p == leg.pool);
            let cached = if on_overlay.is_none() { cache.and_then(|c| c.get(entry, leg.i, leg.j, a)) } else { None };
            let q = match cached {
                Some(q) => q,
                None => {
                    let pool = on_overlay.map_or(&entry.pool, |(_, p)| p);
                    pool.quote_exact_in(leg.i.into(), leg.j.into(), a).map_err(|e| RevertReason::Venue(Box::new(e)))?
                }
            };
            if q.amount_in < a {
                return Err(RevertReason::InsufficientLiquidity);
            }
            quote.gas_units += hop_gas(costs, entry.pool.kind(), q.ticks_crossed);
            a = q.amount_out;
            quote.hops.push(q);
        }
        Ok(quote)
    }

    /// Whether each of `swaps`, in this order, would succeed (quotes on copies of the pools it
    /// touches; the pools themselves do not change).
    pub fn simulate<'t>(&self, swaps: impl Iterator<Item = Option<&'t Swap>>, costs: &GasCosts, out: &mut Vec<bool>) {
        let mut overlay: smallvec::SmallVec<[(PoolId, Pool); 4]> = smallvec::SmallVec::new();
        for swap in swaps {
            let ok = swap.is_some_and(|s| {
                let Ok(q) = self.quote_path(&overlay, &s.legs, s.amount_in, costs) else { return false };
                if q.hops.last().is_none_or(|h| h.amount_out < s.min_out) {
                    return false;
                }
                for (leg, hop) in s.legs.iter().zip(&q.hops) {
                    let k = match overlay.iter().position(|(p, _)| *p == leg.pool) {
                        Some(k) => k,
                        None => match self.entries.get(leg.pool.index()) {
                            Some(e) => {
                                overlay.push((leg.pool, e.pool.clone()));
                                overlay.len() - 1
                            }
                            None => return false,
                        },
                    };
                    if overlay[k].1.swap_exact_in(leg.i.into(), leg.j.into(), hop.amount_in).is_err() {
                        return false;
                    }
                }
                true
            });
            out.push(ok);
        }
    }
}

impl Pools {
    /// Moves tokens for one quoted hop between `payer` and the pool, applies it to the pool, and
    /// remembers that `tx` moved the pool.
    pub fn settle_hop(
        &mut self,
        payer: AccountId,
        leg: &Leg,
        q: &SwapQuote,
        tx: &Tx,
        ctx: &mut ExecCtx<'_>,
    ) -> Result<(), RevertReason> {
        self.settle_hop_to(payer, payer, leg, q, tx, ctx)
    }

    /// [`Pools::settle_hop`] with the hop's output paid to `to` rather than to the payer.
    fn settle_hop_to(
        &mut self,
        payer: AccountId,
        to: AccountId,
        leg: &Leg,
        q: &SwapQuote,
        tx: &Tx,
        ctx: &mut ExecCtx<'_>,
    ) -> Result<(), RevertReason> {
        let entry: &mut PoolEntry = self.entries.get_mut(leg.pool.index()).ok_or(RevertReason::UnknownVenue)?;
        let applied = entry.apply_quote(leg.i.into(), leg.j.into(), q);
        debug_assert_eq!(applied.as_ref().ok(), Some(q), "a quoted swap must apply identically");
        let pool_acct = entry.account;
        let protocol = ctx.config.layout.special(Special::Protocol);
        ctx.ledger
            .transfer(payer, pool_acct, leg.token_in, q.amount_in)
            .and_then(|_| ctx.ledger.transfer(pool_acct, to, leg.token_out, q.amount_out))
            .and_then(|_| ctx.ledger.transfer(pool_acct, protocol, leg.token_out, q.protocol_fee_out))
            .map_err(|e| RevertReason::Ledger(Box::new(e)))?;
        let k = leg.pool.index();
        self.dirty.current[k] = true;
        if let Sender::Vault(v) = tx.sender {
            self.dirty.vault_current[k] = Some(v);
        }
        self.provenance.record(leg.pool, ctx.block, tx.id, tx.kind);
        Ok(())
    }
}

impl Pools {
    /// Executes a quoted swap: the minimum, the payer's balance, each hop settled, the CEX hedge,
    /// and the effect for its receipt. The AMM venue's `apply`, also used by the flash-loan venue.
    pub fn apply_swap(
        &mut self,
        tx: &Tx,
        swap: &Swap,
        quote: &PathQuote,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        effect: &mut Effect,
    ) -> Result<(), RevertReason> {
        let out = quote.amount_out();
        if out < swap.min_out {
            return Err(RevertReason::BelowMinimum { out, min: swap.min_out, token: swap.token_out() });
        }
        let token_in = swap.token_in();
        if ctx.ledger.balance(payer, token_in) < swap.amount_in {
            return Err(RevertReason::InsufficientBalance);
        }
        // a hedged swap sells its output on the CEX: the last hop pays the CEX directly, the
        // same balances as paying the sender and the sender the CEX, for one transfer less
        let cex = ctx.config.layout.special(Special::Cex);
        let last = swap.legs.len().saturating_sub(1);
        for (k, (leg, q)) in swap.legs.iter().zip(&quote.hops).enumerate() {
            let to = if swap.hedge && k == last { cex } else { payer };
            // cannot fail: balances were checked and pools hold what they pay
            self.settle_hop_to(payer, to, leg, q, tx, ctx)?;
        }
        if swap.hedge {
            let token_out = swap.token_out();
            let back = f64_to_u128(u128_to_f64(out) * ctx.prices.rate(token_out, token_in));
            ctx.ledger.transfer(cex, payer, token_in, back).map_err(|e| RevertReason::CexHedge(Box::new(e)))?;
        }
        *effect = Effect::Swap(SwapEffect { amount_in: swap.amount_in, amount_out: out, hops: Fills::new() });
        if let Effect::Swap(e) = effect {
            for q in &quote.hops {
                e.hops.push(HopFill::from(q));
            }
        }
        Ok(())
    }
}

/// The AMM venue: the pools, and the quotes their senders already computed on them
/// ([`QuoteCache`]), reused while their pools stand.
pub struct CachedPools<'a> {
    /// The pools.
    pub pools: &'a mut Pools,
    /// Quotes to reuse while their pools stand.
    pub cache: &'a QuoteCache,
}

impl Venue for CachedPools<'_> {
    type Action = Swap;
    type Quote = PathQuote;

    fn quote(&self, swap: &Swap, costs: &GasCosts) -> Result<PathQuote, RevertReason> {
        // the common transaction: one hop whose sender's quote still holds (what the general
        // walk gives for it, without the walk)
        if let [leg] = &swap.legs[..]
            && let Some(entry) = self.pools.entries.get(leg.pool.index())
            && let Some(q) = self.cache.get(entry, leg.i, leg.j, swap.amount_in)
            && q.amount_in >= swap.amount_in
        {
            let gas_units = costs.base_tx + hop_gas(costs, entry.pool.kind(), q.ticks_crossed);
            return Ok(PathQuote { hops: smallvec::smallvec![q], gas_units });
        }
        self.pools.quote_path_cached(&[], Some(self.cache), &swap.legs, swap.amount_in, costs)
    }

    fn gas_used(&self, quote: &PathQuote) -> u64 {
        quote.gas_units
    }

    fn failure_gas(&self, costs: &GasCosts) -> u64 {
        // a swap that fails in the pool still burns the gas of trying one hop
        costs.base_tx + costs.swap_constant_product
    }

    fn attempted(&self, swap: &Swap, effect: &mut Effect) {
        *effect = Effect::Swap(SwapEffect { amount_in: swap.amount_in, ..SwapEffect::default() });
    }

    fn apply(
        &mut self,
        tx: &Tx,
        swap: &Swap,
        quote: &PathQuote,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        effect: &mut Effect,
    ) -> Result<(), RevertReason> {
        self.pools.apply_swap(tx, swap, quote, payer, ctx, effect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Market;

    #[test]
    fn a_one_hop_swap_on_its_shared_quote_is_quoted_as_the_walk_would() {
        use crate::engine::venue::Venue;
        use crate::tx::{Leg, Swap};
        let m = Market::of("bench/s2.ron");
        let gas = m.gas;
        let mut pools = Pools { entries: m.pools.clone(), ..Pools::default() };
        let entry = &pools.entries[3];
        let leg = Leg { pool: entry.id, i: 1, j: 0, token_in: entry.tokens[1], token_out: entry.tokens[0] };
        let amount = 7 * 10u128.pow(20);
        let q = entry.pool.quote_exact_in(1, 0, amount).expect("quotes");
        let mut cache = QuoteCache::default();
        cache.put(SharedQuote::of(entry, 1, 0, amount, q));
        let swap = |a| Swap::new(smallvec::smallvec![leg], a, 0);
        let walk = |pools: &Pools, a| pools.quote_path(&[], &[leg], a, &gas);
        // the cached amount, another amount (no quote shared), and after the pool moved (stale)
        for a in [amount, amount + 1] {
            let venue = CachedPools { pools: &mut pools, cache: &cache };
            assert_eq!(venue.quote(&swap(a), &gas), walk(venue.pools, a), "{a}");
        }
        pools.entries[3].apply_quote(1, 0, &q).expect("applies");
        let venue = CachedPools { pools: &mut pools, cache: &cache };
        let fresh = venue.quote(&swap(amount), &gas).expect("quotes");
        assert_eq!(Ok(fresh.clone()), walk(venue.pools, amount));
        assert_ne!(fresh.hops[0], q, "the stale quote is not reused");
    }

    #[test]
    fn a_shared_quote_holds_only_while_its_pool_stands() {
        let mut m = Market::of("bench/s1.ron");
        let entry = &mut m.pools[0];
        let amount = 10u128.pow(18);
        let q = entry.pool.quote_exact_in(0, 1, amount).expect("quotes");
        let mut cache = QuoteCache::default();
        cache.put(SharedQuote::of(entry, 0, 1, amount, q));
        assert_eq!(cache.get(entry, 0, 1, amount), Some(q));
        // another input, or the other direction, is another quote
        assert_eq!(cache.get(entry, 0, 1, amount + 1), None);
        assert_eq!(cache.get(entry, 1, 0, amount), None);
        // once the pool moves, the quote is stale
        entry.apply_quote(0, 1, &q).expect("applies");
        assert_eq!(cache.get(entry, 0, 1, amount), None);
    }
}
