//! The timeline under the controls: the run from block 0 to its end, what has been run (up to
//! the head), where the view stands, and marks where something happened: the world's shocks
//! and stress events, the session's commands and the cascades. Clicking or dragging on it goes
//! to that block.

use egui::{Color32, Pos2, Rect, Sense, Stroke, Ui, vec2};
use meshsim_core::cascade::Cascade;
use meshsim_scenario::commands::{Command, CommandLog};
use meshsim_scenario::{Event, Scenario};

/// What a mark stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    /// A shock written in the world file.
    Shock,
    /// A stress event written in the world file.
    Stress,
    /// A command of this session.
    Command,
    /// A cascade's root block.
    Cascade,
}

impl MarkKind {
    /// Its colour on the timeline.
    pub fn color(self) -> Color32 {
        match self {
            MarkKind::Shock => Color32::from_rgb(240, 150, 40),
            MarkKind::Stress => Color32::from_rgb(200, 180, 60),
            MarkKind::Command => Color32::from_rgb(80, 150, 230),
            MarkKind::Cascade => Color32::from_rgb(230, 70, 90),
        }
    }
}

/// One mark.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Block.
    pub block: u64,
    /// Kind.
    pub kind: MarkKind,
    /// What happened, in words.
    pub label: String,
}

/// The marks of a run, by block (ties in the order: world, commands, cascades).
pub fn marks(s: &Scenario, log: &CommandLog, cascades: &[(Cascade, Option<u64>)]) -> Vec<Mark> {
    let mut out = Vec::new();
    for sh in &s.market.shocks {
        let symbol = s.market.assets.get(sh.asset).map_or("?", |a| s.tokens[a.token.index()].symbol.as_str());
        let change = libm::expm1(sh.log_step * sh.blocks as f64) * 100.0;
        out.push(Mark {
            block: sh.start_block,
            kind: MarkKind::Shock,
            label: format!("shock: {symbol} {change:+.1} % over {} blocks", sh.blocks),
        });
    }
    for e in &s.events.0 {
        let (block, label) = match e {
            Event::VolatilitySpike { start_block, blocks, multiplier } => {
                (*start_block, format!("volatility x{multiplier} for {blocks} blocks"))
            }
            Event::LiquidityWithdrawal { pool, block, share_ppm } => (
                *block,
                format!(
                    "{} % of {}'s liquidity withdrawn",
                    f64::from(*share_ppm) / 1e4,
                    s.pools.get(pool.index()).map_or("?", |p| p.name.as_str())
                ),
            ),
            Event::OracleFreeze { oracle, start_block, blocks } => (
                *start_block,
                format!(
                    "oracle {} frozen for {blocks} blocks",
                    s.oracles.get(oracle.index()).map_or("?", |o| o.name.as_str())
                ),
            ),
            Event::GasSpike { start_block, blocks, multiplier } => {
                (*start_block, format!("gas demand x{multiplier} for {blocks} blocks"))
            }
        };
        out.push(Mark { block, kind: MarkKind::Stress, label });
    }
    for c in &log.commands {
        let label = match &c.command {
            Command::Shock { token, change, blocks } => {
                format!("command: shock {token} {:+.1} % over {blocks} blocks", change * 100.0)
            }
            Command::SetVault { vault, param } => format!("command: {vault} {param:?}"),
        };
        out.push(Mark { block: c.block, kind: MarkKind::Command, label });
    }
    for (k, (c, _)) in cascades.iter().enumerate() {
        out.push(Mark {
            block: c.root_block,
            kind: MarkKind::Cascade,
            label: format!("cascade {}: depth {}, {} transactions", k + 1, c.depth, c.member_count),
        });
    }
    // stable: the world's marks, then commands, then cascades, within a block
    out.sort_by_key(|m| m.block);
    out
}

/// The block under `x` on a timeline drawn over `rect` for a run of `end` blocks.
pub fn block_at(rect: Rect, end: u64, x: f32) -> u64 {
    let t = ((x - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
    (f64::from(t) * end as f64).round() as u64
}

fn x_of(rect: Rect, end: u64, block: u64) -> f32 {
    rect.left() + rect.width() * (block as f32 / end.max(1) as f32)
}

/// Draws the timeline; returns the block to go to when clicked, or when a drag ends.
pub fn show(ui: &mut Ui, block: u64, head: u64, end: u64, marks: &[Mark]) -> Option<u64> {
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(vec2(width, 26.0), Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "timeline"));
    let painter = ui.painter_at(rect);
    let bar =
        Rect::from_min_max(Pos2::new(rect.left(), rect.top() + 8.0), Pos2::new(rect.right(), rect.bottom() - 6.0));
    painter.rect_filled(bar, 3.0, ui.visuals().extreme_bg_color);
    // what has been run
    let done = Rect::from_min_max(bar.min, Pos2::new(x_of(bar, end, head), bar.max.y));
    painter.rect_filled(done, 3.0, ui.visuals().selection.bg_fill.gamma_multiply(0.5));
    for m in marks {
        let x = x_of(bar, end, m.block);
        painter.line_segment([Pos2::new(x, rect.top()), Pos2::new(x, bar.max.y)], Stroke::new(2.0, m.kind.color()));
    }
    let weak = ui.visuals().weak_text_color();
    painter.text(
        Pos2::new(bar.left() + 2.0, rect.top()),
        egui::Align2::LEFT_TOP,
        "0",
        egui::FontId::proportional(9.0),
        weak,
    );
    painter.text(
        Pos2::new(bar.right() - 2.0, rect.top()),
        egui::Align2::RIGHT_TOP,
        end.to_string(),
        egui::FontId::proportional(9.0),
        weak,
    );
    let x = x_of(bar, end, block);
    painter.line_segment(
        [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
        Stroke::new(3.0, ui.visuals().strong_text_color()),
    );
    // what is under the pointer
    if let Some(p) = response.hover_pos() {
        let at = block_at(bar, end, p.x);
        let tolerance = ((end as f32 / bar.width().max(1.0)) * 4.0).ceil() as u64;
        let near: Vec<&Mark> = marks.iter().filter(|m| m.block.abs_diff(at) <= tolerance).collect();
        let mut text = format!("block {at}");
        for m in near.iter().take(8) {
            text.push_str(&format!("\n{}: {}", m.block, m.label));
        }
        response.clone().on_hover_text_at_pointer(text);
    }
    let p = response.interact_pointer_pos()?;
    (response.clicked() || response.drag_stopped()).then(|| block_at(bar, end, p.x).min(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_maps_to_its_block_and_back() {
        let r = Rect::from_min_max(Pos2::new(100.0, 0.0), Pos2::new(1100.0, 20.0));
        assert_eq!(block_at(r, 150, 100.0), 0);
        assert_eq!(block_at(r, 150, 1100.0), 150);
        assert_eq!(block_at(r, 150, 600.0), 75);
        assert_eq!(block_at(r, 150, 5000.0), 150);
        for b in [0, 1, 43, 149, 150] {
            assert_eq!(block_at(r, 150, x_of(r, 150, b)), b);
        }
    }

    #[test]
    fn the_world_s_shocks_and_events_and_the_session_s_commands_are_marked_in_block_order() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds/stress/oracle-freeze.ron");
        let s = meshsim_scenario::load_file(&path).expect("bundled world");
        let mut log = CommandLog::new(&s, 1);
        log.commands.push(meshsim_scenario::commands::TimedCommand {
            block: 5,
            command: Command::Shock { token: "ETH".into(), change: -0.1, blocks: 3 },
        });
        let m = marks(&s, &log, &[]);
        assert!(m.windows(2).all(|w| w[0].block <= w[1].block));
        assert!(m.iter().any(|x| x.kind == MarkKind::Stress && x.label.contains("frozen")), "{m:?}");
        assert!(m.iter().any(|x| x.kind == MarkKind::Shock), "{m:?}");
        let c = m.iter().find(|x| x.kind == MarkKind::Command).expect("the command");
        assert_eq!(c.block, 5);
        assert!(c.label.contains("-10.0 %"), "{}", c.label);
    }
}
