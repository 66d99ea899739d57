//! The event log: the run's transactions, filterable by kind and entity. A click selects the
//! sender and highlights the cascade the transaction belongs to.

use egui::{RichText, Ui};
use meshsim_core::cascade::Cascade;
use meshsim_core::record::TradeRow;
use meshsim_core::tx::{Cause, Sender, TxId, TxKind};
use meshsim_scenario::Scenario;

use crate::history::Events;
use crate::mesh::kind_color;

/// A kind the filter knows: its label, and which transaction kinds it covers.
pub type KindFilter = (&'static str, fn(TxKind) -> bool);

/// Kinds the filter knows.
pub const KINDS: [KindFilter; 7] = [
    ("arbitrage", |k| matches!(k, TxKind::Arbitrage | TxKind::CycleArbitrage | TxKind::CrossChainArbitrage)),
    ("rebalance", |k| k == TxKind::Rebalance),
    ("sandwich", |k| matches!(k, TxKind::SandwichFront | TxKind::SandwichBack)),
    ("back-run", |k| k == TxKind::Backrun),
    ("prediction", |k| matches!(k, TxKind::PredictFront | TxKind::PredictUnwind)),
    ("lending", |k| {
        matches!(
            k,
            TxKind::Liquidation | TxKind::CollateralSale | TxKind::Lending | TxKind::Leverage | TxKind::Deleverage
        )
    }),
    ("bridge", |k| k == TxKind::Bridge),
];

/// The log's filters.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Shown kinds, by position in [`KINDS`].
    pub kinds: [bool; KINDS.len()],
    /// Only reverted transactions.
    pub reverted_only: bool,
    /// Sender or pool name contains this (case-insensitive); empty: all.
    pub entity: String,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { kinds: [true; KINDS.len()], reverted_only: false, entity: String::new() }
    }
}

/// The name of a transaction's sender.
pub fn sender_name(s: &Scenario, sender: Sender) -> &str {
    match sender {
        Sender::Agent(a) => s.agents.get(a.index()).map_or("?", |x| x.name.as_str()),
        Sender::Vault(v) => s.vaults.get(v.index()).map_or("?", |x| x.name.as_str()),
    }
}

impl Filter {
    /// Whether `row` passes.
    pub fn passes(&self, s: &Scenario, row: &TradeRow) -> bool {
        let kind_ok = KINDS.iter().zip(&self.kinds).any(|((_, m), on)| *on && m(row.kind));
        if !kind_ok || (self.reverted_only && !row.reverted) {
            return false;
        }
        if self.entity.is_empty() {
            return true;
        }
        let needle = self.entity.to_lowercase();
        sender_name(s, row.sender).to_lowercase().contains(&needle)
            || row.pools.iter().any(|p| s.pools.get(p.index()).is_some_and(|x| x.name.to_lowercase().contains(&needle)))
    }
}

/// One line of text for a transaction.
pub fn describe(s: &Scenario, row: &TradeRow) -> String {
    let sym = |t: meshsim_scenario::TokenId| s.tokens.get(t.index()).map_or("?", |x| x.symbol.as_str());
    let dec = |t: meshsim_scenario::TokenId| s.tokens.get(t.index()).map_or(0, |x| x.decimals);
    let pools: Vec<&str> = row.pools.iter().filter_map(|p| s.pools.get(p.index()).map(|x| x.name.as_str())).collect();
    let amount = |a: u128, t| crate::fmt::amount(a, dec(t));
    let cause = match &row.cause {
        Cause::External => String::new(),
        Cause::Schedule => " (schedule)".into(),
        Cause::Moves(v) => format!(" after {}", ids(v)),
        Cause::Victim(v) => format!(" on #{}", v.0),
    };
    let outcome = if row.reverted {
        format!("REVERTED: {}", in_units(&row.revert_reason, dec(row.token_out), sym(row.token_out)))
    } else {
        format!(
            "{} {} -> {} {}",
            amount(row.amount_in, row.token_in),
            sym(row.token_in),
            amount(row.amount_out, row.token_out),
            sym(row.token_out)
        )
    };
    // with several chains a block number needs its chain
    let block = match s.chains.get(row.chain.index()) {
        Some(c) if s.multi_chain() => format!("{} {}", c.name, row.block),
        _ => row.block.to_string(),
    };
    format!(
        "{:>6} #{:<6} {:<14} {:<16} {:<24} {}{}",
        block,
        row.tx_id.0,
        row.kind.name(),
        sender_name(s, row.sender),
        pools.join(">"),
        outcome,
        cause
    )
}

/// A revert reason with its raw amounts ("output 1234 below minimum 5678", base units of the
/// output token) in whole units of that token.
pub fn in_units(reason: &str, decimals: u8, symbol: &str) -> String {
    let w: Vec<&str> = reason.split_whitespace().collect();
    if let ["output", out, "below", "minimum", min] = w.as_slice()
        && let (Ok(out), Ok(min)) = (out.parse::<u128>(), min.parse::<u128>())
    {
        return format!(
            "output {} {symbol} below minimum {} {symbol}",
            crate::fmt::amount(out, decimals),
            crate::fmt::amount(min, decimals)
        );
    }
    reason.to_string()
}

/// The log's column headings, aligned with [`describe`].
pub fn header() -> String {
    format!("{:>6} {:<7} {:<14} {:<16} {:<24} {}", "block", "tx", "kind", "sender", "pools", "outcome (cause)")
}

fn ids(v: &[TxId]) -> String {
    v.iter().map(|t| format!("#{}", t.0)).collect::<Vec<_>>().join(",")
}

/// The cascade containing `tx`, if any (the deepest when several).
pub fn cascade_of(cascades: &[(Cascade, Option<u64>)], tx: TxId) -> Option<&Cascade> {
    cascades.iter().map(|(c, _)| c).filter(|c| c.members.contains(&tx)).max_by_key(|c| c.depth)
}

/// What a click in the log asks for.
pub struct Clicked {
    /// The transaction.
    pub row: TradeRow,
}

/// Draws the filters and the first `upto` rows (the log as it stood at the timeline's block;
/// newest at the bottom). Rows whose id is in `highlight` are marked. Returns the clicked row,
/// if any.
pub fn show(
    ui: &mut Ui,
    s: &Scenario,
    events: &Events,
    upto: usize,
    frozen: &mut Option<usize>,
    filter: &mut Filter,
    highlight: &[TxId],
) -> Option<Clicked> {
    ui.horizontal(|ui| {
        ui.label("show:");
        for (k, (name, _)) in KINDS.iter().enumerate() {
            ui.checkbox(&mut filter.kinds[k], *name);
        }
        ui.checkbox(&mut filter.reverted_only, "reverted only");
        let label = ui.label("entity:");
        ui.add(egui::TextEdit::singleline(&mut filter.entity).desired_width(120.0).hint_text("sender or pool"))
            .labelled_by(label.id);
    });
    // while the pointer is over the log it stands still, so a row can be clicked
    let upto = frozen.map_or(upto, |f| f.min(upto));
    let rows: Vec<&TradeRow> = events.rows.iter().take(upto).filter(|r| filter.passes(s, r)).collect();
    ui.label(format!(
        "{} transactions shown of {} kept{}",
        rows.len(),
        events.rows.len(),
        if frozen.is_some() { " (held still while the pointer is over it)" } else { "" }
    ));
    ui.label(RichText::new(header()).monospace().strong());
    let mut clicked = None;
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
    let area = egui::ScrollArea::vertical().auto_shrink([false, false]).stick_to_bottom(frozen.is_none()).show_rows(
        ui,
        row_height,
        rows.len(),
        |ui, range| {
            for row in &rows[range] {
                let mut text = RichText::new(describe(s, row)).monospace().color(kind_color(row.kind, row.reverted));
                if highlight.contains(&row.tx_id) {
                    text = text.strong().background_color(ui.visuals().selection.bg_fill);
                }
                if ui.selectable_label(false, text).clicked() {
                    clicked = Some(Clicked { row: (*row).clone() });
                }
            }
        },
    );
    let hovered = ui.rect_contains_pointer(area.inner_rect);
    *frozen = if hovered { Some(upto) } else { None };
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revert_amounts_read_in_token_units() {
        assert_eq!(
            in_units("output 1500000 below minimum 2000000", 6, "USDC"),
            "output 1.5000 USDC below minimum 2.0000 USDC"
        );
        assert_eq!(in_units("out of gas", 6, "USDC"), "out of gas");
    }
}
