//! The venue seam: every action is executed by the venue that owns it. The executor handles what
//! is common to every transaction (deadline, gas, inclusion, receipts) and asks the venue for a
//! quote and then to apply; it knows no venue's internals.

use meshsim_scenario::GasCosts;

use crate::SimConfig;
use crate::ledger::{AccountId, Ledger};
use crate::market::ExternalPrices;
use crate::tx::{Effect, RevertReason, Tx};

/// What applying an action needs besides its venue.
pub struct ExecCtx<'a> {
    /// Custody.
    pub ledger: &'a mut Ledger,
    /// External prices (CEX legs).
    pub prices: &'a ExternalPrices,
    /// Run constants (special accounts, native token).
    pub config: &'a SimConfig,
    /// The block being executed.
    pub block: u64,
    /// Its timestamp, whole seconds (`block.timestamp`).
    pub now: u64,
    /// The chain's gas token.
    pub native: meshsim_scenario::TokenId,
    /// The block's time, seconds since genesis (exact, for bridges' clocks).
    pub time: f64,
}

/// A venue: pools, and later lending markets, bridges and order books.
pub trait Venue {
    /// The action it executes.
    type Action;
    /// What a quote tells the executor and later the application.
    type Quote;

    /// What the action would do on the venue as it is now. An error is the revert it would hit.
    fn quote(&self, action: &Self::Action, costs: &GasCosts) -> Result<Self::Quote, RevertReason>;

    /// Gas units the quoted action burns.
    fn gas_used(&self, quote: &Self::Quote) -> u64;

    /// Gas units an action burns when the venue reverts it.
    fn failure_gas(&self, costs: &GasCosts) -> u64;

    /// The effect reported for an attempt that reverted (what was asked, nothing done), written
    /// into the receipt's `effect`.
    fn attempted(&self, action: &Self::Action, effect: &mut Effect);

    /// Applies a quoted action of `tx`, whose gas is paid, for `payer` (the account its tokens
    /// come from and go to), and writes what it did into the receipt's `effect` (in place: an
    /// effect is large, and the receipt is its one home).
    fn apply(
        &mut self,
        tx: &Tx,
        action: &Self::Action,
        quote: &Self::Quote,
        payer: AccountId,
        ctx: &mut ExecCtx<'_>,
        effect: &mut Effect,
    ) -> Result<(), RevertReason>;
}
