//! The external market: assets, correlation, jumps, regimes, replayed paths and shocks.

use std::collections::BTreeMap;

use super::Ctx;
use crate::limits;
use crate::model::*;
use crate::raw::*;

pub(super) fn market(p: &mut Ctx, raw: &RawMarket, numeraire: Option<TokenId>, blocks: u64) -> Option<Market> {
    let mut assets = Vec::new();
    let mut index_of = BTreeMap::new();
    if raw.assets.len() > limits::MAX_TOKENS {
        p.problems.push("market.assets", format!("expected at most {} assets", limits::MAX_TOKENS));
    }
    for (k, a) in raw.assets.iter().enumerate().take(limits::MAX_TOKENS) {
        let path = format!("market.assets[{k}]");
        let token = p.token(&format!("{path}.token"), &a.token);
        if token.is_some() && token == numeraire {
            p.problems.push(format!("{path}.token"), "the numeraire has price 1 by definition and is not an asset");
        }
        if let Some(t) = token
            && p.asset_of[t.index()] != t
        {
            let linked = p.symbols[p.asset_of[t.index()].index()].clone();
            p.problems.push(
                format!("{path}.token"),
                format!(
                    "{:?} takes the price of {linked:?} (its `asset`) and has no price process of its own",
                    a.token
                ),
            );
        }
        if let Some(t) = token
            && index_of.insert(t, assets.len()).is_some()
        {
            p.problems.push(format!("{path}.token"), format!("asset {:?} is listed twice", a.token));
        }
        let (lo, hi) = limits::GENESIS_PRICE_RANGE;
        p.finite(&format!("{path}.price"), a.price, lo, hi, "a price in numeraire per whole token");
        p.finite(
            &format!("{path}.volatility"),
            a.volatility,
            0.0,
            100.0,
            "an annualized volatility (non-negative, not NaN)",
        );
        p.finite(&format!("{path}.drift"), a.drift, -100.0, 100.0, "an annualized drift");
        if let Some(token) = token {
            assets.push(AssetSpec { token, price: a.price, volatility: a.volatility, drift: a.drift });
        }
    }
    // every token except the numeraire needs an external price
    for (symbol, id) in &p.tokens.clone() {
        let linked = p.asset_of[id.index()] != *id;
        if Some(*id) != numeraire && !linked && !index_of.contains_key(id) {
            p.problems.push("market.assets", format!("token {symbol:?} has no external price; add an asset for it"));
        }
    }
    let n = assets.len();
    let mut correlation = vec![vec![0.0; n]; n];
    for (k, row) in correlation.iter_mut().enumerate() {
        row[k] = 1.0;
    }
    let mut pairs = std::collections::BTreeMap::new();
    for (k, c) in raw.correlations.iter().enumerate() {
        let path = format!("market.correlations[{k}]");
        let a = p.token(&format!("{path}.a"), &c.a).and_then(|t| index_of.get(&t).copied());
        let b = p.token(&format!("{path}.b"), &c.b).and_then(|t| index_of.get(&t).copied());
        if !p.finite(&format!("{path}.rho"), c.rho, -1.0, 1.0, "a correlation") {
            continue;
        }
        if let (Some(a), Some(b)) = (a, b) {
            if a == b {
                p.problems.push(path, "a correlation needs two different assets");
            } else if let Some(first) = pairs.insert((a.min(b), a.max(b)), k) {
                p.problems.push(
                    path,
                    format!("{} and {} already have a correlation (market.correlations[{first}])", c.a, c.b),
                );
            } else {
                correlation[a][b] = c.rho;
                correlation[b][a] = c.rho;
            }
        }
    }
    if n > 0 && !positive_definite(&correlation) {
        p.problems
            .push("market.correlations", "the correlation matrix is not positive definite (no Cholesky factor exists)");
    }
    let jumps = raw.jumps.as_ref().map(|j| {
        p.finite("market.jumps.intensity_per_year", j.intensity_per_year, 0.0, 1e6, "jumps per year");
        p.finite("market.jumps.mean", j.mean, -10.0, 10.0, "a mean log jump");
        p.finite("market.jumps.stdev", j.stdev, 0.0, 10.0, "a log-jump stdev");
        Jumps { intensity_per_year: j.intensity_per_year, mean: j.mean, stdev: j.stdev }
    });
    let regimes = raw.regimes.as_ref().map(|r| {
        if r.multipliers.is_empty() || r.multipliers.len() > 16 || r.multipliers.len() != r.switches_per_year.len() {
            p.problems.push("market.regimes", "expected 1 to 16 regimes with one multiplier and one switch rate each");
        }
        for (k, m) in r.multipliers.iter().enumerate() {
            p.finite(&format!("market.regimes.multipliers[{k}]"), *m, 0.0, 100.0, "a volatility multiplier");
        }
        for (k, s) in r.switches_per_year.iter().enumerate() {
            p.finite(&format!("market.regimes.switches_per_year[{k}]"), *s, 0.0, 1e6, "switches per year");
        }
        Regimes { multipliers: r.multipliers.clone(), switches_per_year: r.switches_per_year.clone() }
    });
    let replay = raw.replay.as_ref().and_then(|file| {
        let symbols: Vec<String> = assets
            .iter()
            .map(|a| p.tokens.iter().find(|(_, id)| **id == a.token).map(|(s, _)| s.to_string()).unwrap_or_default())
            .collect();
        match crate::replay::load(&p.base_dir.join(file), &symbols) {
            Ok(r) => Some(r),
            Err(e) => {
                p.problems.push("market.replay", e);
                None
            }
        }
    });
    if raw.shocks.len() > limits::MAX_SHOCKS {
        p.problems.push("market.shocks", format!("expected at most {} shocks", limits::MAX_SHOCKS));
    }
    let mut shocks = Vec::new();
    for (k, s) in raw.shocks.iter().enumerate().take(limits::MAX_SHOCKS) {
        let path = format!("market.shocks[{k}]");
        let asset = p.token(&format!("{path}.token"), &s.token).and_then(|t| {
            let a = index_of.get(&t).copied();
            if a.is_none() {
                p.problems.push(format!("{path}.token"), "shocks apply to market assets, not the numeraire");
            }
            a
        });
        if s.blocks == 0 || s.blocks > blocks.max(1) {
            p.problems
                .push(format!("{path}.blocks"), format!("expected 1 to {} blocks, found {}", blocks.max(1), s.blocks));
        }
        if s.start_block > limits::MAX_BLOCKS {
            p.problems.push(format!("{path}.start_block"), "start block beyond the block limit");
        }
        if p.finite(&format!("{path}.change"), s.change, -0.999_999, limits::MAX_SHOCK_CHANGE, "a relative change")
            && let Some(asset) = asset
        {
            let log_step = libm::log1p(s.change) / s.blocks.max(1) as f64;
            shocks.push(Shock { asset, start_block: s.start_block, blocks: s.blocks.max(1), log_step });
        }
    }
    Some(Market { assets, correlation, jumps, regimes, replay, shocks })
}

/// Cholesky succeeds (all pivots positive).
pub(super) fn positive_definite(m: &[Vec<f64>]) -> bool {
    let n = m.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - s;
                if d <= 1e-12 {
                    return false;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
            }
        }
    }
    true
}
