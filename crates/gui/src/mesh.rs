//! The mesh view: tokens on a circle, pools between the tokens they hold (sized by liquidity,
//! coloured by their deviation from the external price), vaults on an outer ring tied to their
//! tokens, and the last blocks' trades drawn as flows through the pools. With several chains each
//! chain is a labelled region of its own tokens and pools, bridges join the regions, and
//! transfers in flight travel along them.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2, pos2, vec2};
use meshsim_core::Snapshot;
use meshsim_core::record::TradeRow;
use meshsim_core::tx::{Sender, TxKind};
use meshsim_scenario::{PoolId, Scenario, TokenId, VaultId};

use crate::Selection;

/// Node positions in a unit square ([-1, 1] on both axes), computed once per world.
#[derive(Debug, Clone)]
pub struct Layout {
    tokens: Vec<Pos2>,
    pools: Vec<Pos2>,
    vaults: Vec<Pos2>,
    pool_tokens: Vec<Vec<TokenId>>,
    vault_tokens: Vec<Vec<TokenId>>,
    /// With several chains: each chain's region (centre, radius, name).
    regions: Vec<(Pos2, f32, String)>,
    /// Each bridge's two regions.
    bridges: Vec<(usize, usize)>,
    /// Per vault: the pools it may trade on, and the pools its oracles read.
    vault_pools: Vec<(Vec<PoolId>, Vec<PoolId>)>,
}

/// Where a region of `n` sits and how large it is: on a circle for three or more, side by side
/// for two, the whole square for one.
fn region(k: usize, n: usize) -> (Pos2, f32) {
    match n {
        0 | 1 => (Pos2::ZERO, 1.0),
        // a gap between regions leaves room to draw the bridges
        2 => (pos2(if k == 0 { -0.5 } else { 0.5 }, 0.0), 0.38),
        _ => {
            let a = std::f32::consts::TAU * k as f32 / n as f32 - std::f32::consts::FRAC_PI_2;
            let r = (0.4 * (std::f32::consts::PI / n as f32).sin()).min(0.34);
            (pos2(0.5 * a.cos(), 0.5 * a.sin()), r)
        }
    }
}

/// Where a transfer sent at `sent` and due at `due` is at `now` along the bridge from `from` to
/// `to`: at the start while it waits for a relayer (`due` unknown), at the end once due.
pub fn in_flight_at(from: Pos2, to: Pos2, sent: f64, due: Option<f64>, now: f64) -> Pos2 {
    let Some(due) = due else { return from };
    let t = if due > sent { ((now - sent) / (due - sent)).clamp(0.0, 1.0) } else { 1.0 };
    from + (to - from) * t as f32
}

impl Layout {
    /// Lays `scenario` out.
    pub fn new(scenario: &Scenario) -> Self {
        let n_chains = scenario.chains.len();
        let regions: Vec<(Pos2, f32, String)> = scenario
            .chains
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let (centre, r) = region(k, n_chains);
                (centre, r, c.name.clone())
            })
            .collect();
        // each chain's tokens on a circle inside its region
        let mut tokens = vec![Pos2::ZERO; scenario.tokens.len()];
        for (c, (centre, r, _)) in regions.iter().enumerate() {
            let mine: Vec<usize> =
                (0..scenario.tokens.len()).filter(|k| scenario.tokens[*k].chain.index() == c).collect();
            let n = mine.len().max(1);
            for (i, k) in mine.iter().enumerate() {
                let a = std::f32::consts::TAU * i as f32 / n as f32 - std::f32::consts::FRAC_PI_2;
                tokens[*k] = *centre + vec2(a.cos(), a.sin()) * 0.62 * *r;
            }
        }
        let bridges = scenario.bridges.iter().map(|b| (b.chains.0.index(), b.chains.1.index())).collect();
        let pool_tokens: Vec<Vec<TokenId>> = scenario.pools.iter().map(|p| p.tokens.clone()).collect();
        // pools between the same tokens fan out across the line joining them
        // pools fan out in proportion to their chain's region
        let scale = |ts: &[TokenId]| ts.first().map_or(1.0, |t| regions[scenario.tokens[t.index()].chain.index()].1);
        let mut pools = Vec::with_capacity(pool_tokens.len());
        for (k, ts) in pool_tokens.iter().enumerate() {
            let centroid = ts.iter().fold(Vec2::ZERO, |a, t| a + tokens[t.index()].to_vec2()) / ts.len().max(1) as f32;
            let siblings: Vec<usize> = (0..pool_tokens.len()).filter(|j| same_set(&pool_tokens[*j], ts)).collect();
            let rank = siblings.iter().position(|j| *j == k).unwrap_or(0) as f32;
            let spread = rank - (siblings.len() as f32 - 1.0) / 2.0;
            let pos = if ts.len() == 2 {
                let (a, b) = (tokens[ts[0].index()], tokens[ts[1].index()]);
                let d = b - a;
                let normal = vec2(-d.y, d.x).normalized();
                (centroid + normal * spread * 0.17 * scale(ts)).to_pos2()
            } else {
                // three or more tokens: pulled toward the middle
                (centroid * 0.6 + vec2(spread * 0.15, spread * 0.08)).to_pos2()
            };
            pools.push(pos);
        }
        let vault_tokens: Vec<Vec<TokenId>> = scenario
            .vaults
            .iter()
            .map(|v| {
                let mut t: Vec<TokenId> = v.holdings.iter().map(|(t, _)| *t).collect();
                t.sort_unstable();
                t.dedup();
                t
            })
            .collect();
        let nv = vault_tokens.len().max(1);
        let vaults = (0..vault_tokens.len())
            .map(|k| {
                let a = std::f32::consts::TAU * (k as f32 + 0.5) / nv as f32 - std::f32::consts::FRAC_PI_2;
                pos2(0.93 * a.cos(), 0.93 * a.sin())
            })
            .collect();
        let vault_pools = scenario
            .vaults
            .iter()
            .zip(&vault_tokens)
            .map(|(v, ts)| {
                // its venues, or else every pool of its own tokens
                let trades: Vec<PoolId> = if v.venues.is_empty() {
                    scenario.pools.iter().filter(|p| p.tokens.iter().all(|t| ts.contains(t))).map(|p| p.id).collect()
                } else {
                    v.venues.clone()
                };
                let reads: Vec<PoolId> = v
                    .oracles
                    .iter()
                    .filter_map(|(_, o)| match scenario.oracles.get(o.index()).map(|o| &o.kind) {
                        Some(meshsim_scenario::OracleKind::Twap { pool, .. }) => Some(*pool),
                        _ => None,
                    })
                    .collect();
                (trades, reads)
            })
            .collect();
        let regions = if n_chains > 1 { regions } else { Vec::new() };
        Layout { tokens, pools, vaults, pool_tokens, vault_tokens, regions, bridges, vault_pools }
    }

    /// Where a pool sits, in the unit square.
    pub fn pool(&self, id: PoolId) -> Option<Pos2> {
        self.pools.get(id.index()).copied()
    }

    /// Each chain's region (centre, radius, name); empty with one chain.
    pub fn regions(&self) -> &[(Pos2, f32, String)] {
        &self.regions
    }
}

fn same_set(a: &[TokenId], b: &[TokenId]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Colour of a pool deviating `dev` (relative) from the external price with fee `fee`: green
/// inside its no-arbitrage band, through amber, to red at three bands out.
pub fn deviation_color(dev: f64, fee: f64) -> Color32 {
    let band = fee.max(1e-4);
    let x = ((dev.abs() / band - 1.0) / 2.0).clamp(0.0, 1.0) as f32;
    let (g, r) = (Color32::from_rgb(70, 180, 90), Color32::from_rgb(220, 60, 50));
    let amber = Color32::from_rgb(235, 170, 40);
    if x < 0.5 { lerp(g, amber, x * 2.0) } else { lerp(amber, r, (x - 0.5) * 2.0) }
}

fn lerp(a: Color32, b: Color32, t: f32) -> Color32 {
    let m = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t) as u8;
    Color32::from_rgb(m(a.r(), b.r()), m(a.g(), b.g()), m(a.b(), b.b()))
}

/// Colour of a transaction kind in the flows and the event log.
pub fn kind_color(kind: TxKind, reverted: bool) -> Color32 {
    if reverted {
        return Color32::from_rgb(150, 150, 150);
    }
    match kind {
        TxKind::Arbitrage | TxKind::CycleArbitrage | TxKind::CrossChainArbitrage => Color32::from_rgb(80, 150, 230),
        TxKind::Rebalance => Color32::from_rgb(240, 150, 40),
        TxKind::SandwichFront | TxKind::SandwichBack => Color32::from_rgb(230, 60, 80),
        TxKind::Backrun => Color32::from_rgb(170, 100, 220),
        // a liquidation and the sale it forces stand out: the spiral's links
        TxKind::Liquidation | TxKind::CollateralSale => Color32::from_rgb(250, 210, 40),
        TxKind::Lending | TxKind::Leverage | TxKind::Deleverage => Color32::from_rgb(90, 190, 110),
        TxKind::PredictFront | TxKind::PredictUnwind => Color32::from_rgb(120, 200, 200),
        TxKind::Bridge => Color32::from_rgb(230, 230, 230),
        TxKind::MarketMaking | TxKind::NoiseTrade => Color32::from_rgb(200, 160, 230),
    }
}

/// What the view needs besides the snapshot.
pub struct MeshInput<'a> {
    /// The world.
    pub scenario: &'a Scenario,
    /// Its layout.
    pub layout: &'a Layout,
    /// State now.
    pub snapshot: &'a Snapshot,
    /// Transactions of the last few blocks.
    pub recent: &'a [&'a TradeRow],
    /// Pools of the highlighted cascade.
    pub highlighted: &'a [PoolId],
    /// The shown cascade's causal links, cause's pool to effect's pool, in order (numbered from 1).
    pub arrows: &'a [(PoolId, PoolId)],
}

/// Draws the mesh; a click selects the node under the pointer.
pub fn show(ui: &mut Ui, input: &MeshInput<'_>, selection: &mut Option<Selection>) {
    // the key above the drawing, never over it
    egui::CollapsingHeader::new("Key").default_open(true).show(ui, legend);
    let size = ui.available_size().max(vec2(200.0, 200.0));
    let (response, painter) = ui.allocate_painter(size, Sense::click());
    let rect = response.rect;
    let side = rect.width().min(rect.height()) * 0.46;
    let center = rect.center();
    let at = |p: Pos2| center + p.to_vec2() * side;
    let s = input.snapshot;
    let text = ui.visuals().text_color();
    let faint = ui.visuals().weak_text_color().gamma_multiply(0.5);

    // pool radii: by value, square-root scaled against the largest
    let max_value = s.pools.iter().map(|p| p.value).fold(1.0, f64::max);
    let radius = |k: usize| -> f32 {
        let v = s.pools.get(k).map_or(0.0, |p| p.value);
        (4.0 + 14.0 * (v / max_value).sqrt()) as f32
    };

    // chains: a labelled region each, bridges between them, transfers travelling along them
    for (centre, r, name) in &input.layout.regions {
        painter.circle_stroke(at(*centre), r * side, Stroke::new(1.0, faint));
        painter.text(
            at(*centre) - vec2(0.0, r * side + 2.0),
            Align2::CENTER_BOTTOM,
            name,
            FontId::proportional(12.0),
            text,
        );
    }
    let bridge_ends = |k: usize| -> Option<(Pos2, Pos2)> {
        let (a, b) = *input.layout.bridges.get(k)?;
        let (ca, ra, _) = input.layout.regions.get(a)?;
        let (cb, rb, _) = input.layout.regions.get(b)?;
        let d = (*cb - *ca).normalized();
        Some((at(*ca + d * *ra), at(*cb - d * *rb)))
    };
    for b in &s.bridges {
        let Some((from, to)) = bridge_ends(b.id.index()) else { continue };
        let colour = if b.halted { Color32::from_rgb(220, 70, 70) } else { faint };
        painter.line_segment([from, to], Stroke::new(if b.halted { 3.0 } else { 2.0 }, colour));
        for t in &b.in_flight {
            // out goes from the bridge's first chain to its second
            let out = input.scenario.tokens.get(t.from.index()).map(|x| x.chain) == Some(b.chains.0);
            let (a, z) = if out { (from, to) } else { (to, from) };
            let p = in_flight_at(a, z, t.sent_at, t.arrives_at, s.timestamp);
            painter.circle_filled(p, 4.0, kind_color(TxKind::Bridge, false));
        }
    }
    for (k, ts) in input.layout.pool_tokens.iter().enumerate() {
        for t in ts {
            painter
                .line_segment([at(input.layout.pools[k]), at(input.layout.tokens[t.index()])], Stroke::new(1.0, faint));
        }
    }
    for (k, ts) in input.layout.vault_tokens.iter().enumerate() {
        for t in ts {
            painter.line_segment(
                [at(input.layout.vaults[k]), at(input.layout.tokens[t.index()])],
                Stroke::new(0.8, faint.gamma_multiply(0.6)),
            );
        }
    }
    // vaults to the pools they trade on (solid) and the pools their oracles read (dotted)
    for (k, (trades, reads)) in input.layout.vault_pools.iter().enumerate() {
        let v = at(input.layout.vaults[k]);
        for p in trades {
            painter.line_segment([v, at(input.layout.pools[p.index()])], Stroke::new(0.8, faint.gamma_multiply(1.4)));
        }
        for p in reads {
            let pts = [v, at(input.layout.pools[p.index()])];
            painter.add(egui::Shape::dashed_line(
                &pts,
                Stroke::new(1.0, Color32::from_rgb(120, 200, 200).gamma_multiply(0.6)),
                3.0,
                4.0,
            ));
        }
    }
    // flows: token in -> pool -> token out, fading with age (in blocks of its own chain)
    let newest = |chain: meshsim_scenario::ChainId| {
        input.recent.iter().filter(|t| t.chain == chain).map(|t| t.block).max().unwrap_or(0)
    };
    for t in input.recent {
        let age = newest(t.chain).saturating_sub(t.block) as f32;
        let alpha = (1.0 - age / 6.0).clamp(0.15, 1.0);
        let color = kind_color(t.kind, t.reverted).gamma_multiply(alpha);
        let width = if t.reverted { 1.0 } else { (1.5 + (t.value_in.max(1.0) as f32).log10() * 0.6).min(6.0) };
        let mut from = at(input.layout.tokens[t.token_in.index()]);
        for p in &t.pools {
            let via = at(input.layout.pools[p.index()]);
            painter.line_segment([from, via], Stroke::new(width, color));
            from = via;
        }
        painter.line_segment([from, at(input.layout.tokens[t.token_out.index()])], Stroke::new(width, color));
    }

    for (k, p) in s.pools.iter().enumerate() {
        let pos = at(input.layout.pools[k]);
        let r = radius(k);
        painter.circle_filled(pos, r, deviation_color(p.deviation, p.fee));
        if input.highlighted.contains(&p.id) {
            painter.circle_stroke(pos, r + 4.0, Stroke::new(2.5, Color32::from_rgb(250, 220, 60)));
        }
        if *selection == Some(Selection::Pool(p.id)) {
            painter.circle_stroke(pos, r + 2.0, Stroke::new(2.0, text));
        }
        painter.text(
            pos + vec2(0.0, r + 1.0),
            Align2::CENTER_TOP,
            &p.name,
            FontId::proportional(9.0),
            faint.gamma_multiply(2.0),
        );
    }
    // a cascade's links: numbered arrows from the pool of each cause to the pool of its effect
    let gold = Color32::from_rgb(250, 220, 60);
    for (k, (a, b)) in input.arrows.iter().enumerate() {
        let (Some(pa), Some(pb)) = (input.layout.pools.get(a.index()), input.layout.pools.get(b.index())) else {
            continue;
        };
        let (from, to) = (at(*pa), at(*pb));
        let label_at = if a == b {
            // an effect on the cause's own pool: a loop above it
            let c = from - vec2(0.0, radius(a.index()) + 10.0);
            painter.circle_stroke(c, 8.0, Stroke::new(2.0, gold));
            c - vec2(0.0, 14.0)
        } else {
            let d = (to - from).normalized();
            let (start, end) = (from + d * (radius(a.index()) + 2.0), to - d * (radius(b.index()) + 4.0));
            // parallel links between the same pools side by side
            let side_step = vec2(-d.y, d.x) * (6.0 * (k % 3) as f32);
            painter.arrow(start + side_step, end - start, Stroke::new(2.0, gold));
            start + side_step + (end - start) * 0.5 + vec2(-d.y, d.x) * 9.0
        };
        painter.circle_filled(label_at, 8.0, ui.visuals().extreme_bg_color);
        painter.text(label_at, Align2::CENTER_CENTER, format!("{}", k + 1), FontId::proportional(10.0), gold);
    }
    for (k, t) in s.tokens.iter().enumerate() {
        let pos = at(input.layout.tokens[k]);
        painter.circle_filled(pos, 20.0, ui.visuals().widgets.inactive.bg_fill);
        let stroke = if *selection == Some(Selection::Token(TokenId(k as u16))) { 2.5 } else { 1.0 };
        painter.circle_stroke(pos, 20.0, Stroke::new(stroke, text));
        painter.text(pos, Align2::CENTER_CENTER, &t.symbol, FontId::proportional(12.0), text);
    }
    for (k, v) in s.vaults.iter().enumerate() {
        let pos = at(input.layout.vaults[k]);
        let tracking: f64 = v.weights.iter().zip(&v.targets).map(|(w, t)| (w - t) * (w - t)).sum::<f64>().sqrt();
        // before its first valuation a vault has no weights yet: grey, not "far off target"
        let valued = v.weights.iter().any(|w| *w > 0.0);
        let fill = if valued { deviation_color(tracking, v.band.max(1e-3)) } else { Color32::from_gray(120) };
        let r = Rect::from_center_size(pos, vec2(16.0, 16.0));
        painter.rect_filled(r, 3.0, fill);
        if *selection == Some(Selection::Vault(v.id)) {
            painter.rect_stroke(r.expand(3.0), 3.0, Stroke::new(2.0, text), egui::StrokeKind::Outside);
        }
        painter.text(pos + vec2(0.0, 14.0), Align2::CENTER_TOP, &v.name, FontId::proportional(10.0), text);
    }

    if response.clicked()
        && let Some(p) = response.interact_pointer_pos()
    {
        *selection = pick(input, p, &at, &radius).or(*selection);
    }
    // the name of the node under the pointer
    if let Some(p) = response.hover_pos()
        && let Some(sel) = pick(input, p, &at, &radius)
    {
        let name = match sel {
            Selection::Pool(id) => s
                .pools
                .get(id.index())
                .map(|x| format!("{} ({}, {:+.3} % from external)", x.name, x.kind.name(), x.deviation * 100.0)),
            Selection::Token(id) => s.tokens.get(id.index()).map(|x| format!("{} {:.4}", x.symbol, x.price)),
            Selection::Vault(id) => s.vaults.get(id.index()).map(|x| format!("{} NAV {:.0}", x.name, x.nav)),
            Selection::Agent(_) | Selection::Market(_) | Selection::Book(_) => None,
        };
        if let Some(name) = name {
            let galley = painter.layout_no_wrap(name, FontId::proportional(12.0), text);
            let r = Rect::from_min_size(p + vec2(12.0, 12.0), galley.size()).expand(4.0);
            painter.rect_filled(r, 3.0, ui.visuals().extreme_bg_color);
            painter.galley(r.min + vec2(4.0, 4.0), galley, text);
        }
    }
}

/// The key: every flow colour, what a pool's colour and size mean, and the vaults' edges.
fn legend(ui: &mut Ui) {
    let flows = [
        ("arbitrage", kind_color(TxKind::Arbitrage, false)),
        ("rebalance", kind_color(TxKind::Rebalance, false)),
        ("sandwich", kind_color(TxKind::SandwichFront, false)),
        ("back-run", kind_color(TxKind::Backrun, false)),
        ("liquidation, collateral sale", kind_color(TxKind::Liquidation, false)),
        ("lending", kind_color(TxKind::Lending, false)),
        ("prediction", kind_color(TxKind::PredictFront, false)),
        ("bridge", kind_color(TxKind::Bridge, false)),
        ("market making, noise", kind_color(TxKind::MarketMaking, false)),
        ("reverted", kind_color(TxKind::Arbitrage, true)),
    ];
    let small = |t: &str, c: Color32| egui::RichText::new(t).small().color(c);
    ui.horizontal_wrapped(|ui| {
        ui.label(small("flows:", ui.visuals().text_color()));
        for (name, c) in flows {
            ui.label(small(&format!("\u{2014} {name}"), c));
        }
    });
    ui.horizontal_wrapped(|ui| {
        let text = ui.visuals().text_color();
        ui.label(small("pools (size: value locked) by gap to external:", text));
        for (name, dev) in [("inside the fee band", 0.0), ("2x the band", 2.0), ("3x or more", 3.0)] {
            ui.label(small(&format!("\u{2022} {name}"), deviation_color(dev * 0.003, 0.003)));
        }
        ui.label(small("vaults: weights against their band (grey: not valued yet);", text));
        ui.label(small("\u{2014} trades on pool", ui.visuals().weak_text_color()));
        ui.label(small("- - oracle reads pool", Color32::from_rgb(120, 200, 200)));
        ui.label(small("-> numbered: a cascade's links", Color32::from_rgb(250, 220, 60)));
    });
}

fn pick(input: &MeshInput<'_>, p: Pos2, at: &dyn Fn(Pos2) -> Pos2, radius: &dyn Fn(usize) -> f32) -> Option<Selection> {
    let mut best: Option<(f32, Selection)> = None;
    let mut consider = |d: f32, reach: f32, sel: Selection| {
        if d <= reach && best.as_ref().is_none_or(|(b, _)| d < *b) {
            best = Some((d, sel));
        }
    };
    for (k, pos) in input.layout.pools.iter().enumerate() {
        consider(at(*pos).distance(p), radius(k) + 4.0, Selection::Pool(PoolId(k as u32)));
    }
    for (k, pos) in input.layout.tokens.iter().enumerate() {
        consider(at(*pos).distance(p), 22.0, Selection::Token(TokenId(k as u16)));
    }
    for (k, pos) in input.layout.vaults.iter().enumerate() {
        consider(at(*pos).distance(p), 12.0, Selection::Vault(VaultId(k as u32)));
    }
    best.map(|b| b.1)
}

/// The entity a transaction's sender is.
pub fn sender_selection(sender: Sender) -> Selection {
    match sender {
        Sender::Agent(a) => Selection::Agent(a),
        Sender::Vault(v) => Selection::Vault(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_chain_gets_a_region_holding_its_pools_and_transfers_travel_between_them() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds/cross-chain.ron");
        let s = meshsim_scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let layout = Layout::new(&s);
        assert_eq!(layout.regions().len(), 3);
        for p in &s.pools {
            let (centre, r, _) = &layout.regions()[s.pool_chain(p.id).index()];
            let at = layout.pool(p.id).unwrap_or(Pos2::ZERO);
            assert!(at.distance(*centre) < *r, "{} lies outside its chain's region", p.name);
        }
        // one chain: no regions, the whole square
        let one = meshsim_scenario::load_file(&path.with_file_name("lvr.ron")).unwrap_or_else(|e| panic!("{e}"));
        assert!(Layout::new(&one).regions().is_empty());
        // a transfer halfway through its time is halfway along; waiting, it has not left
        let (a, b) = (pos2(0.0, 0.0), pos2(10.0, 0.0));
        assert_eq!(in_flight_at(a, b, 100.0, Some(200.0), 150.0), pos2(5.0, 0.0));
        assert_eq!(in_flight_at(a, b, 100.0, Some(200.0), 900.0), b);
        assert_eq!(in_flight_at(a, b, 100.0, None, 900.0), a);
    }

    #[test]
    fn colours_run_from_green_inside_the_band_to_red_far_outside() {
        let inside = deviation_color(0.001, 0.003);
        let far = deviation_color(0.02, 0.003);
        assert!(inside.g() > inside.r(), "{inside:?}");
        assert!(far.r() > far.g(), "{far:?}");
        assert_eq!(deviation_color(-0.02, 0.003), far, "symmetric");
    }
}
