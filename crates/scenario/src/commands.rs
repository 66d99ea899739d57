//! Command logs: what an explorer did to a run (shocks, vault parameter changes) and at which
//! block, so that a GUI session replays headless (`meshsim run WORLD --commands FILE`) to the
//! same digest. Commands name tokens and vaults as the world file does.
//!
//! ```ron
//! CommandLog(
//!     version: 1,
//!     world_hash: "…",        // SHA-256 of the world file the session ran (checked when given)
//!     seed: 1,
//!     blocks: 250,            // blocks the session ran
//!     commands: [
//!         (block: 120, command: Shock(token: "ETH", change: -0.3, blocks: 5)),
//!         (block: 140, command: SetVault(vault: "threshold", param: Band(0.02))),
//!     ],
//! )
//! ```
//! A command at `block: B` applies after B blocks have run, before block B + 1.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Issue, Locations, Scenario, ScenarioError, Trigger, limits};

/// Schema version of command logs.
pub const COMMANDS_VERSION: u32 = 1;

/// A change an explorer makes to a running world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Command {
    /// Moves a token's external price by `change` (a fraction: -0.3 is a 30 % fall), spread
    /// evenly in log terms over `blocks` blocks starting with the next one.
    Shock {
        /// Token symbol (one of the market's assets).
        token: String,
        /// Relative change, above -1.
        change: f64,
        /// Blocks to spread it over (at least 1).
        blocks: u64,
    },
    /// Changes one parameter of a vault from the next block on.
    SetVault {
        /// Vault name.
        vault: String,
        /// The new value.
        param: VaultParam,
    },
}

/// A vault parameter a session may change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum VaultParam {
    /// Threshold trigger's band (or a volatility-adjusted trigger's base band).
    Band(f64),
    /// Slippage tolerance against the oracle price.
    Slippage(f64),
    /// Largest value traded per block (`None`: uncapped).
    MaxTradeValue(Option<f64>),
    /// Private relay on or off.
    PrivateRelay(bool),
    /// Random delay of each rebalance, 0..=N blocks.
    JitterBlocks(u64),
    /// Priority fee, gwei per gas.
    PriorityFeeGwei(f64),
}

/// A command and the block count after which it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedCommand {
    /// Applies after this many blocks have run.
    pub block: u64,
    /// What.
    pub command: Command,
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandLog {
    /// Schema version.
    pub version: u32,
    /// SHA-256 of the world file the session ran, if known.
    #[serde(default)]
    pub world_hash: Option<String>,
    /// Seed of the session.
    pub seed: u64,
    /// Blocks the session ran.
    pub blocks: u64,
    /// In block order.
    pub commands: Vec<TimedCommand>,
}

impl CommandLog {
    /// An empty log for a session of `scenario` at `seed`.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        CommandLog {
            version: COMMANDS_VERSION,
            world_hash: Some(scenario.world_hash.clone()),
            seed,
            blocks: 0,
            commands: Vec::new(),
        }
    }

    /// The log as RON text.
    pub fn to_ron(&self) -> String {
        let pretty = ron::ser::PrettyConfig::new().depth_limit(3);
        // serialising plain data to a string cannot fail
        ron::ser::to_string_pretty(self, pretty).unwrap_or_default()
    }

    /// Commands that apply after exactly `block` blocks.
    pub fn at(&self, block: u64) -> impl Iterator<Item = &Command> {
        let start = self.commands.partition_point(|c| c.block < block);
        self.commands[start..].iter().take_while(move |c| c.block == block).map(|c| &c.command)
    }

    /// The block of the first command after `block` (a replay runs up to it, then applies it).
    pub fn next_after(&self, block: u64) -> Option<u64> {
        let start = self.commands.partition_point(|c| c.block <= block);
        self.commands.get(start).map(|c| c.block)
    }

    /// Checks the log against the world it will drive: names, ranges, order and the world hash.
    /// Every problem, as `(field path, message)`.
    pub fn problems(&self, scenario: &Scenario) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.version != COMMANDS_VERSION {
            out.push(("version".into(), format!("expected version {COMMANDS_VERSION}, found {}", self.version)));
        }
        if let Some(h) = &self.world_hash
            && *h != scenario.world_hash
        {
            out.push((
                "world_hash".into(),
                format!("recorded on a different world file (hash {h}, this one is {})", scenario.world_hash),
            ));
        }
        if self.blocks > limits::MAX_BLOCKS {
            out.push(("blocks".into(), format!("expected at most {} blocks", limits::MAX_BLOCKS)));
        }
        if self.commands.len() > limits::MAX_COMMANDS {
            out.push(("commands".into(), format!("expected at most {} commands", limits::MAX_COMMANDS)));
        }
        let mut last = 0;
        for (k, c) in self.commands.iter().enumerate() {
            let path = format!("commands[{k}]");
            if c.block < last {
                out.push((format!("{path}.block"), format!("expected block order: {} after {last}", c.block)));
            }
            if c.block > self.blocks {
                out.push((format!("{path}.block"), format!("expected at most the log's {} blocks", self.blocks)));
            }
            last = c.block;
            if let Err(e) = c.command.check(scenario) {
                out.push((format!("{path}.command"), e));
            }
        }
        out
    }
}

impl Command {
    /// Whether the command makes sense for `scenario`; the reason if not.
    pub fn check(&self, scenario: &Scenario) -> Result<(), String> {
        match self {
            Command::Shock { token, change, blocks } => {
                let t = scenario.tokens.iter().position(|t| t.symbol == *token);
                let Some(t) = t else {
                    return Err(crate::unknown("token", token, scenario.tokens.iter().map(|t| t.symbol.as_str())));
                };
                if !scenario.market.assets.iter().any(|a| a.token.index() == t) {
                    return Err(format!("token {token:?} has no external price process (not in market.assets)"));
                }
                if !(change.is_finite() && *change > -1.0 && *change <= limits::MAX_SHOCK_CHANGE) {
                    return Err(format!("expected a change above -1 and at most 100, found {change}"));
                }
                if *blocks == 0 || *blocks > 100_000 {
                    return Err(format!("expected 1 to 100000 blocks, found {blocks}"));
                }
                Ok(())
            }
            Command::SetVault { vault, param } => {
                let Some(v) = scenario.vaults.iter().find(|v| v.name == *vault) else {
                    return Err(crate::unknown("vault", vault, scenario.vaults.iter().map(|v| v.name.as_str())));
                };
                let fraction = |x: f64, hi: f64, what: &str| {
                    if x.is_finite() && x > 0.0 && x <= hi {
                        Ok(())
                    } else {
                        Err(format!("expected {what} in (0, {hi}], found {x}"))
                    }
                };
                match *param {
                    VaultParam::Band(b) => {
                        if !matches!(
                            v.trigger,
                            Trigger::Threshold { .. } | Trigger::VolatilityAdjusted { .. } | Trigger::Predictive { .. }
                        ) {
                            return Err(format!(
                                "vault {vault:?} has no band to set: its trigger is periodic or works its band out from its costs"
                            ));
                        }
                        fraction(b, 0.5, "a band")
                    }
                    VaultParam::Slippage(s) => fraction(s, 0.5, "a slippage"),
                    VaultParam::MaxTradeValue(Some(m)) => fraction(m, 1e18, "a value"),
                    VaultParam::MaxTradeValue(None) | VaultParam::PrivateRelay(_) => Ok(()),
                    VaultParam::JitterBlocks(j) if j > 10_000 => {
                        Err(format!("expected at most 10000 blocks, found {j}"))
                    }
                    VaultParam::JitterBlocks(_) => Ok(()),
                    VaultParam::PriorityFeeGwei(g) if !(g.is_finite() && (0.0..=1e6).contains(&g)) => {
                        Err(format!("expected a priority fee in [0, 1e6] gwei, found {g}"))
                    }
                    VaultParam::PriorityFeeGwei(_) => Ok(()),
                }
            }
        }
    }
}

/// Reads and checks a command log for `scenario`: syntax errors and every problem located.
pub fn load_commands(path: &Path, scenario: &Scenario) -> Result<CommandLog, ScenarioError> {
    let text = crate::input::read_text(path, limits::MAX_WORLD_BYTES, "a command log")?;
    parse_commands(&text, &path.display().to_string(), scenario)
}

/// Parses and checks a command log from text; `origin` names it in errors.
pub fn parse_commands(text: &str, origin: &str, scenario: &Scenario) -> Result<CommandLog, ScenarioError> {
    let log: CommandLog = crate::ron_options().from_str(text).map_err(|e| {
        ScenarioError::Syntax(Issue {
            file: origin.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            path: String::new(),
            message: e.code.to_string(),
        })
    })?;
    let problems = log.problems(scenario);
    if problems.is_empty() {
        return Ok(log);
    }
    let locations = Locations::index(text);
    Err(ScenarioError::InvalidCommands(
        problems
            .into_iter()
            .map(|(path, message)| {
                let (line, col) = locations.find(&path);
                Issue { file: origin.to_string(), line, col, path, message }
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> Scenario {
        let text = r#"World(version: 1, name: "w", seed: 1, blocks: 10,
            chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 1.0, native_token: "ETH"),
            numeraire: "USDC",
            tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
            market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.5)]),
            pools: [ConstantProduct(name: "p", tokens: ("ETH", "USDC"), reserves: ("10", "20000"), fee_bps: 30.0)],
            oracles: [Push(name: "o", token: "ETH", heartbeat_seconds: 12.0, deviation: 0.0)],
            vaults: [(name: "v", deposit_token: "USDC", holdings: [("ETH", "1"), ("USDC", "2000")], keeper_gas: "1",
                oracles: [("ETH", "o")], strategy: ConstantMix(targets: [("ETH", 0.5), ("USDC", 0.5)]),
                trigger: Threshold(band: 0.05), slippage: 0.01)],
        )"#;
        crate::parse_str(text, "w.ron", Path::new(".")).unwrap()
    }

    #[test]
    fn a_log_round_trips_through_ron() {
        let s = world();
        let mut log = CommandLog::new(&s, 7);
        log.blocks = 30;
        log.commands
            .push(TimedCommand { block: 3, command: Command::Shock { token: "ETH".into(), change: -0.25, blocks: 2 } });
        log.commands.push(TimedCommand {
            block: 3,
            command: Command::SetVault { vault: "v".into(), param: VaultParam::MaxTradeValue(None) },
        });
        let back = parse_commands(&log.to_ron(), "log.ron", &s).unwrap();
        assert_eq!(back, log);
        assert_eq!(back.at(3).count(), 2);
        assert_eq!(back.at(2).count(), 0);
        // a replay stops at block 3 from anywhere before it, and nowhere after
        assert_eq!((back.next_after(0), back.next_after(2)), (Some(3), Some(3)));
        assert_eq!((back.next_after(3), back.next_after(10)), (None, None));
    }

    #[test]
    fn every_problem_is_located() {
        let s = world();
        let text = "CommandLog(version: 1, seed: 1, blocks: 5, commands: [\n\
            (block: 2, command: Shock(token: \"USDC\", change: -0.5, blocks: 1)),\n\
            (block: 1, command: SetVault(vault: \"nope\", param: Band(0.1))),\n\
            (block: 9, command: Shock(token: \"ETH\", change: -2.0, blocks: 1)),\n\
        ])";
        let e = parse_commands(text, "log.ron", &s).unwrap_err();
        let issues = e.issues();
        let msgs: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        assert!(msgs.iter().any(|m| m.starts_with("log.ron:2:") && m.contains("no external price")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.starts_with("log.ron:3:") && m.contains("block order")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.starts_with("log.ron:3:") && m.contains("unknown vault")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.starts_with("log.ron:4:") && m.contains("above -1")), "{msgs:?}");
        assert!(
            msgs.iter().any(|m| m.starts_with("log.ron:4:") && m.contains("at most the log's 5 blocks")),
            "{msgs:?}"
        );
        // a misspelt field is a located syntax error
        let e = parse_commands("CommandLog(version: 1, seed: 1, blocks: 5, comands: [])", "log.ron", &s).unwrap_err();
        assert!(e.to_string().starts_with("log.ron:1:"), "{e}");
    }

    #[test]
    fn a_log_from_another_world_is_refused() {
        let s = world();
        let text = "CommandLog(version: 1, world_hash: \"00\", seed: 1, blocks: 5, commands: [])";
        let e = parse_commands(text, "log.ron", &s).unwrap_err();
        assert!(e.to_string().contains("different world file"), "{e}");
    }
}
