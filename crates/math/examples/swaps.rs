//! Prints a few swaps on each pool kind, with the exact integer amounts.
//! Run: `cargo run --release -p meshsim-math --example swaps`.

use meshsim_math::stableswap::{StableSwapPool, StableSwapVariant};
use meshsim_math::v2::V2Pair;
use meshsim_math::v3::V3Pool;
use meshsim_math::v3::tick_math::get_sqrt_ratio_at_tick;
use meshsim_math::weighted::WeightedPool;
use meshsim_math::{MathResult, Pool, U256};

const E18: u128 = 1_000_000_000_000_000_000;
const E6: u128 = 1_000_000;

fn main() -> MathResult<()> {
    let mut v3 = V3Pool::new(3000, 60, get_sqrt_ratio_at_tick(-198_000)?)?; // ~2500 USDC(6dp)/WETH(18dp)
    v3.mint(1, -204_000, -192_000, 20 * E18)?;
    let pools = [
        ("uniswap v2 WETH/USDC", Pool::ConstantProduct(V2Pair::seeded(1_000 * E18, 2_500_000 * E6, 3000)?), E18),
        ("uniswap v3 WETH/USDC 0.3%", Pool::Concentrated(v3), E18),
        (
            "curve NG USDC/USDT",
            Pool::StableSwap(StableSwapPool::try_new(
                vec![5_000_000 * E6, 5_100_000 * E6],
                vec![U256::from(E18 * 1_000_000_000_000); 2],
                20_000,
                1_000_000,
                5_000_000_000,
                0,
                StableSwapVariant::Ng,
            )?),
            10_000 * E6,
        ),
        (
            "balancer 80/20 WETH/USDC",
            Pool::Weighted(WeightedPool::try_new(
                vec![800 * E18, 500_000 * E6],
                vec![U256::from(E18 * 8 / 10), U256::from(E18 * 2 / 10)],
                &[18, 6],
                U256::from(E18 * 3 / 1000),
            )?),
            E18,
        ),
    ];
    for (name, mut pool, amount) in pools {
        println!("{name}: marginal price {:.6e} token1 base units per token0 base unit", pool.marginal_price(0, 1));
        for k in 1..=3u128 {
            let q = pool.swap_exact_in(0, 1, amount * k)?;
            println!("  swap {:>26} in -> {:>26} out (fee {})", q.amount_in, q.amount_out, q.lp_fee);
        }
        let target = pool.net_price(0, 1) * 1.02;
        let back = pool.input_to_price(1, 0, 1.0 / target)?;
        println!("  trade-to-price: {back} token1 in until its marginal rate is 1 / (1.02 x net price of token0)");
    }
    Ok(())
}
