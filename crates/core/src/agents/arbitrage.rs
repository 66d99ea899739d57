//! CEX-DEX arbitrage: trade each watched pool back to the external price with the
//! profit-maximising size (the math crate's trade-to-price), hedge on the CEX, and only when the
//! profit net of fees and gas beats the agent's minimum. Capital limits apply per token.

use bevy_ecs::prelude::*;
use meshsim_scenario::PoolId;

use super::{AgentMeta, MarketView, ViewParams};
use crate::pools::PoolBook;
use crate::tx::{Leg, PendingTxs, Tx, TxKind};

/// A CEX-DEX arbitrageur's configuration.
#[derive(Component, Debug, Clone)]
pub struct CexDexArb {
    /// Pools it watches.
    pub pools: Vec<PoolId>,
    /// Minimum profit net of gas, numeraire.
    pub min_profit: f64,
    /// Priority fee bid, wei per gas.
    pub priority_fee_wei: u128,
}

/// One opportunity found on a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    /// The transaction to send.
    pub tx: Tx,
    /// Expected profit net of gas, numeraire.
    pub expected_profit: f64,
}

/// Pure policy: at most one transaction per watched pool, the most profitable direction.
pub fn plan_cex_dex<B: PoolBook + ?Sized>(
    view: &MarketView<'_, B>,
    me: &AgentMeta,
    cfg: &CexDexArb,
) -> Vec<Opportunity> {
    let mut out = Vec::new();
    let mut spent: Vec<u128> = vec![0; view.prices.per_token.len()];
    let mut gas_reserved: u128 = 0;
    for pool_id in &cfg.pools {
        let Some(entry) = view.pools.pool(*pool_id) else {
            continue;
        };
        let n = entry.tokens.len();
        let mut best: Option<Opportunity> = None;
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let (t_in, t_out) = (entry.tokens[i], entry.tokens[j]);
                let p_ext = view.prices.rate(t_in, t_out);
                // quick reject: the pool pays no more than the CEX for this direction
                if !(entry.pool.net_price(i, j) > p_ext) {
                    continue;
                }
                let Ok(size) = entry.pool.input_to_price(i, j, p_ext) else {
                    continue;
                };
                let available = view
                    .balance(me.account, t_in)
                    .saturating_sub(spent[t_in.index()]);
                let amount_in = size.min(available);
                if amount_in == 0 {
                    continue;
                }
                let Ok(q) = entry.pool.quote_exact_in(i, j, amount_in) else {
                    continue;
                };
                if q.amount_out == 0 {
                    continue;
                }
                let gas_units = view.gas.base_tx + view.hop_gas(entry, q.ticks_crossed);
                let gross =
                    view.prices.value(t_out, q.amount_out) - view.prices.value(t_in, q.amount_in);
                let profit = gross - view.gas_fee_value(gas_units, cfg.priority_fee_wei);
                if profit <= cfg.min_profit || profit <= 0.0 {
                    continue;
                }
                if best.as_ref().is_none_or(|b| profit > b.expected_profit) {
                    let leg = Leg {
                        pool: *pool_id,
                        i: i as u8,
                        j: j as u8,
                        token_in: t_in,
                        token_out: t_out,
                    };
                    let tx = Tx {
                        sender: me.id,
                        seq: 0,
                        kind: TxKind::Arbitrage,
                        priority_fee_wei: cfg.priority_fee_wei,
                        legs: vec![leg],
                        amount_in: q.amount_in,
                        // the contract reverts unless it gets what it priced (another arb may be first)
                        min_out: q.amount_out,
                        hedge: true,
                    };
                    best = Some(Opportunity {
                        tx,
                        expected_profit: profit,
                    });
                }
            }
        }
        if let Some(mut opp) = best {
            let fee = view.gas_fee_wei(
                view.gas.base_tx + view.gas.swap_concentrated,
                cfg.priority_fee_wei,
            );
            if view.balance(me.account, view.native) < gas_reserved.saturating_add(fee) {
                continue; // cannot pay gas
            }
            gas_reserved += fee;
            spent[opp.tx.legs[0].token_in.index()] += opp.tx.amount_in;
            opp.tx.seq = out.len() as u32;
            out.push(opp);
        }
    }
    out
}

/// Decide phase: each CEX-DEX arbitrageur plans its transactions.
pub fn decide_cex_dex(
    view: ViewParams,
    mut agents: Query<(&AgentMeta, &CexDexArb, &mut PendingTxs)>,
) {
    view.with_view(|v| {
        for (meta, cfg, mut pending) in &mut agents {
            pending
                .0
                .extend(plan_cex_dex(v, meta, cfg).into_iter().map(|o| o.tx));
        }
    });
}
