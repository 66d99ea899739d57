//! Fork and compare: the figures of two runs of one world side by side (A, the run, and B, its
//! fork from some block with a what-if), at the block both stand at.

use egui::{RichText, Ui};
use meshsim_core::Snapshot;

/// One compared figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Vault or pool name.
    pub entity: String,
    /// What is compared.
    pub metric: &'static str,
    /// In run A.
    pub a: f64,
    /// In fork B.
    pub b: f64,
}

impl Row {
    /// B less A.
    pub fn difference(&self) -> f64 {
        self.b - self.a
    }
}

/// The vaults' and pools' figures of `a` and `b` (two runs of the same world).
pub fn rows(a: &Snapshot, b: &Snapshot) -> Vec<Row> {
    let mut out = Vec::new();
    for (k, (va, vb)) in a.vaults.iter().zip(&b.vaults).enumerate() {
        let (ma, mb) = (a.metrics.vaults.get(k), b.metrics.vaults.get(k));
        let mut push = |metric, x: f64, y: f64| out.push(Row { entity: va.name.clone(), metric, a: x, b: y });
        push("NAV", va.nav, vb.nav);
        push("share price", va.share_price, vb.share_price);
        if let (Some(ma), Some(mb)) = (ma, mb) {
            push("rebalances", ma.rebalances as f64, mb.rebalances as f64);
            push("gas paid", ma.gas_value, mb.gas_value);
            push("fees and impact", ma.fees + ma.slippage, mb.fees + mb.slippage);
            push("MEV loss", ma.mev_loss, mb.mev_loss);
            let mean = |m: &meshsim_core::metrics::VaultMetrics| {
                if m.tracked_blocks == 0 { 0.0 } else { m.tracking_sum / m.tracked_blocks as f64 }
            };
            push("mean tracking error", mean(ma), mean(mb));
            push("max tracking error", ma.tracking_max, mb.tracking_max);
        }
    }
    for (pa, pb) in a.pools.iter().zip(&b.pools) {
        out.push(Row { entity: pa.name.clone(), metric: "price", a: pa.price, b: pb.price });
        out.push(Row {
            entity: pa.name.clone(),
            metric: "gap to external, %",
            a: pa.deviation * 100.0,
            b: pb.deviation * 100.0,
        });
    }
    out
}

/// Draws the table of differences: of `focus` (a vault's and a pool's names) unless `all`.
pub fn show(ui: &mut Ui, a: &Snapshot, b: &Snapshot, from: u64, focus: &[&str], all: &mut bool) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "A: the run (solid); B: its fork from block {from} (dashed). At block {} / {}.",
            a.block, b.block
        ));
        ui.checkbox(all, "every vault and pool");
    });
    egui::Grid::new("compare").striped(true).num_columns(5).show(ui, |ui| {
        for h in ["", "", "A", "B", "B - A"] {
            ui.strong(h);
        }
        ui.end_row();
        for r in rows(a, b).into_iter().filter(|r| *all || focus.contains(&r.entity.as_str())) {
            ui.label(&r.entity);
            ui.label(r.metric);
            ui.label(crate::fmt::number(r.a));
            ui.label(crate::fmt::number(r.b));
            let d = r.difference();
            let text = RichText::new(format!("{}{}", if d > 0.0 { "+" } else { "" }, crate::fmt::number(d)));
            ui.label(if d == 0.0 { text.weak() } else { text.strong() });
            ui.end_row();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshsim_core::Simulation;
    use meshsim_scenario::commands::Command;

    fn run(shock: bool) -> Snapshot {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds/vaults.ron");
        let s = meshsim_scenario::load_file(&path).expect("bundled world");
        let mut sim = Simulation::new(&s).expect("builds");
        sim.run_blocks(5).expect("runs");
        if shock {
            sim.apply(&Command::Shock { token: "ETH".into(), change: -0.3, blocks: 1 }).expect("applies");
        }
        sim.run_blocks(5).expect("runs");
        sim.snapshot()
    }

    #[test]
    fn identical_runs_differ_in_nothing_and_a_shocked_fork_in_prices_and_navs() {
        let (a, same, shocked) = (run(false), run(false), run(true));
        let r = rows(&a, &same);
        assert!(!r.is_empty());
        assert!(r.iter().all(|x| x.difference() == 0.0), "{r:?}");
        let r = rows(&a, &shocked);
        let price = r.iter().find(|x| x.metric == "price").expect("a pool");
        assert!(price.difference() < 0.0, "{price:?}");
        let nav = r.iter().find(|x| x.metric == "NAV").expect("a vault");
        assert!(nav.b < nav.a, "a 30 % fall of ETH costs the vault: {nav:?}");
    }
}
