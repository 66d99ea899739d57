//! Charts that scroll with the run (egui_plot): prices, vault weights against targets and
//! bands, tracking error, lending utilization and liquidations, cumulative costs and profits,
//! and the base fee.

use egui::{Color32, Ui};
use egui_plot::{Legend, Line, LineStyle, Plot, VLine};
use meshsim_scenario::{PoolId, Scenario, VaultId};

use crate::history::{History, points};

/// Most points drawn per series.
const MAX_POINTS: usize = 1_500;
const HEIGHT: f32 = 150.0;

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

/// Which entities the charts follow.
pub struct Focus {
    /// The pool whose price is drawn against the external price.
    pub pool: PoolId,
    /// The vault whose weights are drawn.
    pub vault: Option<VaultId>,
}

/// Draws every chart, stacked.
pub fn show(ui: &mut Ui, scenario: &Scenario, h: &History, focus: &Focus) {
    let link = egui::Id::unique("meshsim-blocks");
    let plot = |name: &str| {
        Plot::new(name.to_string())
            .height(HEIGHT)
            .legend(Legend::default())
            .link_axis(link, [true, false])
            .allow_scroll(false)
            .x_axis_label("block")
    };

    if let Some(pool) = scenario.pools.get(focus.pool.index()) {
        let (t0, t1) = (pool.tokens[0], pool.tokens[1]);
        let (s0, s1) = (&scenario.tokens[t0.index()].symbol, &scenario.tokens[t1.index()].symbol);
        ui.label(format!("{}: price of {s0} in {s1}, pool against external", pool.name));
        let ext: std::collections::VecDeque<f64> = h.external[t0.index()]
            .iter()
            .zip(&h.external[t1.index()])
            .map(|(a, b)| if *b > 0.0 { a / b } else { f64::NAN })
            .collect();
        let pool_pts = points(&h.blocks, &h.pools[pool.id.index()], MAX_POINTS);
        let ext_pts = points(&h.blocks, &ext, MAX_POINTS);
        plot("prices").show(ui, |p| {
            p.line(Line::new("external", ext_pts).color(palette(7)).style(LineStyle::dashed_loose()));
            p.line(Line::new(pool.name.clone(), pool_pts).color(palette(0)));
        });
    }

    if let Some(v) = focus.vault
        && let (Some(spec), Some(s)) = (scenario.vaults.get(v.index()), h.vaults.get(v.index()))
    {
        ui.label(format!("{}: weights (solid), targets (dashed), band (dotted)", spec.name));
        plot("weights").show(ui, |p| {
            for (k, t) in s.tokens.iter().enumerate() {
                let name = &scenario.tokens[t.index()].symbol;
                let c = palette(k);
                p.line(Line::new(name.clone(), points(&s.blocks, &s.weights[k], MAX_POINTS)).color(c));
                p.line(
                    Line::new(format!("{name} target"), points(&s.blocks, &s.targets[k], MAX_POINTS))
                        .color(c)
                        .style(LineStyle::dashed_loose()),
                );
                // the band around the target (absolute half-width)
                for sign in [1.0, -1.0] {
                    let edge: std::collections::VecDeque<f64> =
                        s.targets[k].iter().zip(&s.band).map(|(t, b)| t + sign * b).collect();
                    p.line(
                        Line::new(format!("{name} band"), points(&s.blocks, &edge, MAX_POINTS))
                            .color(c.gamma_multiply(0.5))
                            .style(LineStyle::Dotted { spacing: 6.0 }),
                    );
                }
            }
            // rebalances as thin vertical marks (the latest few hundred)
            for b in s.rebalances.iter().rev().take(300) {
                p.vline(VLine::new("rebalance", *b).color(Color32::from_gray(110)).width(0.5));
            }
        });
    }

    if !scenario.vaults.is_empty() {
        ui.label("tracking error (L2 distance of weights from targets)");
        plot("tracking").include_y(0.0).show(ui, |p| {
            for (k, (spec, s)) in scenario.vaults.iter().zip(&h.vaults).enumerate() {
                p.line(Line::new(spec.name.clone(), points(&s.blocks, &s.tracking, MAX_POINTS)).color(palette(k)));
            }
        });
    }

    for (spec, reserves) in scenario.lending.iter().zip(&h.lending) {
        ui.label(format!("{}: utilization per reserve", spec.name));
        plot(&format!("lending {}", spec.name)).include_y(0.0).include_y(1.0).show(ui, |p| {
            for (k, (r, s)) in spec.reserves.iter().zip(reserves).enumerate() {
                let name = &scenario.tokens[r.token.index()].symbol;
                p.line(Line::new(name.clone(), points(&s.blocks, &s.utilization, MAX_POINTS)).color(palette(k)));
            }
        });
        ui.label(format!("{}: liquidations so far (solid) and borrowers under water (dashed)", spec.name));
        plot(&format!("liquidations {}", spec.name)).include_y(0.0).show(ui, |p| {
            for (k, (r, s)) in spec.reserves.iter().zip(reserves).enumerate() {
                let name = &scenario.tokens[r.token.index()].symbol;
                if s.liquidations.back().is_some_and(|n| *n > 0.0) {
                    p.line(
                        Line::new(format!("{name} debt liquidations"), points(&s.blocks, &s.liquidations, MAX_POINTS))
                            .color(palette(k)),
                    );
                }
                if s.under_water.iter().any(|n| *n > 0.0) {
                    p.line(
                        Line::new(
                            format!("{name} borrowers under water"),
                            points(&s.blocks, &s.under_water, MAX_POINTS),
                        )
                        .color(palette(k))
                        .style(LineStyle::dashed_loose()),
                    );
                }
            }
        });
    }

    ui.label(format!("cumulative, {}", scenario.tokens[scenario.numeraire.index()].symbol));
    plot("totals").show(ui, |p| {
        let names = ["gas paid", "arbitrage profit", "searcher profit", "vault sandwich loss"];
        for (k, name) in names.iter().enumerate() {
            p.line(Line::new(*name, points(&h.blocks, &h.totals[k], MAX_POINTS)).color(palette(k)));
        }
    });

    ui.label("base fee, gwei");
    plot("base fee").include_y(0.0).show(ui, |p| {
        p.line(Line::new("base fee", points(&h.blocks, &h.base_fee_gwei, MAX_POINTS)).color(palette(4)));
    });
}
