//! The charts of a finished run, from its CSV tables: each pool's price against the external
//! price, vault weights against targets and bands, vault NAV against both benchmarks, value
//! taken by arbitrageurs and searchers over time, and cascades on a timeline. Long tables are
//! thinned as they are read (at most [`MAX_POINTS`] points a series), so memory stays flat.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Drawn, PlotError, err, range};

/// Most points kept per series; longer tables keep every 2nd, 4th, ... row.
pub const MAX_POINTS: usize = 4_000;
/// Most panels per chart (the first pools and vaults).
const MAX_PANELS: usize = 6;
/// Largest table read.
const MAX_TABLE_BYTES: u64 = 64 * 1024 * 1024 * 1024;

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// `c` halfway to white.
fn lighter(c: RGBColor) -> RGBColor {
    let up = |x: u8| x / 2 + 128;
    RGBColor(up(c.0), up(c.1), up(c.2))
}

/// Rows of a table, thinned by a stride that doubles whenever more than [`MAX_POINTS`] are kept.
struct Thinned {
    stride: u64,
    seen: u64,
    rows: Vec<Vec<f64>>,
}

impl Thinned {
    fn new() -> Self {
        Thinned { stride: 1, seen: 0, rows: Vec::new() }
    }

    fn push(&mut self, row: impl FnOnce() -> Vec<f64>) {
        if self.seen.is_multiple_of(self.stride) {
            self.rows.push(row());
            if self.rows.len() > MAX_POINTS {
                // keep every other row: the kept rows are again every `stride`-th
                let mut k = 0;
                self.rows.retain(|_| {
                    k += 1;
                    k % 2 == 1
                });
                self.stride *= 2;
            }
        }
        self.seen += 1;
    }
}

fn table_error(path: &Path, message: impl Into<String>) -> PlotError {
    PlotError::Table { path: path.to_path_buf(), message: message.into() }
}

fn reader(path: &Path) -> Result<csv::Reader<meshsim_scenario::input::Bounded<std::fs::File>>, PlotError> {
    let file = meshsim_scenario::input::open(path, MAX_TABLE_BYTES)
        .map_err(|e| table_error(path, meshsim_scenario::input::chain(&e)))?;
    Ok(csv::Reader::from_reader(file))
}

fn header(r: &mut csv::Reader<impl std::io::Read>, path: &Path) -> Result<Vec<String>, PlotError> {
    Ok(r.headers().map_err(|e| table_error(path, e.to_string()))?.iter().map(str::to_string).collect())
}

fn number(text: &str) -> f64 {
    text.parse().unwrap_or(f64::NAN)
}

/// A pool in `blocks.csv`: its price column and its tokens (from the balance columns after it).
struct PoolColumns {
    name: String,
    price: usize,
    tokens: Vec<String>,
}

fn pool_columns(header: &[String]) -> Vec<PoolColumns> {
    let mut out = Vec::new();
    for (k, h) in header.iter().enumerate() {
        let Some(name) = h.strip_suffix("_price") else { continue };
        if h.starts_with("price_") {
            continue;
        }
        let prefix = format!("{name}_");
        let tokens = header[k + 1..]
            .iter()
            .take_while(|c| c.starts_with(&prefix) && !c.ends_with("_price"))
            .map(|c| c[prefix.len()..].to_string())
            .collect();
        out.push(PoolColumns { name: name.to_string(), price: k, tokens });
    }
    out
}

fn panels<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, n: usize) -> Vec<DrawingArea<DB, Shift>> {
    let cols = if n <= 1 { 1 } else { 2 };
    let rows = n.div_ceil(cols).max(1);
    root.split_evenly((rows, cols)).into_iter().take(n).collect()
}

/// One line of a panel: `(label, points, color, dashed)`; an empty label stays out of the legend.
type Line = (String, Vec<(f64, f64)>, RGBColor, bool);
/// One panel: `(title, y axis, lines)`.
type Pane = (String, String, Vec<Line>);

fn line_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str, y_desc: &str, lines: &[Line]) -> Drawn
where
    DB::ErrorType: 'static,
{
    let xs = lines.iter().flat_map(|l| l.1.iter().map(|p| p.0));
    let ys = lines.iter().flat_map(|l| l.1.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(64)
        .build_cartesian_2d(range(xs), range(ys))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("block")
        .y_desc(y_desc)
        .x_labels(6)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(err)?;
    for (label, points, color, dashed) in lines {
        let style = if *dashed { color.mix(0.7).stroke_width(1) } else { color.stroke_width(2) };
        let finite: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
        let series = chart.draw_series(LineSeries::new(finite, style)).map_err(err)?;
        // unlabelled lines (targets, bands) stay out of the legend
        if !label.is_empty() {
            series.label(label.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 11))
        .background_style(WHITE.mix(0.7))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

fn grid<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panes: &[Pane]) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    for (area, (title, y_desc, lines)) in panels(&root, panes.len()).iter().zip(panes) {
        line_panel(area, title, y_desc, lines)?;
    }
    root.present().map_err(err)
}

/// Pool price against the external price, for the first pools of `blocks.csv`.
/// With several chains, the hub's name: the chain of the last row (a run ends with a hub block).
fn hub_chain(path: &Path, column: usize) -> Result<Option<String>, PlotError> {
    let mut r = reader(path)?;
    let mut last = None;
    for rec in r.records() {
        let rec = rec.map_err(|e| table_error(path, e.to_string()))?;
        last = rec.get(column).map(str::to_string);
    }
    Ok(last)
}

fn price_panes(path: &Path) -> Result<Vec<Pane>, PlotError> {
    let mut r = reader(path)?;
    let header = header(&mut r, path)?;
    let pools: Vec<PoolColumns> = pool_columns(&header).into_iter().take(MAX_PANELS).collect();
    let external = |sym: &str| header.iter().position(|h| *h == format!("price_{sym}"));
    // several chains: one axis, the hub's blocks (every pool's price as it stood then)
    let chain = header.iter().position(|h| h == "chain");
    let hub = match chain {
        Some(c) => hub_chain(path, c)?,
        None => None,
    };
    let mut rows = Thinned::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| table_error(path, e.to_string()))?;
        if let (Some(c), Some(hub)) = (chain, &hub)
            && rec.get(c) != Some(hub.as_str())
        {
            continue;
        }
        rows.push(|| {
            let mut v = vec![number(&rec[0])];
            for p in &pools {
                v.push(number(&rec[p.price]));
                // the external rate of token1 per token0 (the numeraire has no column: 1)
                let ext = |k: usize| p.tokens.get(k).and_then(|s| external(s)).map_or(1.0, |c| number(&rec[c]));
                v.push(ext(0) / ext(1));
            }
            v
        });
    }
    Ok(pools
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let series = |c: usize| rows.rows.iter().map(|v| (v[0], v[c])).collect::<Vec<_>>();
            let unit = format!(
                "{} per {}",
                p.tokens.get(1).map_or("", String::as_str),
                p.tokens.first().map_or("", String::as_str)
            );
            let lines = vec![
                ("pool".to_string(), series(1 + 2 * k), COLORS[0], false),
                ("external".to_string(), series(2 + 2 * k), BLACK, true),
            ];
            (p.name.clone(), unit, lines)
        })
        .collect())
}

/// Per vault (the first few): weights and targets, with the band around each target; and NAV
/// against both benchmarks.
fn vault_panes(path: &Path) -> Result<(Vec<Pane>, Vec<Pane>), PlotError> {
    let mut r = reader(path)?;
    let header = header(&mut r, path)?;
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| table_error(path, format!("no {name} column")))
    };
    let (block, vault, nav, band) = (col("block")?, col("vault")?, col("nav")?, col("band")?);
    let (hold, cont) = (col("hold_nav")?, col("continuous_nav")?);
    let symbols: Vec<String> = header.iter().filter_map(|h| h.strip_prefix("weight_")).map(str::to_string).collect();
    let weight_cols: Vec<usize> = symbols.iter().map(|s| col(&format!("weight_{s}"))).collect::<Result<_, _>>()?;
    let target_cols: Vec<usize> = symbols.iter().map(|s| col(&format!("target_{s}"))).collect::<Result<_, _>>()?;
    let mut by_vault: BTreeMap<String, (usize, Thinned)> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| table_error(path, e.to_string()))?;
        let name = rec[vault].to_string();
        let order = by_vault.len();
        let entry = by_vault.entry(name).or_insert_with(|| (order, Thinned::new()));
        if entry.0 >= MAX_PANELS {
            continue;
        }
        entry.1.push(|| {
            let mut v = vec![
                number(&rec[block]),
                number(&rec[nav]),
                number(&rec[hold]),
                number(&rec[cont]),
                number(&rec[band]),
            ];
            v.extend(weight_cols.iter().map(|c| number(&rec[*c])));
            v.extend(target_cols.iter().map(|c| number(&rec[*c])));
            v
        });
    }
    let mut vaults: Vec<(String, usize, Thinned)> = by_vault.into_iter().map(|(n, (o, t))| (n, o, t)).collect();
    vaults.sort_by_key(|v| v.1);
    vaults.truncate(MAX_PANELS);
    let n = symbols.len();
    let mut weights = Vec::new();
    let mut navs = Vec::new();
    for (name, _, rows) in &vaults {
        let series = |c: usize| rows.rows.iter().map(|v| (v[0], v[c])).collect::<Vec<_>>();
        let mut lines = Vec::new();
        for (k, sym) in symbols.iter().enumerate() {
            // only the tokens this vault holds or targets
            if rows.rows.iter().all(|v| v[5 + k] == 0.0 && v[5 + n + k] == 0.0) {
                continue;
            }
            let color = COLORS[k % COLORS.len()];
            lines.push((sym.clone(), series(5 + k), color, false));
            lines.push((String::new(), series(5 + n + k), color, true));
            let band = |sign: f64| rows.rows.iter().map(|v| (v[0], v[5 + n + k] + sign * v[4])).collect::<Vec<_>>();
            lines.push((String::new(), band(1.0), lighter(color), true));
            lines.push((String::new(), band(-1.0), lighter(color), true));
        }
        weights.push((format!("{name}: weights (target dashed, band light)"), "weight".to_string(), lines));
        navs.push((
            format!("{name}: NAV against its benchmarks"),
            "numeraire".to_string(),
            vec![
                ("vault".to_string(), series(1), COLORS[0], false),
                ("buy and hold".to_string(), series(2), COLORS[1], true),
                ("continuously rebalanced".to_string(), series(3), COLORS[2], true),
            ],
        ));
    }
    Ok((weights, navs))
}

/// Cumulative profit of arbitrageurs and searchers by kind of transaction (value taken from LPs
/// and vaults; reverted transactions count with the gas they burnt), and cumulative rebalances
/// that went through.
fn cost_panes(path: &Path, hub: Option<&str>) -> Result<Vec<Pane>, PlotError> {
    let mut r = reader(path)?;
    let header = header(&mut r, path)?;
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| table_error(path, format!("no {name} column")))
    };
    let (block, kind, profit, reverted) = (col("block")?, col("kind")?, col("profit")?, col("reverted")?);
    let chain = header.iter().position(|h| h == "chain");
    let mut totals: BTreeMap<String, (f64, Thinned)> = BTreeMap::new();
    let mut rebalances = (0.0, Thinned::new());
    // several chains: rows come in time order; each is drawn at the hub's latest block
    let mut hub_block = 0.0;
    for rec in r.records() {
        let rec = rec.map_err(|e| table_error(path, e.to_string()))?;
        let b = match (chain, hub) {
            (Some(c), Some(hub)) if rec.get(c) != Some(hub) => hub_block,
            _ => {
                hub_block = number(&rec[block]);
                hub_block
            }
        };
        if &rec[kind] == "rebalance" {
            if &rec[reverted] == "true" {
                continue;
            }
            rebalances.0 += 1.0;
            let total = rebalances.0;
            rebalances.1.push(|| vec![b, total]);
            continue;
        }
        let entry = totals.entry(rec[kind].to_string()).or_insert_with(|| (0.0, Thinned::new()));
        entry.0 += number(&rec[profit]);
        let total = entry.0;
        entry.1.push(|| vec![b, total]);
    }
    let series = |t: &Thinned| t.rows.iter().map(|v| (v[0], v[1])).collect::<Vec<_>>();
    let lines: Vec<Line> = totals
        .iter()
        .enumerate()
        .map(|(k, (name, (_, t)))| (name.replace('_', " "), series(t), COLORS[k % COLORS.len()], false))
        .collect();
    let mut panes = vec![("profit taken, cumulative (net of gas)".to_string(), "numeraire".to_string(), lines)];
    if rebalances.0 > 0.0 {
        panes.push((
            "vault rebalances, cumulative".to_string(),
            "transactions".to_string(),
            vec![("rebalances".to_string(), series(&rebalances.1), COLORS[2], false)],
        ));
    }
    Ok(panes)
}

/// Cascades on a timeline: each from its root block to its last, at the height of its members.
fn cascades<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, spans: &[(f64, f64, f64, f64)]) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let xs = spans.iter().flat_map(|s| [s.0, s.1]);
    let mut chart = ChartBuilder::on(&root)
        .caption("Cascades: root block to last block, by members (dot size: depth)", ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(range(xs), range(spans.iter().map(|s| s.2).chain([0.0])))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("block")
        .y_desc("transactions in the cascade")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(err)?;
    for (from, to, members, depth) in spans {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*from, *members), (*to, *members)],
                COLORS[3].stroke_width(2),
            )))
            .map_err(err)?;
        let size = (2.0 + depth.max(0.0)).min(12.0) as i32;
        chart.draw_series(std::iter::once(Circle::new((*from, *members), size, COLORS[3].filled()))).map_err(err)?;
    }
    root.present().map_err(err)
}

fn cascade_spans(path: &Path) -> Result<Vec<(f64, f64, f64, f64)>, PlotError> {
    let mut r = reader(path)?;
    let header = header(&mut r, path)?;
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| table_error(path, format!("no {name} column")))
    };
    let (root, end, members, depth) = (col("root_block")?, col("end_block")?, col("members")?, col("depth")?);
    let mut rows = Thinned::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| table_error(path, e.to_string()))?;
        rows.push(|| vec![number(&rec[root]), number(&rec[end]), number(&rec[members]), number(&rec[depth])]);
    }
    Ok(rows.rows.iter().map(|v| (v[0], v[1], v[2], v[3])).collect())
}

/// Draws every chart the run's tables allow into `out` (PNG and SVG each); returns the files.
/// Reads `blocks.csv`, `vaults.csv`, `trades.csv` and `cascades.csv` from `run`, skipping those
/// the run did not write; a run with none of them (or Parquet tables only) is an error.
pub fn plot_run(run: &Path, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    crate::font();
    std::fs::create_dir_all(out).map_err(|source| PlotError::Io { path: out.to_path_buf(), source })?;
    let mut files = Vec::new();
    let blocks = run.join("blocks.csv");
    if blocks.exists() {
        let panes = price_panes(&blocks)?;
        if !panes.is_empty() {
            crate::both!(out, files, "prices", |r| grid(r, &panes));
        }
    }
    let vaults = run.join("vaults.csv");
    if vaults.exists() {
        let (weights, navs) = vault_panes(&vaults)?;
        if !weights.is_empty() {
            crate::both!(out, files, "vault_weights", |r| grid(r, &weights));
            crate::both!(out, files, "vault_nav", |r| grid(r, &navs));
        }
    }
    let trades = run.join("trades.csv");
    if trades.exists() {
        // several chains: the hub, from the blocks table, keeps the axis
        let hub = if blocks.exists() {
            let mut r = reader(&blocks)?;
            let h = header(&mut r, &blocks)?;
            match h.iter().position(|c| c == "chain") {
                Some(c) => hub_chain(&blocks, c)?,
                None => None,
            }
        } else {
            None
        };
        let panes = cost_panes(&trades, hub.as_deref())?;
        crate::both!(out, files, "costs", |r| grid(r, &panes));
    }
    let cascade_table = run.join("cascades.csv");
    if cascade_table.exists() {
        let spans = cascade_spans(&cascade_table)?;
        crate::both!(out, files, "cascades", |r| cascades(r, &spans));
    }
    if files.is_empty() {
        return Err(table_error(
            run,
            "no CSV tables to plot (blocks, vaults, trades, cascades); run with --format csv",
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_an_even_bounded_sample() {
        let mut t = Thinned::new();
        for k in 0..100_000u32 {
            t.push(|| vec![f64::from(k)]);
        }
        assert!(t.rows.len() <= MAX_POINTS && t.rows.len() > MAX_POINTS / 4, "{}", t.rows.len());
        // every kept row is a multiple of the final stride
        assert!(t.rows.iter().all(|r| (r[0] as u64).is_multiple_of(t.stride)));
        assert_eq!(t.rows[0][0], 0.0);
    }

    #[test]
    fn with_several_chains_the_hubs_blocks_keep_the_axis() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("blocks.csv");
        // Arbitrum blocks (numbered in thousands) between Ethereum's; the run ends on Ethereum's
        let text = "block,chain,timestamp,price_ETH,price_ETH.arb,p_price,p_ETH.arb,p_USDC.arb\n\
                    1,arbitrum,0.25,2000.0,2000.0,2001.0,1,1\n\
                    1,ethereum,12.0,2010.0,2010.0,2002.0,1,1\n\
                    48,arbitrum,12.0,2010.0,2010.0,2009.0,1,1\n\
                    2,ethereum,24.0,2020.0,2020.0,2019.0,1,1\n";
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hub_chain(&path, 1).unwrap_or_else(|e| panic!("{e}")).as_deref(), Some("ethereum"));
        let panes = price_panes(&path).unwrap_or_else(|e| panic!("{e}"));
        // one pane (pool p), its pool line at the hub's two blocks, against ETH.arb's price
        let pool = &panes[0].2[0].1;
        assert_eq!(pool, &vec![(1.0, 2002.0), (2.0, 2019.0)]);
        let external = &panes[0].2[1].1;
        assert_eq!(external, &vec![(1.0, 2010.0), (2.0, 2020.0)]);
    }

    #[test]
    fn pool_columns_are_found_with_their_tokens() {
        let h: Vec<String> =
            ["block", "price_ETH", "p1_price", "p1_ETH", "p1_USDC", "q_price", "q_DAI", "q_USDC", "q_USDT"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let pools = pool_columns(&h);
        assert_eq!(pools.len(), 2);
        assert_eq!(
            (pools[0].name.as_str(), pools[0].price, pools[0].tokens.clone()),
            ("p1", 2, vec!["ETH".into(), "USDC".into()])
        );
        assert_eq!(pools[1].tokens.len(), 3);
    }
}
