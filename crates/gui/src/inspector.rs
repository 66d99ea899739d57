//! The inspector: the full state of the selected pool, vault, agent, token or lending market,
//! with its pending transactions.

use egui::{Grid, Ui};
use meshsim_core::Snapshot;
use meshsim_core::tx::{Action, Failure, LendOp, RevertReason, Sender, Tx, Visibility};
use meshsim_scenario::{Scenario, Trigger};

use crate::Selection;
use crate::fmt::{amount, number, percent};

fn row(ui: &mut Ui, key: &str, value: impl Into<egui::WidgetText>) {
    // keys stay on one line; long values (revert reasons) wrap inside the panel instead of
    // widening it
    ui.add(egui::Label::new(key).extend());
    ui.add(egui::Label::new(value).wrap());
    ui.end_row();
}

fn token(s: &Scenario, t: meshsim_scenario::TokenId) -> (&str, u8) {
    s.tokens.get(t.index()).map_or(("?", 0), |x| (x.symbol.as_str(), x.decimals))
}

/// A failure for people: a shortfall in whole tokens of the token it is in.
fn failure(s: &Scenario, f: &Failure) -> String {
    match f {
        Failure::Reverted(RevertReason::BelowMinimum { out, min, token: t }) => {
            let (sym, dec) = token(s, *t);
            format!("output {} {sym} below minimum {} {sym}", amount(*out, dec), amount(*min, dec))
        }
        other => other.to_string(),
    }
}

fn pending(ui: &mut Ui, s: &Scenario, txs: &[&Tx]) {
    ui.label(format!("pending transactions: {}", txs.len()));
    for t in txs {
        let vis = if t.visibility == Visibility::Private { "private" } else { "public" };
        let what = match &t.action {
            Action::Swap(swap) => {
                let (sym, dec) = token(s, swap.token_in());
                format!("{} {sym}, min out {}", amount(swap.amount_in, dec), swap.min_out)
            }
            Action::FlashLiquidate(f) => match f.lend.op {
                LendOp::Liquidate { user, .. } => format!("flash-liquidate position {}", user.0),
                _ => "flash loan".into(),
            },
            Action::Lend(l) => match l.op {
                LendOp::Liquidate { user, .. } => format!("liquidate position {}", user.0),
                LendOp::Supply { token: t, amount: a }
                | LendOp::Withdraw { token: t, amount: a }
                | LendOp::Borrow { token: t, amount: a }
                | LendOp::Repay { token: t, amount: a } => {
                    let (sym, dec) = token(s, t);
                    format!("{} {} {sym}", l.op.name(), amount(a, dec))
                }
            },
            Action::Book(b) => {
                let name = s.books.get(b.book.index()).map_or("?", |x| x.name.as_str());
                let cancels = b.ops.iter().filter(|o| o.is_cancel()).count();
                format!("book {name}: {} orders, {cancels} cancels", b.ops.len() - cancels)
            }
            Action::Bridge(b) => match s
                .bridges
                .get(b.bridge.index())
                .zip(s.bridges.get(b.bridge.index()).and_then(|x| x.tokens.get(usize::from(b.pair)).copied()))
            {
                Some((spec, (from, to))) => {
                    let from = if b.direction == meshsim_core::bridges::Direction::Out { from } else { to };
                    let (sym, dec) = token(s, from);
                    format!("bridge {} {sym} through {}", amount(b.amount, dec), spec.name)
                }
                None => "bridge".into(),
            },
        };
        ui.label(format!("#{} {} {what}, deadline block {}, {vis}", t.id.0, t.kind.name(), t.deadline_block));
    }
}

/// Draws the inspector for `sel`.
pub fn show(ui: &mut Ui, s: &Scenario, snap: &Snapshot, sel: Selection) {
    match sel {
        Selection::Pool(id) => {
            let (Some(p), Some(spec)) = (snap.pools.get(id.index()), s.pools.get(id.index())) else { return };
            ui.heading(format!("Pool {}", p.name));
            Grid::new("pool").num_columns(2).striped(true).show(ui, |ui| {
                row(ui, "kind", p.kind.name());
                for (t, b) in spec.tokens.iter().zip(&p.balances) {
                    let (sym, dec) = token(s, *t);
                    row(ui, &format!("balance {sym}"), amount(*b, dec));
                }
                let (s0, _) = token(s, spec.tokens[0]);
                let (s1, _) = token(s, spec.tokens[1]);
                row(ui, "price", format!("{} {s1} per {s0}", number(p.price)));
                row(ui, "deviation from external", percent(p.deviation));
                row(ui, "fee", percent(p.fee));
                row(ui, "value", number(p.value));
                if let Some(m) = snap.metrics.pools.get(id.index()) {
                    row(ui, "trades", m.trades.to_string());
                    row(ui, "volume", number(m.volume));
                    row(ui, "LP fees", number(m.fees));
                    row(ui, "arbitrage profit", number(m.arbitrage_profit));
                    row(ui, "LVR", number(m.lvr(p.value)));
                }
            });
        }
        Selection::Vault(id) => {
            let Some(v) = snap.vaults.get(id.index()) else { return };
            ui.heading(format!("Vault {}", v.name));
            Grid::new("vault").num_columns(2).striped(true).show(ui, |ui| {
                row(ui, "NAV", number(v.nav));
                row(ui, "share price", format!("{:.6}", v.share_price));
                row(ui, "buy-and-hold NAV", number(v.hold_nav));
                row(ui, "continuous NAV", number(v.continuous_nav));
                for (k, t) in v.tokens.iter().enumerate() {
                    let (sym, dec) = token(s, *t);
                    row(
                        ui,
                        sym,
                        format!(
                            "{}  weight {} / target {}",
                            amount(v.balances[k], dec),
                            percent(v.weights[k]),
                            percent(v.targets[k])
                        ),
                    );
                }
                let trigger = match v.spec.trigger {
                    Trigger::Threshold { band, relative } => {
                        format!("threshold {}{}", percent(band), if relative { " (relative)" } else { "" })
                    }
                    Trigger::PeriodicBlocks(n) => format!("every {n} blocks"),
                    Trigger::PeriodicSeconds(x) => format!("every {x} s"),
                    Trigger::VolatilityAdjusted { base_band, .. } => {
                        format!("volatility-adjusted, base {}", percent(base_band))
                    }
                    Trigger::Predictive { band, horizon_blocks, probability, crowd, .. } => format!(
                        "predictive band {}, early at P(breach in {horizon_blocks} blocks) > {probability}{}",
                        percent(band),
                        if crowd { ", ahead of the crowd" } else { "" }
                    ),
                    Trigger::CostAware { risk_aversion, .. } => {
                        format!("cost-aware (risk aversion {risk_aversion}), band now {}", percent(v.band))
                    }
                };
                row(ui, "trigger", trigger);
                row(ui, "band now", percent(v.band));
                row(ui, "slippage", percent(v.spec.slippage));
                row(ui, "max trade value", v.spec.max_trade_value.map_or("none".into(), number));
                row(ui, "private relay", if v.spec.private_relay { "yes" } else { "no" });
                row(ui, "rebalancing", if v.in_progress { "in progress" } else { "idle" });
                row(ui, "last rebalance", v.last_rebalance.map_or("never".into(), |b| format!("block {b}")));
                if let Some(m) = snap.metrics.vaults.get(id.index()) {
                    row(ui, "rebalances", m.rebalances.to_string());
                    let last = m.last_failure.as_ref().map_or(String::new(), |f| format!(" (last: {})", failure(s, f)));
                    row(ui, "failed", format!("{}{last}", m.failed));
                    row(
                        ui,
                        "gas / fees / impact",
                        format!("{} / {} / {}", number(m.gas_value), number(m.fees), number(m.slippage)),
                    );
                    row(ui, "sandwiched", format!("{} (loss {})", m.sandwiched, number(m.mev_loss)));
                    row(ui, "arbitrage after its trades", number(m.arbitrage_after));
                }
            });
            let mine: Vec<&Tx> = snap.pending.iter().filter(|t| t.sender == Sender::Vault(id)).collect();
            pending(ui, s, &mine);
        }
        Selection::Agent(id) => {
            let Some(a) = snap.agents.get(id.index()) else { return };
            ui.heading(format!("Agent {}", a.name));
            Grid::new("agent").num_columns(2).striped(true).show(ui, |ui| {
                let kind = s.agents.get(id.index()).map_or(a.kind, |x| match x.kind {
                    meshsim_scenario::AgentKind::Arbitrageur { .. } => "CEX-DEX arbitrageur",
                    meshsim_scenario::AgentKind::CycleArbitrageur { .. } => "cyclic arbitrageur",
                    meshsim_scenario::AgentKind::CrossChainArbitrageur { .. } => "cross-chain arbitrageur",
                    meshsim_scenario::AgentKind::Searcher { .. } => "searcher",
                    meshsim_scenario::AgentKind::Liquidator { .. } => "liquidator",
                    meshsim_scenario::AgentKind::Borrowers { .. } => "leveraged borrowers",
                    meshsim_scenario::AgentKind::Supplier { .. } => "rate-sensitive supplier",
                    meshsim_scenario::AgentKind::MarketMaker(_) => "market maker",
                    meshsim_scenario::AgentKind::NoiseTrader(_) => "noise trader",
                });
                row(ui, "kind", kind);
                row(ui, "profit", number(a.profit));
                if let Some(m) = snap.metrics.agents.get(id.index()) {
                    row(ui, "MEV profit", number(m.mev_profit));
                    row(ui, "gas paid", number(m.gas_value));
                    row(ui, "transactions", m.transactions.to_string());
                }
                for (k, b) in a.balances.iter().enumerate() {
                    if *b > 0 && k < s.tokens.len() {
                        let (sym, dec) = (&s.tokens[k].symbol, s.tokens[k].decimals);
                        row(ui, &format!("balance {sym}"), amount(*b, dec));
                    }
                }
            });
            let mine: Vec<&Tx> = snap.pending.iter().filter(|t| t.sender == Sender::Agent(id)).collect();
            pending(ui, s, &mine);
        }
        Selection::Market(id) => {
            let Some(m) = snap.lending.get(id.0 as usize) else { return };
            ui.heading(format!("Lending market {}", m.name));
            Grid::new("market").num_columns(2).striped(true).show(ui, |ui| {
                row(ui, "borrowers", m.borrowers.to_string());
                row(ui, "under water (health < 1)", m.under_water.to_string());
                let lowest = if m.lowest_health.is_finite() { format!("{:.4}", m.lowest_health) } else { "-".into() };
                row(ui, "lowest health factor", lowest);
            });
            for r in &m.reserves {
                let (sym, dec) = token(s, r.token);
                ui.separator();
                ui.strong(sym);
                Grid::new(("reserve", r.token.0)).num_columns(2).striped(true).show(ui, |ui| {
                    row(ui, "oracle price", number(r.price));
                    row(ui, "utilization", percent(r.utilization));
                    row(ui, "borrow rate", percent(r.borrow_rate));
                    row(ui, "supply rate", percent(r.supply_rate));
                    row(ui, "available", amount(r.available, dec));
                    row(ui, "borrowed", amount(r.borrowed, dec));
                    row(ui, "liquidations", r.liquidations.to_string());
                    row(ui, "bad debt", amount(r.deficit, dec));
                });
            }
        }
        Selection::Book(id) => book(ui, s, snap, id),
        Selection::Token(id) => {
            let Some(t) = snap.tokens.get(id.index()) else { return };
            ui.heading(format!("Token {}", t.symbol));
            Grid::new("token").num_columns(2).striped(true).show(ui, |ui| {
                row(ui, "external price", number(t.price));
                row(ui, "decimals", t.decimals.to_string());
                for (o, price) in s.oracles.iter().zip(&snap.oracle_prices) {
                    if o.token == id {
                        row(ui, &format!("oracle {}", o.name), number(*price));
                    }
                }
            });
        }
    }
}

/// An order book: best prices, spread, totals, and its depth around the external price.
fn book(ui: &mut Ui, s: &Scenario, snap: &Snapshot, id: meshsim_scenario::BookId) {
    let (Some(b), Some(spec)) = (snap.books.get(id.index()), s.books.get(id.index())) else { return };
    let (base, base_dec) = token(s, b.base);
    let (quote, quote_dec) = token(s, b.quote);
    let one = meshsim_core::math::u128_to_f64(10u128.pow(u32::from(quote_dec)));
    let lot =
        meshsim_core::math::u128_to_f64(b.lot_size) / meshsim_core::math::u128_to_f64(10u128.pow(u32::from(base_dec)));
    let price = |tick: u64| tick as f64 * meshsim_core::math::u128_to_f64(b.tick_size) / one;
    let external = snap.tokens.get(b.base.index()).map(|t| t.price).unwrap_or(f64::NAN)
        / snap.tokens.get(b.quote.index()).map(|t| t.price).unwrap_or(f64::NAN);
    ui.heading(format!("Order book {}", b.name));
    // prices to the tick: as many decimals as the tick size has
    let mut zeros = 0u32;
    while zeros < u32::from(quote_dec) && b.tick_size % 10u128.pow(zeros + 1) == 0 {
        zeros += 1;
    }
    let dp = (u32::from(quote_dec) - zeros) as usize;
    let at_tick = |x: f64| format!("{x:.dp$}");
    let (bid, ask) = (b.bids.first().map(|l| price(l.0)), b.asks.first().map(|l| price(l.0)));
    Grid::new("book").num_columns(2).striped(true).show(ui, |ui| {
        row(ui, "pair", format!("{base} in {quote}"));
        row(ui, "best bid", bid.map_or("-".into(), at_tick));
        row(ui, "best ask", ask.map_or("-".into(), at_tick));
        if let (Some(b), Some(a)) = (bid, ask) {
            row(ui, "spread", format!("{:.2} bp", (a - b) / ((a + b) / 2.0) * 1e4));
        }
        row(ui, "external price", number(external));
        row(ui, "fills", b.stats.fills.to_string());
        row(ui, &format!("volume ({base})"), amount(b.stats.volume_base, base_dec));
        row(
            ui,
            "orders placed / cancelled / expired",
            format!("{} / {} / {}", b.stats.placed, b.stats.cancelled, b.stats.expired),
        );
        row(
            ui,
            "taker fee, maker fee",
            format!("{} bp, {} bp", f64::from(spec.taker_fee_ppm) / 100.0, f64::from(spec.maker_fee_ppm) / 100.0),
        );
    });
    // cumulative depth: bids stepping down from the best bid, asks up from the best ask
    let cumulative = |levels: &[(u64, u64)]| -> Vec<[f64; 2]> {
        let mut total = 0.0;
        let mut pts = Vec::with_capacity(levels.len() * 2);
        for (tick, lots) in levels {
            pts.push([price(*tick), total]);
            total += *lots as f64 * lot;
            pts.push([price(*tick), total]);
        }
        pts
    };
    let bids = cumulative(&b.bids);
    let asks = cumulative(&b.asks);
    ui.label(format!("depth, {base} resting at or better than each price (20 levels a side)"));
    egui_plot::Plot::new(("book-depth", id.0))
        .height(160.0)
        .allow_scroll(false)
        .x_axis_label(quote.to_string())
        .legend(egui_plot::Legend::default())
        .show(ui, |p| {
            p.line(egui_plot::Line::new("bids", bids).color(egui::Color32::from_rgb(90, 190, 100)));
            p.line(egui_plot::Line::new("asks", asks).color(egui::Color32::from_rgb(220, 70, 90)));
            if external.is_finite() {
                p.vline(egui_plot::VLine::new("external", external).color(egui::Color32::GRAY));
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshsim_core::tx::DropReason;

    #[test]
    fn a_shortfall_reads_in_whole_tokens_of_its_token() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../worlds/vaults.ron");
        let s = meshsim_scenario::load_file(&path).expect("bundled world");
        let usdc = s.tokens.iter().position(|t| t.symbol == "USDC").expect("vaults.ron has USDC");
        let (_, dec) = token(&s, meshsim_scenario::TokenId(usdc as u16));
        assert_eq!(dec, 6);
        let short = Failure::Reverted(RevertReason::BelowMinimum {
            out: 25_557_235_034,
            min: 26_257_478_593,
            token: meshsim_scenario::TokenId(usdc as u16),
        });
        assert_eq!(failure(&s, &short), "output 25557.2 USDC below minimum 26257.5 USDC");
        // the base units the tables keep are still what the failure itself says
        assert_eq!(short.to_string(), "output 25557235034 below minimum 26257478593");
        let dropped = Failure::Dropped(DropReason::BlockFull);
        assert_eq!(failure(&s, &dropped), dropped.to_string());
    }
}
