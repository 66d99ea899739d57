//! The one action type. Every transaction carries one [`Action`], executed by the venue that
//! owns it; new venues (lending markets, bridges, order books) add variants here, and the
//! compiler then points at every match that must learn about them.

use super::Path;

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Swap along a path of AMM pools.
    Swap(Swap),
}

/// An exact-input swap along a path; each hop feeds the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    /// The hops.
    pub legs: Path,
    /// Exact input of the first hop, base units.
    pub amount_in: u128,
    /// Revert unless the last hop pays at least this.
    pub min_out: u128,
    /// After the swap, sell the output back into the input token on the CEX at the external
    /// price (CEX-DEX arbitrage closes its position).
    pub hedge: bool,
}

impl Swap {
    /// A swap without a CEX hedge.
    pub fn new(legs: Path, amount_in: u128, min_out: u128) -> Self {
        Swap { legs, amount_in, min_out, hedge: false }
    }

    /// First hop's input token. Paths are never empty (every constructor gives at least a hop).
    pub fn token_in(&self) -> meshsim_scenario::TokenId {
        self.legs.first().map_or(meshsim_scenario::TokenId(0), |l| l.token_in)
    }

    /// Last hop's output token.
    pub fn token_out(&self) -> meshsim_scenario::TokenId {
        self.legs.last().map_or(meshsim_scenario::TokenId(0), |l| l.token_out)
    }
}

impl From<Swap> for Action {
    fn from(s: Swap) -> Self {
        Action::Swap(s)
    }
}
