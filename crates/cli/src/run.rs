//! `meshsim run`: simulate a world and write `blocks`, `trades` and `summary.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use meshsim_core::record::{BlockRow, TradeRow, VaultRow};
use meshsim_core::tx::Sender;
use meshsim_core::{SimOptions, Simulation};
use meshsim_scenario::{AgentKind, Scenario};
use serde_json::json;

use crate::output::{self, Cell, ColType, Format, OutputSet, TableWriter, Written, write_atomic};

/// Arguments of `meshsim run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The world file (RON).
    pub world: PathBuf,
    /// Seed (default: the world's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Blocks to run (default: the world's).
    #[arg(long)]
    pub blocks: Option<u64>,
    /// Output directory (default: out/NAME, NAME being the world's name).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Table format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Tables to write: `all`, `none` (summary.json and timing.json only: the engine alone, as the
    /// benchmarks measure it), or a comma-separated list of blocks, trades, vaults, cascades, lending.
    #[arg(long, default_value = "all", value_parser = parse_tables)]
    pub tables: TableSet,
    /// Write a `vaults` row every K blocks.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub vault_every: u64,
    /// Replay a command log saved by the GUI (shocks and vault changes at their blocks); its
    /// seed and block count apply unless given here.
    #[arg(long, value_name = "FILE")]
    pub commands: Option<PathBuf>,
    /// No progress bar and no table of headline figures.
    #[arg(long)]
    pub quiet: bool,
}

/// Which tables a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSet {
    blocks: bool,
    trades: bool,
    vaults: bool,
    cascades: bool,
    lending: bool,
    bridges: bool,
    book: bool,
    fills: bool,
}

impl TableSet {
    fn any_rows(self) -> bool {
        self.blocks
            || self.trades
            || self.vaults
            || self.cascades
            || self.lending
            || self.bridges
            || self.book
            || self.fills
    }
}

fn parse_tables(text: &str) -> Result<TableSet, String> {
    let none = TableSet {
        blocks: false,
        trades: false,
        vaults: false,
        cascades: false,
        lending: false,
        bridges: false,
        book: false,
        fills: false,
    };
    match text {
        "all" => {
            return Ok(TableSet {
                blocks: true,
                trades: true,
                vaults: true,
                cascades: true,
                lending: true,
                bridges: true,
                book: true,
                fills: true,
            });
        }
        "none" => return Ok(none),
        _ => {}
    }
    let mut set = none;
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
                    "unknown table {other:?}: expected all, none, or a list of blocks, trades, vaults, cascades, \
                     lending, bridges, book, fills"
                ));
            }
        }
    }
    Ok(set)
}

/// Rows are drained from the simulation this often.
const DRAIN_EVERY: u64 = 512;

pub fn run(args: &RunArgs) -> Result<()> {
    let mut scenario = meshsim_scenario::load_file(&args.world)?;
    let log = match &args.commands {
        Some(path) => Some(meshsim_scenario::commands::load_commands(path, &scenario)?),
        None => None,
    };
    if let Some(log) = &log {
        if let Some(seed) = args.seed {
            anyhow::ensure!(seed == log.seed, "--seed {seed} differs from the command log's seed {}", log.seed);
        }
        scenario.seed = log.seed;
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let blocks = args.blocks.or(log.as_ref().map(|l| l.blocks)).unwrap_or(scenario.blocks);
    anyhow::ensure!(
        blocks <= meshsim_scenario::limits::MAX_BLOCKS,
        "at most {} blocks",
        meshsim_scenario::limits::MAX_BLOCKS
    );
    let target = args.out.clone().unwrap_or_else(|| Path::new("out").join(&scenario.name));
    // everything is written beside the target and swapped in whole at the end
    let set = OutputSet::begin(&target)?;
    let out_dir = set.dir().to_path_buf();

    let options = SimOptions { record: args.tables.any_rows(), vault_every: args.vault_every, ..SimOptions::default() };
    let mut sim = Simulation::with_options(&scenario, options)?;
    let mut tables = Tables::create(&out_dir, args.format, &scenario, args.tables)?;

    let progress = if args.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(blocks) };
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} blocks ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    #[expect(clippy::disallowed_methods, reason = "wall-clock throughput of the front end, never part of results")]
    let started = std::time::Instant::now();
    let mut done = 0u64;
    while done < blocks {
        let mut n = DRAIN_EVERY.min(blocks - done);
        if let Some(log) = &log {
            for c in log.at(done) {
                sim.apply(c)?;
            }
            // stop at the next command's block
            if let Some(next) = log.commands.iter().map(|c| c.block).find(|b| *b > done) {
                n = n.min(next - done);
            }
        }
        sim.run_blocks(n).with_context(|| format!("world {:?} seed {}", scenario.name, scenario.seed))?;
        done += n;
        let (block_rows, trade_rows) = sim.drain_records();
        tables.write(&scenario, &block_rows, &trade_rows)?;
        tables.write_vaults(&scenario, &sim.drain_vault_records())?;
        tables.write_lending(&scenario, &sim.drain_lending_records())?;
        tables.write_bridges(&scenario, &sim.drain_bridge_records())?;
        tables.write_books(&scenario, &sim.drain_book_rows(), &sim.drain_fill_rows())?;
        progress.set_position(done);
    }
    // transfers still on their way when the run ends: rows too, marked in flight
    if let Some(b) = sim.bridges() {
        tables.write_bridges(&scenario, &b.in_flight_rows())?;
    }
    // commands given after the last block still belong to the session
    if let Some(log) = &log {
        for c in log.at(done) {
            sim.apply(c)?;
        }
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let mut written = tables.finish()?;
    if args.tables.cascades {
        written.push(write_cascades(&out_dir, args.format, &scenario, &sim)?);
    }

    if !written.is_empty() {
        let schema = format!("{}\n", serde_json::to_string_pretty(&output::schema(&written))?);
        write_atomic(&out_dir.join("schema.json"), schema.as_bytes())?;
    }
    let summary = summary(&scenario, &mut sim, blocks, &written);
    write_atomic(&out_dir.join("summary.json"), format!("{}\n", serde_json::to_string_pretty(&summary)?).as_bytes())?;
    // wall-clock figures live apart so that summary.json stays byte-identical across runs
    let timing =
        json!({ "blocks": blocks, "wall_seconds": seconds, "blocks_per_second": blocks as f64 / seconds.max(1e-9) });
    write_atomic(&out_dir.join("timing.json"), format!("{}\n", serde_json::to_string_pretty(&timing)?).as_bytes())?;

    say!(
        "ran {blocks} blocks of {:?} (seed {}) in {seconds:.2} s ({:.0} blocks/s)",
        scenario.name,
        scenario.seed,
        blocks as f64 / seconds.max(1e-9)
    );
    set.commit()?;
    if !args.quiet {
        for line in crate::report::render(&crate::report::headline(&summary), 12).lines() {
            say!("{line}");
        }
    }
    let mut files: Vec<String> = written.iter().map(Written::file_name).collect();
    if !written.is_empty() {
        files.push("schema.json".into());
    }
    files.extend(["summary.json".into(), "timing.json".into()]);
    say!("outputs in {}: {}", target.display(), files.join(", "));
    Ok(())
}

/// Writes the `cascades` table.
fn write_cascades(dir: &Path, format: Format, s: &Scenario, sim: &Simulation) -> Result<Written> {
    let cols: Vec<(String, ColType)> = [
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
    .collect();
    let mut table = TableWriter::create(dir, "cascades", format, cols)?;
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
    table.finish()
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

fn genesis_price(s: &Scenario, t: meshsim_scenario::TokenId) -> f64 {
    if t == s.numeraire {
        return 1.0;
    }
    s.market.assets.iter().find(|a| a.token == t).map_or(0.0, |a| a.price)
}

fn sender_name(s: &Scenario, sender: Sender) -> String {
    match sender {
        Sender::Agent(a) => s.agents[a.index()].name.clone(),
        Sender::Vault(v) => s.vaults[v.index()].name.clone(),
    }
}

/// `{"blocks": "blocks.csv", ...}` for the tables written.
fn output_names(written: &[Written]) -> serde_json::Value {
    written
        .iter()
        .map(|w| (w.table(), serde_json::Value::String(w.file_name())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

struct Tables {
    blocks: Option<TableWriter>,
    trades: Option<TableWriter>,
    vaults: Option<(TableWriter, Vec<meshsim_scenario::TokenId>)>,
    lending: Option<TableWriter>,
    bridges: Option<TableWriter>,
    book: Option<TableWriter>,
    fills: Option<TableWriter>,
}

impl Tables {
    fn create(dir: &Path, format: Format, s: &Scenario, set: TableSet) -> Result<Self> {
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
            Some((TableWriter::create(dir, "vaults", format, cols)?, tokens))
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
            Some(TableWriter::create(dir, "lending", format, cols)?)
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
            Some(TableWriter::create(dir, "bridges", format, cols)?)
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
            Some(TableWriter::create(dir, "book", format, named(&list))?)
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
            Some(TableWriter::create(dir, "fills", format, named(&list))?)
        };
        Ok(Tables {
            book,
            fills,
            bridges,
            lending,
            blocks: if set.blocks { Some(TableWriter::create(dir, "blocks", format, cols)?) } else { None },
            trades: if set.trades { Some(TableWriter::create(dir, "trades", format, trade_cols)?) } else { None },
            vaults,
        })
    }

    fn write(&mut self, s: &Scenario, blocks: &[BlockRow], trades: &[TradeRow]) -> Result<()> {
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

    fn write_vaults(&mut self, s: &Scenario, rows: &[VaultRow]) -> Result<()> {
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

    fn write_bridges(&mut self, s: &Scenario, rows: &[meshsim_core::bridges::BridgeRow]) -> Result<()> {
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
    ) -> Result<()> {
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

    fn write_lending(&mut self, s: &Scenario, rows: &[meshsim_core::record::LendingRow]) -> Result<()> {
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

    /// Closes every table; returns the files written, in the order blocks, trades, vaults, lending.
    fn finish(self) -> Result<Vec<Written>> {
        let tables =
            [self.blocks, self.trades, self.vaults.map(|(t, _)| t), self.lending, self.bridges, self.book, self.fills];
        tables.into_iter().flatten().map(TableWriter::finish).collect()
    }
}

fn summary(s: &Scenario, sim: &mut Simulation, blocks: u64, written: &[Written]) -> serde_json::Value {
    let mut summary = summary_without_lending(s, sim, blocks, written);
    if let Some(map) = summary.as_object_mut() {
        if !sim.lending().is_empty() {
            map.insert("lending".into(), lending_summary(s, sim.lending()));
        }
        if let Some(b) = sim.bridges() {
            map.insert("bridges".into(), bridges_summary(s, b));
        }
        if let Some(g) = sim.chain_gaps() {
            map.insert("chain_gaps".into(), gaps_summary(s, g));
        }
        if let Some(b) = sim.books() {
            map.insert("books".into(), books_summary(s, b));
        }
    }
    summary
}

/// Per bridge and token pair: transfers sent, delivered, refunded, volume and fees (base units,
/// exact), mean and longest seconds to delivery, the most outstanding at once, what is still in
/// flight, and how long it was halted.
fn bridges_summary(s: &Scenario, bridges: &meshsim_core::bridges::Bridges) -> serde_json::Value {
    let list: Vec<serde_json::Value> = bridges
        .list
        .iter()
        .map(|b| {
            let pairs: Vec<serde_json::Value> = b
                .pairs
                .iter()
                .map(|p| {
                    let st = &p.stats;
                    json!({
                        "tokens": [s.tokens[p.tokens.0.index()].symbol, s.tokens[p.tokens.1.index()].symbol],
                        "sent": st.sent,
                        "delivered": st.delivered,
                        "refunded": st.refunded,
                        "volume": st.volume.to_string(),
                        "fees": st.fees.to_string(),
                        "mean_seconds_to_delivery": if st.delivered > 0 { st.latency_sum / st.delivered as f64 } else { 0.0 },
                        "max_seconds_to_delivery": st.latency_max,
                        "max_outstanding": st.max_outstanding.to_string(),
                        "in_flight": p.model.outstanding().to_string(),
                    })
                })
                .collect();
            json!({
                "name": b.name,
                "chains": [s.chains[b.chains.0.index()].name, s.chains[b.chains.1.index()].name],
                "halted_seconds": b.halted_seconds,
                "pairs": pairs,
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// Per book: orders, fills, volume (base units, exact), fees; each maker's fills valued at the
/// external price (edge, fees, losses to arbitrageurs and searchers) and each taker's cost.
fn books_summary(s: &Scenario, books: &meshsim_core::books::Books) -> serde_json::Value {
    let list: Vec<serde_json::Value> = books
        .list
        .iter()
        .map(|b| {
            let st = &b.stats;
            let makers: Vec<serde_json::Value> = b
                .makers
                .iter()
                .map(|(who, m)| {
                    json!({
                        "name": sender_name(s, *who),
                        "fills": m.fills,
                        "volume": m.volume,
                        "edge": m.edge,
                        "fees": m.fees,
                        "pnl": m.edge - m.fees,
                        "picked_off": m.picked_off,
                    })
                })
                .collect();
            let takers: Vec<serde_json::Value> = b
                .takers
                .iter()
                .map(|(who, t)| {
                    json!({
                        "name": sender_name(s, *who),
                        "fills": t.fills,
                        "volume": t.volume,
                        "cost": t.cost,
                        "cost_bps": if t.volume > 0.0 { t.cost / t.volume * 1e4 } else { 0.0 },
                    })
                })
                .collect();
            json!({
                "name": b.spec.name,
                "orders_placed": st.placed,
                "orders_cancelled": st.cancelled,
                "orders_expired": st.expired,
                "orders_resting": b.book.len(),
                "fills": st.fills,
                "volume_base": st.volume_base.to_string(),
                "volume_quote": st.volume_quote.to_string(),
                "taker_fees": st.taker_fees.to_string(),
                "maker_fees_net": st.maker_fees.to_string(),
                "makers": makers,
                "takers": takers,
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// Per pair of pools of the same assets on different chains: the time-weighted distribution of
/// the gap between their prices, bps.
fn gaps_summary(s: &Scenario, gaps: &meshsim_core::metrics::gaps::ChainGaps) -> serde_json::Value {
    let list: Vec<serde_json::Value> = gaps
        .pairs
        .iter()
        .map(|g| {
            json!({
                "pools": [s.pools[g.pools.0.index()].name, s.pools[g.pools.1.index()].name],
                "seconds": g.total,
                "mean_bps": g.mean(),
                "p50_bps": g.quantile(0.5),
                "p90_bps": g.quantile(0.9),
                "p99_bps": g.quantile(0.99),
                "max_bps": g.max,
                "share_above_50_bps": g.share_above(50),
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

fn summary_without_lending(s: &Scenario, sim: &mut Simulation, blocks: u64, written: &[Written]) -> serde_json::Value {
    let m = sim.metrics().clone();
    let snapshot = sim.snapshot();
    // what each leveraged vault holds and owes in its market, at the market's prices
    let leverage: Vec<Option<serde_json::Value>> = s
        .vaults
        .iter()
        .zip(&m.vaults)
        .map(|(v, vm)| {
            let meshsim_scenario::Strategy::Leveraged { market, risky, debt, .. } = v.strategy else { return None };
            let mk = sim.lending().get(market.0 as usize)?;
            let owner = meshsim_core::lending::Owner::Vault(v.id);
            let (collateral, owed) = (mk.supplied(owner, risky), mk.borrowed(owner, debt));
            let health = mk
                .position_of(owner)
                .and_then(|id| mk.account(id).ok())
                .map(|d| meshsim_core::math::lending::health_f64(d.health))
                .filter(|h| h.is_finite());
            let interest = i128::try_from(owed).unwrap_or(i128::MAX).saturating_sub(vm.borrowed_principal);
            let debt_reserve = mk.reserve_of(debt).map(|k| &mk.reserves[k]);
            let mut out = json!({
                "market": mk.name,
                "collateral": collateral.to_string(),
                "debt": owed.to_string(),
                "net_borrowed": vm.borrowed_principal.to_string(),
                "interest_paid": interest.to_string(),
                "interest_paid_value": debt_reserve.map_or(0.0, |r| r.value(u128::try_from(interest.max(0)).unwrap_or(0))),
            });
            if let (Some(h), Some(map)) = (health, out.as_object_mut()) {
                map.insert("health_factor".into(), json!(h));
            }
            Some(out)
        })
        .collect();
    // what each vault's yield leg has supplied, base units
    let leg_deposits: Vec<u128> = s
        .vaults
        .iter()
        .map(|v| {
            v.yield_leg.map_or(0, |leg| {
                sim.lending()
                    .get(leg.market.0 as usize)
                    .map_or(0, |mk| mk.supplied(meshsim_core::lending::Owner::Vault(v.id), leg.token))
            })
        })
        .collect();
    let all = sim.cascade_summary();
    let cascades_summary = json!({
        "count": all.count,
        "deepest": all.deepest,
        "largest_amplification": all.largest_amplification,
    });
    let vaults: Vec<_> = s
        .vaults
        .iter()
        .zip(&m.vaults)
        .zip(&snapshot.vaults)
        .map(|((v, vm), vs)| {
            let initial_nav: f64 = v
                .holdings
                .iter()
                .map(|(t, a)| {
                    meshsim_core::math::u128_to_f64(*a)
                        * libm::pow(10.0, -f64::from(s.tokens[t.index()].decimals))
                        * genesis_price(s, *t)
                })
                .sum();
            // the gap to the costless continuous benchmark is the total cost; gas is paid by the keeper
            let total_cost = vs.continuous_nav - vs.nav + vm.gas_value;
            let strategy = match v.strategy {
                meshsim_scenario::Strategy::ConstantMix { .. } => "constant_mix",
                meshsim_scenario::Strategy::Cppi { .. } => "cppi",
                meshsim_scenario::Strategy::Leveraged { .. } => "leveraged",
            };
            let yield_leg = v.yield_leg.map(|leg| {
                let deposit = leg_deposits[v.id.index()];
                let earned = i128::try_from(deposit).unwrap_or(i128::MAX).saturating_sub(vm.leg_principal);
                let scale = libm::pow(10.0, -f64::from(s.tokens[leg.token.index()].decimals));
                json!({
                    "market": s.lending[leg.market.0 as usize].name,
                    "token": s.tokens[leg.token.index()].symbol,
                    "deposit": deposit.to_string(),
                    "net_supplied": vm.leg_principal.to_string(),
                    "interest_earned": earned.to_string(),
                    "interest_earned_value": earned as f64 * scale * token_price(&snapshot, leg.token),
                    "rebalances_deferred": vm.lending_deferred,
                    "redemptions_cut": vm.withdrawals_blocked,
                })
            });
            let mut out = json!({
                "name": v.name,
                "strategy": strategy,
                "rebalances": vm.rebalances,
                "transactions": vm.transactions,
                "failed_transactions": vm.failed,
                "no_route": vm.no_route,
                "last_failure": vm.last_failure.as_ref().map(ToString::to_string).unwrap_or_default(),
                "deposits": vm.deposits,
                "withdrawals": vm.withdrawals,
                "turnover": vm.turnover_value / ((initial_nav + vs.nav) / 2.0).max(f64::MIN_POSITIVE),
                "gas_paid": vm.gas_value,
                "fees_paid": vm.fees,
                "slippage_paid": vm.slippage,
                "arbitrage_after_its_trades": vm.arbitrage_after,
                "mev_loss": vm.mev_loss,
                "sandwiched_transactions": vm.sandwiched,
                "tracking_error_mean": vm.tracking_mean(),
                "tracking_error_max": vm.tracking_max,
                "max_drawdown": vm.max_drawdown,
                "execution_cost": vm.cost(),
                "final_nav": vs.nav,
                "final_share_price": vs.share_price,
                "buy_and_hold_nav": vs.hold_nav,
                "continuous_rebalanced_nav": vs.continuous_nav,
                "rebalancing_cost": {
                    "total": total_cost,
                    "fees": vm.fees,
                    "slippage": vm.slippage,
                    "gas": vm.gas_value,
                    "bridge_fees": vm.bridge_fees,
                    "tracking": total_cost - vm.fees - vm.slippage - vm.gas_value - vm.bridge_fees,
                },
            });
            // what it sold, and (with books) how much of it went through its resting orders
            if let Some(map) = out.as_object_mut() {
                map.insert("turnover_value".into(), json!(vm.turnover_value));
                map.insert(
                    "cost_bps_of_turnover".into(),
                    json!(if vm.turnover_value > 0.0 { vm.cost() / vm.turnover_value * 1e4 } else { 0.0 }),
                );
                if !v.books.is_empty() {
                    map.insert("passive_turnover_value".into(), json!(vm.passive_turnover));
                }
            }
            // with several chains: the keeper's gas on each
            if let (true, Some(map)) = (s.multi_chain(), out.as_object_mut()) {
                let by_chain: serde_json::Map<String, serde_json::Value> = s
                    .chains
                    .iter()
                    .enumerate()
                    .map(|(k, c)| (c.name.clone(), json!(vm.gas_by_chain.get(k).copied().unwrap_or(0.0))))
                    .collect();
                map.insert("gas_by_chain".into(), by_chain.into());
            }
            // only vaults with a yield leg or leverage report them (no nulls in summaries)
            if let (Some(leg), Some(map)) = (yield_leg, out.as_object_mut()) {
                map.insert("yield_leg".into(), leg);
            }
            if let (Some(lev), Some(map)) = (leverage[v.id.index()].clone(), out.as_object_mut()) {
                map.insert("leverage".into(), lev);
            }
            out
        })
        .collect();
    let pools: Vec<_> = s
        .pools
        .iter()
        .zip(&m.pools)
        .zip(&snapshot.pools)
        .map(|((p, pm), now)| {
            json!({
                "name": p.name,
                "kind": p.pool.kind().name(),
                "trades": pm.trades,
                "volume": pm.volume,
                "lp_fees": pm.fees,
                "arbitrage_profit": pm.arbitrage_profit,
                "lvr": pm.lvr(now.value),
                "lp_loss_vs_rebalancing": pm.loss_vs_rebalancing(now.value),
                "initial_value": pm.initial_value,
                "final_value": now.value,
            })
        })
        .collect();
    let agents: Vec<_> = s
        .agents
        .iter()
        .zip(&m.agents)
        .map(|(a, am)| {
            let kind = match a.kind {
                AgentKind::Arbitrageur { .. } => "arbitrageur",
                AgentKind::CycleArbitrageur { .. } => "cycle_arbitrageur",
                AgentKind::CrossChainArbitrageur { .. } => "cross_chain_arbitrageur",
                AgentKind::Searcher { strategy, .. } => match strategy {
                    meshsim_scenario::SearcherStrategy::Sandwich => "sandwich_searcher",
                    meshsim_scenario::SearcherStrategy::Backrun => "backrun_searcher",
                    meshsim_scenario::SearcherStrategy::TriggerPrediction => "trigger_predictor",
                },
                AgentKind::Liquidator { .. } => "liquidator",
                AgentKind::Borrowers { .. } => "borrowers",
                AgentKind::Supplier { .. } => "supplier",
                AgentKind::MarketMaker(_) => "market_maker",
                AgentKind::NoiseTrader(_) => "noise_trader",
            };
            json!({
                "name": a.name,
                "kind": kind,
                "profit": am.profit,
                "mev_profit": am.mev_profit,
                "gas_paid": am.gas_value,
                "builder_bids_paid": am.bids_value,
                "transactions": am.transactions,
            })
        })
        .collect();
    json!({
        "world": s.name,
        "world_hash": s.world_hash,
        "seed": s.seed,
        "blocks": blocks,
        "meshsim_version": env!("CARGO_PKG_VERSION"),
        "final_digest": sim.digest().to_string(),
        "totals": {
            "transactions": m.transactions,
            "reverted": m.reverted,
            "dropped": m.dropped,
            "gas_paid": m.gas_value,
            // takers of value from the venues; market makers and noise traders are the books' own
            "arbitrage_profit": m
                .agents
                .iter()
                .zip(&s.agents)
                .filter(|(_, a)| !matches!(a.kind, AgentKind::MarketMaker(_) | AgentKind::NoiseTrader(_)))
                .map(|(m, _)| m.profit)
                .sum::<f64>(),
            "expired": m.expired,
        },
        "mev": {
            "ordering": s.hub().ordering.name(),
            "searcher_profit": m.agents.iter().map(|a| a.mev_profit).sum::<f64>(),
            "builder_bids": m.agents.iter().map(|a| a.bids_value).sum::<f64>(),
            "vault_sandwich_loss": m.vaults.iter().map(|v| v.mev_loss).sum::<f64>(),
            "sandwiched_vault_transactions": m.vaults.iter().map(|v| v.sandwiched).sum::<u64>(),
            "per_searcher": s.agents.iter().zip(&m.agents)
                .filter(|(a, _)| matches!(a.kind, AgentKind::Searcher { .. }))
                .map(|(a, am)| (a.name.clone(), json!({ "mev_profit": am.mev_profit, "builder_bids_paid": am.bids_value, "gas_paid": am.gas_value })))
                .collect::<serde_json::Map<_, _>>(),
            "per_vault": s.vaults.iter().zip(&m.vaults)
                .map(|(v, vm)| (v.name.clone(), json!({ "sandwich_loss": vm.mev_loss, "sandwiched_transactions": vm.sandwiched, "arbitrage_after_its_trades": vm.arbitrage_after })))
                .collect::<serde_json::Map<_, _>>(),
        },
        "cascades": cascades_summary,
        "chains": s.chains.iter().zip(sim.chains()).map(|(c, st)| json!({
            "name": c.name,
            "native_token": s.tokens[c.native.index()].symbol,
            "ordering": c.ordering.name(),
            "mean_block_time": c.block_time.mean_seconds(),
            "blocks": st.clock.number,
            "seconds": st.clock.timestamp,
            "final_base_fee_gwei": meshsim_core::math::u128_to_f64(st.gas.base_fee_wei) / 1e9,
        })).collect::<Vec<_>>(),
        "pools": pools,
        "agents": agents,
        "vaults": vaults,
        "outputs": output_names(written),
        "units": "values in numeraire units of the world; amounts in token base units",
    })
}

/// Per market and reserve: utilization and rates (fractions a year), indexes (rays) and totals
/// (base units) as exact decimal strings.
fn lending_summary(s: &Scenario, markets: &[meshsim_core::lending::MarketState]) -> serde_json::Value {
    let ray = |x: meshsim_core::math::U256| meshsim_core::math::u256_to_f64(x) / 1e27;
    let markets: Vec<serde_json::Value> = markets
        .iter()
        .map(|m| {
            let reserves: Vec<serde_json::Value> = m
                .reserves
                .iter()
                .map(|r| {
                    let x = &r.reserve;
                    let debt = x.total_debt().unwrap_or_default();
                    let supplied = x.available + debt;
                    json!({
                        "token": s.tokens[r.spec.token.index()].symbol,
                        "utilization": ray(x.utilization().unwrap_or_default()),
                        "borrow_rate": ray(x.rates.variable_borrow_rate),
                        "supply_rate": ray(x.rates.liquidity_rate),
                        "liquidity_index": x.liquidity_index.to_string(),
                        "variable_borrow_index": x.variable_borrow_index.to_string(),
                        "available": x.available.to_string(),
                        "borrowed": debt.to_string(),
                        "supplied_and_lent": supplied.to_string(),
                        "treasury_accrued_scaled": x.accrued_to_treasury.to_string(),
                        "interest": x.interest.to_string(),
                        "deficit": x.deficit.to_string(),
                        "liquidations": r.stats.liquidations,
                        "debt_liquidated": r.stats.debt_liquidated.to_string(),
                        "collateral_seized": r.stats.collateral_seized.to_string(),
                        "protocol_fees": r.stats.protocol_fees.to_string(),
                        "bonus": r.stats.bonus.to_string(),
                        "oracle_gap_min": r.stats.oracle_gap_min,
                        "pool_gap_min": r.stats.pool_gap_min,
                    })
                })
                .collect();
            // totals in the numeraire, at the market's final oracle prices
            let whole = |x: meshsim_core::math::U256| u128::try_from(x).unwrap_or(u128::MAX);
            let sum = |f: &dyn Fn(&meshsim_core::lending::ReserveState) -> u128| -> f64 {
                m.reserves.iter().map(|r| r.value(f(r))).sum()
            };
            json!({
                "name": m.name,
                "positions": m.positions.len(),
                "liquidations": m.reserves.iter().map(|r| r.stats.liquidations).sum::<u64>(),
                "debt_liquidated_value": sum(&|r| r.stats.debt_liquidated),
                "bonus_value": sum(&|r| r.stats.bonus),
                "protocol_fees_value": sum(&|r| r.stats.protocol_fees),
                "bad_debt_value": sum(&|r| whole(r.reserve.deficit)),
                "interest_value": sum(&|r| whole(r.reserve.interest)),
                "reserves": reserves,
            })
        })
        .collect();
    serde_json::Value::Array(markets)
}

/// A token's external price now, numeraire per whole token.
fn token_price(snapshot: &meshsim_core::Snapshot, token: meshsim_scenario::TokenId) -> f64 {
    snapshot.tokens.get(token.index()).map_or(0.0, |t| t.price)
}
