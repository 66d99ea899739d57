//! Messages for unknown names: every known name when there are few, otherwise the closest few,
//! so that a world with a thousand pools does not answer a typo with a thousand names.

/// Most names listed in full.
const LIST_ALL_UP_TO: usize = 8;
/// Closest names shown otherwise.
const CLOSEST: usize = 3;

/// `unknown pool "v2-eth-usd"; did you mean "v2-eth-usdc"?` (and the names, or the count).
pub fn unknown<'a>(kind: &str, name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let known: Vec<&str> = known.into_iter().collect();
    if known.is_empty() {
        return format!("unknown {kind} {name:?}: the world has none");
    }
    if known.len() <= LIST_ALL_UP_TO {
        return format!("unknown {kind} {name:?}; expected one of {known:?}");
    }
    let lower = name.to_lowercase();
    let mut scored: Vec<(f64, &str)> =
        known.iter().map(|k| (strsim::normalized_damerau_levenshtein(&lower, &k.to_lowercase()), *k)).collect();
    // closest first; ties by name so the message is stable
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let closest: Vec<&str> = scored.iter().take(CLOSEST).map(|(_, k)| *k).collect();
    format!("unknown {kind} {name:?}; the closest of the {} known are {closest:?}", known.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_names_are_listed_many_are_narrowed_to_the_closest() {
        assert_eq!(
            unknown("token", "ETX", ["ETH", "USDC"]),
            "unknown token \"ETX\"; expected one of [\"ETH\", \"USDC\"]"
        );
        let pools: Vec<String> = (0..1000).map(|i| format!("pool-{i}")).collect();
        let msg = unknown("pool", "pool-99x", pools.iter().map(String::as_str));
        assert!(msg.contains("\"pool-99\"") && msg.contains("1000 known"), "{msg}");
        assert!(msg.len() < 200, "{msg}");
        assert!(unknown("oracle", "x", []).contains("has none"));
    }
}
