//! Charts that scroll with the run (egui_plot): prices, vault weights against targets and
//! bands, tracking error, NAV against buy-and-hold and costless rebalancing, lending utilization
//! and liquidations, cumulative costs and profits, and the base fee.
//!
//! Each chart is first described as plain data ([`Chart`]: titled series of points) by
//! functions of the history alone, then drawn: tick labels on 1-2-5 steps on both axes, the
//! value under the pointer, the legend above the plot rather than over the data, one block
//! window shared by every chart, min/max thinning that keeps one-block spikes, a height the user
//! sets, a fork's series dashed over the run's, and export of each chart as CSV and PNG.

use std::collections::VecDeque;
use std::path::PathBuf;

use egui::{Color32, RichText, Ui};
use egui_plot::{GridInput, GridMark, HoverPosition, Line, LineStyle, Plot, VLine};
use meshsim_scenario::{PoolId, Scenario, VaultId};

use crate::history::{History, points};

/// Most points drawn per series.
const MAX_POINTS: usize = 1_500;

/// A distinct colour per series index.
fn palette(k: usize) -> Color32 {
    const C: [Color32; 8] = [
        Color32::from_rgb(80, 150, 230),
        Color32::from_rgb(240, 150, 40),
        Color32::from_rgb(90, 190, 100),
        Color32::from_rgb(220, 70, 90),
        Color32::from_rgb(170, 110, 220),
        Color32::from_rgb(60, 190, 190),
        Color32::from_rgb(200, 180, 60),
        Color32::from_rgb(150, 150, 150),
    ];
    C[k % C.len()]
}

/// Which entities the charts follow, and how they are drawn.
pub struct Focus {
    /// The pool whose price is drawn against the external price.
    pub pool: PoolId,
    /// The vault whose weights are drawn.
    pub vault: Option<VaultId>,
    /// The timeline's block, when it stands before the head: a line on every chart.
    pub cursor: Option<f64>,
    /// Height of each plot, points.
    pub height: f32,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// A solid line.
    Solid,
    /// Dashed (targets, external prices, a fork's series).
    Dashed,
    /// Dotted (bands).
    Dotted,
}

/// One series of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name (series of one name share one legend entry).
    pub name: String,
    /// Points (block, value), every block.
    pub points: Vec<[f64; 2]>,
    /// Colour index.
    pub colour: usize,
    /// Line style.
    pub style: Style,
}

/// One chart, as data.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Its id (and export file name stem).
    pub id: String,
    /// Title above it.
    pub title: String,
    /// Its series.
    pub series: Vec<Series>,
    /// Vertical marks (rebalances), inside the series' block range.
    pub marks: Vec<f64>,
    /// Values the y axis always shows (0 for counts, 1 for utilization).
    pub include_y: Vec<f64>,
}

fn series(name: impl Into<String>, xs: &VecDeque<f64>, ys: &VecDeque<f64>, colour: usize, style: Style) -> Series {
    let n = xs.len().min(ys.len());
    let (x0, y0) = (xs.len() - n, ys.len() - n);
    // points without a value (figures a recorded run's tables do not hold) are left out
    let points = (0..n).map(|k| [xs[x0 + k], ys[y0 + k]]).filter(|p| p[1].is_finite()).collect();
    Series { name: name.into(), points, colour, style }
}

/// The charts of a run (and of its fork, dashed), for the focused pool and vault.
pub fn charts(scenario: &Scenario, h: &History, fork: Option<&History>, focus: &Focus) -> Vec<Chart> {
    let mut out = Vec::new();
    let numeraire = &scenario.tokens[scenario.numeraire.index()].symbol;
    if let Some(pool) = scenario.pools.get(focus.pool.index()) {
        let (t0, t1) = (pool.tokens[0], pool.tokens[1]);
        let (s0, s1) = (&scenario.tokens[t0.index()].symbol, &scenario.tokens[t1.index()].symbol);
        let ext: VecDeque<f64> = h.external[t0.index()]
            .iter()
            .zip(&h.external[t1.index()])
            .map(|(a, b)| if *b > 0.0 { a / b } else { f64::NAN })
            .collect();
        let mut s = vec![
            series("external", &h.blocks, &ext, 7, Style::Dashed),
            series(pool.name.clone(), &h.blocks, &h.pools[pool.id.index()], 0, Style::Solid),
        ];
        if let Some(f) = fork {
            s.push(series(format!("{} (B)", pool.name), &f.blocks, &f.pools[pool.id.index()], 3, Style::Dashed));
        }
        out.push(Chart {
            id: format!("price-{}", pool.name),
            title: format!("{}: price of {s0} in {s1}, pool against external", pool.name),
            series: s,
            marks: Vec::new(),
            include_y: Vec::new(),
        });
    }
    if let Some(v) = focus.vault
        && let (Some(spec), Some(vs)) = (scenario.vaults.get(v.index()), h.vaults.get(v.index()))
    {
        let mut s = Vec::new();
        for (k, t) in vs.tokens.iter().enumerate() {
            let name = scenario.tokens[t.index()].symbol.clone();
            s.push(series(name.clone(), &vs.blocks, &vs.weights[k], k, Style::Solid));
            s.push(series(name.clone(), &vs.blocks, &vs.targets[k], k, Style::Dashed));
            for sign in [1.0, -1.0] {
                let edge: VecDeque<f64> = vs.targets[k].iter().zip(&vs.band).map(|(t, b)| t + sign * b).collect();
                s.push(series(name.clone(), &vs.blocks, &edge, k, Style::Dotted));
            }
            if let Some(fs) = fork.and_then(|f| f.vaults.get(v.index()))
                && let Some(w) = fs.weights.get(k)
            {
                s.push(series(format!("{name} (B)"), &fs.blocks, w, k, Style::Dashed));
            }
        }
        // only the rebalances inside the window the series cover, so the axes stay linked
        let first = vs.blocks.front().copied().unwrap_or(0.0);
        out.push(Chart {
            id: format!("weights-{}", spec.name),
            title: format!("{}: weights (solid), targets (dashed), band (dotted), rebalances (grey)", spec.name),
            series: s,
            marks: vs.rebalances.iter().rev().take_while(|b| **b >= first).take(300).copied().collect(),
            include_y: Vec::new(),
        });
        let mut s = vec![
            series("NAV", &vs.blocks, &vs.nav[0], 0, Style::Solid),
            series("buy and hold", &vs.blocks, &vs.nav[1], 1, Style::Dashed),
            series("continuous rebalancing, no costs", &vs.blocks, &vs.nav[2], 2, Style::Dotted),
        ];
        if let Some(fs) = fork.and_then(|f| f.vaults.get(v.index())) {
            s.push(series("NAV (B)", &fs.blocks, &fs.nav[0], 3, Style::Dashed));
        }
        out.push(Chart {
            id: format!("nav-{}", spec.name),
            title: format!("{}: NAV against buy-and-hold and costless continuous rebalancing, {numeraire}", spec.name),
            series: s,
            marks: Vec::new(),
            include_y: Vec::new(),
        });
    }
    if !scenario.vaults.is_empty() {
        let mut s = Vec::new();
        for (k, (spec, vs)) in scenario.vaults.iter().zip(&h.vaults).enumerate() {
            s.push(series(spec.name.clone(), &vs.blocks, &vs.tracking, k, Style::Solid));
            if let Some(fs) = fork.and_then(|f| f.vaults.get(k)) {
                s.push(series(format!("{} (B)", spec.name), &fs.blocks, &fs.tracking, k, Style::Dashed));
            }
        }
        out.push(Chart {
            id: "tracking".into(),
            title: "tracking error (L2 distance of weights from targets)".into(),
            series: s,
            marks: Vec::new(),
            include_y: vec![0.0],
        });
    }
    for (spec, reserves) in scenario.lending.iter().zip(&h.lending) {
        let mut util = Vec::new();
        let mut liq = Vec::new();
        for (k, (r, rs)) in spec.reserves.iter().zip(reserves).enumerate() {
            let name = &scenario.tokens[r.token.index()].symbol;
            util.push(series(name.clone(), &rs.blocks, &rs.utilization, k, Style::Solid));
            if rs.liquidations.back().is_some_and(|n| *n > 0.0) {
                liq.push(series(format!("{name} debt liquidations"), &rs.blocks, &rs.liquidations, k, Style::Solid));
            }
            if rs.under_water.iter().any(|n| *n > 0.0) {
                liq.push(series(
                    format!("{name} borrowers under water"),
                    &rs.blocks,
                    &rs.under_water,
                    k,
                    Style::Dashed,
                ));
            }
        }
        out.push(Chart {
            id: format!("utilization-{}", spec.name),
            title: format!("{}: utilization per reserve", spec.name),
            series: util,
            marks: Vec::new(),
            include_y: vec![0.0, 1.0],
        });
        out.push(Chart {
            id: format!("liquidations-{}", spec.name),
            title: format!("{}: liquidations so far (solid) and borrowers under water (dashed)", spec.name),
            series: liq,
            marks: Vec::new(),
            include_y: vec![0.0],
        });
    }
    let names = ["gas paid", "arbitrage profit", "searcher profit", "vault sandwich loss"];
    let mut s = Vec::new();
    for (k, name) in names.iter().enumerate() {
        s.push(series(*name, &h.blocks, &h.totals[k], k, Style::Solid));
        if let Some(f) = fork {
            s.push(series(format!("{name} (B)"), &f.blocks, &f.totals[k], k, Style::Dashed));
        }
    }
    out.push(Chart {
        id: "totals".into(),
        title: format!("cumulative, {numeraire}"),
        series: s,
        marks: Vec::new(),
        include_y: vec![0.0],
    });
    out.push(Chart {
        id: "base-fee".into(),
        title: "base fee, gwei".into(),
        series: vec![series("base fee", &h.blocks, &h.base_fee_gwei, 4, Style::Solid)],
        marks: Vec::new(),
        include_y: vec![0.0],
    });
    out
}

/// The smallest step of the 1-2-5 series (..., 0.1, 0.2, 0.5, 1, 2, 5, 10, ...) at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let decade = libm::pow(10.0, libm::floor(libm::log10(raw)));
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * decade).find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * decade)
}

/// Grid marks over `bounds`: labelled ones every `major` (a 1-2-5 step) and finer lines between.
pub fn grid(bounds: (f64, f64), major: f64) -> Vec<GridMark> {
    let (lo, hi) = (bounds.0.min(bounds.1), bounds.0.max(bounds.1));
    let minor =
        major / if (major / libm::pow(10.0, libm::floor(libm::log10(major))) - 2.0).abs() < 1e-9 { 4.0 } else { 5.0 };
    let mut out = Vec::new();
    let first = (lo / minor).ceil() as i64;
    let last = (hi / minor).floor() as i64;
    // bounded: a degenerate range never makes a million marks
    if last - first > 1_000 {
        return out;
    }
    for k in first..=last {
        let v = k as f64 * minor;
        let on_major = ((v / major).round() * major - v).abs() < minor * 1e-6;
        out.push(GridMark { value: if v == 0.0 { 0.0 } else { v }, step_size: if on_major { major } else { minor } });
    }
    out
}

/// A tick label for `v` on an axis stepping by `step`: enough decimals to tell ticks apart, and
/// thousands and millions shortened.
pub fn tick_label(v: f64, step: f64) -> String {
    let a = v.abs().max(step);
    let (scale, suffix) = if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let decimals = (-libm::floor(libm::log10(step / scale))).max(0.0) as usize;
    let x = v / scale;
    // no "-0"
    let x = if x.abs() < 0.5 * libm::pow(10.0, -(decimals as f64)) { 0.0 } else { x };
    format!("{x:.decimals$}{suffix}")
}

/// A 1-2-5 grid spacer keeping labelled ticks at least `px` points apart.
fn spacer(px: f64) -> impl Fn(GridInput) -> Vec<GridMark> {
    // egui_plot's base step is the value spanned by its minimum grid spacing, 8 points
    move |input: GridInput| grid(input.bounds, nice_step(input.base_step_size * px / 8.0))
}

fn formatter(mark: GridMark, _range: &std::ops::RangeInclusive<f64>) -> String {
    tick_label(mark.value, mark.step_size)
}

fn hover(pos: &HoverPosition<'_>) -> Option<String> {
    Some(match pos {
        HoverPosition::NearDataPoint { plot_name, position, .. } => {
            format!("{plot_name}\nblock {:.0}\n{}", position.x, crate::fmt::number(position.y))
        }
        HoverPosition::Elsewhere { position } => format!("block {:.0}\n{}", position.x, crate::fmt::number(position.y)),
    })
}

/// The chart as CSV: a `block` column and one column per series (empty where a series has no
/// point at that block).
pub fn to_csv(chart: &Chart) -> String {
    let mut blocks: Vec<u64> = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p[0] as u64)).collect();
    blocks.sort_unstable();
    blocks.dedup();
    let mut out = String::from("block");
    for s in &chart.series {
        let style = match s.style {
            Style::Solid => "",
            Style::Dashed if s.name.ends_with("(B)") => "",
            Style::Dashed => " (dashed)",
            Style::Dotted => " (dotted)",
        };
        out.push_str(&format!(",\"{}{style}\"", s.name.replace('"', "\"\"")));
    }
    out.push('\n');
    let mut at: Vec<usize> = vec![0; chart.series.len()];
    for b in blocks {
        out.push_str(&b.to_string());
        for (k, s) in chart.series.iter().enumerate() {
            out.push(',');
            while at[k] < s.points.len() && (s.points[at[k]][0] as u64) < b {
                at[k] += 1;
            }
            if let Some(p) = s.points.get(at[k]).filter(|p| p[0] as u64 == b) {
                out.push_str(&format!("{:?}", p[1]));
            }
        }
        out.push('\n');
    }
    out
}

/// Where exports go: `exports/` in the working directory.
fn export_path(chart: &Chart, block: u64, ext: &str) -> PathBuf {
    let stem: String = chart.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    PathBuf::from("exports").join(format!("{stem}-block-{block}.{ext}"))
}

fn write_export(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Draws every chart, stacked; returns a message when one was exported.
pub fn show(ui: &mut Ui, scenario: &Scenario, h: &History, fork: Option<&History>, focus: &Focus) -> Option<String> {
    let link = egui::Id::unique("meshsim-blocks");
    let block = h.last_block().unwrap_or(0);
    let mut said = None;
    for chart in charts(scenario, h, fork, focus) {
        ui.horizontal_wrapped(|ui| {
            ui.label(&chart.title);
            if ui.small_button("CSV").on_hover_text("save this chart's series as CSV under exports/").clicked() {
                let path = export_path(&chart, block, "csv");
                said = Some(match write_export(&path, to_csv(&chart).as_bytes()) {
                    Ok(()) => format!("saved {}", path.display()),
                    Err(e) => format!("cannot save: {e}"),
                });
            }
            if ui.small_button("PNG").on_hover_text("save a picture of this chart under exports/").clicked() {
                ui.data_mut(|d| d.insert_temp(egui::Id::unique(("png", &chart.id)), true));
            }
        });
        // the legend above the plot, never over its data
        ui.horizontal_wrapped(|ui| {
            let mut seen: Vec<&str> = Vec::new();
            for s in &chart.series {
                if seen.contains(&s.name.as_str()) {
                    continue;
                }
                seen.push(&s.name);
                let mark = match s.style {
                    Style::Solid => "\u{2014}",
                    Style::Dashed => "- -",
                    Style::Dotted => "\u{b7} \u{b7}",
                };
                ui.label(RichText::new(format!("{mark} {}", s.name)).color(palette(s.colour)).small());
            }
        });
        let mut plot = Plot::new(chart.id.clone());
        for y in &chart.include_y {
            plot = plot.include_y(*y);
        }
        let response = plot
            .height(focus.height)
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .allow_scroll(false)
            .x_grid_spacer(spacer(90.0))
            .y_grid_spacer(spacer(28.0))
            .x_axis_formatter(formatter)
            .y_axis_formatter(formatter)
            .label_formatter(hover)
            .show(ui, |p| {
                for b in &chart.marks {
                    p.vline(VLine::new("rebalance", *b).color(Color32::from_gray(110)).width(0.5));
                }
                for s in &chart.series {
                    let style = match s.style {
                        Style::Solid => LineStyle::Solid,
                        Style::Dashed => LineStyle::dashed_dense(),
                        Style::Dotted => LineStyle::Dotted { spacing: 5.0 },
                    };
                    let c = palette(s.colour);
                    let c = if s.style == Style::Dotted { c.gamma_multiply(0.6) } else { c };
                    p.line(Line::new(s.name.clone(), points(&s.points, MAX_POINTS)).color(c).style(style));
                }
                if let Some(c) = focus.cursor {
                    p.vline(VLine::new("timeline", c).color(Color32::from_rgb(250, 220, 60)).width(1.5));
                }
            });
        let key = egui::Id::unique(("png", &chart.id));
        if ui.data_mut(|d| d.remove_temp::<bool>(key)).unwrap_or(false) {
            let rect = response.response.rect;
            let path = export_path(&chart, block, "png");
            let ppp = ui.ctx().pixels_per_point();
            ui.ctx().request_screenshot(move |image| {
                // the chart's part of the window; a failure has nowhere to be shown but stderr
                if let Err(e) = crate::export::save_png_region(&path, &image, rect, ppp) {
                    eprintln!("cannot save {}: {e}", path.display());
                }
            });
            said = Some(format!("saving {}", export_path(&chart, block, "png").display()));
        }
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_1_2_5() {
        for (raw, step) in
            [(0.013, 0.02), (0.02, 0.02), (0.021, 0.05), (0.7, 1.0), (3.0, 5.0), (120.0, 200.0), (5e6, 5e6)]
        {
            assert!((nice_step(raw) - step).abs() < step * 1e-9, "{raw} -> {} (expected {step})", nice_step(raw));
        }
    }

    #[test]
    fn the_grid_labels_every_major_step_inside_the_bounds() {
        let marks = grid((0.31, 0.72), 0.1);
        let majors: Vec<f64> = marks.iter().filter(|m| m.step_size == 0.1).map(|m| m.value).collect();
        assert_eq!(majors.len(), 4, "{majors:?}");
        for (m, want) in majors.iter().zip([0.4, 0.5, 0.6, 0.7]) {
            assert!((m - want).abs() < 1e-12);
        }
        assert!(marks.iter().all(|m| (0.31..=0.72).contains(&m.value)));
        assert!(marks.len() > majors.len(), "finer lines between the labels");
    }

    #[test]
    fn tick_labels_have_the_decimals_their_step_needs() {
        assert_eq!(tick_label(0.4, 0.1), "0.4");
        assert_eq!(tick_label(0.45, 0.05), "0.45");
        assert_eq!(tick_label(1500.0, 500.0), "1500");
        assert_eq!(tick_label(2_500_000.0, 500_000.0), "2.5M");
        assert_eq!(tick_label(20_000.0, 5_000.0), "20k");
        assert_eq!(tick_label(-0.0000001, 0.1), "0.0");
        assert_eq!(tick_label(150.0, 50.0), "150");
    }

    #[test]
    fn csv_export_has_a_column_per_series_and_a_row_per_block() {
        let chart = Chart {
            id: "t".into(),
            title: "t".into(),
            series: vec![
                Series { name: "a".into(), points: vec![[1.0, 0.5], [2.0, 0.25]], colour: 0, style: Style::Solid },
                Series { name: "b \"x\"".into(), points: vec![[2.0, 3.0]], colour: 1, style: Style::Dotted },
            ],
            marks: Vec::new(),
            include_y: Vec::new(),
        };
        assert_eq!(to_csv(&chart), "block,\"a\",\"b \"\"x\"\" (dotted)\"\n1,0.5,\n2,0.25,3.0\n");
    }
}
