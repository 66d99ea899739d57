//! Raw document -> typed [`Scenario`], collecting every problem with its field path. The world
//! header and tokens are checked here; each domain's section in its own module.

mod agents;
mod books;
mod chain;
mod events;
mod lending;
mod market;
mod oracles;
mod pools;
mod vaults;

use std::collections::BTreeMap;
use std::path::Path;

use crate::amount::{exact_units, parse_amount};
use crate::limits;
use crate::model::*;
use crate::raw::*;

/// Problems found, by field path.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<(String, String)>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push((path.into(), message.into()));
    }
}

struct Ctx<'a> {
    problems: Problems,
    tokens: BTreeMap<&'a str, TokenId>,
    decimals: Vec<u8>,
    symbols: Vec<String>,
    /// Each token's chain and the token whose price it takes.
    token_chain: Vec<ChainId>,
    asset_of: Vec<TokenId>,
    chain_names: Vec<String>,
    base_dir: &'a Path,
}

impl<'a> Ctx<'a> {
    fn chain(&mut self, path: &str, name: &str) -> Option<ChainId> {
        let found = self.chain_names.iter().position(|c| c == name).map(|k| ChainId(k as u16));
        if found.is_none() {
            let message = crate::unknown("chain", name, self.chain_names.iter().map(String::as_str));
            self.problems.push(path, message);
        }
        found
    }

    fn token(&mut self, path: &str, symbol: &str) -> Option<TokenId> {
        let found = self.tokens.get(symbol).copied();
        if found.is_none() {
            let message = crate::unknown("token", symbol, self.tokens.keys().copied());
            self.problems.push(path, message);
        }
        found
    }

    fn pool(&mut self, path: &str, name: &str, pool_names: &BTreeMap<&str, PoolId>) -> Option<PoolId> {
        let found = pool_names.get(name).copied();
        if found.is_none() {
            self.problems.push(path, crate::unknown("pool", name, pool_names.keys().copied()));
        }
        found
    }

    fn amount(&mut self, path: &str, token: Option<TokenId>, text: &str) -> Option<u128> {
        let decimals = self.decimals[token?.index()];
        match parse_amount(text, decimals) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(path, e);
                None
            }
        }
    }

    /// A gas price in gwei within [0, MAX_GAS_PRICE_GWEI], in whole wei.
    fn gwei(&mut self, path: &str, value: f64, what: &str) -> Option<u128> {
        if !self.finite(path, value, 0.0, limits::MAX_GAS_PRICE_GWEI, what) {
            return None;
        }
        self.units(path, value, 1e9, &format!("{what} (whole wei)"))
    }

    fn finite(&mut self, path: &str, v: f64, min: f64, max: f64, what: &str) -> bool {
        if v.is_finite() && v >= min && v <= max {
            true
        } else {
            self.problems.push(path, format!("expected {what} in {}, found {}", interval(min, max), readable(v)));
            false
        }
    }

    /// Fee in basis points within [0, 10000).
    fn fee_bps(&mut self, path: &str, bps: f64) -> bool {
        if bps.is_finite() && (0.0..10_000.0).contains(&bps) {
            true
        } else {
            self.problems
                .push(path, format!("expected a fee in basis points in [0, 10000) (0 % to below 100 %), found {bps}"));
            false
        }
    }

    fn units(&mut self, path: &str, value: f64, scale: f64, what: &str) -> Option<u128> {
        match exact_units(value, scale, what) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems.push(path, e);
                None
            }
        }
    }
}

pub(crate) fn validate(raw: &RawWorld, base_dir: &Path, world_hash: String) -> Result<Scenario, Problems> {
    let mut cx = Ctx {
        problems: Problems::default(),
        tokens: BTreeMap::new(),
        decimals: Vec::new(),
        symbols: Vec::new(),
        token_chain: Vec::new(),
        asset_of: Vec::new(),
        chain_names: Vec::new(),
        base_dir,
    };
    let p = &mut cx;

    if raw.version != SCHEMA_VERSION {
        p.problems.push("version", format!("expected schema version {SCHEMA_VERSION}, found {}", raw.version));
    }
    if raw.name.is_empty()
        || raw.name.len() > 64
        || !raw.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        p.problems.push("name", format!("expected 1 to 64 characters from [A-Za-z0-9-_.], found {:?}", raw.name));
    }
    if raw.blocks == 0 || raw.blocks > limits::MAX_BLOCKS {
        p.problems.push("blocks", format!("expected 1 to {} blocks, found {}", limits::MAX_BLOCKS, raw.blocks));
    }

    // chain names first: tokens name their chain
    let chain_list = chain::chain_list(p, raw);
    p.chain_names = chain_list.iter().map(|(_, _, n)| n.clone()).collect();

    // tokens
    if raw.tokens.is_empty() || raw.tokens.len() > limits::MAX_TOKENS {
        p.problems.push("tokens", format!("expected 1 to {} tokens, found {}", limits::MAX_TOKENS, raw.tokens.len()));
    }
    let mut tokens = Vec::new();
    for (k, t) in raw.tokens.iter().enumerate().take(limits::MAX_TOKENS) {
        let path = format!("tokens[{k}]");
        if t.decimals > 36 {
            p.problems.push(format!("{path}.decimals"), format!("expected at most 36 decimals, found {}", t.decimals));
        }
        if t.symbol.is_empty()
            || t.symbol.len() > 16
            || !t.symbol.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            p.problems.push(
                format!("{path}.symbol"),
                format!("expected 1 to 16 characters from [A-Za-z0-9-_.], found {:?}", t.symbol),
            );
        }
        if p.tokens.insert(t.symbol.as_str(), TokenId(k as u16)).is_some() {
            p.problems.push(format!("{path}.symbol"), format!("token {:?} is declared twice", t.symbol));
        }
        p.decimals.push(t.decimals.min(36));
        p.symbols.push(t.symbol.clone());
        let chain = match &t.chain {
            Some(name) => p.chain(&format!("{path}.chain"), name).unwrap_or_default(),
            None => ChainId(0),
        };
        p.token_chain.push(chain);
        p.asset_of.push(TokenId(k as u16));
        tokens.push(Token { symbol: t.symbol.clone(), decimals: t.decimals.min(36), chain, asset: TokenId(k as u16) });
    }
    // links to another chain's token, once every symbol is known
    for (k, t) in raw.tokens.iter().enumerate().take(limits::MAX_TOKENS) {
        let Some(asset) = &t.asset else { continue };
        let path = format!("tokens[{k}].asset");
        let Some(a) = p.token(&path, asset) else { continue };
        if raw.tokens[a.index()].asset.is_some() || a.index() == k {
            p.problems.push(path, format!("{asset:?} takes its price from another token: link to that one instead"));
        } else if p.decimals[a.index()] != p.decimals[k] {
            p.problems.push(
                path,
                format!(
                    "{asset:?} has {} decimals and {:?} {}: linked tokens need the same",
                    p.decimals[a.index()],
                    t.symbol,
                    p.decimals[k]
                ),
            );
        } else if p.token_chain[a.index()] == p.token_chain[k] {
            p.problems.push(path, format!("{asset:?} is on the same chain: one asset has one token per chain"));
        } else {
            p.asset_of[k] = a;
            tokens[k].asset = a;
        }
    }
    let numeraire = p.token("numeraire", &raw.numeraire);
    if let Some(n) = numeraire
        && p.asset_of[n.index()] != n
    {
        p.problems.push("numeraire", "the numeraire must be a token with no `asset` link (link the others to it)");
    }

    // chains
    let chains: Vec<Option<Chain>> = chain_list
        .iter()
        .enumerate()
        .map(|(k, (path, c, name))| chain::chain(p, path, name, ChainId(k as u16), c))
        .collect();
    let bridges = chain::bridges(p, &raw.bridges, &p.asset_of.clone());
    // market
    let market = market::market(p, &raw.market, numeraire, raw.blocks);
    // pools
    if raw.pools.len() > limits::MAX_POOLS {
        p.problems.push("pools", format!("expected at most {} pools, found {}", limits::MAX_POOLS, raw.pools.len()));
    }
    let mut pool_names: BTreeMap<&str, PoolId> = BTreeMap::new();
    let mut pools = Vec::new();
    for (k, rp) in raw.pools.iter().enumerate().take(limits::MAX_POOLS) {
        let path = format!("pools[{k}]");
        let name = pools::pool_name(rp);
        if pool_names.insert(name, PoolId(k as u32)).is_some() {
            p.problems.push(format!("{path}.name"), format!("pool name {name:?} is used twice"));
        }
        if let Some(spec) = pools::pool(p, &path, k, rp) {
            pools.push(spec);
        }
    }
    let books = books::books(p, &raw.books);
    let mut agents = agents::agents(p, &raw.agents, &pool_names, raw.pools.len(), &raw.lending, (&raw.books, &books));
    let oracles = oracles::oracles(p, &raw.oracles, &pool_names, &raw.pools, numeraire);
    let mut vaults = vaults::vaults(
        p,
        &raw.vaults,
        &oracles,
        numeraire,
        chains.first().and_then(|c| c.as_ref()).map(|c| c.native),
        &pool_names,
        &raw.lending,
    );
    // the tables' `sender` column names agents and vaults alike
    for (k, v) in raw.vaults.iter().enumerate() {
        if let Some(a) = raw.agents.iter().position(|a| a.name() == v.name) {
            p.problems.push(
                format!("vaults[{k}].name"),
                format!("{:?} is also the name of agents[{a}]: agents and vaults need distinct names", v.name),
            );
        }
    }

    for (field, units) in [
        ("base_tx", raw.gas.base_tx),
        ("swap_constant_product", raw.gas.swap_constant_product),
        ("swap_concentrated", raw.gas.swap_concentrated),
        ("tick_cross", raw.gas.tick_cross),
        ("swap_stableswap", raw.gas.swap_stableswap),
        ("swap_weighted", raw.gas.swap_weighted),
        ("lending_action", raw.gas.lending_action),
        ("liquidation", raw.gas.liquidation),
        ("bridge_send", raw.gas.bridge_send),
        ("book_order", raw.gas.book_order),
        ("book_cancel", raw.gas.book_cancel),
        ("book_fill", raw.gas.book_fill),
    ] {
        if units > limits::MAX_GAS_PER_OPERATION {
            p.problems.push(
                format!("gas.{field}"),
                format!("expected at most {} gas, found {units}", limits::MAX_GAS_PER_OPERATION),
            );
        }
    }
    let gas = GasCosts {
        base_tx: raw.gas.base_tx,
        swap_constant_product: raw.gas.swap_constant_product,
        swap_concentrated: raw.gas.swap_concentrated,
        tick_cross: raw.gas.tick_cross,
        swap_stableswap: raw.gas.swap_stableswap,
        swap_weighted: raw.gas.swap_weighted,
        lending_action: raw.gas.lending_action,
        liquidation: raw.gas.liquidation,
        bridge_send: raw.gas.bridge_send,
        book_order: raw.gas.book_order,
        book_cancel: raw.gas.book_cancel,
        book_fill: raw.gas.book_fill,
    };

    let events = events::events(p, &raw.events, &pool_names, &oracles, chains.first().and_then(|c| c.as_ref()));
    let lending = lending::lending(p, &raw.lending, &oracles, numeraire);
    books::vault_books(p, &raw.vaults, &raw.books, &books, &mut vaults);

    // without a chain (already a problem) nothing can be placed on one
    if !p.chain_names.is_empty() {
        chain::placement(p, raw, &pools, &lending, &mut vaults, &mut agents, &bridges, &books);
    }
    let chains: Option<Vec<Chain>> = chains.into_iter().collect();

    if !cx.problems.0.is_empty() {
        return Err(cx.problems);
    }
    match (numeraire, chains, market) {
        (Some(numeraire), Some(chains), Some(market)) if !chains.is_empty() => Ok(Scenario {
            name: raw.name.clone(),
            world_hash,
            seed: raw.seed,
            blocks: raw.blocks,
            chains,
            bridges,
            numeraire,
            tokens,
            market,
            pools,
            books,
            agents,
            oracles,
            vaults,
            lending,
            gas,
            events: Events(events),
            raw: raw.clone(),
        }),
        _ => Err(cx.problems),
    }
}

/// Tokens of one pool or vault must differ.
fn distinct(p: &mut Ctx, path: &str, ids: &[Option<TokenId>]) {
    for i in 0..ids.len() {
        for j in 0..i {
            if ids[i].is_some() && ids[i] == ids[j] {
                p.problems.push(format!("{path}.tokens[{i}]"), "a token appears twice in the pool");
            }
        }
    }
}

/// A number as people write it: `1e30` rather than thirty-one digits, `0.25` as is.
fn readable(x: f64) -> String {
    let a = x.abs();
    if a.is_finite() && a != 0.0 && !(1e-4..1e6).contains(&a) { format!("{x:e}") } else { format!("{x}") }
}

/// An interval as people write it. The bounds that stand for "positive" (`f64::MIN_POSITIVE`) and
/// "unbounded" (`f64::MIN`, `f64::MAX`) are written as open ends, not as 300-digit numbers.
fn interval(min: f64, max: f64) -> String {
    let lo = if min == f64::MIN_POSITIVE {
        "(0".to_string()
    } else if min == f64::MIN {
        "(-inf".to_string()
    } else {
        format!("[{}", readable(min))
    };
    let hi = if max == f64::MAX { "inf)".to_string() } else { format!("{}]", readable(max)) };
    format!("{lo}, {hi}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_people_write_them() {
        assert_eq!(interval(f64::MIN_POSITIVE, 1e30), "(0, 1e30]");
        assert_eq!(interval(0.0, 1.0), "[0, 1]");
        assert_eq!(interval(f64::MIN, f64::MAX), "(-inf, inf)");
        assert_eq!(interval(0.0, 1e6), "[0, 1e6]");
        assert_eq!(readable(0.25), "0.25");
        assert_eq!(readable(-2.5e-7), "-2.5e-7");
        assert_eq!(readable(f64::NAN), "NaN");
    }

    #[test]
    fn a_bad_price_is_reported_with_a_readable_range() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds/lvr.ron");
        let text = std::fs::read_to_string(&path).unwrap_or_default().replace("price: 2000.0", "price: -1.0");
        let err = crate::parse_str(&text, "lvr.ron", Path::new(".")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains(
                "market.assets[0].price: expected a price in numeraire per whole token in [1e-18, 1e18], found -1"
            ),
            "{err}"
        );
        assert!(!err.contains("000000000"), "{err}");
    }
}
