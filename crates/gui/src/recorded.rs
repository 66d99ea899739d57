//! A finished `meshsim run` output folder (CSV or Parquet tables), opened without running anything: its
//! blocks, vaults, trades and cascades tables become the same history, log and cascades a live
//! run publishes, and the mesh is drawn from the recorded prices, reserves and weights at the
//! timeline's block over the world's genesis state. The world file the run was made from is
//! needed for names and layout; its hash must match the run's.

use std::collections::BTreeMap;
use std::path::Path;

use meshsim_core::cascade::Cascade;
use meshsim_core::record::TradeRow;
use meshsim_core::tx::{Cause, Sender, TxId, TxKind};
use meshsim_core::{Simulation, Snapshot};
use meshsim_scenario::{PoolId, Scenario, TokenId};

use crate::history::{Events, History};

/// A recorded run, loaded.
pub struct Recorded {
    /// The world it ran.
    pub scenario: Scenario,
    /// Its seed.
    pub seed: u64,
    /// Blocks it ran.
    pub blocks: u64,
    /// Per-block series.
    pub history: History,
    /// Its transactions.
    pub events: Events,
    /// Its cascades.
    pub cascades: Vec<(Cascade, Option<u64>)>,
    /// Its final digest.
    pub digest: String,
    genesis: Snapshot,
    /// Per block (index = block - 1): pool balances.
    balances: Vec<Vec<Vec<u128>>>,
}

/// One table of a run, CSV or Parquet, as text cells (as the CSV writer prints them).
struct Table {
    /// Column positions by name.
    cols: BTreeMap<String, usize>,
    rows: Vec<Vec<String>>,
}

/// `stem.csv` or `stem.parquet` in `dir` (None if neither is there).
fn table(dir: &Path, stem: &str) -> Result<Option<Table>, String> {
    let csv_path = dir.join(format!("{stem}.csv"));
    if csv_path.exists() {
        let shown = |e: csv::Error| format!("{}: {e}", csv_path.display());
        let mut r = csv::Reader::from_path(&csv_path).map_err(shown)?;
        let cols = r.headers().map_err(shown)?.iter().enumerate().map(|(k, c)| (c.to_string(), k)).collect();
        let rows = r
            .records()
            .map(|x| x.map(|row| row.iter().map(str::to_string).collect()))
            .collect::<Result<_, _>>()
            .map_err(shown)?;
        return Ok(Some(Table { cols, rows }));
    }
    let pq_path = dir.join(format!("{stem}.parquet"));
    if pq_path.exists() {
        return parquet_table(&pq_path).map(Some).map_err(|e| format!("{}: {e}", pq_path.display()));
    }
    Ok(None)
}

/// A Parquet table read row by row, each value printed as the CSV writer prints it (amounts,
/// DECIMAL(38, 0) in 16 big-endian bytes, as whole numbers).
fn parquet_table(path: &Path) -> Result<Table, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let cols = schema.columns().iter().enumerate().map(|(k, c)| (c.name().to_string(), k)).collect();
    let mut rows = Vec::new();
    for row in reader.get_row_iter(None).map_err(|e| e.to_string())? {
        let row = row.map_err(|e| e.to_string())?;
        let cells = row
            .get_column_iter()
            .map(|(_, f)| match f {
                Field::Null => String::new(),
                Field::Bool(b) => b.to_string(),
                Field::Long(v) => v.to_string(),
                Field::ULong(v) => v.to_string(),
                Field::Int(v) => v.to_string(),
                Field::UInt(v) => v.to_string(),
                Field::Double(v) => v.to_string(),
                Field::Float(v) => v.to_string(),
                Field::Str(s) => s.clone(),
                Field::Decimal(d) => {
                    let b = d.data();
                    let mut x: i128 = if b.first().is_some_and(|x| x & 0x80 != 0) { -1 } else { 0 };
                    for byte in b {
                        x = (x << 8) | i128::from(*byte);
                    }
                    x.to_string()
                }
                other => other.to_string(),
            })
            .collect();
        rows.push(cells);
    }
    Ok(Table { cols, rows })
}

fn cell<'a>(row: &'a [String], cols: &BTreeMap<String, usize>, name: &str) -> Result<&'a str, String> {
    cols.get(name).and_then(|k| row.get(*k)).map(String::as_str).ok_or_else(|| format!("no column {name:?}"))
}

fn num<T: std::str::FromStr>(row: &[String], cols: &BTreeMap<String, usize>, name: &str) -> Result<T, String> {
    let v = cell(row, cols, name)?;
    v.parse().map_err(|_| format!("column {name:?}: expected a number, found {v:?}"))
}

fn ids(text: &str) -> Result<Vec<TxId>, String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| x.trim().parse().map(TxId).map_err(|_| format!("expected transaction ids, found {text:?}")))
        .collect()
}

impl Recorded {
    /// Loads the run in `dir` (CSV or Parquet tables, as `meshsim run` writes them), made
    /// from the world file `world`.
    pub fn load(dir: &Path, world: &Path) -> Result<Recorded, String> {
        let scenario = meshsim_scenario::load_file(world).map_err(|e| crate::fmt::error(&e))?;
        let summary_path = dir.join("summary.json");
        let text = meshsim_scenario::input::read_text(&summary_path, 1 << 26, "a run summary")
            .map_err(|e| crate::fmt::error(&e))?;
        let summary: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", summary_path.display()))?;
        let hash = summary["world_hash"].as_str().unwrap_or_default();
        if hash != scenario.world_hash {
            return Err(format!(
                "{} was made from another world file (hash {hash}), not {} ({})",
                dir.display(),
                world.display(),
                scenario.world_hash
            ));
        }
        let seed = summary["seed"].as_u64().ok_or("summary.json: no seed")?;
        let blocks = summary["blocks"].as_u64().ok_or("summary.json: no blocks")?;
        let digest = summary["final_digest"].as_str().unwrap_or_default().to_string();
        let within = |name: &'static str| move |e: String| format!("{}/{name}: {e}", dir.display());
        let need = |stem: &'static str| -> Result<Table, String> {
            table(dir, stem)?
                .ok_or_else(|| format!("{}: no {stem}.csv or {stem}.parquet (run with tables on)", dir.display()))
        };
        let mut history = History::new(&scenario);
        let mut balances = Vec::new();
        Self::blocks(&need("blocks")?, &scenario, &mut history, &mut balances).map_err(within("blocks"))?;
        let events = Self::trades(&need("trades")?, &scenario).map_err(within("trades"))?;
        history.extend_totals_from(&scenario, &events);
        if let Some(t) = table(dir, "vaults")? {
            Self::vaults(&t, &scenario, &mut history).map_err(within("vaults"))?;
        }
        let cascades = match table(dir, "cascades")? {
            Some(t) => Self::cascades(&t, &scenario).map_err(within("cascades"))?,
            None => Vec::new(),
        };
        let mut s = scenario.clone();
        s.seed = seed;
        let genesis = Simulation::new(&s).map_err(|e| crate::fmt::error(&e))?.snapshot();
        Ok(Recorded { scenario, seed, blocks, history, events, cascades, digest, genesis, balances })
    }

    fn blocks(t: &Table, s: &Scenario, h: &mut History, balances: &mut Vec<Vec<Vec<u128>>>) -> Result<(), String> {
        let cols = &t.cols;
        let hub = &s.chains[0].name;
        for (k, row) in t.rows.iter().enumerate() {
            let at = |e: String| format!("row {}: {e}", k + 2);
            if cell(row, cols, "chain").map_err(at)? != hub.as_str() {
                continue;
            }
            let block: u64 = num(row, cols, "block").map_err(at)?;
            let external: Vec<f64> = s
                .tokens
                .iter()
                .enumerate()
                .map(|(t, tok)| {
                    if t == s.numeraire.index() {
                        1.0
                    } else {
                        num(row, cols, &format!("price_{}", tok.symbol)).unwrap_or(f64::NAN)
                    }
                })
                .collect();
            let mut prices = Vec::with_capacity(s.pools.len());
            let mut bal = Vec::with_capacity(s.pools.len());
            for p in &s.pools {
                prices.push(num(row, cols, &format!("{}_price", p.name)).map_err(at)?);
                let b: Result<Vec<u128>, String> = p
                    .tokens
                    .iter()
                    .map(|t| num(row, cols, &format!("{}_{}", p.name, s.tokens[t.index()].symbol)))
                    .collect();
                bal.push(b.map_err(at)?);
            }
            let fee_wei: f64 = num(row, cols, "base_fee_wei").map_err(at)?;
            h.push_block(block, &external, &prices, fee_wei / 1e9);
            balances.push(bal);
        }
        Ok(())
    }

    fn trades(t: &Table, s: &Scenario) -> Result<Events, String> {
        let cols = &t.cols;
        let token = |sym: &str| {
            s.tokens
                .iter()
                .position(|t| t.symbol == sym)
                .map(|k| TokenId(k as u16))
                .ok_or(format!("unknown token {sym:?}"))
        };
        let mut events = Events::default();
        let mut hub_block = 0;
        for (k, row) in t.rows.iter().enumerate() {
            let at = |e: String| format!("row {}: {e}", k + 2);
            let get = |name: &str| cell(row, cols, name).map_err(at);
            let chain_name = get("chain")?;
            let chain = s
                .chains
                .iter()
                .position(|c| c.name == chain_name)
                .map(|c| meshsim_scenario::ChainId(c as u16))
                .ok_or_else(|| at(format!("unknown chain {chain_name:?}")))?;
            let sender_name = get("sender")?;
            let sender = s
                .agents
                .iter()
                .find(|a| a.name == sender_name)
                .map(|a| Sender::Agent(a.id))
                .or_else(|| s.vaults.iter().find(|v| v.name == sender_name).map(|v| Sender::Vault(v.id)))
                .ok_or_else(|| at(format!("unknown sender {sender_name:?}")))?;
            let kind_name = get("kind")?;
            let kind = TxKind::from_name(kind_name).ok_or_else(|| at(format!("unknown kind {kind_name:?}")))?;
            let pools: Vec<PoolId> = get("pools")?
                .split('>')
                .filter(|x| !x.is_empty())
                .map(|n| s.pools.iter().find(|p| p.name == n).map(|p| p.id).ok_or(format!("unknown pool {n:?}")))
                .collect::<Result<_, _>>()
                .map_err(at)?;
            let parents = ids(get("cause_txs")?).map_err(at)?;
            let cause = match get("cause")? {
                "external_price" => Cause::External,
                "schedule" => Cause::Schedule,
                "price_moves" => Cause::Moves(parents.into_iter().collect()),
                "victim" => Cause::Victim(parents.first().copied().unwrap_or_default()),
                other => return Err(at(format!("unknown cause {other:?}"))),
            };
            let block: u64 = num(row, cols, "block").map_err(at)?;
            // rows of other chains carry their own numbers: they go with the last hub block
            if chain.index() == 0 {
                hub_block = block;
            }
            let row = TradeRow {
                block,
                chain,
                index: num(row, cols, "index").map_err(at)?,
                tx_id: TxId(num(row, cols, "tx_id").map_err(at)?),
                sender,
                kind,
                pools,
                token_in: token(get("token_in")?).map_err(at)?,
                token_out: token(get("token_out")?).map_err(at)?,
                amount_in: num(row, cols, "amount_in").map_err(at)?,
                amount_out: num(row, cols, "amount_out").map_err(at)?,
                gas_used: num(row, cols, "gas_used").map_err(at)?,
                gas_fee_wei: num(row, cols, "gas_fee_wei").map_err(at)?,
                reverted: get("reverted")? == "true",
                revert_reason: get("revert_reason")?.to_string(),
                profit: num(row, cols, "profit").map_err(at)?,
                cause,
                note: get("note")?.to_string(),
                // not in the table: flows are drawn at their thinnest
                value_in: 0.0,
            };
            events.extend(hub_block, vec![row]);
        }
        Ok(events)
    }

    fn vaults(t: &Table, s: &Scenario, h: &mut History) -> Result<(), String> {
        let cols = &t.cols;
        // the universe of every vault, in column order
        let universe: Vec<(TokenId, String, String)> = cols
            .iter()
            .filter_map(|(c, k)| c.strip_prefix("weight_").map(|sym| (*k, sym.to_string())))
            .collect::<BTreeMap<usize, String>>()
            .into_values()
            .filter_map(|sym| {
                let t = s.tokens.iter().position(|x| x.symbol == sym)?;
                Some((TokenId(t as u16), format!("weight_{sym}"), format!("target_{sym}")))
            })
            .collect();
        for (k, row) in t.rows.iter().enumerate() {
            let at = |e: String| format!("row {}: {e}", k + 2);
            let name = cell(row, cols, "vault").map_err(at)?;
            let Some(v) = s.vaults.iter().position(|v| v.name == name) else {
                return Err(at(format!("unknown vault {name:?}")));
            };
            let weights: Vec<f64> = universe.iter().map(|(_, w, _)| num(row, cols, w).unwrap_or(0.0)).collect();
            let targets: Vec<f64> = universe.iter().map(|(_, _, t)| num(row, cols, t).unwrap_or(0.0)).collect();
            let tokens: Vec<TokenId> = universe.iter().map(|(t, _, _)| *t).collect();
            let f = |c: &str| num::<f64>(row, cols, c).map_err(at);
            h.push_vault(
                v,
                num(row, cols, "block").map_err(at)?,
                &tokens,
                &weights,
                &targets,
                [f("band")?, f("tracking_error")?, f("nav")?, f("hold_nav")?, f("continuous_nav")?],
                cell(row, cols, "rebalancing").map_err(at)? == "true",
            );
        }
        Ok(())
    }

    fn cascades(t: &Table, s: &Scenario) -> Result<Vec<(Cascade, Option<u64>)>, String> {
        let cols = &t.cols;
        let mut out = Vec::new();
        for (k, row) in t.rows.iter().enumerate() {
            let at = |e: String| format!("row {}: {e}", k + 2);
            let get = |name: &str| cell(row, cols, name).map_err(at);
            let roots = ids(get("root_txs")?).map_err(at)?;
            let members = ids(get("member_txs")?).map_err(at)?;
            let links = get("links")?
                .split(';')
                .filter(|x| !x.is_empty())
                .map(|l| {
                    let (a, b) = l.split_once('>').ok_or(format!("expected links a>b, found {l:?}"))?;
                    Ok((
                        TxId(a.parse().map_err(|_| format!("bad link {l:?}"))?),
                        TxId(b.parse().map_err(|_| format!("bad link {l:?}"))?),
                    ))
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(at)?;
            let pools = get("pools")?
                .split(';')
                .filter(|x| !x.is_empty())
                .filter_map(|n| s.pools.iter().find(|p| p.name == n).map(|p| p.id))
                .collect();
            let recover = get("blocks_to_recover")?;
            let c = Cascade {
                root_block: num(row, cols, "root_block").map_err(at)?,
                root_count: roots.len() as u32,
                member_count: members.len() as u32,
                roots,
                members,
                links,
                depth: num(row, cols, "depth").map_err(at)?,
                volume: num(row, cols, "volume").map_err(at)?,
                root_volume: num(row, cols, "root_volume").map_err(at)?,
                end_block: num(row, cols, "end_block").map_err(at)?,
                pools,
                rebalances: num(row, cols, "rebalances").map_err(at)?,
                liquidations: num(row, cols, "liquidations").map_err(at)?,
            };
            out.push((c, if recover.is_empty() { None } else { recover.parse().ok() }));
        }
        Ok(out)
    }

    /// The mesh's state at `block`: the world's genesis state with the recorded external and pool
    /// prices, pool balances and vault weights of that block.
    pub fn snapshot_at(&self, block: u64) -> Snapshot {
        let mut snap = self.genesis.clone();
        snap.block = block;
        let h = &self.history;
        let Some(i) = h.blocks.iter().rposition(|b| *b <= block as f64) else { return snap };
        for (t, tok) in snap.tokens.iter_mut().enumerate() {
            if let Some(p) = h.external.get(t).and_then(|q| q.get(i)).filter(|p| p.is_finite()) {
                tok.price = *p;
            }
        }
        let bal = self.balances.get(i);
        for (k, p) in snap.pools.iter_mut().enumerate() {
            if let Some(price) = h.pools.get(k).and_then(|q| q.get(i)) {
                p.price = *price;
                let (a, b) = (p.tokens[0].index(), p.tokens.get(1).map_or(0, |t| t.index()));
                let ext = h.external[a].get(i).copied().unwrap_or(f64::NAN)
                    / h.external[b].get(i).copied().unwrap_or(f64::NAN);
                if ext.is_finite() && ext > 0.0 {
                    p.deviation = p.price / ext - 1.0;
                }
            }
            if let Some(b) = bal.and_then(|x| x.get(k)) {
                p.balances.clone_from(b);
            }
        }
        for (k, v) in snap.vaults.iter_mut().enumerate() {
            let Some(vs) = h.vaults.get(k) else { continue };
            let Some(j) = vs.blocks.iter().rposition(|b| *b <= block as f64) else { continue };
            for (t, w) in v.tokens.clone().iter().zip(v.weights.iter_mut()) {
                if let Some(c) = vs.tokens.iter().position(|x| x == t) {
                    *w = vs.weights[c][j];
                }
            }
            v.nav = vs.nav[0][j];
            v.band = vs.band[j];
        }
        snap
    }
}
