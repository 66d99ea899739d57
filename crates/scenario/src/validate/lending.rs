//! Lending markets: reserves with Aave v3's parameter rules, each problem located.

use std::collections::BTreeMap;

use meshsim_math::lending::RateStrategy;

use super::Ctx;
use crate::limits;
use crate::model::*;
use crate::raw::*;

pub(super) fn lending(
    p: &mut Ctx,
    raw: &[RawLending],
    oracles: &[OracleSpec],
    numeraire: Option<TokenId>,
) -> Vec<LendingSpec> {
    if raw.len() > limits::MAX_MARKETS {
        p.problems.push("lending", format!("expected at most {} lending markets", limits::MAX_MARKETS));
    }
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for (m, market) in raw.iter().enumerate().take(limits::MAX_MARKETS) {
        let path = format!("lending[{m}]");
        if names.insert(market.name.as_str(), m).is_some() {
            p.problems.push(format!("{path}.name"), format!("lending market name {:?} is used twice", market.name));
        }
        if market.reserves.is_empty() || market.reserves.len() > limits::MAX_TOKENS {
            p.problems.push(format!("{path}.reserves"), format!("expected 1 to {} reserves", limits::MAX_TOKENS));
        }
        let mut tokens: Vec<TokenId> = Vec::new();
        let mut reserves = Vec::new();
        for (k, r) in market.reserves.iter().enumerate() {
            let rp = format!("{path}.reserves[{k}]");
            let token = p.token(&format!("{rp}.token"), &r.token);
            if let Some(t) = token {
                if tokens.contains(&t) {
                    p.problems
                        .push(format!("{rp}.token"), format!("{:?} already has a reserve in this market", r.token));
                }
                tokens.push(t);
            }
            if let Some(spec) = reserve(p, &rp, r, token, oracles, numeraire) {
                reserves.push(spec);
            }
        }
        let positions = positions(p, &path, &market.positions, &tokens, &reserves);
        if !(1..=10_000).contains(&market.close_factor_bps) {
            p.problems.push(
                format!("{path}.close_factor_bps"),
                format!("expected a close factor of 1 to 10000 bps, found {}", market.close_factor_bps),
            );
        }
        if reserves.len() == market.reserves.len() {
            let close_factor_bps = market.close_factor_bps;
            out.push(LendingSpec {
                id: MarketId(m as u32),
                name: market.name.clone(),
                reserves,
                positions,
                close_factor_bps,
            });
        }
    }
    out
}

fn bps(p: &mut Ctx, path: &str, value: u32, max: u32, what: &str) -> bool {
    if value > max {
        p.problems.push(path, format!("expected {what} of at most {max} bps, found {value}"));
        return false;
    }
    true
}

fn reserve(
    p: &mut Ctx,
    rp: &str,
    r: &RawReserve,
    token: Option<TokenId>,
    oracles: &[OracleSpec],
    numeraire: Option<TokenId>,
) -> Option<ReserveSpec> {
    let mut ok = true;
    // the strategy's own rules, each on its field
    if !(100..=9_900).contains(&r.optimal_usage_bps) {
        p.problems.push(
            format!("{rp}.optimal_usage_bps"),
            format!("expected an optimal usage ratio of 100 to 9900 bps (1 % to 99 %), found {}", r.optimal_usage_bps),
        );
        ok = false;
    }
    if r.slope1_bps > r.slope2_bps {
        p.problems.push(
            format!("{rp}.slope1_bps"),
            format!("slope1 ({} bps) must not exceed slope2 ({} bps)", r.slope1_bps, r.slope2_bps),
        );
        ok = false;
    }
    let max_rate = u64::from(r.base_rate_bps) + u64::from(r.slope1_bps) + u64::from(r.slope2_bps);
    if max_rate > 100_000 {
        p.problems.push(
            format!("{rp}.slope2_bps"),
            format!("base + slope1 + slope2 is {max_rate} bps; the most a borrow rate may reach is 100000 (1000 %)"),
        );
        ok = false;
    }
    ok &= bps(p, &format!("{rp}.reserve_factor_bps"), r.reserve_factor_bps, 9_999, "a reserve factor");
    ok &= bps(
        p,
        &format!("{rp}.liquidation_threshold_bps"),
        r.liquidation_threshold_bps,
        9_999,
        "a liquidation threshold",
    );
    ok &=
        bps(p, &format!("{rp}.liquidation_protocol_fee_bps"), r.liquidation_protocol_fee_bps, 10_000, "a protocol fee");
    // PoolConfigurator.configureReserveAsCollateral's rules
    if r.ltv_bps > r.liquidation_threshold_bps {
        p.problems.push(
            format!("{rp}.ltv_bps"),
            format!(
                "the loan-to-value ({} bps) must not exceed the liquidation threshold ({} bps)",
                r.ltv_bps, r.liquidation_threshold_bps
            ),
        );
        ok = false;
    }
    if r.liquidation_threshold_bps > 0 {
        if r.liquidation_bonus_bps <= 10_000 {
            p.problems.push(
                format!("{rp}.liquidation_bonus_bps"),
                format!("collateral needs a bonus above 10000 bps (100 %), found {}", r.liquidation_bonus_bps),
            );
            ok = false;
        } else if u64::from(r.liquidation_threshold_bps) * u64::from(r.liquidation_bonus_bps) > 100_000_000 {
            p.problems.push(
                format!("{rp}.liquidation_bonus_bps"),
                format!(
                    "threshold x bonus is over 100 % ({} x {} bps): a liquidation would seize more than the collateral",
                    r.liquidation_threshold_bps, r.liquidation_bonus_bps
                ),
            );
            ok = false;
        }
    }
    // the oracle: required except for the numeraire, and it must price this token
    let oracle = match (&r.oracle, token) {
        (Some(name), _) => match oracles.iter().find(|o| o.name == *name) {
            None => {
                let message = crate::unknown("oracle", name, oracles.iter().map(|o| o.name.as_str()));
                p.problems.push(format!("{rp}.oracle"), message);
                ok = false;
                None
            }
            Some(o) => {
                if token.is_some_and(|t| t != o.token) {
                    p.problems.push(format!("{rp}.oracle"), format!("oracle {name:?} prices another token"));
                    ok = false;
                }
                Some(o.id)
            }
        },
        (None, Some(t)) if Some(t) != numeraire => {
            p.problems.push(
                format!("{rp}.oracle"),
                "a reserve needs an oracle for health factors (only the numeraire has none)",
            );
            ok = false;
            None
        }
        (None, _) => None,
    };
    let amount = |p: &mut Ctx, field: &str, text: &str| -> Option<u128> {
        if text.is_empty() { Some(0) } else { p.amount(&format!("{rp}.{field}"), token, text) }
    };
    let supplied = amount(p, "supplied", &r.supplied);
    let borrowed = amount(p, "borrowed", &r.borrowed);
    let supply_cap = r.supply_cap.as_ref().map(|c| amount(p, "supply_cap", c));
    let borrow_cap = r.borrow_cap.as_ref().map(|c| amount(p, "borrow_cap", c));
    if let (Some(s), Some(b)) = (supplied, borrowed)
        && b > s
    {
        p.problems.push(format!("{rp}.borrowed"), "passive borrowers cannot owe more than was supplied");
        ok = false;
    }
    if let (Some(Some(cap)), Some(s)) = (supply_cap, supplied)
        && s > cap
    {
        p.problems.push(format!("{rp}.supplied"), "genesis deposits are over the supply cap");
        ok = false;
    }
    if let (Some(Some(cap)), Some(b)) = (borrow_cap, borrowed)
        && b > cap
    {
        p.problems.push(format!("{rp}.borrowed"), "genesis debt is over the borrow cap");
        ok = false;
    }
    let strategy = RateStrategy {
        optimal_usage_bps: r.optimal_usage_bps,
        base_rate_bps: r.base_rate_bps,
        slope1_bps: r.slope1_bps,
        slope2_bps: r.slope2_bps,
    };
    if !ok {
        return None;
    }
    Some(ReserveSpec {
        token: token?,
        oracle,
        strategy,
        reserve_factor_bps: r.reserve_factor_bps,
        ltv_bps: r.ltv_bps,
        liquidation_threshold_bps: r.liquidation_threshold_bps,
        liquidation_bonus_bps: r.liquidation_bonus_bps,
        liquidation_protocol_fee_bps: r.liquidation_protocol_fee_bps,
        supply_cap: supply_cap.flatten(),
        borrow_cap: borrow_cap.flatten(),
        supplied: supplied?,
        borrowed: borrowed?,
    })
}

/// Genesis borrowers: both tokens reserves of this market, the collateral one usable as
/// collateral, and health factors above 1 (a world does not start under water).
fn positions(
    p: &mut Ctx,
    path: &str,
    raw: &[RawPositions],
    tokens: &[TokenId],
    reserves: &[ReserveSpec],
) -> Vec<PositionsSpec> {
    let mut out = Vec::new();
    let mut total: u64 = 0;
    for (k, g) in raw.iter().enumerate() {
        let gp = format!("{path}.positions[{k}]");
        let mut ok = true;
        total += u64::from(g.count);
        if g.count == 0 {
            p.problems.push(format!("{gp}.count"), "expected at least one position");
            ok = false;
        }
        let reserve_of = |p: &mut Ctx, field: &str, symbol: &str| -> Option<usize> {
            let t = p.token(&format!("{gp}.{field}"), symbol)?;
            let found = tokens.iter().position(|x| *x == t);
            if found.is_none() {
                p.problems.push(format!("{gp}.{field}"), format!("{symbol:?} has no reserve in this market"));
            }
            found
        };
        let collateral = reserve_of(p, "collateral", &g.collateral);
        let debt = reserve_of(p, "debt", &g.debt);
        if collateral.is_some() && collateral == debt {
            p.problems.push(format!("{gp}.debt"), "the debt token must differ from the collateral token");
            ok = false;
        }
        if let Some(r) = collateral.and_then(|c| reserves.get(c))
            && r.liquidation_threshold_bps == 0
        {
            p.problems.push(
                format!("{gp}.collateral"),
                format!("{:?} has a liquidation threshold of 0: it cannot be collateral", g.collateral),
            );
            ok = false;
        }
        let each = p.amount(
            &format!("{gp}.collateral_each"),
            collateral.and_then(|c| tokens.get(c).copied()),
            &g.collateral_each,
        );
        if each == Some(0) {
            p.problems.push(format!("{gp}.collateral_each"), "expected a positive amount");
            ok = false;
        }
        let (lo, hi) = g.health;
        let lo_ok = p.finite(&format!("{gp}.health[0]"), lo, 1.0001, 100.0, "a health factor above 1");
        let hi_ok = p.finite(&format!("{gp}.health[1]"), hi, 1.0001, 100.0, "a health factor above 1");
        if lo_ok && hi_ok && lo > hi {
            p.problems
                .push(format!("{gp}.health"), format!("the lowest health factor ({lo}) is above the highest ({hi})"));
            ok = false;
        }
        if let (true, true, true, Some(collateral), Some(debt), Some(each)) = (ok, lo_ok, hi_ok, collateral, debt, each)
        {
            let e4 = |h: f64| (h * 1e4).round() as u32;
            out.push(PositionsSpec {
                count: g.count,
                collateral,
                debt,
                collateral_each: each,
                health_e4: (e4(lo), e4(hi)),
            });
        }
    }
    if total > limits::MAX_BORROWERS as u64 {
        p.problems.push(
            format!("{path}.positions"),
            format!("expected at most {} positions in all, found {total}", limits::MAX_BORROWERS),
        );
    }
    out
}
