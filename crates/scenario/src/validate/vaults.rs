//! Vaults: holdings, strategy, trigger, sizing, routing, flows.

use std::collections::BTreeMap;

use super::Ctx;
use super::agents::capital;
use crate::amount::parse_amount;
use crate::limits;
use crate::model::*;
use crate::raw::*;

pub(super) fn vaults(
    p: &mut Ctx,
    raw: &[RawVault],
    oracles: &[OracleSpec],
    numeraire: Option<TokenId>,
    native: Option<TokenId>,
    pool_names: &BTreeMap<&str, PoolId>,
    markets: &[RawLending],
) -> Vec<VaultSpec> {
    if raw.len() > limits::MAX_VAULTS {
        p.problems.push("vaults", format!("expected at most {} vaults", limits::MAX_VAULTS));
    }
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for (k, v) in raw.iter().enumerate().take(limits::MAX_VAULTS) {
        let path = format!("vaults[{k}]");
        if names.insert(v.name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("vault name {:?} is used twice", v.name));
        }
        if v.name.is_empty() || v.name.len() > 64 {
            p.problems.push(format!("{path}.name"), "expected a name of 1 to 64 characters");
        }
        let deposit_token = p.token(&format!("{path}.deposit_token"), &v.deposit_token);
        let holdings = capital(p, &format!("{path}.holdings"), &v.holdings);
        if holdings.iter().all(|(_, a)| *a == 0) {
            p.problems.push(
                format!("{path}.holdings"),
                "a vault needs some genesis holdings (they set the first share price)",
            );
        }
        let keeper_gas_wei = if v.keeper_gas.is_empty() {
            Some(0)
        } else {
            p.amount(&format!("{path}.keeper_gas"), native, &v.keeper_gas)
        };
        let mut vault_oracles = Vec::new();
        for (i, (symbol, oracle)) in v.oracles.iter().enumerate() {
            let token = p.token(&format!("{path}.oracles[{i}][0]"), symbol);
            match oracles.iter().find(|o| &o.name == oracle) {
                None => p.problems.push(
                    format!("{path}.oracles[{i}][1]"),
                    crate::unknown("oracle", oracle, oracles.iter().map(|o| o.name.as_str())),
                ),
                Some(o) => {
                    if token.is_some_and(|t| t != o.token) {
                        p.problems
                            .push(format!("{path}.oracles[{i}][1]"), format!("oracle {oracle:?} prices another token"));
                    }
                    if let Some(t) = token {
                        if vault_oracles.iter().any(|(x, _)| *x == t) {
                            p.problems.push(
                                format!("{path}.oracles[{i}][0]"),
                                format!("{symbol:?} already has an oracle in this vault: name one per token"),
                            );
                        }
                        vault_oracles.push((t, o.id));
                    }
                }
            }
        }
        let strategy = match &v.strategy {
            RawStrategy::ConstantMix { targets } => {
                if !(2..=8).contains(&targets.len()) {
                    p.problems.push(
                        format!("{path}.strategy.targets"),
                        format!("expected 2 to 8 targets, found {}", targets.len()),
                    );
                }
                let mut t = Vec::new();
                for (i, (symbol, w)) in targets.iter().enumerate() {
                    let token = p.token(&format!("{path}.strategy.targets[{i}][0]"), symbol);
                    p.finite(&format!("{path}.strategy.targets[{i}][1]"), *w, 0.0, 1.0, "a target weight");
                    if let Some(token) = token {
                        if t.iter().any(|(x, _): &(TokenId, f64)| *x == token) {
                            p.problems
                                .push(format!("{path}.strategy.targets[{i}][0]"), format!("{symbol:?} listed twice"));
                        }
                        t.push((token, *w));
                    }
                }
                let sum: f64 = targets.iter().map(|(_, w)| w).sum();
                if (sum - 1.0).abs() > 1e-9 {
                    p.problems.push(
                        format!("{path}.strategy.targets"),
                        format!("target weights must sum to 1, they sum to {sum}"),
                    );
                }
                Some(Strategy::ConstantMix { targets: t })
            }
            RawStrategy::Cppi { risky, safe, floor, multiplier, ratchet } => {
                let r = p.token(&format!("{path}.strategy.risky"), risky);
                let s = p.token(&format!("{path}.strategy.safe"), safe);
                if r.is_some() && r == s {
                    p.problems.push(format!("{path}.strategy.safe"), "CPPI needs two different tokens");
                }
                p.finite(&format!("{path}.strategy.floor"), *floor, 0.0, 0.999, "a floor fraction of genesis NAV");
                p.finite(&format!("{path}.strategy.multiplier"), *multiplier, 1.0, 100.0, "a multiplier");
                if let Some(r) = ratchet {
                    p.finite(&format!("{path}.strategy.ratchet"), *r, 0.0, 0.999, "a ratchet fraction of peak NAV");
                }
                match (r, s) {
                    (Some(risky), Some(safe)) => {
                        Some(Strategy::Cppi { risky, safe, floor: *floor, multiplier: *multiplier, ratchet: *ratchet })
                    }
                    _ => None,
                }
            }
            RawStrategy::Leveraged { market, risky, debt, target_leverage, health_floor } => {
                leveraged(p, &path, v, markets, market, risky, debt, *target_leverage, *health_floor)
            }
        };
        // every priced token the vault holds or targets needs an oracle
        let mut priced: Vec<TokenId> = holdings.iter().map(|(t, _)| *t).collect();
        match &strategy {
            Some(Strategy::ConstantMix { targets }) => priced.extend(targets.iter().map(|(t, _)| *t)),
            Some(Strategy::Cppi { risky, safe, .. }) => priced.extend([*risky, *safe]),
            Some(Strategy::Leveraged { risky, debt, .. }) => priced.extend([*risky, *debt]),
            None => {}
        }
        priced.extend(deposit_token);
        let mut universe = priced.clone();
        universe.sort();
        universe.dedup();
        if universe.len() > MAX_VAULT_TOKENS {
            p.problems.push(
                format!("{path}.holdings"),
                format!(
                    "a vault handles at most {MAX_VAULT_TOKENS} tokens (holdings, targets and deposit token together), found {}",
                    universe.len()
                ),
            );
        }
        for t in priced {
            // an oracle of the same asset on another chain prices it too
            let asset = p.asset_of[t.index()];
            if Some(asset) != numeraire && !vault_oracles.iter().any(|(x, _)| p.asset_of[x.index()] == asset) {
                let symbol = p.tokens.iter().find(|(_, id)| **id == t).map(|(s, _)| s.to_string()).unwrap_or_default();
                p.problems.push(
                    format!("{path}.oracles"),
                    format!("no oracle for {symbol:?}, which the vault holds or targets"),
                );
            }
        }
        let trigger = match v.trigger {
            RawTrigger::Threshold { band, relative } => {
                p.finite(&format!("{path}.trigger.band"), band, 0.0, 1.0, "a band");
                Trigger::Threshold { band, relative }
            }
            RawTrigger::PeriodicBlocks(n) => {
                if n == 0 {
                    p.problems.push(format!("{path}.trigger"), "expected a period of at least 1 block");
                }
                Trigger::PeriodicBlocks(n.max(1))
            }
            RawTrigger::PeriodicSeconds(s) => {
                p.finite(&format!("{path}.trigger"), s, 1e-3, 1e9, "a period in seconds");
                Trigger::PeriodicSeconds(s)
            }
            RawTrigger::VolatilityAdjusted { base_band, reference_volatility, halflife_blocks, min_band, max_band } => {
                p.finite(&format!("{path}.trigger.base_band"), base_band, 0.0, 1.0, "a band");
                p.finite(
                    &format!("{path}.trigger.reference_volatility"),
                    reference_volatility,
                    1e-6,
                    100.0,
                    "an annualized volatility",
                );
                p.finite(
                    &format!("{path}.trigger.halflife_blocks"),
                    halflife_blocks,
                    1.0,
                    1e9,
                    "a half-life in blocks",
                );
                p.finite(&format!("{path}.trigger.min_band"), min_band, 0.0, 1.0, "a band");
                p.finite(
                    &format!("{path}.trigger.max_band"),
                    max_band,
                    min_band.max(0.0),
                    1.0,
                    "a band at least min_band",
                );
                Trigger::VolatilityAdjusted { base_band, reference_volatility, halflife_blocks, min_band, max_band }
            }
            RawTrigger::CostAware { risk_aversion, min_band, max_band, gas_per_rebalance } => {
                p.finite(&format!("{path}.trigger.risk_aversion"), risk_aversion, 1e-6, 1e6, "a risk aversion");
                p.finite(&format!("{path}.trigger.min_band"), min_band, 0.0, 1.0, "a band");
                p.finite(
                    &format!("{path}.trigger.max_band"),
                    max_band,
                    min_band.max(0.0),
                    1.0,
                    "a band at least min_band",
                );
                if let Some(g) = gas_per_rebalance
                    && g > limits::MAX_GAS_PER_OPERATION
                {
                    p.problems.push(
                        format!("{path}.trigger.gas_per_rebalance"),
                        format!("expected at most {} gas, found {g}", limits::MAX_GAS_PER_OPERATION),
                    );
                }
                Trigger::CostAware { risk_aversion, min_band, max_band, gas_units: gas_per_rebalance }
            }
            RawTrigger::Predictive { band, horizon_blocks, probability, halflife_blocks, gas_window_blocks, crowd } => {
                let at = format!("{path}.trigger");
                p.finite(&format!("{at}.band"), band, 0.0, 1.0, "a band");
                p.finite(&format!("{at}.probability"), probability, 0.0, 1.0, "a probability");
                p.finite(&format!("{at}.halflife_blocks"), halflife_blocks, 1.0, 1e9, "a half-life in blocks");
                for (field, v) in [("horizon_blocks", horizon_blocks), ("gas_window_blocks", gas_window_blocks)] {
                    if v == 0 || v > 100_000 {
                        p.problems.push(format!("{at}.{field}"), format!("expected 1 to 100000 blocks, found {v}"));
                    }
                }
                Trigger::Predictive {
                    band,
                    horizon_blocks: horizon_blocks.clamp(1, 100_000),
                    probability,
                    halflife_blocks,
                    gas_window_blocks: gas_window_blocks.clamp(1, 100_000),
                    crowd,
                }
            }
        };
        if let Some(m) = v.max_trade_value {
            p.finite(&format!("{path}.max_trade_value"), m, f64::MIN_POSITIVE, limits::MAX_VALUE, "a positive value");
        }
        p.finite(&format!("{path}.slippage"), v.slippage, 0.0, 0.999, "a slippage tolerance");
        p.finite(&format!("{path}.band_jitter"), v.band_jitter, 0.0, 0.9, "a share of the band");
        if !(1..=2).contains(&v.max_hops) {
            p.problems.push(format!("{path}.max_hops"), format!("expected 1 or 2, found {}", v.max_hops));
        }
        if v.deadline_blocks == 0 {
            p.problems.push(format!("{path}.deadline_blocks"), "expected at least 1 block");
        }
        let priority_fee_wei =
            p.gwei(&format!("{path}.priority_fee_gwei"), v.priority_fee_gwei, "a priority fee in gwei").unwrap_or(0);
        let max_fee_wei = match v.max_fee_gwei {
            Some(g) if g > 0.0 => p.gwei(&format!("{path}.max_fee_gwei"), g, "a max fee in gwei"),
            Some(g) => {
                p.problems
                    .push(format!("{path}.max_fee_gwei"), format!("expected a positive max fee in gwei, found {g}"));
                None
            }
            None => None,
        };
        if let Some(m) = max_fee_wei
            && m < priority_fee_wei
        {
            p.problems.push(format!("{path}.max_fee_gwei"), "expected a max fee at least the priority fee");
        }
        if v.flows.len() > limits::MAX_FLOWS {
            p.problems.push(format!("{path}.flows"), format!("expected at most {} flows", limits::MAX_FLOWS));
        }
        let mut flows = Vec::new();
        for (i, f) in v.flows.iter().enumerate().take(limits::MAX_FLOWS) {
            let fp = format!("{path}.flows[{i}]");
            match f {
                RawFlow::Poisson { deposits_per_day, mean_deposit, withdrawals_per_day, mean_withdraw_fraction } => {
                    p.finite(&format!("{fp}.deposits_per_day"), *deposits_per_day, 0.0, 1e6, "a rate");
                    p.finite(&format!("{fp}.withdrawals_per_day"), *withdrawals_per_day, 0.0, 1e6, "a rate");
                    p.finite(&format!("{fp}.mean_withdraw_fraction"), *mean_withdraw_fraction, 0.0, 1.0, "a fraction");
                    if let Some(m) = p.amount(&format!("{fp}.mean_deposit"), deposit_token, mean_deposit) {
                        flows.push(Flow::Poisson {
                            deposits_per_day: *deposits_per_day,
                            mean_deposit: m,
                            withdrawals_per_day: *withdrawals_per_day,
                            mean_withdraw_fraction: *mean_withdraw_fraction,
                        });
                    }
                }
                RawFlow::Deposit { block, amount } => {
                    if let Some(a) = p.amount(&format!("{fp}.amount"), deposit_token, amount) {
                        flows.push(Flow::Deposit { block: *block, amount: a });
                    }
                }
                RawFlow::Withdraw { block, fraction } => {
                    if p.finite(&format!("{fp}.fraction"), *fraction, f64::MIN_POSITIVE, 1.0, "a fraction in (0, 1]") {
                        flows.push(Flow::Withdraw { block: *block, fraction: *fraction });
                    }
                }
                RawFlow::WithdrawShares { block, shares } => match parse_amount(shares, 18) {
                    Ok(sh) => flows.push(Flow::WithdrawShares { block: *block, shares: sh }),
                    Err(e) => p.problems.push(format!("{fp}.shares"), e),
                },
                RawFlow::BankRun { start_block, blocks, fraction } => {
                    if *blocks == 0 {
                        p.problems.push(format!("{fp}.blocks"), "expected at least 1 block");
                    }
                    if p.finite(&format!("{fp}.fraction"), *fraction, 0.0, 1.0, "a fraction") {
                        flows.push(Flow::BankRun {
                            start_block: *start_block,
                            blocks: (*blocks).max(1),
                            fraction: *fraction,
                        });
                    }
                }
            }
        }
        let venues = match &v.venues {
            RawPoolSet::All => {
                pool_names.values().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect()
            }
            RawPoolSet::Only(names) => names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| p.pool(&format!("{path}.venues[{i}]"), n, pool_names))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        };
        let sizing = match v.sizing {
            RawSizing::Full => Sizing::Full,
            RawSizing::ToBandEdge => Sizing::ToBandEdge,
        };
        let mut yield_leg =
            v.yield_leg.as_ref().and_then(|leg| yield_leg(p, &format!("{path}.yield_leg"), leg, markets));
        if let Some(leg) = yield_leg {
            let targeted = match &strategy {
                Some(Strategy::ConstantMix { targets }) => targets.iter().any(|(t, _)| *t == leg.token),
                Some(Strategy::Cppi { risky, safe, .. }) => *risky == leg.token || *safe == leg.token,
                Some(Strategy::Leveraged { .. }) => {
                    p.problems.push(
                        format!("{path}.yield_leg"),
                        "a leveraged vault already keeps its collateral in a market: no yield leg",
                    );
                    true
                }
                None => true,
            };
            if !targeted && deposit_token != Some(leg.token) && !holdings.iter().any(|(t, _)| *t == leg.token) {
                p.problems.push(format!("{path}.yield_leg.token"), "the vault neither holds nor targets this token");
                yield_leg = None;
            }
        }
        if let (Some(deposit_token), Some(strategy), Some(keeper_gas_wei)) = (deposit_token, strategy, keeper_gas_wei) {
            out.push(VaultSpec {
                id: VaultId(k as u32),
                name: v.name.clone(),
                deposit_token,
                holdings,
                keeper_gas_wei,
                oracles: vault_oracles,
                strategy,
                trigger,
                min_interval_blocks: v.min_interval_blocks,
                sizing,
                max_trade_value: v.max_trade_value,
                slippage: v.slippage,
                deadline_blocks: v.deadline_blocks,
                max_hops: v.max_hops,
                split: v.split,
                venues,
                priority_fee_wei,
                max_fee_wei,
                flows,
                private_relay: v.private_relay,
                jitter_blocks: v.jitter_blocks,
                band_jitter: v.band_jitter,
                latency_s: v.latency_ms.max(0.0) / 1000.0,
                chain_latency_s: super::agents::chain_latencies(p, &path, &v.chain_latency_ms),
                yield_leg,
                // resolved with the chains (placement)
                bridges: Vec::new(),
                transit: Vec::new(),
                // resolved with the books
                books: Vec::new(),
                execution: Execution::Active,
            });
        }
    }
    out
}

/// A yield leg: a known market that lends the token, and shares in range. (That the token is
/// one of the vault's is checked with the rest of the vault below.)
fn yield_leg(p: &mut Ctx, path: &str, leg: &RawYieldLeg, markets: &[RawLending]) -> Option<YieldLeg> {
    let market = match markets.iter().position(|m| m.name == leg.market) {
        Some(m) => Some(MarketId(m as u32)),
        None => {
            let message = crate::unknown("lending market", &leg.market, markets.iter().map(|m| m.name.as_str()));
            p.problems.push(format!("{path}.market"), message);
            None
        }
    };
    let token = p.token(&format!("{path}.token"), &leg.token);
    if let (Some(m), Some(_)) = (market, token)
        && !markets[m.0 as usize].reserves.iter().any(|r| r.token == leg.token)
    {
        p.problems.push(format!("{path}.token"), format!("market {:?} has no {:?} reserve", leg.market, leg.token));
        return None;
    }
    let share = p.finite(&format!("{path}.share"), leg.share, 0.0001, 1.0, "a share in (0, 1]");
    let max_u =
        p.finite(&format!("{path}.max_utilization"), leg.max_utilization, 0.0001, 1.0, "a utilization in (0, 1]");
    if !(share && max_u) {
        return None;
    }
    Some(YieldLeg { market: market?, token: token?, share: leg.share, max_utilization: leg.max_utilization })
}

/// A leveraged strategy: a known market lending both tokens, collateral that can be borrowed
/// against, a target leverage the loan-to-value allows with room to spare, and no depositor flows
/// (a redemption would have to unwind the loan; not simulated yet).
#[expect(clippy::too_many_arguments, reason = "the strategy's fields, each located")]
fn leveraged(
    p: &mut Ctx,
    path: &str,
    v: &RawVault,
    markets: &[RawLending],
    market: &str,
    risky: &str,
    debt: &str,
    target_leverage: f64,
    health_floor: f64,
) -> Option<Strategy> {
    let sp = format!("{path}.strategy");
    let Some(m) = markets.iter().position(|x| x.name == market) else {
        let message = crate::unknown("lending market", market, markets.iter().map(|x| x.name.as_str()));
        p.problems.push(format!("{sp}.market"), message);
        return None;
    };
    let r = p.token(&format!("{sp}.risky"), risky);
    let d = p.token(&format!("{sp}.debt"), debt);
    if r.is_some() && r == d {
        p.problems.push(format!("{sp}.debt"), "the debt token must differ from the risky token");
    }
    let reserve = |symbol: &str| markets[m].reserves.iter().find(|x| x.token == symbol);
    for (field, symbol) in [("risky", risky), ("debt", debt)] {
        if reserve(symbol).is_none() {
            p.problems.push(format!("{sp}.{field}"), format!("market {market:?} has no {symbol:?} reserve"));
        }
    }
    // the most leverage a loan-to-value allows is 1 / (1 - ltv); keep a tenth of it as room
    let ltv = reserve(risky).map_or(0.0, |x| f64::from(x.ltv_bps) / 1e4);
    let max = 0.9 / (1.0 - ltv).max(1e-9);
    if p.finite(&format!("{sp}.target_leverage"), target_leverage, 1.0001, 100.0, "a leverage above 1")
        && target_leverage > max
    {
        p.problems.push(
            format!("{sp}.target_leverage"),
            format!("{risky:?}'s loan-to-value ({ltv}) allows leverage up to {max:.3} with room to spare, found {target_leverage}"),
        );
    }
    p.finite(&format!("{sp}.health_floor"), health_floor, 1.0001, 100.0, "a health factor above 1");
    if !v.flows.is_empty() {
        p.problems.push(
            format!("{path}.flows"),
            "a leveraged vault takes no depositor flows yet (a redemption would unwind its loan)",
        );
    }
    Some(Strategy::Leveraged { market: MarketId(m as u32), risky: r?, debt: d?, target_leverage, health_floor })
}
