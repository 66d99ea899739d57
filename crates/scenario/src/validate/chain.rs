//! The chain: block time, gas limit and base fee, native token, ordering policy.

use super::Ctx;
use crate::model::*;
use crate::raw::*;

pub(super) fn chain(p: &mut Ctx, raw: &RawChain) -> Option<Chain> {
    let block_time = match raw.block_time {
        RawBlockTime::Fixed(s) => p
            .finite("chain.block_time", s, 1e-3, 86_400.0, "seconds per block")
            .then_some(BlockTime::Fixed { seconds: s }),
        RawBlockTime::Poisson(s) => p
            .finite("chain.block_time", s, 1e-3, 86_400.0, "mean seconds per block")
            .then_some(BlockTime::Poisson { mean_seconds: s }),
    };
    if raw.gas_limit < 21_000 || raw.gas_limit > 1_000_000_000 {
        p.problems.push("chain.gas_limit", format!("expected 21000 to 1e9 gas, found {}", raw.gas_limit));
    }
    let base_fee_wei = p.gwei("chain.base_fee_gwei", raw.base_fee_gwei, "a base fee in gwei");
    let native = p.token("chain.native_token", &raw.native_token);
    if let Some(n) = native
        && p.decimals[n.index()] != 18
    {
        p.problems.push(
            "chain.native_token",
            format!("the native token pays gas in wei and needs 18 decimals, found {}", p.decimals[n.index()]),
        );
    }
    Some(Chain {
        block_time: block_time?,
        gas_limit: raw.gas_limit,
        base_fee_wei: base_fee_wei?,
        eip1559: raw.eip1559,
        native: native?,
        background_demand: raw.background_demand,
        ordering: match raw.ordering {
            RawOrdering::PriorityGasAuction => Ordering::PriorityGasAuction,
            RawOrdering::FirstComeFirstServed => Ordering::FirstComeFirstServed,
            RawOrdering::BatchAuction => Ordering::BatchAuction,
            RawOrdering::BuilderAuction => Ordering::BuilderAuction,
        },
    })
}
