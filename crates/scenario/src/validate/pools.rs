//! Pools: each kind's parameters, built into the exact math state.

use meshsim_math::stableswap::{StableSwapPool, StableSwapVariant};
use meshsim_math::v2::V2Pair;
use meshsim_math::v3::tick_math::{MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick};
use meshsim_math::v3::{V3Pool, liquidity_for_amounts};
use meshsim_math::weighted::WeightedPool;
use meshsim_math::{Pool, U256, sqrt_x96_from_price};

use super::{Ctx, distinct};
use crate::limits;
use crate::model::*;
use crate::raw::*;

pub(super) fn pool_name(p: &RawPool) -> &str {
    match p {
        RawPool::ConstantProduct { name, .. }
        | RawPool::Concentrated { name, .. }
        | RawPool::StableSwap { name, .. }
        | RawPool::Weighted { name, .. } => name,
    }
}

pub(super) fn pool(p: &mut Ctx, path: &str, k: usize, raw: &RawPool) -> Option<PoolSpec> {
    let id = PoolId(k as u32);
    let name = pool_name(raw).to_string();
    if name.is_empty() || name.len() > 64 {
        p.problems.push(format!("{path}.name"), "expected a name of 1 to 64 characters");
    }
    let build_error = |p: &mut Ctx, field: &str, e: meshsim_math::MathError| {
        p.problems.push(format!("{path}.{field}"), format!("the pool cannot be built: {e}"));
    };
    match raw {
        RawPool::ConstantProduct { tokens, reserves, fee_bps, .. } => {
            let t0 = p.token(&format!("{path}.tokens[0]"), &tokens.0);
            let t1 = p.token(&format!("{path}.tokens[1]"), &tokens.1);
            if t0.is_some() && t0 == t1 {
                p.problems.push(format!("{path}.tokens"), "a pool needs two different tokens");
            }
            let r0 = p.amount(&format!("{path}.reserves[0]"), t0, &reserves.0);
            let r1 = p.amount(&format!("{path}.reserves[1]"), t1, &reserves.1);
            for (i, r) in [r0, r1].iter().enumerate() {
                if *r == Some(0) {
                    p.problems.push(format!("{path}.reserves[{i}]"), "expected a positive reserve, found 0");
                }
            }
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 100.0, "fee (whole pips)")
            } else {
                None
            };
            let (r0, r1, fee) = (r0?, r1?, fee?);
            if r0 == 0 || r1 == 0 {
                return None;
            }
            match V2Pair::seeded(r0, r1, fee as u32) {
                Ok(pair) => Some(PoolSpec {
                    id,
                    name,
                    tokens: vec![t0?, t1?],
                    pool: Pool::ConstantProduct(pair),
                    balances: vec![r0, r1],
                }),
                Err(e) => {
                    build_error(p, "reserves", e);
                    None
                }
            }
        }
        RawPool::Concentrated { tokens, fee_bps, tick_spacing, price, positions, .. } => {
            let t0 = p.token(&format!("{path}.tokens[0]"), &tokens.0);
            let t1 = p.token(&format!("{path}.tokens[1]"), &tokens.1);
            if t0.is_some() && t0 == t1 {
                p.problems.push(format!("{path}.tokens"), "a pool needs two different tokens");
            }
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 100.0, "fee (whole pips)")
            } else {
                None
            };
            if !(1..16_384).contains(tick_spacing) {
                p.problems.push(
                    format!("{path}.tick_spacing"),
                    format!("expected a tick spacing in 1..16384, found {tick_spacing}"),
                );
            }
            let (lo, hi) = limits::RUN_PRICE_RANGE;
            p.finite(&format!("{path}.price"), *price, lo, hi, "a price of token0 in token1");
            if positions.is_empty() || positions.len() > limits::MAX_POSITIONS {
                p.problems
                    .push(format!("{path}.positions"), format!("expected 1 to {} positions", limits::MAX_POSITIONS));
            }
            let (t0, t1, fee) = (t0?, t1?, fee?);
            if !(1..16_384).contains(tick_spacing) {
                return None;
            }
            let (d0, d1) = (p.decimals[t0.index()], p.decimals[t1.index()]);
            let base_price = price * libm::pow(10.0, f64::from(d1) - f64::from(d0));
            let sqrt = sqrt_x96_from_price(base_price);
            let mut pool = match V3Pool::new(fee as u32, *tick_spacing, sqrt) {
                Ok(pool) => pool,
                Err(e) => {
                    build_error(p, "price", e);
                    return None;
                }
            };
            let mut balances = [0u128; 2];
            let mut ok = true;
            for (k, pos) in positions.iter().enumerate().take(limits::MAX_POSITIONS) {
                let pp = format!("{path}.positions[{k}]");
                for (field, tick) in [("lower_tick", pos.lower_tick), ("upper_tick", pos.upper_tick)] {
                    if tick % tick_spacing != 0 {
                        p.problems.push(
                            format!("{pp}.{field}"),
                            format!("tick {tick} is not a multiple of the tick spacing {tick_spacing}"),
                        );
                        ok = false;
                    }
                    if !(MIN_TICK..=MAX_TICK).contains(&tick) {
                        p.problems
                            .push(format!("{pp}.{field}"), format!("tick {tick} outside [{MIN_TICK}, {MAX_TICK}]"));
                        ok = false;
                    }
                }
                if pos.lower_tick >= pos.upper_tick {
                    p.problems.push(format!("{pp}.upper_tick"), "expected upper_tick above lower_tick");
                    ok = false;
                }
                let liquidity = match (&pos.liquidity, &pos.amounts) {
                    (Some(l), None) => match l.trim().parse::<u128>() {
                        Ok(l) if l > 0 => Some(l),
                        _ => {
                            p.problems.push(
                                format!("{pp}.liquidity"),
                                format!("expected a positive integer liquidity, found {l:?}"),
                            );
                            None
                        }
                    },
                    (None, Some((a0, a1))) => {
                        let a0 = p.amount(&format!("{pp}.amounts[0]"), Some(t0), a0);
                        let a1 = p.amount(&format!("{pp}.amounts[1]"), Some(t1), a1);
                        match (a0, a1, ok) {
                            (Some(a0), Some(a1), true) => {
                                let sa = get_sqrt_ratio_at_tick(pos.lower_tick).ok()?;
                                let sb = get_sqrt_ratio_at_tick(pos.upper_tick).ok()?;
                                match liquidity_for_amounts(pool.sqrt_price_x96(), sa, sb, a0, a1) {
                                    Ok(l) if l > 0 => Some(l),
                                    Ok(_) => {
                                        p.problems.push(format!("{pp}.amounts"), "these amounts mint no liquidity in this range at this price (the needed token is 0)");
                                        None
                                    }
                                    Err(e) => {
                                        build_error(p, &format!("positions[{k}].amounts"), e);
                                        None
                                    }
                                }
                            }
                            _ => None,
                        }
                    }
                    _ => {
                        p.problems.push(&pp, "expected exactly one of `liquidity` or `amounts`");
                        None
                    }
                };
                if let (Some(l), true) = (liquidity, ok) {
                    match pool.mint(u64::MAX, pos.lower_tick, pos.upper_tick, l) {
                        Ok((a0, a1)) => match (u128::try_from(a0), u128::try_from(a1)) {
                            (Ok(a0), Ok(a1))
                                if balances[0].checked_add(a0).is_some() && balances[1].checked_add(a1).is_some() =>
                            {
                                balances = [balances[0] + a0, balances[1] + a1];
                            }
                            _ => p.problems.push(&pp, "the position's token amounts overflow 128 bits"),
                        },
                        Err(e) => build_error(p, &format!("positions[{k}]"), e),
                    }
                }
            }
            if pool.liquidity() == 0 {
                p.problems.push(
                    format!("{path}.positions"),
                    "no position covers the initial price: the pool would have no liquidity in range",
                );
            }
            Some(PoolSpec {
                id,
                name,
                tokens: vec![t0, t1],
                pool: Pool::Concentrated(pool),
                balances: balances.to_vec(),
            })
        }
        RawPool::StableSwap { tokens, balances, amp, fee_bps, admin_fee, variant, offpeg_fee_multiplier, .. } => {
            if !(2..=4).contains(&tokens.len()) || tokens.len() != balances.len() {
                p.problems.push(
                    format!("{path}.tokens"),
                    format!(
                        "expected 2 to 4 tokens with one balance each, found {} tokens and {} balances",
                        tokens.len(),
                        balances.len()
                    ),
                );
                return None;
            }
            let (ids, bal) = coins(p, path, tokens, balances);
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 1e6, "fee (1e-10 units)")
            } else {
                None
            };
            let admin = if p.finite(&format!("{path}.admin_fee"), *admin_fee, 0.0, 1.0, "an admin fee share") {
                p.units(&format!("{path}.admin_fee"), *admin_fee, 1e10, "admin fee (1e-10 units)")
            } else {
                None
            };
            let offpeg =
                if p.finite(&format!("{path}.offpeg_fee_multiplier"), *offpeg_fee_multiplier, 0.0, 1e3, "a multiplier")
                {
                    p.units(
                        &format!("{path}.offpeg_fee_multiplier"),
                        *offpeg_fee_multiplier,
                        1e10,
                        "off-peg multiplier (1e-10 units)",
                    )
                } else {
                    None
                };
            let variant = match variant {
                RawStableVariant::Classic => StableSwapVariant::Classic,
                RawStableVariant::Ng => StableSwapVariant::Ng,
            };
            let amp_scale = if variant == StableSwapVariant::Ng { 100.0 } else { 1.0 };
            let amp_units = if p.finite(&format!("{path}.amp"), *amp, 1.0, 1e6, "an amplification A") {
                p.units(&format!("{path}.amp"), *amp, amp_scale, "A (Classic: whole; Ng: hundredths)")
            } else {
                None
            };
            let ids: Option<Vec<TokenId>> = ids.into_iter().collect();
            let bal: Option<Vec<u128>> = bal.into_iter().collect();
            let (ids, bal, fee, admin, offpeg, amp_units) = (ids?, bal?, fee?, admin?, offpeg?, amp_units?);
            if bal.contains(&0) {
                return None;
            }
            let rates = ids.iter().map(|t| U256::from(10u8).pow(U256::from(36 - p.decimals[t.index()]))).collect();
            match StableSwapPool::try_new(
                bal.clone(),
                rates,
                amp_units as u64,
                fee as u64,
                admin as u64,
                offpeg as u64,
                variant,
            ) {
                Ok(pool) => {
                    if let Err(e) = pool.d() {
                        build_error(p, "balances", e);
                        return None;
                    }
                    Some(PoolSpec { id, name, tokens: ids, pool: Pool::StableSwap(pool), balances: bal })
                }
                Err(e) => {
                    build_error(p, "amp", e);
                    None
                }
            }
        }
        RawPool::Weighted { tokens, balances, weights, fee_bps, .. } => {
            if !(2..=8).contains(&tokens.len()) || tokens.len() != balances.len() || tokens.len() != weights.len() {
                p.problems.push(
                    format!("{path}.tokens"),
                    format!(
                        "expected 2 to 8 tokens with one balance and one weight each, found {}, {} and {}",
                        tokens.len(),
                        balances.len(),
                        weights.len()
                    ),
                );
                return None;
            }
            let (ids, bal) = coins(p, path, tokens, balances);
            for (i, w) in weights.iter().enumerate() {
                p.finite(&format!("{path}.weights[{i}]"), *w, 0.01, 0.99, "a weight (Balancer's minimum is 1 %)");
            }
            let sum: f64 = weights.iter().sum();
            if (sum - 1.0).abs() > 1e-9 {
                p.problems.push(format!("{path}.weights"), format!("weights must sum to 1, they sum to {sum}"));
                return None;
            }
            let fee = if p.fee_bps(&format!("{path}.fee_bps"), *fee_bps) {
                p.units(&format!("{path}.fee_bps"), *fee_bps, 1e14, "fee (1e-18 units)")
            } else {
                None
            };
            let ids: Option<Vec<TokenId>> = ids.into_iter().collect();
            let bal: Option<Vec<u128>> = bal.into_iter().collect();
            let (ids, bal, fee) = (ids?, bal?, fee?);
            if bal.contains(&0) {
                return None;
            }
            // 1e18 fixed point; the last weight takes the rounding remainder so the sum is exact
            let mut w: Vec<U256> = weights.iter().map(|w| U256::from(libm::round(w * 1e18) as u128)).collect();
            let head = w[..w.len() - 1].iter().fold(U256::ZERO, |a, x| a + *x);
            let one = U256::from(10u128.pow(18));
            if let Some(last) = w.last_mut() {
                *last = one.saturating_sub(head);
            }
            let decimals: Vec<u8> = ids.iter().map(|t| p.decimals[t.index()]).collect();
            if let Some(d) = decimals.iter().find(|d| **d > 18) {
                p.problems.push(
                    format!("{path}.tokens"),
                    format!("Balancer scales tokens to 18 decimals; a token here has {d}"),
                );
                return None;
            }
            match WeightedPool::try_new(bal.clone(), w, &decimals, U256::from(fee)) {
                Ok(pool) => Some(PoolSpec { id, name, tokens: ids, pool: Pool::Weighted(pool), balances: bal }),
                Err(e) => {
                    build_error(p, "weights", e);
                    None
                }
            }
        }
    }
}

/// A multi-token pool's tokens and positive balances, each checked, and the tokens distinct.
fn coins(p: &mut Ctx, path: &str, tokens: &[String], balances: &[String]) -> (Vec<Option<TokenId>>, Vec<Option<u128>>) {
    let ids: Vec<Option<TokenId>> =
        tokens.iter().enumerate().map(|(i, t)| p.token(&format!("{path}.tokens[{i}]"), t)).collect();
    let bal: Vec<Option<u128>> =
        balances.iter().enumerate().map(|(i, b)| p.amount(&format!("{path}.balances[{i}]"), ids[i], b)).collect();
    for (i, b) in bal.iter().enumerate() {
        if *b == Some(0) {
            p.problems.push(format!("{path}.balances[{i}]"), "expected a positive balance, found 0");
        }
    }
    distinct(p, path, &ids);
    (ids, bal)
}
