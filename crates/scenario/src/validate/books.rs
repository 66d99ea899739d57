//! Order books and the agents that trade only on them (market makers, noise traders).

use super::Ctx;
use crate::limits;
use crate::model::*;
use crate::raw::*;

/// Fees a book may charge, bps: a taker fee up to 10 %.
const MAX_BOOK_FEE_BPS: f64 = 1_000.0;

/// The books: known, distinct tokens; a tick and a lot above zero whose product is a whole number
/// of quote base units (what one lot at one tick costs); fees in whole millionths, the maker's no
/// lower than minus the taker's (a rebate larger than the taker fee would pay out more than the
/// book takes).
pub(super) fn books(p: &mut Ctx, raw: &[RawBook]) -> Vec<BookSpec> {
    if raw.len() > limits::MAX_POOLS {
        p.problems.push("books", format!("expected at most {} books, found {}", limits::MAX_POOLS, raw.len()));
    }
    let mut out = Vec::new();
    for (k, b) in raw.iter().enumerate().take(limits::MAX_POOLS) {
        let path = format!("books[{k}]");
        if let Some(j) = raw[..k].iter().position(|o| o.name == b.name) {
            p.problems.push(format!("{path}.name"), format!("book name {:?} is also books[{j}]'s", b.name));
        }
        let base = p.token(&format!("{path}.base"), &b.base);
        let quote = p.token(&format!("{path}.quote"), &b.quote);
        if base.is_some() && base == quote {
            p.problems.push(format!("{path}.quote"), "the quote token must differ from the base token");
        }
        let lot_size = p.amount(&format!("{path}.lot_size"), base, &b.lot_size);
        let tick_size = p.amount(&format!("{path}.tick_size"), quote, &b.tick_size);
        if lot_size == Some(0) {
            p.problems.push(format!("{path}.lot_size"), "expected a lot above zero, found 0");
        }
        if tick_size == Some(0) {
            p.problems.push(format!("{path}.tick_size"), "expected a tick above zero, found 0");
        }
        let taker = fee(p, &format!("{path}.taker_fee_bps"), b.taker_fee_bps, 0.0);
        let maker = fee(p, &format!("{path}.maker_fee_bps"), b.maker_fee_bps, -MAX_BOOK_FEE_BPS);
        if let (Some(m), Some(t)) = (maker, taker)
            && i64::from(m) < -i64::from(t)
        {
            p.problems.push(
                format!("{path}.maker_fee_bps"),
                format!(
                    "a maker rebate of {} bp exceeds the taker fee of {} bp: the book would pay out more than it \
                     takes; expected at least -taker_fee_bps",
                    -b.maker_fee_bps, b.taker_fee_bps
                ),
            );
        }
        let (Some(base), Some(quote), Some(lot), Some(tick), Some(maker), Some(taker)) =
            (base, quote, lot_size, tick_size, maker, taker)
        else {
            continue;
        };
        if lot == 0 || tick == 0 {
            continue;
        }
        // one lot at one tick: tick (quote units per whole base) x lot (base units) / 10^decimals
        let one = 10u128.pow(u32::from(p.decimals[base.index()]));
        let Some(product) = tick.checked_mul(lot) else {
            p.problems.push(format!("{path}.lot_size"), "tick_size x lot_size does not fit in 128 bits");
            continue;
        };
        if product % one != 0 {
            p.problems.push(
                format!("{path}.tick_size"),
                format!(
                    "one lot ({} {}) at one tick ({} {}) is not a whole number of {} base units: choose a tick \
                     or a lot that make their product whole",
                    b.lot_size, b.base, b.tick_size, b.quote, b.quote
                ),
            );
            continue;
        }
        out.push(BookSpec {
            id: BookId(k as u32),
            name: b.name.clone(),
            base,
            quote,
            chain: p.token_chain[base.index()],
            lot_size: lot,
            tick_size: tick,
            tick_value: product / one,
            maker_fee_ppm: maker,
            taker_fee_ppm: taker as u32,
        });
    }
    out
}

/// A fee in bps, in [`min`, 1000], as whole millionths.
fn fee(p: &mut Ctx, path: &str, bps: f64, min: f64) -> Option<i32> {
    if !p.finite(path, bps, min, MAX_BOOK_FEE_BPS, "a fee in bps") {
        return None;
    }
    let ppm = bps * 100.0;
    let rounded = ppm.round();
    if (ppm - rounded).abs() > 1e-6 {
        p.problems.push(path, format!("expected a fee in whole hundredths of a bp, found {bps}"));
        return None;
    }
    Some(rounded as i32)
}

/// The book an agent names: its id, or a problem.
pub(super) fn book_named(p: &mut Ctx, path: &str, name: &str, books: &[RawBook]) -> Option<BookId> {
    let found = books.iter().position(|b| b.name == name).map(|k| BookId(k as u32));
    if found.is_none() {
        p.problems.push(path, crate::unknown("book", name, books.iter().map(|b| b.name.as_str())));
    }
    found
}

/// A size in base tokens as whole lots of a book (at least one).
fn lots(p: &mut Ctx, path: &str, text: &str, book: Option<&BookSpec>) -> Option<u64> {
    let b = book?;
    let units = p.amount(path, Some(b.base), text)?;
    if units == 0 || units % b.lot_size != 0 {
        p.problems.push(path, format!("expected a positive whole number of lots ({} base units each)", b.lot_size));
        return None;
    }
    match u64::try_from(units / b.lot_size) {
        Ok(n) => Some(n),
        Err(_) => {
            p.problems.push(path, "too many lots");
            None
        }
    }
}

/// A market maker's parameters.
pub(super) fn maker(p: &mut Ctx, path: &str, a: &RawMarketMaker, raw: &[RawBook], books: &[BookSpec]) -> AgentKind {
    let book = book_named(p, &format!("{path}.book"), &a.book, raw);
    let spec = book.and_then(|b| books.iter().find(|s| s.id == b));
    let lots_per_quote = lots(p, &format!("{path}.size"), &a.size, spec).unwrap_or(1);
    let max_inventory = match spec {
        Some(b) => p.amount(&format!("{path}.max_inventory"), Some(b.base), &a.max_inventory).map(|u| u / b.lot_size),
        None => None,
    };
    p.finite(&format!("{path}.risk_aversion"), a.risk_aversion, 0.0, 1e6, "a risk aversion per quote token");
    p.finite(&format!("{path}.depth_decay_bps"), a.depth_decay_bps, 1e-3, 10_000.0, "a distance in bps");
    p.finite(&format!("{path}.horizon_s"), a.horizon_s, 0.0, 1e9, "a horizon in seconds");
    p.finite(&format!("{path}.min_spread_bps"), a.min_spread_bps, 0.0, 10_000.0, "a spread in bps");
    p.finite(&format!("{path}.refresh_bps"), a.refresh_bps, 0.0, 10_000.0, "a distance in bps");
    ttl(p, path, a.order_ttl_blocks);
    AgentKind::MarketMaker(MakerParams {
        book: book.unwrap_or(BookId(0)),
        lots: lots_per_quote,
        risk_aversion: a.risk_aversion,
        depth_decay: a.depth_decay_bps * 1e-4,
        horizon_s: a.horizon_s,
        min_spread: a.min_spread_bps * 1e-4,
        max_inventory_lots: max_inventory.map_or(0, |n| u64::try_from(n).unwrap_or(u64::MAX)),
        refresh: a.refresh_bps * 1e-4,
        ttl_blocks: a.order_ttl_blocks,
    })
}

/// A noise trader's parameters.
pub(super) fn noise(p: &mut Ctx, path: &str, a: &RawNoiseTrader, raw: &[RawBook], books: &[BookSpec]) -> AgentKind {
    let book = book_named(p, &format!("{path}.book"), &a.book, raw);
    let spec = book.and_then(|b| books.iter().find(|s| s.id == b));
    let mean_lots = lots(p, &format!("{path}.mean_size"), &a.mean_size, spec).unwrap_or(1);
    for (field, v) in [
        ("market_orders_per_minute", a.market_orders_per_minute),
        ("limit_orders_per_minute", a.limit_orders_per_minute),
    ] {
        p.finite(&format!("{path}.{field}"), v, 0.0, 1e6, "orders a minute");
    }
    p.finite(&format!("{path}.limit_offset_bps"), a.limit_offset_bps, 0.0, 5_000.0, "a distance in bps");
    p.finite(&format!("{path}.max_slippage_bps"), a.max_slippage_bps, 0.0, 5_000.0, "a distance in bps");
    ttl(p, path, a.order_ttl_blocks);
    AgentKind::NoiseTrader(NoiseParams {
        book: book.unwrap_or(BookId(0)),
        market_rate: a.market_orders_per_minute / 60.0,
        limit_rate: a.limit_orders_per_minute / 60.0,
        mean_lots: mean_lots as f64,
        limit_offset: a.limit_offset_bps * 1e-4,
        max_slippage: a.max_slippage_bps * 1e-4,
        ttl_blocks: a.order_ttl_blocks,
    })
}

fn ttl(p: &mut Ctx, path: &str, blocks: u64) {
    if blocks == 0 || blocks > limits::MAX_BLOCKS {
        p.problems.push(
            format!("{path}.order_ttl_blocks"),
            format!("expected 1 to {} blocks, found {blocks}", limits::MAX_BLOCKS),
        );
    }
}

/// Each vault's books: known, of two tokens the vault holds or targets, on its chain (its deposit
/// token's); passive execution needs at least one, and its parameters in range.
pub(super) fn vault_books(
    p: &mut Ctx,
    raw: &[RawVault],
    raw_books: &[RawBook],
    books: &[BookSpec],
    vaults: &mut [VaultSpec],
) {
    for v in vaults.iter_mut() {
        let Some(rv) = raw.get(v.id.index()) else { continue };
        let path = format!("vaults[{}]", v.id.index());
        let universe = v.universe();
        for (i, name) in rv.books.iter().enumerate() {
            let at = format!("{path}.books[{i}]");
            let Some(id) = book_named(p, &at, name, raw_books) else { continue };
            let Some(b) = books.iter().find(|b| b.id == id) else { continue };
            for t in [b.base, b.quote] {
                if !universe.contains(&t) {
                    let symbol = p.symbols[t.index()].clone();
                    p.problems.push(
                        at.clone(),
                        format!("the vault neither holds nor targets {symbol:?}, a token of the book"),
                    );
                }
            }
            if b.chain != p.token_chain[v.deposit_token.index()] {
                p.problems.push(at.clone(), "the book is on another chain than the vault");
            }
            if v.books.contains(&id) {
                p.problems.push(at, format!("book {name:?} is listed twice"));
            } else {
                v.books.push(id);
            }
        }
        v.execution = match rv.execution {
            RawExecution::Active => Execution::Active,
            RawExecution::Passive(x) => {
                let at = format!("{path}.execution");
                if rv.books.is_empty() {
                    p.problems.push(at.clone(), "passive execution rests orders on books: list some in `books`");
                }
                p.finite(&format!("{at}.offset_bps"), x.offset_bps, 0.0, 1_000.0, "a distance in bps");
                p.finite(&format!("{at}.requote_bps"), x.requote_bps, 0.0, 10_000.0, "a distance in bps");
                if x.max_wait_blocks == 0 || x.max_wait_blocks > limits::MAX_BLOCKS {
                    p.problems.push(format!("{at}.max_wait_blocks"), "expected 1 block or more");
                }
                Execution::Passive {
                    offset: x.offset_bps * 1e-4,
                    requote: x.requote_bps * 1e-4,
                    max_wait_blocks: x.max_wait_blocks.max(1),
                }
            }
        };
    }
}
