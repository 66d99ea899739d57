//! The external (CEX) market: multi-asset correlated GBM with exact log increments, optional
//! Merton jumps (compensated, so prices stay martingales) and Markov regime-switching
//! volatility, or a replayed CSV path; scheduled shocks apply on top of either.

use bevy_ecs::prelude::*;
use meshsim_scenario::{Market, Scenario, TokenId, limits};
use nalgebra::DMatrix;
use rand::RngExt;
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

use sha2::{Digest as _, Sha256};

use crate::chain::Chains;
use crate::engine::{App, Phase, Plugin, State, StateView, shared};
use crate::rng::{Purpose, stream};
use crate::snapshot::{Snapshot, TokenSnapshot};
use crate::{SimConfig, SimError};

/// The external market: genesis prices, their process, and the per-block move.
pub struct MarketPlugin;

impl Plugin for MarketPlugin {
    fn name(&self) -> &'static str {
        "market"
    }

    fn build(&self, app: &mut App<'_>) -> Result<(), SimError> {
        let (market, prices) = ExternalMarket::new(app.scenario);
        app.insert_state(market);
        app.insert_state(prices);
        app.add_systems(Phase::Market, advance_external_prices);
        Ok(())
    }

    fn digest(&self, world: StateView<'_>, h: &mut Sha256) {
        for p in &world.state::<ExternalPrices>().per_token {
            h.update(p.to_bits().to_le_bytes());
        }
        let market = world.state::<ExternalMarket>();
        h.update((market.regime() as u64).to_le_bytes());
        for pos in market.rng_word_pos() {
            h.update(pos.to_le_bytes());
        }
        // shocks can be added mid-run (commands): they are state too
        for s in market.shocks() {
            h.update((s.asset as u64).to_le_bytes());
            h.update(s.start_block.to_le_bytes());
            h.update(s.blocks.to_le_bytes());
            h.update(s.log_step.to_bits().to_le_bytes());
        }
    }

    fn snapshot(&self, world: StateView<'_>, snap: &mut Snapshot) {
        let prices = world.state::<ExternalPrices>();
        let config = world.state::<SimConfig>();
        snap.tokens = config
            .symbols
            .iter()
            .zip(&config.decimals)
            .zip(&prices.per_token)
            .map(|((symbol, decimals), price)| TokenSnapshot {
                symbol: symbol.clone(),
                decimals: *decimals,
                price: *price,
            })
            .collect();
    }
}

/// Seconds per year for annualized volatilities.
pub const SECONDS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0;

/// External prices of every token, numeraire per whole token and per base unit.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct ExternalPrices {
    /// Numeraire per whole token, by token id (numeraire = 1).
    pub per_token: Vec<f64>,
    /// Numeraire per base unit, by token id.
    pub per_base_unit: Vec<f64>,
    scale: Vec<f64>,
}

impl ExternalPrices {
    /// Prices from numeraire per whole token, by token id, and each token's decimals.
    pub fn new(per_token: Vec<f64>, decimals: &[u8]) -> Self {
        let scale: Vec<f64> = decimals.iter().map(|d| libm::pow(10.0, -f64::from(*d))).collect();
        let per_base_unit = per_token.iter().zip(&scale).map(|(p, s)| p * s).collect();
        ExternalPrices { per_token, per_base_unit, scale }
    }

    /// Sets one token's price (numeraire per whole token).
    pub fn set(&mut self, token: TokenId, price: f64) {
        self.per_token[token.index()] = price;
        self.per_base_unit[token.index()] = price * self.scale[token.index()];
    }

    /// Base units of `to` worth one base unit of `from` at external prices.
    pub fn rate(&self, from: TokenId, to: TokenId) -> f64 {
        self.per_base_unit[from.index()] / self.per_base_unit[to.index()]
    }

    /// Numeraire value of `amount` base units of `token`.
    pub fn value(&self, token: TokenId, amount: u128) -> f64 {
        meshsim_math::u128_to_f64(amount) * self.per_base_unit[token.index()]
    }
}

/// State of the price process.
#[derive(Component, Debug)]
pub struct ExternalMarket {
    spec: Market,
    // lower-triangular Cholesky factor of the correlation matrix, row-major
    cholesky: Vec<f64>,
    // the factor is the identity (uncorrelated assets): the normals need no mixing
    independent: bool,
    // per-block scratch: independent and correlated normals
    z: Vec<f64>,
    w: Vec<f64>,
    log_price: Vec<f64>,
    shock_offset: Vec<f64>,
    regime: usize,
    diffusion_rng: Vec<ChaCha12Rng>,
    jump_rng: Vec<ChaCha12Rng>,
    regime_rng: ChaCha12Rng,
    replay_row: usize,
    /// Tokens of other chains that take an asset's price: (asset index, token).
    links: Vec<(usize, TokenId)>,
}

impl ExternalMarket {
    /// Builds the process and the genesis prices.
    pub fn new(scenario: &Scenario) -> (Self, ExternalPrices) {
        let spec = scenario.market.clone();
        let n = spec.assets.len();
        let corr = DMatrix::from_fn(n, n, |i, j| spec.correlation[i][j]);
        // validated positive definite at load; identity is a safe fallback
        let l = corr.cholesky().map(|c| c.l()).unwrap_or_else(|| DMatrix::identity(n, n));
        let cholesky: Vec<f64> = (0..n * n).map(|k| l[(k / n, k % n)]).collect();
        let independent = cholesky.iter().enumerate().all(|(k, x)| *x == if k / n == k % n { 1.0 } else { 0.0 });
        let seed = scenario.seed;
        let market = ExternalMarket {
            cholesky,
            independent,
            z: vec![0.0; n],
            w: vec![0.0; n],
            log_price: spec.assets.iter().map(|a| libm::log(a.price)).collect(),
            shock_offset: vec![0.0; n],
            regime: 0,
            diffusion_rng: (0..n).map(|k| stream(seed, Purpose::Diffusion, k as u64)).collect(),
            jump_rng: (0..n).map(|k| stream(seed, Purpose::Jumps, k as u64)).collect(),
            regime_rng: stream(seed, Purpose::Regimes, 0),
            replay_row: 0,
            links: scenario
                .tokens
                .iter()
                .enumerate()
                .filter(|(k, t)| t.asset.index() != *k)
                .filter_map(|(k, t)| {
                    let asset = spec.assets.iter().position(|a| a.token == t.asset)?;
                    Some((asset, TokenId(k as u16)))
                })
                .collect(),
            spec,
        };
        let mut per_token = vec![1.0; scenario.tokens.len()];
        for (k, a) in market.spec.assets.iter().enumerate() {
            per_token[a.token.index()] = market.replay_price(k).unwrap_or(a.price);
        }
        for (k, token) in &market.links {
            per_token[token.index()] = per_token[market.spec.assets[*k].token.index()];
        }
        let decimals: Vec<u8> = scenario.tokens.iter().map(|t| t.decimals).collect();
        (market, ExternalPrices::new(per_token, &decimals))
    }

    fn replay_price(&self, asset: usize) -> Option<f64> {
        self.spec.replay.as_ref().map(|r| r.prices[self.replay_row][asset])
    }

    /// Adds a shock of `change` (relative) to `token`'s price, spread over `blocks` blocks from
    /// `start_block`. `false` if the token has no price process.
    pub fn add_shock(&mut self, token: TokenId, change: f64, start_block: u64, blocks: u64) -> bool {
        let Some(asset) = self.spec.assets.iter().position(|a| a.token == token) else { return false };
        let blocks = blocks.max(1);
        let log_step = libm::log1p(change) / blocks as f64;
        self.spec.shocks.push(meshsim_scenario::Shock { asset, start_block, blocks, log_step });
        true
    }

    /// Scheduled shocks, the world's and those added since.
    pub fn shocks(&self) -> &[meshsim_scenario::Shock] {
        &self.spec.shocks
    }

    /// Current regime index.
    pub fn regime(&self) -> usize {
        self.regime
    }

    /// Stream positions, for digests.
    pub fn rng_word_pos(&self) -> Vec<u128> {
        let mut v: Vec<u128> = self.diffusion_rng.iter().chain(&self.jump_rng).map(|r| r.get_word_pos()).collect();
        v.push(self.regime_rng.get_word_pos());
        v
    }

    /// One block of `dt` seconds ending at `timestamp`, for hub block `number`, with volatility
    /// scaled by `spike` (scheduled volatility spikes) on top of the regime; scheduled shocks act
    /// when `shocks` (a hub block).
    /// Returns the first token whose price left [`limits::RUN_PRICE_RANGE`], with that price.
    fn advance(
        &mut self,
        number: u64,
        timestamp: f64,
        dt: f64,
        spike: f64,
        shocks: bool,
        prices: &mut ExternalPrices,
    ) -> Option<(TokenId, f64)> {
        let n = self.spec.assets.len();
        let dt_years = dt / SECONDS_PER_YEAR;
        if let Some(replay) = &self.spec.replay {
            while self.replay_row + 1 < replay.times.len() && replay.times[self.replay_row + 1] <= timestamp + 1e-9 {
                self.replay_row += 1;
            }
        } else if dt > 0.0 {
            self.step_regime(dt_years);
            let multiplier = self.spec.regimes.as_ref().map_or(1.0, |r| r.multipliers[self.regime]) * spike;
            // independent normals from each asset's own stream, correlated through L
            for (z, rng) in self.z.iter_mut().zip(&mut self.diffusion_rng) {
                *z = StandardNormal.sample(rng);
            }
            if self.independent {
                // each row sums its own normal and signed zeros: that normal (but for the sign of
                // a zero, which no price sees)
                self.w.copy_from_slice(&self.z);
            } else {
                for i in 0..n {
                    self.w[i] = (0..=i).map(|k| self.cholesky[i * n + k] * self.z[k]).sum();
                }
            }
            let sqrt_dt = libm::sqrt(dt_years);
            let moves = self.spec.assets.iter().zip(&self.w).zip(self.log_price.iter_mut());
            for (k, ((asset, w), log_price)) in moves.enumerate() {
                let sigma = asset.volatility * multiplier;
                let mut step = (asset.drift - 0.5 * sigma * sigma) * dt_years + sigma * sqrt_dt * w;
                if let Some(j) = self.spec.jumps {
                    let lambda = j.intensity_per_year * dt_years;
                    // compensator keeps E[price] unchanged by jumps
                    step -= lambda * (libm::exp(j.mean + 0.5 * j.stdev * j.stdev) - 1.0);
                    if lambda > 0.0 {
                        let count = Poisson::new(lambda).map_or(0.0, |p| p.sample(&mut self.jump_rng[k]));
                        for _ in 0..count as u64 {
                            let z: f64 = StandardNormal.sample(&mut self.jump_rng[k]);
                            step += j.mean + j.stdev * z;
                        }
                    }
                }
                *log_price += step;
            }
        }
        for shock in self.spec.shocks.iter().filter(|_| shocks) {
            if number >= shock.start_block && number < shock.start_block + shock.blocks {
                self.shock_offset[shock.asset] += shock.log_step;
            }
        }
        let (lo, hi) = limits::RUN_PRICE_RANGE;
        let mut out_of_range = None;
        let replay = self.spec.replay.as_ref().map(|r| &r.prices[self.replay_row]);
        // by iterators, not indices: no bounds check per asset and block
        for (k, ((asset, log_price), shock)) in
            self.spec.assets.iter().zip(&self.log_price).zip(&self.shock_offset).enumerate()
        {
            let base = match replay {
                Some(row) => libm::log(row[k]),
                None => *log_price,
            };
            let price = libm::exp(base + shock);
            // `!(..)` also catches NaN
            if !(lo..=hi).contains(&price) && out_of_range.is_none() {
                out_of_range = Some((asset.token, price));
            }
            prices.set(asset.token, price);
        }
        // one asset, one price, on every chain
        for (k, token) in &self.links {
            prices.set(*token, prices.per_token[self.spec.assets[*k].token.index()]);
        }
        out_of_range
    }

    fn step_regime(&mut self, dt_years: f64) {
        let Some(r) = &self.spec.regimes else { return };
        let rate = r.switches_per_year[self.regime];
        let p_switch = 1.0 - libm::exp(-rate * dt_years);
        if r.multipliers.len() > 1 && self.regime_rng.random::<f64>() < p_switch {
            // uniform among the other regimes
            let k = self.regime_rng.random_range(0..r.multipliers.len() - 1);
            self.regime = if k >= self.regime { k + 1 } else { k };
        }
    }
}

/// Market phase: move external prices to the new block's time.
fn advance_external_prices(
    state: State<(&Chains, &mut ExternalMarket, &mut ExternalPrices, &SimConfig, &mut crate::SimStatus)>,
) {
    let (chains, mut market, mut prices, config, mut status) = shared(state);
    // the hub's block number keeps the calendar; the market moves by the time since any chain's
    // last block
    let number = chains.hub_number();
    let spike = config.events.volatility_multiplier(number);
    let escaped = market.advance(number, chains.now, chains.elapsed, spike, chains.hub_block, &mut prices);
    if let Some((token, value)) = escaped
        && status.failure.is_none()
    {
        let (min, max) = limits::RUN_PRICE_RANGE;
        let symbol = &config.symbols[token.index()];
        let what = format!("the external price of {symbol} (numeraire per whole token)");
        status.failure = Some(crate::SimError::OutOfRange { block: number, what, value, min, max });
    }
}
