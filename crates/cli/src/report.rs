//! The headline figures of a run, read from its `summary.json`: printed after `meshsim run` and
//! set side by side by `meshsim compare`.

use std::fmt::Write as _;

use serde_json::Value;

/// One section of headline figures: a row per pool, vault or total.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// `pools`, `vaults`, ...
    pub title: &'static str,
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Row name and one figure per column (`NaN` where the summary has none).
    pub rows: Vec<(String, Vec<f64>)>,
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for key in path {
        at = &at[*key];
    }
    at.as_f64().unwrap_or(f64::NAN)
}

fn section(summary: &Value, key: &str, title: &'static str, columns: &[(&'static str, &[&str])]) -> Section {
    let rows = summary[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let name = item["name"].as_str().unwrap_or("?").to_string();
                    (name, columns.iter().map(|(_, path)| num(item, path)).collect())
                })
                .collect()
        })
        .unwrap_or_default();
    Section { title, columns: columns.iter().map(|(c, _)| *c).collect(), rows }
}

/// The figures people look for first, by section.
pub fn headline(summary: &Value) -> Vec<Section> {
    let mut out = vec![Section {
        title: "run",
        columns: vec!["transactions", "reverted", "arbitrage profit", "gas paid", "cascades", "deepest cascade"],
        rows: vec![(
            "all".into(),
            vec![
                num(summary, &["totals", "transactions"]),
                num(summary, &["totals", "reverted"]),
                num(summary, &["totals", "arbitrage_profit"]),
                num(summary, &["totals", "gas_paid"]),
                num(summary, &["cascades", "count"]),
                num(summary, &["cascades", "deepest"]),
            ],
        )],
    }];
    out.push(section(
        summary,
        "pools",
        "pools",
        &[
            ("trades", &["trades"]),
            ("volume", &["volume"]),
            ("LP fees", &["lp_fees"]),
            ("arbitrage profit", &["arbitrage_profit"]),
            ("LVR", &["lvr"]),
        ],
    ));
    out.push(section(
        summary,
        "vaults",
        "vaults",
        &[
            ("final NAV", &["final_nav"]),
            ("rebalances", &["rebalances"]),
            ("fees", &["rebalancing_cost", "fees"]),
            ("slippage", &["rebalancing_cost", "slippage"]),
            ("gas", &["rebalancing_cost", "gas"]),
            ("tracking error", &["tracking_error_mean"]),
            ("sandwiched", &["sandwiched_transactions"]),
            ("MEV loss", &["mev_loss"]),
        ],
    ));
    out.retain(|s| !s.rows.is_empty());
    out
}

/// A figure as people read it: thousands separated, a few significant decimals.
pub fn figure(x: f64) -> String {
    if x.is_nan() {
        return "-".into();
    }
    if x == x.trunc() && x.abs() < 1e15 {
        return group(&format!("{x:.0}"));
    }
    let decimals = if x.abs() >= 100.0 {
        2
    } else if x.abs() >= 1.0 {
        3
    } else {
        5
    };
    let text = format!("{x:.decimals$}");
    match text.split_once('.') {
        Some((whole, frac)) => format!("{}.{frac}", group(whole)),
        None => group(&text),
    }
}

fn group(whole: &str) -> String {
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// Renders `rows` (first row the header) as aligned text: the first column left, the rest right.
pub fn align(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..width)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                let _ = write!(line, "{cell:<w$}", w = widths[0]);
            } else {
                let _ = write!(line, "  {cell:>w$}", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The headline sections as text, at most `max_rows` rows each (the busiest first).
pub fn render(sections: &[Section], max_rows: usize) -> String {
    let mut out = String::new();
    for s in sections {
        let mut rows: Vec<&(String, Vec<f64>)> = s.rows.iter().collect();
        if rows.len() > max_rows {
            // the busiest by the first column (trades, final NAV)
            rows.sort_by(|a, b| b.1[0].total_cmp(&a.1[0]).then_with(|| a.0.cmp(&b.0)));
            rows.truncate(max_rows);
        }
        let mut table =
            vec![std::iter::once(s.title.to_string()).chain(s.columns.iter().map(|c| c.to_string())).collect()];
        table.extend(
            rows.iter().map(|(name, v)| std::iter::once(name.clone()).chain(v.iter().map(|x| figure(*x))).collect()),
        );
        out.push_str(&align(&table));
        if s.rows.len() > max_rows {
            let _ = writeln!(out, "({} more in summary.json)", s.rows.len() - max_rows);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(figure(1234567.0), "1,234,567");
        assert_eq!(figure(-1234.5678), "-1,234.57");
        assert_eq!(figure(2.5), "2.500");
        assert_eq!(figure(0.0123456), "0.01235");
        assert_eq!(figure(f64::NAN), "-");
        assert_eq!(figure(999.0), "999");
    }

    #[test]
    fn headline_reads_pools_and_vaults_from_a_summary() {
        let summary = serde_json::json!({
            "totals": { "transactions": 10, "reverted": 1, "arbitrage_profit": 5.5, "gas_paid": 2.0 },
            "cascades": { "count": 3, "deepest": 2 },
            "pools": [{ "name": "p", "trades": 7, "volume": 100.0, "lp_fees": 0.3, "arbitrage_profit": 1.0, "lvr": 2.0 }],
            "vaults": [],
        });
        let sections = headline(&summary);
        assert_eq!(sections.len(), 2, "no vaults section without vaults");
        assert_eq!(sections[1].rows[0], ("p".to_string(), vec![7.0, 100.0, 0.3, 1.0, 2.0]));
        let text = render(&sections, 10);
        assert!(text.contains("pools  trades  volume"), "{text}");
    }
}
