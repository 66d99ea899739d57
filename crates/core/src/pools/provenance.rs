//! Who caused what. Every included transaction is remembered on the pools it moved; a decision
//! looks up the transactions that moved the prices it reacts to, and the `cascades` table is
//! built from those links.

use std::collections::VecDeque;

use meshsim_scenario::PoolId;

use crate::tx::{Cause, TxId, TxKind};

/// Most movers remembered per pool.
const HISTORY: usize = 64;

/// One transaction that moved a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mover {
    /// Block it landed in.
    pub block: u64,
    /// Its id.
    pub tx: TxId,
    /// It traded the pool back toward the external price.
    pub arbitrage: bool,
}

/// Recent movers of every pool.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    movers: Vec<VecDeque<Mover>>,
}

impl Provenance {
    /// For `n` pools.
    pub fn new(n: usize) -> Self {
        Provenance { movers: (0..n).map(|_| VecDeque::with_capacity(HISTORY)).collect() }
    }

    /// Records that `tx` moved `pool` in `block`.
    pub fn record(&mut self, pool: PoolId, block: u64, tx: TxId, kind: TxKind) {
        if let Some(q) = self.movers.get_mut(pool.index()) {
            if q.len() == HISTORY {
                q.pop_front();
            }
            q.push_back(Mover { block, tx, arbitrage: kind.is_arbitrage() });
        }
    }

    /// Why an arbitrage on `pool` is there: the non-arbitrage transactions that moved it since
    /// it was last brought back to the external price, else the external price itself.
    #[inline]
    pub fn arbitrage_cause(&self, pool: PoolId) -> Cause {
        let Some(q) = self.movers.get(pool.index()) else { return Cause::External };
        // the usual case: the last mover was an arbitrage (or nobody), so the external price did it
        let since = q.iter().rev().take_while(|m| !m.arbitrage).take(4).count();
        if since == 0 {
            return Cause::External;
        }
        // the last `since` movers, oldest first
        Cause::Moves(q.range(q.len() - since..).map(|m| m.tx).collect())
    }

    /// Transactions that moved `pool` in blocks `from..to`.
    pub fn moved_between(&self, pool: PoolId, from: u64, to: u64) -> impl Iterator<Item = TxId> + '_ {
        self.movers
            .get(pool.index())
            .into_iter()
            .flatten()
            .filter(move |m| m.block >= from && m.block < to)
            .map(|m| m.tx)
    }
}
