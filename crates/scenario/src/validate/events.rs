//! Stress events: scheduled shocks, gas spikes, liquidity withdrawals, oracle outages.

use std::collections::BTreeMap;

use super::Ctx;
use crate::limits;
use crate::model::*;
use crate::raw::*;

pub(super) fn events(
    p: &mut Ctx,
    raw: &[RawEvent],
    pool_names: &BTreeMap<&str, PoolId>,
    oracles: &[OracleSpec],
    chain: Option<&Chain>,
) -> Vec<Event> {
    if raw.len() > limits::MAX_SHOCKS {
        p.problems.push("events", format!("expected at most {} events", limits::MAX_SHOCKS));
    }
    let mut out = Vec::new();
    for (k, e) in raw.iter().enumerate().take(limits::MAX_SHOCKS) {
        let path = format!("events[{k}]");
        let window = |p: &mut Ctx, blocks: u64| {
            if blocks == 0 {
                p.problems.push(format!("{path}.blocks"), "expected at least 1 block");
            }
        };
        match e {
            RawEvent::VolatilitySpike { start_block, blocks, multiplier } => {
                window(p, *blocks);
                if p.finite(&format!("{path}.multiplier"), *multiplier, 1e-3, 1e3, "a volatility multiplier") {
                    out.push(Event::VolatilitySpike {
                        start_block: *start_block,
                        blocks: *blocks,
                        multiplier: *multiplier,
                    });
                }
            }
            RawEvent::LiquidityWithdrawal { pool, block, fraction } => {
                let id = p.pool(&format!("{path}.pool"), pool, pool_names);
                if *block == 0 {
                    // block 0 is genesis: nothing runs there, so the event would never happen
                    p.problems.push(format!("{path}.block"), "expected a block from 1 (the first block run)");
                }
                let ok = fraction.is_finite() && *fraction > 0.0 && *fraction <= 1.0;
                if !ok {
                    p.problems.push(
                        format!("{path}.fraction"),
                        format!("expected a share of liquidity in (0, 1], found {fraction}"),
                    );
                }
                if let (Some(pool), true, true) = (id, ok, *block > 0) {
                    let share_ppm = (fraction * 1e6).round().clamp(1.0, 1e6) as u32;
                    out.push(Event::LiquidityWithdrawal { pool, block: *block, share_ppm });
                }
            }
            RawEvent::OracleFreeze { oracle, start_block, blocks } => {
                window(p, *blocks);
                match oracles.iter().find(|o| o.name == *oracle) {
                    Some(o) => {
                        out.push(Event::OracleFreeze { oracle: o.id, start_block: *start_block, blocks: *blocks })
                    }
                    None => {
                        let message = crate::unknown("oracle", oracle, oracles.iter().map(|o| o.name.as_str()));
                        p.problems.push(format!("{path}.oracle"), message);
                    }
                }
            }
            RawEvent::GasSpike { start_block, blocks, multiplier } => {
                window(p, *blocks);
                if let Some(c) = chain
                    && !(c.background_demand && c.eip1559)
                {
                    p.problems.push(
                        path.clone(),
                        "a gas spike is outside demand: expected chain.background_demand and chain.eip1559 on",
                    );
                }
                if p.finite(&format!("{path}.multiplier"), *multiplier, 1e-3, 1e3, "a demand multiplier") {
                    out.push(Event::GasSpike { start_block: *start_block, blocks: *blocks, multiplier: *multiplier });
                }
            }
        }
    }
    out
}
