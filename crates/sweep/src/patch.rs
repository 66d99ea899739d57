//! Setting a parameter in a world document by path. The parsed world is turned into a JSON
//! value (structs are objects, enum variants with data are one-key objects), the path walks it,
//! the leaf is replaced, and the result is read back into the world's raw form and validated
//! like any world file, so a swept value gets the same checks as a hand-written one.

use meshsim_scenario::raw::RawWorld;
use serde_json::Value as Json;

use serde::{Deserialize, Serialize};

/// A value a parameter takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// An enum variant's name (or any string field).
    Name(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Name(s) => f.write_str(s),
        }
    }
}

impl Value {
    /// As a table cell: numbers always with a decimal point (`3.0`), so that a column of a
    /// parameter with whole values first is still read as floats.
    pub fn cell(&self) -> String {
        match self {
            Value::Number(x) => format!("{x:?}"),
            other => other.to_string(),
        }
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A field.
    Field(String),
    /// A list element by position.
    Index(usize),
    /// A list element by its `name`.
    Named(String),
}

/// Parses `a.b[2].c[name].d` into steps.
pub fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    if path.is_empty() || path.len() > 256 {
        return Err("expected a path of 1 to 256 characters".into());
    }
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (field, rest) = match part.find('[') {
            Some(k) => (&part[..k], &part[k..]),
            None => (part, ""),
        };
        if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("expected a field name in {part:?} of path {path:?}"));
        }
        steps.push(Step::Field(field.to_string()));
        let mut rest = rest;
        while !rest.is_empty() {
            let Some(close) = rest.find(']').filter(|_| rest.starts_with('[')) else {
                return Err(format!("expected [index] or [name] in {part:?} of path {path:?}"));
            };
            let inner = &rest[1..close];
            if inner.is_empty() {
                return Err(format!("empty brackets in path {path:?}"));
            }
            steps.push(match inner.parse::<usize>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Named(inner.to_string()),
            });
            rest = &rest[close + 1..];
        }
    }
    Ok(steps)
}

/// Through a one-key object whose key is an enum variant (capitalised), to its content.
fn unwrap_variant(v: &mut Json) -> Option<&mut Json> {
    match v {
        Json::Object(m)
            if m.len() == 1 && m.keys().next().is_some_and(|k| k.starts_with(|c: char| c.is_ascii_uppercase())) =>
        {
            m.values_mut().next()
        }
        _ => None,
    }
}

fn field<'a>(v: &'a mut Json, name: &str, path: &str) -> Result<&'a mut Json, String> {
    if !matches!(v, Json::Object(m) if m.contains_key(name)) {
        return match unwrap_variant(v) {
            Some(inner) => field(inner, name, path),
            None => Err(format!("{path}: no field {name:?} here")),
        };
    }
    match v {
        Json::Object(m) => m.get_mut(name).ok_or_else(|| format!("{path}: no field {name:?} here")),
        _ => Err(format!("{path}: no field {name:?} here")),
    }
}

/// The `name` of a list element, looking inside an enum variant (`{"Arbitrageur": {"name": ..}}`).
fn name_of(x: &Json) -> Option<&str> {
    let inner = match x {
        Json::Object(m) if m.len() == 1 && !m.contains_key("name") => m.values().next(),
        other => Some(other),
    };
    inner.and_then(|o| o.get("name")).and_then(Json::as_str)
}

fn element<'a>(v: &'a mut Json, step: &Step, path: &str) -> Result<&'a mut Json, String> {
    let Json::Array(items) = v else { return Err(format!("{path}: not a list")) };
    match step {
        Step::Index(i) => {
            let n = items.len();
            items.get_mut(*i).ok_or_else(|| format!("{path}: index {i} out of {n}"))
        }
        Step::Named(name) => {
            if let Some(k) = items.iter().position(|x| name_of(x) == Some(name.as_str())) {
                return Ok(&mut items[k]);
            }
            Err(format!("{path}: {}", meshsim_scenario::unknown("element", name, items.iter().filter_map(name_of))))
        }
        Step::Field(_) => Err(format!("{path}: expected an element")),
    }
}

/// Sets `path` to `value` in the document.
pub fn set(doc: &mut Json, path: &str, value: &Value) -> Result<(), String> {
    let steps = parse_path(path)?;
    let mut at = doc;
    for s in &steps {
        at = match s {
            Step::Field(f) => field(at, f, path)?,
            other => element(at, other, path)?,
        };
    }
    // a leaf that is itself a data-carrying variant cannot take a plain value
    if unwrap_variant(at).is_some() {
        return Err(format!("{path}: reaches a whole variant; name one of its fields"));
    }
    *at = match value {
        Value::Number(x) => {
            // integers stay integers where the field is one
            if at.is_u64() && x.fract() == 0.0 && *x >= 0.0 && *x < 1.8e19 {
                Json::from(*x as u64)
            } else {
                serde_json::Number::from_f64(*x)
                    .map(Json::Number)
                    .ok_or_else(|| format!("{path}: {x} is not finite"))?
            }
        }
        Value::Bool(b) => Json::Bool(*b),
        Value::Name(n) => Json::String(n.clone()),
    };
    Ok(())
}

/// The world with every `(path, value)` set, checked only for shape (validation follows).
pub fn patched(raw: &RawWorld, settings: &[(&str, &Value)]) -> Result<RawWorld, String> {
    let mut doc = serde_json::to_value(raw).map_err(|e| format!("cannot represent the world: {e}"))?;
    for (path, value) in settings {
        set(&mut doc, path, value)?;
    }
    serde_json::from_value(doc).map_err(|e| {
        let paths: Vec<&str> = settings.iter().map(|(p, _)| *p).collect();
        format!("setting {} gives a world of the wrong shape: {e}", paths.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORLD: &str = r#"World(version: 1, name: "w", seed: 1, blocks: 10,
        chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 1.0, native_token: "ETH"),
        numeraire: "USDC",
        tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
        market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.5)]),
        pools: [ConstantProduct(name: "p", tokens: ("ETH", "USDC"), reserves: ("10", "20000"), fee_bps: 30.0)],
        oracles: [Push(name: "o", token: "ETH", heartbeat_seconds: 12.0, deviation: 0.0)],
        vaults: [(name: "v", deposit_token: "USDC", holdings: [("ETH", "1"), ("USDC", "2000")], keeper_gas: "1",
            oracles: [("ETH", "o")], strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC", 0.5)]),
            trigger: Threshold(band: 0.05), slippage: 0.01)],
    )"#;

    fn raw() -> RawWorld {
        meshsim_scenario::parse_raw(WORLD, "w.ron").unwrap()
    }

    fn check(raw: &RawWorld) -> meshsim_scenario::Scenario {
        meshsim_scenario::from_raw(raw, WORLD, "w.ron", std::path::Path::new("."), "h".into()).unwrap()
    }

    #[test]
    fn paths_reach_fields_elements_and_variant_contents() {
        let band = Value::Number(0.02);
        let fee = Value::Number(5.0);
        let ordering = Value::Name("BatchAuction".into());
        let relay = Value::Bool(true);
        let w = patched(
            &raw(),
            &[
                ("vaults[v].trigger.band", &band),
                ("pools[0].fee_bps", &fee),
                ("chain.ordering", &ordering),
                ("vaults[0].private_relay", &relay),
            ],
        )
        .unwrap();
        let s = check(&w);
        assert!(matches!(s.vaults[0].trigger, meshsim_scenario::Trigger::Threshold { band, .. } if band == 0.02));
        assert_eq!(s.hub().ordering, meshsim_scenario::Ordering::BatchAuction);
        assert!(s.vaults[0].private_relay);
        assert!((s.pools[0].pool.fee_fraction() - 0.0005).abs() < 1e-12);
        // the pool is named "p": by name works too, and integers stay integers
        let blocks = Value::Number(20.0);
        let w = patched(&raw(), &[("pools[p].fee_bps", &fee), ("blocks", &blocks)]).unwrap();
        assert_eq!(check(&w).blocks, 20);
    }

    #[test]
    fn bad_paths_say_what_is_wrong() {
        let x = Value::Number(1.0);
        let e = patched(&raw(), &[("vaults[nope].slippage", &x)]).unwrap_err();
        assert!(e.contains("unknown element \"nope\""), "{e}");
        let e = patched(&raw(), &[("chain.speed", &x)]).unwrap_err();
        assert!(e.contains("no field \"speed\""), "{e}");
        let e = patched(&raw(), &[("vaults[0].trigger", &x)]).unwrap_err();
        assert!(e.contains("whole variant"), "{e}");
        let e = patched(&raw(), &[("chain.ordering", &Value::Name("Fastest".into()))]).unwrap_err();
        assert!(e.contains("wrong shape"), "{e}");
        assert!(parse_path("a[").is_err() && parse_path("a..b").is_err() && parse_path("a[]").is_err());
    }
}
