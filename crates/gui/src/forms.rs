//! The side panel's forms: the world's entities to select from, a price shock, and a vault's
//! what-if parameters. Each returns the commands it asks for; the window applies them (and logs
//! them, so a session replays headless).

use egui::Ui;
use meshsim_scenario::commands::{Command, VaultParam};
use meshsim_scenario::{AgentId, Scenario, TokenId, Trigger};

use crate::Selection;

/// The world's entities by kind, to select one for the inspector.
pub fn entities(sel: &mut Option<Selection>, ui: &mut Ui, s: &Scenario) {
    egui::CollapsingHeader::new("Pools").default_open(true).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            for p in &s.pools {
                ui.selectable_value(sel, Some(Selection::Pool(p.id)), &p.name);
            }
        });
    });
    if !s.vaults.is_empty() {
        egui::CollapsingHeader::new("Vaults").default_open(true).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for v in &s.vaults {
                    ui.selectable_value(sel, Some(Selection::Vault(v.id)), &v.name);
                }
            });
        });
    }
    if !s.lending.is_empty() {
        egui::CollapsingHeader::new("Lending markets").default_open(true).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for m in &s.lending {
                    ui.selectable_value(sel, Some(Selection::Market(m.id)), &m.name);
                }
            });
        });
    }
    if !s.books.is_empty() {
        egui::CollapsingHeader::new("Order books").default_open(true).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for b in &s.books {
                    ui.selectable_value(sel, Some(Selection::Book(b.id)), &b.name);
                }
            });
        });
    }
    egui::CollapsingHeader::new("Agents").default_open(false).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            for a in &s.agents {
                ui.selectable_value(sel, Some(Selection::Agent(AgentId(a.id.0))), &a.name);
            }
        });
    });
    egui::CollapsingHeader::new("Tokens").default_open(false).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            for (k, t) in s.tokens.iter().enumerate() {
                ui.selectable_value(sel, Some(Selection::Token(TokenId(k as u16))), &t.symbol);
            }
        });
    });
}

/// The shock form.
pub struct ShockForm {
    token: usize,
    change_percent: f64,
    blocks: u64,
}

/// The what-if form for one vault.
pub struct VaultForm {
    /// The vault it edits (by index).
    pub vault: usize,
    band: f64,
    slippage: f64,
    capped: bool,
    cap: f64,
    private_relay: bool,
    loaded_for: Option<usize>,
}

impl Default for ShockForm {
    fn default() -> Self {
        ShockForm { token: 0, change_percent: -30.0, blocks: 1 }
    }
}

impl ShockForm {
    /// A world was opened: its first asset (the change and length stay as set).
    pub fn new_world(&mut self) {
        self.token = 0;
    }

    /// Draws the form; the shock to apply when its button is clicked.
    pub fn show(&mut self, ui: &mut Ui, s: &Scenario) -> Option<Command> {
        ui.strong("Shock");
        let assets: Vec<&str> = s.market.assets.iter().map(|a| s.tokens[a.token.index()].symbol.as_str()).collect();
        if assets.is_empty() {
            ui.label("this world has no price process to shock");
            return None;
        }
        self.token = self.token.min(assets.len() - 1);
        egui::ComboBox::from_label("token").selected_text(assets[self.token]).show_ui(ui, |ui| {
            for (k, a) in assets.iter().enumerate() {
                ui.selectable_value(&mut self.token, k, *a);
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("change %");
            ui.add(egui::DragValue::new(&mut self.change_percent).range(-99.0..=500.0).speed(0.5)).labelled_by(l.id);
            let l = ui.label("over blocks");
            ui.add(egui::DragValue::new(&mut self.blocks).range(1..=10_000)).labelled_by(l.id);
        });
        ui.button("Apply shock").clicked().then(|| Command::Shock {
            token: assets[self.token].to_string(),
            change: self.change_percent / 100.0,
            blocks: self.blocks,
        })
    }
}

impl Default for VaultForm {
    fn default() -> Self {
        VaultForm {
            vault: 0,
            band: 0.05,
            slippage: 0.01,
            capped: false,
            cap: 100_000.0,
            private_relay: false,
            loaded_for: None,
        }
    }
}

impl VaultForm {
    /// A world was opened: start again from its vault's parameters.
    pub fn new_world(&mut self) {
        self.loaded_for = None;
    }

    /// Draws the form, started from the vault's parameters in `snap`; the changes to apply
    /// when its button is clicked.
    pub fn show(&mut self, ui: &mut Ui, s: &Scenario, snap: Option<&meshsim_core::Snapshot>) -> Vec<Command> {
        let mut commands = Vec::new();
        ui.strong("What-if: vault parameters");
        if s.vaults.is_empty() {
            ui.label("this world has no vaults");
            return commands;
        }
        let f = self;
        f.vault = f.vault.min(s.vaults.len() - 1);
        egui::ComboBox::from_label("vault").selected_text(&s.vaults[f.vault].name).show_ui(ui, |ui| {
            for (k, v) in s.vaults.iter().enumerate() {
                ui.selectable_value(&mut f.vault, k, &v.name);
            }
        });
        // the form starts from the vault's current parameters
        let current = snap.and_then(|x| x.vaults.get(f.vault)).map(|v| &v.spec);
        if f.loaded_for != Some(f.vault)
            && let Some(spec) = current
        {
            f.band = match spec.trigger {
                Trigger::Threshold { band, .. } => band,
                Trigger::VolatilityAdjusted { base_band, .. } => base_band,
                Trigger::Predictive { band, .. } => band,
                Trigger::CostAware { .. } | Trigger::PeriodicBlocks(_) | Trigger::PeriodicSeconds(_) => 0.0,
            };
            f.slippage = spec.slippage;
            f.capped = spec.max_trade_value.is_some();
            f.cap = spec.max_trade_value.unwrap_or(f.cap);
            f.private_relay = spec.private_relay;
            f.loaded_for = Some(f.vault);
        }
        let Some(spec) = current else { return commands };
        let has_band = matches!(spec.trigger, Trigger::Threshold { .. } | Trigger::VolatilityAdjusted { .. });
        egui::Grid::new("vault-form").num_columns(3).show(ui, |ui| {
            if has_band {
                let l = ui.label("band");
                ui.add(egui::DragValue::new(&mut f.band).range(0.0001..=0.5).speed(0.001)).labelled_by(l.id);
                ui.end_row();
            }
            let l = ui.label("slippage");
            ui.add(egui::DragValue::new(&mut f.slippage).range(0.0001..=0.5).speed(0.001)).labelled_by(l.id);
            ui.end_row();
            ui.checkbox(&mut f.capped, "cap per block");
            let l = ui.label("max trade value");
            ui.add_enabled(f.capped, egui::DragValue::new(&mut f.cap).range(1.0..=1e12)).labelled_by(l.id);
            ui.end_row();
            ui.checkbox(&mut f.private_relay, "private relay");
            ui.end_row();
        });
        if ui.button("Apply to vault").clicked() {
            let name = s.vaults[f.vault].name.clone();
            let mut set = |param| commands.push(Command::SetVault { vault: name.clone(), param });
            let band = match spec.trigger {
                Trigger::Threshold { band, .. } => band,
                Trigger::VolatilityAdjusted { base_band, .. } => base_band,
                _ => f.band,
            };
            if has_band && f.band != band {
                set(VaultParam::Band(f.band));
            }
            if f.slippage != spec.slippage {
                set(VaultParam::Slippage(f.slippage));
            }
            let cap = f.capped.then_some(f.cap);
            if cap != spec.max_trade_value {
                set(VaultParam::MaxTradeValue(cap));
            }
            if f.private_relay != spec.private_relay {
                set(VaultParam::PrivateRelay(f.private_relay));
            }
        }
        commands
    }
}
