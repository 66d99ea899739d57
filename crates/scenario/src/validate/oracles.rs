//! Oracles: push feeds and pool TWAPs.

use std::collections::BTreeMap;

use super::Ctx;
use crate::limits;
use crate::model::*;
use crate::raw::*;

pub(super) fn oracles(
    p: &mut Ctx,
    raw: &[RawOracle],
    pool_names: &BTreeMap<&str, PoolId>,
    raw_pools: &[RawPool],
    numeraire: Option<TokenId>,
) -> Vec<OracleSpec> {
    if raw.len() > limits::MAX_ORACLES {
        p.problems.push("oracles", format!("expected at most {} oracles", limits::MAX_ORACLES));
    }
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    for (k, o) in raw.iter().enumerate().take(limits::MAX_ORACLES) {
        let path = format!("oracles[{k}]");
        let (name, token) = match o {
            RawOracle::Push { name, token, .. } | RawOracle::Twap { name, token, .. } => (name, token),
        };
        if names.insert(name.as_str(), k).is_some() {
            p.problems.push(format!("{path}.name"), format!("oracle name {name:?} is used twice"));
        }
        let token_id = p.token(&format!("{path}.token"), token);
        if token_id.is_some() && token_id == numeraire {
            p.problems.push(format!("{path}.token"), "the numeraire is priced at 1 and needs no oracle");
        }
        let kind = match o {
            RawOracle::Push { heartbeat_seconds, deviation, latency_blocks, .. } => {
                p.finite(&format!("{path}.heartbeat_seconds"), *heartbeat_seconds, 1e-3, 1e9, "a heartbeat in seconds");
                p.finite(&format!("{path}.deviation"), *deviation, 0.0, 1.0, "a relative deviation");
                if *latency_blocks > 10_000 {
                    p.problems.push(format!("{path}.latency_blocks"), "expected at most 10000 blocks of latency");
                }
                Some(OracleKind::Push {
                    heartbeat_seconds: *heartbeat_seconds,
                    deviation: *deviation,
                    latency_blocks: *latency_blocks,
                })
            }
            RawOracle::Twap { pool, window_blocks, .. } => {
                if *window_blocks == 0 || *window_blocks > limits::MAX_TWAP_WINDOW {
                    p.problems.push(
                        format!("{path}.window_blocks"),
                        format!("expected 1 to {} blocks", limits::MAX_TWAP_WINDOW),
                    );
                }
                match p.pool(&format!("{path}.pool"), pool, pool_names) {
                    None => None,
                    Some(id) => {
                        // the pool must trade the token against the numeraire
                        let pool_tokens: Vec<&String> = match &raw_pools[id.index()] {
                            RawPool::ConstantProduct { tokens, .. } | RawPool::Concentrated { tokens, .. } => {
                                vec![&tokens.0, &tokens.1]
                            }
                            RawPool::StableSwap { tokens, .. } | RawPool::Weighted { tokens, .. } => {
                                tokens.iter().collect()
                            }
                        };
                        let numeraire_symbol = numeraire
                            .and_then(|n| p.tokens.iter().find(|(_, id)| **id == n).map(|(s, _)| s.to_string()));
                        let has = |sym: &str| pool_tokens.iter().any(|t| t.as_str() == sym);
                        if !has(token) || !numeraire_symbol.as_deref().is_some_and(has) {
                            p.problems.push(
                                format!("{path}.pool"),
                                format!("a TWAP oracle needs a pool trading {token:?} against the numeraire"),
                            );
                        }
                        Some(OracleKind::Twap { pool: id, window_blocks: (*window_blocks).max(1) })
                    }
                }
            }
        };
        if let (Some(token), Some(kind)) = (token_id, kind) {
            out.push(OracleSpec { id: OracleId(k as u32), name: name.clone(), token, kind });
        }
    }
    out
}
