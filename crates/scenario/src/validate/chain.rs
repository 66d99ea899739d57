//! Chains: block time, gas limit and base fee, native token, ordering policy; which chain each
//! token, pool, market, oracle, vault and agent lives on; and the bridges between chains.

use std::collections::BTreeMap;

use super::Ctx;
use crate::limits;
use crate::model::*;
use crate::raw::*;

/// The chains as written: one `chain` (named `main` unless named) or a list of `chains`, with
/// their paths. Names are checked here; parameters in [`chain`] once tokens are known.
pub(super) fn chain_list<'a>(p: &mut Ctx, raw: &'a RawWorld) -> Vec<(String, &'a RawChain, String)> {
    let list: Vec<(String, &RawChain, String)> = match (&raw.chain, raw.chains.is_empty()) {
        (Some(c), true) => vec![("chain".to_string(), c, c.name.clone().unwrap_or_else(|| "main".into()))],
        (None, false) => raw
            .chains
            .iter()
            .enumerate()
            .take(limits::MAX_CHAINS)
            .map(|(k, c)| {
                let path = format!("chains[{k}]");
                let name = match &c.name {
                    Some(n) => n.clone(),
                    None => {
                        p.problems.push(format!("{path}.name"), "expected a name for each of several chains");
                        format!("chain{k}")
                    }
                };
                (path, c, name)
            })
            .collect(),
        (Some(_), false) => {
            p.problems.push("chains", "expected either `chain` (one chain) or `chains` (several), not both");
            Vec::new()
        }
        (None, true) => {
            p.problems.push("chain", "expected `chain: (...)`, or `chains: [...]` for several chains");
            Vec::new()
        }
    };
    if raw.chains.len() > limits::MAX_CHAINS {
        p.problems
            .push("chains", format!("expected at most {} chains, found {}", limits::MAX_CHAINS, raw.chains.len()));
    }
    for (k, (path, _, name)) in list.iter().enumerate() {
        if name.is_empty() || name.len() > 32 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            p.problems.push(
                format!("{path}.name"),
                format!("expected 1 to 32 characters from [A-Za-z0-9-_.], found {name:?}"),
            );
        }
        if list[..k].iter().any(|(_, _, n)| n == name) {
            p.problems.push(format!("{path}.name"), format!("chain name {name:?} is used twice"));
        }
    }
    list
}

/// One chain's parameters (tokens known).
pub(super) fn chain(p: &mut Ctx, path: &str, name: &str, id: ChainId, raw: &RawChain) -> Option<Chain> {
    let block_time = match raw.block_time {
        RawBlockTime::Fixed(s) => p
            .finite(&format!("{path}.block_time"), s, 1e-3, 86_400.0, "seconds per block")
            .then_some(BlockTime::Fixed { seconds: s }),
        RawBlockTime::Poisson(s) => p
            .finite(&format!("{path}.block_time"), s, 1e-3, 86_400.0, "mean seconds per block")
            .then_some(BlockTime::Poisson { mean_seconds: s }),
    };
    if raw.gas_limit < 21_000 || raw.gas_limit > 1_000_000_000 {
        p.problems.push(format!("{path}.gas_limit"), format!("expected 21000 to 1e9 gas, found {}", raw.gas_limit));
    }
    let base_fee_wei = p.gwei(&format!("{path}.base_fee_gwei"), raw.base_fee_gwei, "a base fee in gwei");
    let native = p.token(&format!("{path}.native_token"), &raw.native_token);
    if let Some(n) = native {
        if p.decimals[n.index()] != 18 {
            p.problems.push(
                format!("{path}.native_token"),
                format!("the native token pays gas in wei and needs 18 decimals, found {}", p.decimals[n.index()]),
            );
        }
        on_chain(p, &format!("{path}.native_token"), n, id, "the chain's gas token");
    }
    Some(Chain {
        name: name.to_string(),
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
            RawOrdering::CancelsFirst => Ordering::CancelsFirst,
        },
    })
}

/// A token used at `path` must live on chain `chain`.
pub(super) fn on_chain(p: &mut Ctx, path: &str, token: TokenId, chain: ChainId, what: &str) -> bool {
    let at = p.token_chain[token.index()];
    if at == chain {
        return true;
    }
    let symbol = p.symbols[token.index()].clone();
    let (has, wants) = (p.chain_names[at.index()].clone(), p.chain_names[chain.index()].clone());
    p.problems.push(
        path,
        format!(
            "token {symbol:?} lives on chain {has:?}, but {what} is on chain {wants:?}: use that chain's own token"
        ),
    );
    false
}

/// The chain shared by `tokens` (reported at `path` when they differ); `None` if empty.
pub(super) fn common_chain(p: &mut Ctx, path: &str, tokens: &[TokenId], what: &str) -> Option<ChainId> {
    let first = *tokens.first()?;
    let chain = p.token_chain[first.index()];
    for (i, t) in tokens.iter().enumerate().skip(1) {
        on_chain(p, &format!("{path}[{i}]"), *t, chain, what);
    }
    Some(chain)
}

/// Where everything lives: pools, markets, oracles, vaults on their tokens' chain, agents on
/// their pools' or market's, each pool, reserve and holding of one chain.
#[expect(clippy::too_many_arguments, reason = "placement reads every domain's entities")]
pub(super) fn placement(
    p: &mut Ctx,
    raw: &RawWorld,
    pools: &[PoolSpec],
    lending: &[LendingSpec],
    vaults: &mut [VaultSpec],
    agents: &mut [AgentSpec],
    bridges: &[BridgeSpec],
    books: &[BookSpec],
) {
    for b in books {
        on_chain(p, &format!("books[{}].quote", b.id.index()), b.quote, b.chain, "the book");
    }
    let book_chain = |id: BookId| books.iter().find(|b| b.id == id).map_or(ChainId(0), |b| b.chain);
    for pool in pools {
        common_chain(p, &format!("pools[{}].tokens", pool.id.index()), &pool.tokens, "the pool");
    }
    let market_chain: Vec<ChainId> = lending
        .iter()
        .map(|m| {
            let tokens: Vec<TokenId> = m.reserves.iter().map(|r| r.token).collect();
            common_chain(p, &format!("lending[{}].reserves", m.id.index()), &tokens, "the market").unwrap_or_default()
        })
        .collect();
    for (v, raw) in vaults.iter_mut().zip(&raw.vaults) {
        vault_chains(p, pools, v, raw, bridges);
    }
    for (k, a) in agents.iter_mut().enumerate() {
        let path = format!("agents[{k}]");
        let pools_of = |kind: &AgentKind| match kind {
            AgentKind::Arbitrageur { pools, .. } | AgentKind::Searcher { pools, .. } => pools.clone(),
            _ => Vec::new(),
        };
        // chains it may hold capital on
        let mut chains_of_capital = Vec::new();
        let chain = match &mut a.kind {
            AgentKind::CrossChainArbitrageur { pools: ps, bridges: bs, .. } => {
                cross_chain(p, &path, pools, ps, bs, raw.agents.get(k), bridges, &mut chains_of_capital)
            }
            AgentKind::MarketMaker(m) => book_chain(m.book),
            AgentKind::NoiseTrader(n) => book_chain(n.book),
            AgentKind::Arbitrageur { .. } | AgentKind::Searcher { .. } => {
                let ps = pools_of(&a.kind);
                let mut chains: Vec<ChainId> = ps.iter().map(|x| pool_chain(pools, p, *x)).collect();
                if let AgentKind::Arbitrageur { books: bs, .. } = &a.kind {
                    for (i, b) in bs.iter().enumerate() {
                        let c = book_chain(*b);
                        if chains.first().is_some_and(|first| *first != c) {
                            p.problems.push(
                                format!("{path}.books[{i}]"),
                                "the book is on another chain than the agent's pools: an agent trades one chain",
                            );
                        }
                        if chains.is_empty() {
                            chains.push(c);
                        }
                    }
                }
                if let Some(i) = chains.iter().position(|c| *c != chains[0]) {
                    let (x, y) = (p.chain_names[chains[i].index()].clone(), p.chain_names[chains[0].index()].clone());
                    p.problems.push(
                        format!("{path}.pools[{i}]"),
                        format!(
                            "the pool is on chain {x:?}, the agent's first pool on {y:?}: an agent trades one chain"
                        ),
                    );
                }
                chains.first().copied().unwrap_or_default()
            }
            AgentKind::Liquidator { market, .. } | AgentKind::Borrowers { market, .. } => {
                market_chain.get(market.index()).copied().unwrap_or_default()
            }
            AgentKind::Supplier { markets, .. } => {
                let chains: Vec<ChainId> =
                    markets.iter().map(|m| market_chain.get(m.index()).copied().unwrap_or_default()).collect();
                if let Some(i) = chains.iter().position(|c| *c != chains[0]) {
                    p.problems.push(format!("{path}.markets[{i}]"), "the supplier's markets are on different chains");
                }
                chains.first().copied().unwrap_or_default()
            }
            AgentKind::CycleArbitrageur { books: bs, .. } => {
                let chain = match raw.agents.get(k) {
                    Some(RawAgent::CycleArbitrageur(r)) => match &r.chain {
                        Some(name) => p.chain(&format!("{path}.chain"), name).unwrap_or_default(),
                        None => ChainId(0),
                    },
                    _ => ChainId(0),
                };
                for (i, b) in bs.iter().enumerate() {
                    if book_chain(*b) != chain {
                        p.problems.push(format!("{path}.books[{i}]"), "the book is on another chain than the agent");
                    }
                }
                chain
            }
        };
        for (i, (t, _)) in a.capital.iter().enumerate() {
            if chains_of_capital.is_empty() {
                on_chain(p, &format!("{path}.capital[{i}]"), *t, chain, "the agent");
            } else if !chains_of_capital.contains(&p.token_chain[t.index()]) {
                let symbol = p.symbols[t.index()].clone();
                p.problems.push(
                    format!("{path}.capital[{i}]"),
                    format!("token {symbol:?} lives on a chain where the agent has no pool"),
                );
            }
        }
        a.chain = chain;
    }
}

/// A cross-chain arbitrageur: pools of the same two assets on distinct chains; bridges (by name)
/// that carry one of those assets between two of those chains. Returns its first pool's chain.
#[expect(clippy::too_many_arguments, reason = "one check reads the pools, the agent and the bridges")]
fn cross_chain(
    p: &mut Ctx,
    path: &str,
    pools: &[PoolSpec],
    ids: &[PoolId],
    bridge_ids: &mut Vec<BridgeId>,
    raw: Option<&RawAgent>,
    bridges: &[BridgeSpec],
    chains: &mut Vec<ChainId>,
) -> ChainId {
    let assets_of = |p: &Ctx, id: PoolId| -> Vec<TokenId> {
        let mut a: Vec<TokenId> =
            pools.get(id.index()).map(|x| x.tokens.iter().map(|t| p.asset_of[t.index()]).collect()).unwrap_or_default();
        a.sort();
        a
    };
    for (i, id) in ids.iter().enumerate() {
        let c = pool_chain(pools, p, *id);
        if chains.contains(&c) {
            let name = p.chain_names[c.index()].clone();
            p.problems.push(format!("{path}.pools[{i}]"), format!("a second pool on chain {name:?}: one per chain"));
        }
        chains.push(c);
        if pools.get(id.index()).is_some_and(|x| x.tokens.len() != 2) {
            p.problems.push(format!("{path}.pools[{i}]"), "expected a pool of two tokens");
        } else if i > 0 && assets_of(p, *id) != assets_of(p, ids[0]) {
            p.problems.push(format!("{path}.pools[{i}]"), "the pool trades other assets than the agent's first pool");
        }
    }
    if let Some(RawAgent::CrossChainArbitrageur(r)) = raw {
        for (i, name) in r.bridges.iter().enumerate() {
            let bp = format!("{path}.bridges[{i}]");
            match bridges.iter().find(|b| b.name == *name) {
                Some(b) if chains.contains(&b.chains.0) && chains.contains(&b.chains.1) => bridge_ids.push(b.id),
                Some(_) => p.problems.push(bp, format!("bridge {name:?} does not join two of the agent's chains")),
                None => p.problems.push(bp, crate::unknown("bridge", name, bridges.iter().map(|b| b.name.as_str()))),
            }
        }
        if r.style == RawArbStyle::Bridge && r.bridges.is_empty() {
            p.problems
                .push(format!("{path}.style"), "`style: Bridge` bridges each first leg's proceeds: name `bridges`");
        }
    }
    chains.first().copied().unwrap_or_default()
}

/// A vault lives on its deposit token's chain; with bridges, also on the chains they join to it:
/// every token it holds or targets, and every pool it trades, must be on one of them. A vault
/// across chains takes no flows and has no lending position (not modelled across chains yet);
/// its transit tokens are the tokens its bridges carry of the assets it holds or targets.
fn vault_chains(p: &mut Ctx, pools: &[PoolSpec], v: &mut VaultSpec, raw: &RawVault, bridges: &[BridgeSpec]) {
    let home = p.token_chain[v.deposit_token.index()];
    let path = format!("vaults[{}]", v.id.index());
    let mut chains = vec![home];
    for (i, name) in raw.bridges.iter().enumerate() {
        let bp = format!("{path}.bridges[{i}]");
        match bridges.iter().find(|b| b.name == *name) {
            Some(b) => {
                v.bridges.push(b.id);
                for c in [b.chains.0, b.chains.1] {
                    if !chains.contains(&c) {
                        chains.push(c);
                    }
                }
            }
            None => p.problems.push(bp, crate::unknown("bridge", name, bridges.iter().map(|b| b.name.as_str()))),
        }
    }
    let names =
        |p: &Ctx| chains.iter().map(|c| format!("{:?}", p.chain_names[c.index()])).collect::<Vec<_>>().join(", ");
    let mut tokens: Vec<(String, TokenId)> =
        v.holdings.iter().enumerate().map(|(k, (t, _))| (format!("{path}.holdings[{k}]"), *t)).collect();
    if let Strategy::ConstantMix { targets } = &v.strategy {
        tokens.extend(targets.iter().enumerate().map(|(k, (t, _))| (format!("{path}.strategy.targets[{k}]"), *t)));
    }
    for (at, t) in &tokens {
        let c = p.token_chain[t.index()];
        if !chains.contains(&c) {
            let (symbol, has) = (p.symbols[t.index()].clone(), p.chain_names[c.index()].clone());
            let message = if chains.len() == 1 {
                format!(
                    "token {symbol:?} lives on chain {has:?}, but the vault is on chain {:?} (its deposit token's): \
                     name `bridges` to hold it across chains",
                    p.chain_names[home.index()]
                )
            } else {
                format!(
                    "token {symbol:?} lives on chain {has:?}, which the vault's bridges do not reach ({})",
                    names(p)
                )
            };
            p.problems.push(at.clone(), message);
        }
    }
    for (k, pool) in v.venues.iter().enumerate() {
        let pc = pool_chain(pools, p, *pool);
        if !chains.contains(&pc) {
            let a = p.chain_names[pc.index()].clone();
            p.problems
                .push(format!("{path}.venues[{k}]"), format!("the pool is on chain {a:?}, the vault on {}", names(p)));
        }
    }
    if chains.len() > 1 {
        if !v.flows.is_empty() {
            p.problems.push(
                format!("{path}.flows"),
                "a vault across chains takes no deposits or withdrawals (not modelled yet)",
            );
        }
        if v.yield_leg.is_some() || matches!(v.strategy, Strategy::Leveraged { .. }) {
            p.problems
                .push(format!("{path}.bridges"), "a vault across chains has no lending position (not modelled yet)");
        }
        let assets: Vec<TokenId> = tokens.iter().map(|(_, t)| p.asset_of[t.index()]).collect();
        for b in v.bridges.iter().filter_map(|id| bridges.get(id.index())) {
            for (x, y) in &b.tokens {
                if assets.contains(&p.asset_of[x.index()]) {
                    v.transit.extend([*x, *y]);
                }
            }
        }
        v.transit.sort();
        v.transit.dedup();
        let mut universe: Vec<TokenId> = tokens.iter().map(|(_, t)| *t).chain(v.transit.iter().copied()).collect();
        universe.push(v.deposit_token);
        universe.sort();
        universe.dedup();
        if universe.len() > MAX_VAULT_TOKENS {
            p.problems.push(
                format!("{path}.bridges"),
                format!(
                    "a vault handles at most {MAX_VAULT_TOKENS} tokens, counting those its bridges carry between \
                     chains; found {}",
                    universe.len()
                ),
            );
        }
    }
}

fn pool_chain(pools: &[PoolSpec], p: &Ctx, pool: PoolId) -> ChainId {
    pools.get(pool.index()).and_then(|x| x.tokens.first()).map_or(ChainId(0), |t| p.token_chain[t.index()])
}

/// Bridges: two distinct chains, pairs of linked tokens of equal decimals, one on each side.
pub(super) fn bridges(p: &mut Ctx, raw: &[RawBridge], assets: &[TokenId]) -> Vec<BridgeSpec> {
    if raw.len() > limits::MAX_BRIDGES {
        p.problems.push("bridges", format!("expected at most {} bridges, found {}", limits::MAX_BRIDGES, raw.len()));
    }
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for (k, b) in raw.iter().enumerate().take(limits::MAX_BRIDGES) {
        let path = format!("bridges[{k}]");
        if names.insert(b.name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("bridge name {:?} is used twice", b.name));
        }
        let a = p.chain(&format!("{path}.chains.0"), &b.chains.0);
        let c = p.chain(&format!("{path}.chains.1"), &b.chains.1);
        if a.is_some() && a == c {
            p.problems.push(format!("{path}.chains"), "expected two different chains");
        }
        if b.tokens.is_empty() {
            p.problems.push(format!("{path}.tokens"), "expected at least one pair of tokens to carry");
        }
        let mut tokens = Vec::new();
        for (i, (x, y)) in b.tokens.iter().enumerate() {
            let tp = format!("{path}.tokens[{i}]");
            let tx = p.token(&format!("{tp}.0"), x);
            let ty = p.token(&format!("{tp}.1"), y);
            if let (Some(tx), Some(a)) = (tx, a) {
                on_chain(p, &format!("{tp}.0"), tx, a, "the bridge's first side");
            }
            if let (Some(ty), Some(c)) = (ty, c) {
                on_chain(p, &format!("{tp}.1"), ty, c, "the bridge's second side");
            }
            if let (Some(tx), Some(ty)) = (tx, ty) {
                if assets[tx.index()] != assets[ty.index()] {
                    p.problems.push(
                        tp.clone(),
                        format!("{x:?} and {y:?} are different assets: link one to the other with `asset`"),
                    );
                }
                if p.decimals[tx.index()] != p.decimals[ty.index()] {
                    p.problems.push(tp.clone(), format!("{x:?} and {y:?} need the same decimals to be bridged 1:1"));
                }
                tokens.push((tx, ty));
            }
        }
        let num = |p: &mut Ctx, field: &str, v: f64, what: &str| {
            p.finite(&format!("{path}.kind.{field}"), v, 0.0, 365.0 * 86_400.0, what)
        };
        let bps = |p: &mut Ctx, field: &str, v: u32| {
            if v >= 10_000 {
                p.problems.push(format!("{path}.kind.{field}"), format!("expected a fee below 10000 bps, found {v}"));
            }
        };
        let mut relayer_capital = vec![(0, 0); tokens.len()];
        let kind = match &b.kind {
            RawBridgeKind::Canonical { deposit_s, withdrawal_s } => {
                num(p, "deposit_s", *deposit_s, "seconds for a deposit");
                num(p, "withdrawal_s", *withdrawal_s, "seconds for a withdrawal");
                BridgeKind::Canonical { deposit_s: *deposit_s, withdrawal_s: *withdrawal_s }
            }
            RawBridgeKind::Attestation { standard_s, fast_s, fast_fee_bps } => {
                num(p, "standard_s", *standard_s, "seconds for a standard transfer");
                num(p, "fast_s", *fast_s, "seconds for a fast transfer");
                bps(p, "fast_fee_bps", *fast_fee_bps);
                BridgeKind::Attestation { standard_s: *standard_s, fast_s: *fast_s, fast_fee_bps: *fast_fee_bps }
            }
            RawBridgeKind::Intent { fill_s, fee_bps, repay_s, max_wait_s, capital } => {
                num(p, "fill_s", *fill_s, "seconds until a relayer fills");
                num(p, "repay_s", *repay_s, "seconds until the relayer is repaid");
                num(p, "max_wait_s", *max_wait_s, "seconds before an unfilled transfer is refunded");
                bps(p, "fee_bps", *fee_bps);
                for (i, (symbol, amount)) in capital.iter().enumerate() {
                    let cp = format!("{path}.kind.capital[{i}]");
                    let t = p.token(&format!("{cp}.0"), symbol);
                    let side = t.and_then(|t| tokens.iter().position(|(x, y)| *x == t || *y == t).map(|j| (t, j)));
                    match side {
                        Some((t, j)) => {
                            let v = p.amount(&format!("{cp}.1"), Some(t), amount).unwrap_or(0);
                            if tokens[j].0 == t {
                                relayer_capital[j].0 += v;
                            } else {
                                relayer_capital[j].1 += v;
                            }
                        }
                        None if t.is_some() => {
                            p.problems.push(format!("{cp}.0"), format!("the bridge does not carry {symbol:?}"))
                        }
                        None => {}
                    }
                }
                BridgeKind::Intent { fill_s: *fill_s, fee_bps: *fee_bps, repay_s: *repay_s, max_wait_s: *max_wait_s }
            }
        };
        for (i, (from, to)) in b.halts.iter().enumerate() {
            if !(from.is_finite() && to.is_finite() && *from >= 0.0 && to > from) {
                p.problems.push(
                    format!("{path}.halts[{i}]"),
                    format!("expected (start, end) seconds with 0 <= start < end, found ({from}, {to})"),
                );
            }
        }
        if let (Some(a), Some(c)) = (a, c) {
            out.push(BridgeSpec {
                id: BridgeId(k as u16),
                name: b.name.clone(),
                chains: (a, c),
                tokens,
                kind,
                relayer_capital,
                halts: b.halts.clone(),
            });
        }
    }
    out
}
