//! The cascades panel: every cascade of the run with its root block, depth, size, amplification,
//! recovery and pools; choosing one jumps the timeline to it and draws its causal links on the
//! mesh as numbered arrows.

use std::collections::BTreeMap;

use egui::{RichText, Ui};
use meshsim_core::cascade::Cascade;
use meshsim_core::tx::TxId;
use meshsim_scenario::{PoolId, Scenario};

use crate::history::Events;

/// The cascade's links as (cause's pool, effect's pool), in link order; links whose ends traded
/// no pool (or whose rows the log no longer keeps) are left out.
pub fn arrows(c: &Cascade, events: &Events) -> Vec<(PoolId, PoolId)> {
    let pool_of: BTreeMap<TxId, PoolId> = events
        .rows
        .iter()
        .filter(|r| c.members.contains(&r.tx_id))
        .filter_map(|r| r.pools.first().map(|p| (r.tx_id, *p)))
        .collect();
    c.links.iter().filter_map(|(a, b)| Some((*pool_of.get(a)?, *pool_of.get(b)?))).collect()
}

/// Draws the table; returns the index of the cascade chosen.
pub fn show(ui: &mut Ui, s: &Scenario, cascades: &[(Cascade, Option<u64>)], shown: Option<usize>) -> Option<usize> {
    if cascades.is_empty() {
        ui.label("No cascade yet: a cascade is a transaction that set off at least one other.");
        return None;
    }
    let mut chosen = None;
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        egui::Grid::new("cascades").striped(true).num_columns(9).show(ui, |ui| {
            for h in [
                "",
                "root block",
                "depth",
                "transactions",
                "rebalances",
                "liquidations",
                "amplification",
                "recovered after",
                "pools",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for (k, (c, recovered)) in cascades.iter().enumerate() {
                let label = format!("cascade {} at block {}", k + 1, c.root_block);
                let text = if shown == Some(k) { RichText::new(label).strong() } else { RichText::new(label) };
                if ui.selectable_label(shown == Some(k), text).clicked() {
                    chosen = Some(k);
                }
                ui.label(c.root_block.to_string());
                ui.label(c.depth.to_string());
                ui.label(c.member_count.to_string());
                ui.label(c.rebalances.to_string());
                ui.label(c.liquidations.to_string());
                ui.label(format!("{:.2}x", c.amplification()));
                ui.label(recovered.map_or("not yet".into(), |b| format!("{b} blocks")));
                let pools: Vec<&str> =
                    c.pools.iter().filter_map(|p| s.pools.get(p.index()).map(|x| x.name.as_str())).collect();
                ui.label(pools.join(", "));
                ui.end_row();
            }
        });
    });
    chosen
}
