//! A run's tables: the columns of each table (from the world: a price column per asset, a
//! balance column per pool token, a weight column per vault token) and rows made from the
//! simulation's records, written to any [`Sink`]: a file ([`crate::TableWriter`]) or columns in
//! memory ([`crate::Columns`]). One code path makes the CLI's files and the Python package's
//! Arrow tables, so they agree cell for cell.

use meshsim_core::Simulation;
use meshsim_core::record::{BlockRow, TradeRow, VaultRow};
use meshsim_core::tx::Sender;
use meshsim_scenario::Scenario;

use crate::error::TableError;
use crate::schema::{Cell, ColType, Sink};

/// Which tables a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSet {
    /// One row per block.
    pub blocks: bool,
    /// One row per included transaction.
    pub trades: bool,
    /// One row per vault per block (worlds with vaults).
    pub vaults: bool,
    /// One row per cascade.
    pub cascades: bool,
    /// One row per lending reserve per block (worlds with lending markets).
    pub lending: bool,
    /// One row per bridge transfer (worlds with bridges).
    pub bridges: bool,
    /// One row per order book per block (worlds with books).
    pub book: bool,
    /// One row per order-book fill (worlds with books).
    pub fills: bool,
}

/// Every table's name, in the order they are written.
pub const TABLE_NAMES: [&str; 8] = ["blocks", "trades", "vaults", "lending", "bridges", "book", "fills", "cascades"];

impl TableSet {
    /// Every table.
    pub const ALL: TableSet = TableSet {
        blocks: true,
        trades: true,
        vaults: true,
        cascades: true,
        lending: true,
        bridges: true,
        book: true,
        fills: true,
    };
    /// No table: the summary only.
    pub const NONE: TableSet = TableSet {
        blocks: false,
        trades: false,
        vaults: false,
        cascades: false,
        lending: false,
        bridges: false,
        book: false,
        fills: false,
    };

    /// Whether any per-block rows are needed (the simulation records only then).
    pub fn any_rows(self) -> bool {
        self.blocks
            || self.trades
            || self.vaults
            || self.cascades
            || self.lending
            || self.bridges
            || self.book
            || self.fills
    }

    /// `all`, `none`, or a comma-separated list of table names.
    pub fn parse(text: &str) -> Result<TableSet, String> {
        match text {
            "all" => return Ok(TableSet::ALL),
            "none" => return Ok(TableSet::NONE),
            _ => {}
        }
        let mut set = TableSet::NONE;
        for name in text.split(',') {
            match name.trim() {
                "blocks" => set.blocks = true,
                "trades" => set.trades = true,
                "vaults" => set.vaults = true,
                "cascades" => set.cascades = true,
                "lending" => set.lending = true,
                "bridges" => set.bridges = true,
                "book" => set.book = true,
                "fills" => set.fills = true,
                other => {
                    return Err(format!(
                        "unknown table {other:?}: expected all, none, or a list of blocks, trades, vaults, \
                         cascades, lending, bridges, book, fills"
                    ));
                }
            }
        }
        Ok(set)
    }
}

/// Columns of the `cascades` table.
pub fn cascade_columns() -> Vec<(String, ColType)> {
    [
        ("root_block", ColType::U64),
        ("root_txs", ColType::Str),
        ("members", ColType::U64),
        ("member_txs", ColType::Str),
        ("depth", ColType::U64),
        ("rebalances", ColType::U64),
        ("liquidations", ColType::U64),
        ("volume", ColType::F64),
        ("root_volume", ColType::F64),
        ("amplification", ColType::F64),
        ("end_block", ColType::U64),
        ("duration_blocks", ColType::U64),
        ("blocks_to_recover", ColType::OptU64),
        ("pools", ColType::Str),
        ("links", ColType::Str),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t))
    .collect()
}

/// Writes a row per cascade the run has seen so far (cascades still growing included).
pub fn write_cascades<S: Sink>(s: &Scenario, sim: &Simulation, table: &mut S) -> Result<(), TableError> {
    let ids = |v: &[meshsim_core::tx::TxId]| id_list(v.iter().map(|t| t.0));
    for (c, recover) in sim.cascades() {
        table.write_row(&[
            Cell::U64(c.root_block),
            Cell::Str(ids(&c.roots)),
            Cell::U64(c.members.len() as u64),
            Cell::Str(ids(&c.members)),
            Cell::U64(u64::from(c.depth)),
            Cell::U64(u64::from(c.rebalances)),
            Cell::U64(u64::from(c.liquidations)),
            Cell::F64(c.volume),
            Cell::F64(c.root_volume),
            Cell::F64(c.amplification()),
            Cell::U64(c.end_block),
            Cell::U64(c.duration()),
            Cell::OptU64(recover),
            Cell::Str(c.pools.iter().map(|p| s.pools[p.index()].name.as_str()).collect::<Vec<_>>().join(";")),
            Cell::Str(c.links.iter().map(|(a, b)| format!("{}>{}", a.0, b.0)).collect::<Vec<_>>().join(";")),
        ])?;
    }
    Ok(())
}

/// Transaction ids as a JSON array (`[12,13]`, `[]`): never read as a number by a CSV reader
/// that infers column types from the first rows.
fn id_list(ids: impl Iterator<Item = u64>) -> String {
    let inner: Vec<String> = ids.map(|i| i.to_string()).collect();
    format!("[{}]", inner.join(","))
}

/// Tokens of other chains that take a market asset's price, in id order.
fn linked_priced(s: &Scenario) -> impl Iterator<Item = meshsim_scenario::TokenId> + '_ {
    s.tokens.iter().enumerate().filter_map(|(k, t)| {
        let linked = t.asset.index() != k && s.market.assets.iter().any(|a| a.token == t.asset);
        linked.then_some(meshsim_scenario::TokenId(k as u16))
    })
}

pub(crate) fn genesis_price(s: &Scenario, t: meshsim_scenario::TokenId) -> f64 {
    if t == s.numeraire {
        return 1.0;
    }
    s.market.assets.iter().find(|a| a.token == t).map_or(0.0, |a| a.price)
}

/// The name of a transaction's sender.
pub fn sender_name(s: &Scenario, sender: Sender) -> String {
    match sender {
        Sender::Agent(a) => s.agents[a.index()].name.clone(),
        Sender::Vault(v) => s.vaults[v.index()].name.clone(),
    }
}

/// The tables of a run being recorded, each into its sink.
pub struct Recorder<S> {
    blocks: Option<S>,
    trades: Option<S>,
    vaults: Option<(S, Vec<meshsim_scenario::TokenId>)>,
    lending: Option<S>,
    bridges: Option<S>,
    book: Option<S>,
    fills: Option<S>,
}

impl<S: Sink> Recorder<S> {
    /// Opens a sink (by `open(table name, columns)`) for each table of `set` the world has.
    pub fn new<E>(
        s: &Scenario,
        set: TableSet,
        mut open: impl FnMut(&'static str, Vec<(String, ColType)>) -> Result<S, E>,
    ) -> Result<Self, E> {
        let mut cols = vec![
            ("block".to_string(), ColType::U64),
            ("chain".to_string(), ColType::Str),
            ("timestamp".to_string(), ColType::F64),
            ("base_fee_wei".to_string(), ColType::Amount),
            ("gas_used".to_string(), ColType::U64),
        ];
        for a in &s.market.assets {
            cols.push((format!("price_{}", s.tokens[a.token.index()].symbol), ColType::F64));
        }
        // other chains' tokens of those assets (one price, but a column per token, so that each
        // pool finds its tokens' prices)
        for t in linked_priced(s) {
            cols.push((format!("price_{}", s.tokens[t.index()].symbol), ColType::F64));
        }
        for p in &s.pools {
            cols.push((format!("{}_price", p.name), ColType::F64));
            for t in &p.tokens {
                cols.push((format!("{}_{}", p.name, s.tokens[t.index()].symbol), ColType::Amount));
            }
        }
        let trade_cols = [
            ("block", ColType::U64),
            ("chain", ColType::Str),
            ("index", ColType::U64),
            ("sender", ColType::Str),
            ("kind", ColType::Str),
            ("pools", ColType::Str),
            ("token_in", ColType::Str),
            ("token_out", ColType::Str),
            ("amount_in", ColType::Amount),
            ("amount_out", ColType::Amount),
            ("gas_used", ColType::U64),
            ("gas_fee_wei", ColType::Amount),
            ("reverted", ColType::Bool),
            ("revert_reason", ColType::Str),
            ("profit", ColType::F64),
            ("tx_id", ColType::U64),
            ("cause", ColType::Str),
            ("cause_txs", ColType::Str),
            ("note", ColType::Str),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
        let vaults = if s.vaults.is_empty() || !set.vaults {
            None
        } else {
            // one weight and one target column per token any vault holds or targets
            let mut tokens: Vec<meshsim_scenario::TokenId> = s
                .vaults
                .iter()
                .flat_map(|v| {
                    let mut t: Vec<_> = v.holdings.iter().map(|(t, _)| *t).collect();
                    t.push(v.deposit_token);
                    match &v.strategy {
                        meshsim_scenario::Strategy::ConstantMix { targets } => {
                            t.extend(targets.iter().map(|(x, _)| *x))
                        }
                        meshsim_scenario::Strategy::Cppi { risky, safe, .. } => t.extend([*risky, *safe]),
                        meshsim_scenario::Strategy::Leveraged { risky, debt, .. } => t.extend([*risky, *debt]),
                    }
                    t
                })
                .collect();
            tokens.sort();
            tokens.dedup();
            let mut cols: Vec<(String, ColType)> = [
                ("block", ColType::U64),
                ("vault", ColType::Str),
                ("nav", ColType::F64),
                ("share_price", ColType::F64),
                ("shares", ColType::Amount),
                ("tracking_error", ColType::F64),
                ("band", ColType::F64),
                ("rebalancing", ColType::Bool),
                ("hold_nav", ColType::F64),
                ("continuous_nav", ColType::F64),
            ]
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect();
            for t in &tokens {
                cols.push((format!("weight_{}", s.tokens[t.index()].symbol), ColType::F64));
            }
            for t in &tokens {
                cols.push((format!("target_{}", s.tokens[t.index()].symbol), ColType::F64));
            }
            Some((open("vaults", cols)?, tokens))
        };
        let lending = if s.lending.is_empty() || !set.lending {
            None
        } else {
            let cols = [
                ("block", ColType::U64),
                ("market", ColType::Str),
                ("token", ColType::Str),
                ("price", ColType::F64),
                ("utilization", ColType::F64),
                ("borrow_rate", ColType::F64),
                ("supply_rate", ColType::F64),
                ("liquidity_index", ColType::F64),
                ("borrow_index", ColType::F64),
                ("available", ColType::Amount),
                ("borrowed", ColType::Amount),
                ("deficit", ColType::Amount),
                ("liquidations", ColType::U64),
                ("debt_liquidated", ColType::Amount),
                ("collateral_seized", ColType::Amount),
                ("under_water", ColType::U64),
            ]
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect();
            Some(open("lending", cols)?)
        };
        let bridges = if s.bridges.is_empty() || !set.bridges {
            None
        } else {
            let cols = [
                ("bridge", ColType::Str),
                ("transfer", ColType::U64),
                ("from_chain", ColType::Str),
                ("to_chain", ColType::Str),
                ("token_from", ColType::Str),
                ("token_to", ColType::Str),
                ("sender", ColType::Str),
                ("amount", ColType::Amount),
                ("fee", ColType::Amount),
                ("sent_at", ColType::F64),
                ("done_at", ColType::OptF64),
                ("status", ColType::Str),
            ]
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect();
            Some(open("bridges", cols)?)
        };
        let named = |list: &[(&str, ColType)]| list.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        let book = if s.books.is_empty() || !set.book {
            None
        } else {
            let list = [
                ("block", ColType::U64),
                ("chain", ColType::Str),
                ("timestamp", ColType::F64),
                ("book", ColType::Str),
                ("best_bid", ColType::OptF64),
                ("best_ask", ColType::OptF64),
                ("spread_bps", ColType::OptF64),
                ("external", ColType::F64),
                ("bid_depth_10bp", ColType::F64),
                ("ask_depth_10bp", ColType::F64),
                ("bid_depth_50bp", ColType::F64),
                ("ask_depth_50bp", ColType::F64),
                ("bid_depth_1pct", ColType::F64),
                ("ask_depth_1pct", ColType::F64),
                ("orders", ColType::U64),
            ];
            Some(open("book", named(&list))?)
        };
        let fills = if s.books.is_empty() || !set.fills {
            None
        } else {
            let list = [
                ("block", ColType::U64),
                ("chain", ColType::Str),
                ("book", ColType::Str),
                ("tx_id", ColType::U64),
                ("taker", ColType::Str),
                ("maker", ColType::Str),
                ("maker_order", ColType::U64),
                ("taker_side", ColType::Str),
                ("price", ColType::F64),
                ("base", ColType::Amount),
                ("quote", ColType::Amount),
                ("taker_fee", ColType::Amount),
                ("maker_fee", ColType::Amount),
                ("maker_rebate", ColType::Amount),
                ("external", ColType::F64),
            ];
            Some(open("fills", named(&list))?)
        };
        Ok(Recorder {
            book,
            fills,
            bridges,
            lending,
            blocks: if set.blocks { Some(open("blocks", cols)?) } else { None },
            trades: if set.trades { Some(open("trades", trade_cols)?) } else { None },
            vaults,
        })
    }

    fn write(&mut self, s: &Scenario, blocks: &[BlockRow], trades: &[TradeRow]) -> Result<(), TableError> {
        let mut row = Vec::new();
        let blocks = if self.blocks.is_some() { blocks } else { &[] };
        let trades = if self.trades.is_some() { trades } else { &[] };
        for b in blocks {
            row.clear();
            row.extend([
                Cell::U64(b.block),
                Cell::Str(s.chains[b.chain.index()].name.clone()),
                Cell::F64(b.timestamp),
                Cell::Amount(b.base_fee_wei),
                Cell::U64(b.gas_used),
            ]);
            row.extend(s.market.assets.iter().map(|a| Cell::F64(b.prices[a.token.index()])));
            row.extend(linked_priced(s).map(|t| Cell::F64(b.prices[t.index()])));
            for p in &b.pools {
                row.push(Cell::F64(p.price));
                row.extend(p.balances.iter().map(|v| Cell::Amount(*v)));
            }
            if let Some(t) = &mut self.blocks {
                t.write_row(&row)?;
            }
        }
        for t in trades {
            let sym = |id: meshsim_scenario::TokenId| s.tokens[id.index()].symbol.clone();
            let pools: Vec<&str> = t.pools.iter().map(|p| s.pools[p.index()].name.as_str()).collect();
            let Some(table) = &mut self.trades else { break };
            table.write_row(&[
                Cell::U64(t.block),
                Cell::Str(s.chains[t.chain.index()].name.clone()),
                Cell::U64(u64::from(t.index)),
                Cell::Str(sender_name(s, t.sender)),
                Cell::Str(t.kind.name().to_string()),
                Cell::Str(pools.join(">")),
                Cell::Str(sym(t.token_in)),
                Cell::Str(sym(t.token_out)),
                Cell::Amount(t.amount_in),
                Cell::Amount(t.amount_out),
                Cell::U64(t.gas_used),
                Cell::Amount(t.gas_fee_wei),
                Cell::Bool(t.reverted),
                Cell::Str(t.revert_reason.clone()),
                Cell::F64(t.profit),
                Cell::U64(t.tx_id.0),
                Cell::Str(t.cause.name().into()),
                Cell::Str(id_list(t.cause.parents().iter().map(|p| p.0))),
                Cell::Str(t.note.clone()),
            ])?;
        }
        Ok(())
    }

    fn write_vaults(&mut self, s: &Scenario, rows: &[VaultRow]) -> Result<(), TableError> {
        let Some((table, tokens)) = &mut self.vaults else { return Ok(()) };
        for r in rows {
            let mut row = vec![
                Cell::U64(r.block),
                Cell::Str(s.vaults[r.vault.index()].name.clone()),
                Cell::F64(r.nav),
                Cell::F64(r.share_price),
                Cell::Amount(r.shares),
                Cell::F64(r.tracking_error),
                Cell::F64(r.band),
                Cell::Bool(r.rebalancing),
                Cell::F64(r.hold_nav),
                Cell::F64(r.continuous_nav),
            ];
            let lookup = |values: &[f64], t| r.tokens.iter().position(|x| *x == t).map_or(0.0, |k| values[k]);
            row.extend(tokens.iter().map(|t| Cell::F64(lookup(&r.weights, *t))));
            row.extend(tokens.iter().map(|t| Cell::F64(lookup(&r.targets, *t))));
            table.write_row(&row)?;
        }
        Ok(())
    }

    fn write_bridges(&mut self, s: &Scenario, rows: &[meshsim_core::bridges::BridgeRow]) -> Result<(), TableError> {
        let Some(table) = &mut self.bridges else { return Ok(()) };
        let chain_of = |t: meshsim_scenario::TokenId| s.chains[s.tokens[t.index()].chain.index()].name.clone();
        for r in rows {
            table.write_row(&[
                Cell::Str(s.bridges[r.bridge.index()].name.clone()),
                Cell::U64(r.transfer),
                Cell::Str(chain_of(r.from)),
                Cell::Str(chain_of(r.to)),
                Cell::Str(s.tokens[r.from.index()].symbol.clone()),
                Cell::Str(s.tokens[r.to.index()].symbol.clone()),
                Cell::Str(r.sender.map(|x| sender_name(s, x)).unwrap_or_default()),
                Cell::Amount(r.amount),
                Cell::Amount(r.fee),
                Cell::F64(r.sent_at),
                Cell::OptF64(r.done_at),
                Cell::Str(r.status.to_string()),
            ])?;
        }
        Ok(())
    }

    fn write_books(
        &mut self,
        s: &Scenario,
        rows: &[meshsim_core::books::BookRow],
        fills: &[meshsim_core::books::FillRow],
    ) -> Result<(), TableError> {
        if let Some(table) = &mut self.book {
            for r in rows {
                let spec = &s.books[r.book.index()];
                let spread = match (r.best_bid, r.best_ask) {
                    (Some(b), Some(a)) => Some((a - b) / ((a + b) / 2.0) * 1e4),
                    _ => None,
                };
                let mut row = vec![
                    Cell::U64(r.block),
                    Cell::Str(s.chains[spec.chain.index()].name.clone()),
                    Cell::F64(r.timestamp),
                    Cell::Str(spec.name.clone()),
                    Cell::OptF64(r.best_bid),
                    Cell::OptF64(r.best_ask),
                    Cell::OptF64(spread),
                    Cell::F64(r.external),
                ];
                for (b, a) in r.depth {
                    row.extend([Cell::F64(b), Cell::F64(a)]);
                }
                row.push(Cell::U64(r.orders));
                table.write_row(&row)?;
            }
        }
        if let Some(table) = &mut self.fills {
            for f in fills {
                let spec = &s.books[f.book.index()];
                table.write_row(&[
                    Cell::U64(f.block),
                    Cell::Str(s.chains[spec.chain.index()].name.clone()),
                    Cell::Str(spec.name.clone()),
                    Cell::U64(f.tx_id.0),
                    Cell::Str(sender_name(s, f.taker)),
                    Cell::Str(sender_name(s, f.maker)),
                    Cell::U64(f.maker_order),
                    Cell::Str(if f.taker_buys { "buy" } else { "sell" }.to_string()),
                    Cell::F64(f.price),
                    Cell::Amount(f.base),
                    Cell::Amount(f.quote),
                    Cell::Amount(f.taker_fee),
                    Cell::Amount(if f.maker_fee > 0 { f.maker_fee.unsigned_abs() } else { 0 }),
                    Cell::Amount(if f.maker_fee < 0 { f.maker_fee.unsigned_abs() } else { 0 }),
                    Cell::F64(f.external),
                ])?;
            }
        }
        Ok(())
    }

    fn write_lending(&mut self, s: &Scenario, rows: &[meshsim_core::record::LendingRow]) -> Result<(), TableError> {
        let Some(table) = &mut self.lending else { return Ok(()) };
        for r in rows {
            table.write_row(&[
                Cell::U64(r.block),
                Cell::Str(s.lending[r.market.0 as usize].name.clone()),
                Cell::Str(s.tokens[r.token.index()].symbol.clone()),
                Cell::F64(r.price),
                Cell::F64(r.utilization),
                Cell::F64(r.borrow_rate),
                Cell::F64(r.supply_rate),
                Cell::F64(r.liquidity_index),
                Cell::F64(r.borrow_index),
                Cell::Amount(r.available),
                Cell::Amount(r.borrowed),
                Cell::Amount(r.deficit),
                Cell::U64(r.liquidations),
                Cell::Amount(r.debt_liquidated),
                Cell::Amount(r.collateral_seized),
                Cell::U64(r.under_water),
            ])?;
        }
        Ok(())
    }

    /// Moves every row the simulation recorded since the last call into the sinks.
    pub fn drain(&mut self, s: &Scenario, sim: &mut Simulation) -> Result<(), TableError> {
        let (block_rows, trade_rows) = sim.drain_records();
        self.write(s, &block_rows, &trade_rows)?;
        self.write_vaults(s, &sim.drain_vault_records())?;
        self.write_lending(s, &sim.drain_lending_records())?;
        self.write_bridges(s, &sim.drain_bridge_records())?;
        self.write_books(s, &sim.drain_book_rows(), &sim.drain_fill_rows())
    }

    /// Ends the run: drains what is left and adds a row for each bridge transfer still in
    /// flight; returns the sinks by table name, in the order blocks, trades, vaults, lending,
    /// bridges, book, fills.
    pub fn finish(mut self, s: &Scenario, sim: &mut Simulation) -> Result<Vec<(&'static str, S)>, TableError> {
        self.drain(s, sim)?;
        if let Some(b) = sim.bridges() {
            let rows = b.in_flight_rows();
            self.write_bridges(s, &rows)?;
        }
        let named = [
            ("blocks", self.blocks),
            ("trades", self.trades),
            ("vaults", self.vaults.map(|(t, _)| t)),
            ("lending", self.lending),
            ("bridges", self.bridges),
            ("book", self.book),
            ("fills", self.fills),
        ];
        Ok(named.into_iter().filter_map(|(n, t)| t.map(|t| (n, t))).collect())
    }

    /// Adds rows for bridge transfers still in flight (at the end of a run).
    pub fn write_in_flight(
        &mut self,
        s: &Scenario,
        rows: &[meshsim_core::bridges::BridgeRow],
    ) -> Result<(), TableError> {
        self.write_bridges(s, rows)
    }

    /// The sinks as they stand (for reading rows recorded so far), by table name.
    pub fn sinks(&self) -> Vec<(&'static str, &S)> {
        let named = [
            ("blocks", self.blocks.as_ref()),
            ("trades", self.trades.as_ref()),
            ("vaults", self.vaults.as_ref().map(|(t, _)| t)),
            ("lending", self.lending.as_ref()),
            ("bridges", self.bridges.as_ref()),
            ("book", self.book.as_ref()),
            ("fills", self.fills.as_ref()),
        ];
        named.into_iter().filter_map(|(n, t)| t.map(|t| (n, t))).collect()
    }
}
