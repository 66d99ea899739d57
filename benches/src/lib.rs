//! Benchmarks live in the `[[bench]]` targets of this package; this library holds what they
//! share: the plain-Rust f64 model the engine is measured against.

pub mod plain {
    //! A plain-Rust f64 loop of a world: the work of a block with no framework, no exact integer
    //! math and no ledger, receipts or tables. The engine's blocks per second are reported next to
    //! this loop's, so the ratio is what exactness and structure cost.
    //!
    //! It takes worlds of the benchmark kind only: constant-product pools, CEX-DEX arbitrageurs,
    //! constant-mix vaults on a threshold band, uncorrelated driftless GBM prices, free gas. Each
    //! block: prices take a GBM step; every arbitrageur trades each watched pool back to the
    //! external price with the closed-form size; every vault values its holdings and, out of its
    //! band, trades back to its targets pair by pair through the cheapest pool of each pair.

    use meshsim_math::Pool;
    use meshsim_scenario::{AgentKind, Scenario, Strategy, Trigger};
    use rand::SeedableRng;
    use rand_chacha::ChaCha12Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// One constant-product pool in whole-token units.
    #[derive(Debug, Clone)]
    pub struct PlainPool {
        /// Token indices.
        pub tokens: [usize; 2],
        /// Reserves, whole tokens.
        pub reserves: [f64; 2],
        /// One minus the fee.
        pub gamma: f64,
    }

    impl PlainPool {
        /// Sells `amount` of side `i` into the pool; returns what side `1 - i` pays.
        fn swap(&mut self, i: usize, amount: f64) -> f64 {
            let (x, y) = (self.reserves[i], self.reserves[1 - i]);
            let out = self.gamma * amount * y / (x + self.gamma * amount);
            self.reserves[i] += amount;
            self.reserves[1 - i] -= out;
            out
        }

        /// Trades the pool back to the external price `p` (side 1 per side 0); returns the
        /// arbitrageur's profit at that price.
        fn arbitrage(&mut self, p: f64) -> f64 {
            let [x, y] = self.reserves;
            let g = self.gamma;
            if g * y / x > p {
                let dx = (libm::sqrt(x * y * g / p) - x) / g;
                self.swap(0, dx) - dx * p
            } else if g * x / y > 1.0 / p {
                let dy = (libm::sqrt(x * y * g * p) - y) / g;
                self.swap(1, dy) * p - dy
            } else {
                0.0
            }
        }
    }

    /// A constant-mix vault in whole-token units.
    #[derive(Debug, Clone)]
    pub struct PlainVault {
        /// Token indices.
        pub tokens: Vec<usize>,
        /// Holdings, whole tokens.
        pub units: Vec<f64>,
        /// Target weights.
        pub targets: Vec<f64>,
        /// Half-width of each token's band.
        pub bands: Vec<f64>,
        /// Rebalances so far.
        pub rebalances: u64,
    }

    /// The whole world.
    #[derive(Debug, Clone)]
    pub struct PlainWorld {
        rng: ChaCha12Rng,
        /// Price of each token in the numeraire.
        pub prices: Vec<f64>,
        log_prices: Vec<f64>,
        /// (drift term, diffusion term) of each token's log step per block.
        steps: Vec<(f64, f64)>,
        /// Pools.
        pub pools: Vec<PlainPool>,
        /// Each arbitrageur's pools.
        pub arbs: Vec<Vec<usize>>,
        /// Arbitrage profit so far, numeraire.
        pub arb_profit: f64,
        /// Vaults.
        pub vaults: Vec<PlainVault>,
        /// The cheapest pool of each token pair, `a * n + b`.
        route: Vec<Option<(usize, usize)>>,
    }

    impl PlainWorld {
        /// The plain model of `s`; `None` if the world has anything it does not model.
        pub fn new(s: &Scenario) -> Option<Self> {
            let n = s.tokens.len();
            let unit = |t: usize| libm::pow(10.0, -f64::from(s.tokens[t].decimals));
            let dt = match s.hub().block_time {
                meshsim_scenario::BlockTime::Fixed { seconds } => seconds / (365.0 * 24.0 * 3600.0),
                _ => return None,
            };
            let mut prices = vec![1.0; n];
            let mut steps = vec![(0.0, 0.0); n];
            for a in &s.market.assets {
                let k = a.token.index();
                prices[k] = a.price;
                steps[k] = (-0.5 * a.volatility * a.volatility * dt, a.volatility * libm::sqrt(dt));
            }
            let mut pools = Vec::new();
            for p in &s.pools {
                let Pool::ConstantProduct(v2) = &p.pool else { return None };
                let t = [p.tokens[0].index(), p.tokens[1].index()];
                pools.push(PlainPool {
                    tokens: t,
                    reserves: [v2.reserve0 as f64 * unit(t[0]), v2.reserve1 as f64 * unit(t[1])],
                    gamma: 1.0 - f64::from(v2.fee_pips) / 1e6,
                });
            }
            let mut route: Vec<Option<(usize, usize)>> = vec![None; n * n];
            for (k, p) in pools.iter().enumerate() {
                for side in 0..2 {
                    let slot = &mut route[p.tokens[side] * n + p.tokens[1 - side]];
                    if slot.is_none_or(|(j, _)| pools[j].gamma < p.gamma) {
                        *slot = Some((k, side));
                    }
                }
            }
            let mut arbs = Vec::new();
            for a in &s.agents {
                let AgentKind::Arbitrageur { pools, .. } = &a.kind else { return None };
                arbs.push(pools.iter().map(|p| p.index()).collect());
            }
            let mut vaults = Vec::new();
            for v in &s.vaults {
                let Strategy::ConstantMix { targets } = &v.strategy else { return None };
                let Trigger::Threshold { band, relative } = v.trigger else { return None };
                let tokens: Vec<usize> = targets.iter().map(|(t, _)| t.index()).collect();
                let units = tokens
                    .iter()
                    .map(|t| {
                        let held = v.holdings.iter().find(|(x, _)| x.index() == *t).map_or(0, |(_, a)| *a);
                        held as f64 * unit(*t)
                    })
                    .collect();
                let w: Vec<f64> = targets.iter().map(|(_, w)| *w).collect();
                let bands = w.iter().map(|t| if relative { band * t } else { band }).collect();
                vaults.push(PlainVault { tokens, units, targets: w, bands, rebalances: 0 });
            }
            Some(PlainWorld {
                rng: ChaCha12Rng::seed_from_u64(s.seed),
                log_prices: prices.iter().map(|p| libm::log(*p)).collect(),
                prices,
                steps,
                pools,
                arbs,
                arb_profit: 0.0,
                vaults,
                route,
            })
        }

        /// Runs `blocks` blocks.
        pub fn run(&mut self, blocks: u64) {
            for _ in 0..blocks {
                self.block();
            }
        }

        fn block(&mut self) {
            for k in 0..self.prices.len() {
                let (drift, diffusion) = self.steps[k];
                if diffusion > 0.0 {
                    let z: f64 = StandardNormal.sample(&mut self.rng);
                    self.log_prices[k] += drift + diffusion * z;
                    self.prices[k] = libm::exp(self.log_prices[k]);
                }
            }
            for a in 0..self.arbs.len() {
                for j in 0..self.arbs[a].len() {
                    let pool = &mut self.pools[self.arbs[a][j]];
                    let [t0, t1] = pool.tokens;
                    let p = self.prices[t0] / self.prices[t1];
                    self.arb_profit += pool.arbitrage(p) * self.prices[t1];
                }
            }
            let n = self.prices.len();
            for v in &mut self.vaults {
                let values: Vec<f64> = v.units.iter().zip(&v.tokens).map(|(u, t)| u * self.prices[*t]).collect();
                let nav: f64 = values.iter().sum();
                let out = values.iter().zip(&v.targets).zip(&v.bands).any(|((x, t), b)| (x / nav - t).abs() > *b);
                if !out {
                    continue;
                }
                v.rebalances += 1;
                // value to move into each token; sellers paired with buyers, largest first
                let mut delta: Vec<f64> = values.iter().zip(&v.targets).map(|(x, t)| t * nav - x).collect();
                for _ in 0..delta.len() {
                    let (s, b) = (argmin(&delta), argmax(&delta));
                    let value = (-delta[s]).min(delta[b]);
                    if s == b || value <= nav * 1e-7 {
                        break;
                    }
                    let (ts, tb) = (v.tokens[s], v.tokens[b]);
                    let Some((k, side)) = self.route[ts * n + tb] else { break };
                    let amount = value / self.prices[ts];
                    let got = self.pools[k].swap(side, amount);
                    v.units[s] -= amount;
                    v.units[b] += got;
                    delta[s] += value;
                    delta[b] -= value;
                }
            }
        }
    }

    fn argmin(v: &[f64]) -> usize {
        (0..v.len()).min_by(|a, b| v[*a].total_cmp(&v[*b])).unwrap_or(0)
    }

    fn argmax(v: &[f64]) -> usize {
        (0..v.len()).max_by(|a, b| v[*a].total_cmp(&v[*b])).unwrap_or(0)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn world(name: &str) -> Scenario {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds").join(name);
            meshsim_scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"))
        }

        #[test]
        fn arbitrage_keeps_every_pool_inside_its_fee_band_and_vaults_rebalance() {
            let mut w = PlainWorld::new(&world("bench/s2.ron")).expect("S2 is plain");
            w.run(20_000);
            for p in &w.pools {
                let external = w.prices[p.tokens[0]] / w.prices[p.tokens[1]];
                let pool = p.reserves[1] / p.reserves[0];
                let dev = libm::log(pool / external).abs();
                assert!(dev <= -libm::log(p.gamma) + 1e-9, "pool off the external price by {dev}");
            }
            assert!(w.arb_profit > 0.0);
            let rebalances: u64 = w.vaults.iter().map(|v| v.rebalances).sum();
            assert!(rebalances > 0 && rebalances < 20_000, "{rebalances} rebalances");
        }

        #[test]
        fn worlds_with_other_kinds_are_refused() {
            assert!(PlainWorld::new(&world("mesh.ron")).is_none());
            assert!(PlainWorld::new(&world("bench/s1.ron")).is_some());
        }
    }
}
