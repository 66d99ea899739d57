//! The sandwich: buy ahead of a public swap, let it execute at the worse price, sell after.
//! The optimal front-run is the largest input for which the victim still receives its minimum
//! output (the profit rises on `[0, a*]`, THEORY item 5), so a sandwich never makes its victim
//! revert.

use meshsim_math::Pool;

/// A sandwich around one swap of `victim_in` of token `i` for token `j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandwichPlan {
    /// Front-run input (token `i`).
    pub front_in: u128,
    /// Front-run output (token `j`).
    pub front_out: u128,
    /// What the victim receives (at least its minimum).
    pub victim_out: u128,
    /// Back-run output (token `i`) for selling `front_out`.
    pub back_out: u128,
}

impl SandwichPlan {
    /// Profit in token `i`, before gas and bid (may be negative).
    pub fn profit(&self) -> i128 {
        self.back_out as i128 - self.front_in as i128
    }
}

/// The victim's output after a front-run of `a`, or `None` if either swap fails.
fn victim_out_after(pool: &Pool, i: usize, j: usize, a: u128, victim_in: u128) -> Option<(Pool, u128, u128)> {
    let mut p = pool.clone();
    let front_out = if a == 0 { 0 } else { p.swap_exact_in(i, j, a).ok()?.amount_out };
    let v = p.swap_exact_in(i, j, victim_in).ok()?;
    Some((p, front_out, v.amount_out))
}

/// The optimal sandwich with at most `cap` of token `i`, or `None` if the victim has no slack.
pub fn optimal_sandwich(
    pool: &Pool,
    i: usize,
    j: usize,
    victim_in: u128,
    victim_min_out: u128,
    cap: u128,
) -> Option<SandwichPlan> {
    let ok = |a: u128| victim_out_after(pool, i, j, a, victim_in).is_some_and(|(_, _, out)| out >= victim_min_out);
    if !ok(0) || cap == 0 {
        return None;
    }
    // the smallest front-runs pay nothing out and revert (a wei of an 18-decimal token buys no
    // unit of a 6-decimal one): start from the first power of two that goes through
    let mut start = 1u128;
    while !pool.quote_exact_in(i, j, start).is_ok_and(|q| q.amount_out > 0) {
        start = start.checked_mul(2).filter(|s| *s <= cap)?;
    }
    if !ok(start) {
        return None;
    }
    // largest a in [start, cap] keeping the victim at its minimum: gallop up, then bisect
    let (mut lo, mut hi) = (start, cap.saturating_add(1));
    let mut step = 1u128;
    while let Some(next) = lo.checked_add(step).filter(|n| *n <= cap) {
        if ok(next) {
            lo = next;
            step = step.saturating_mul(2);
        } else {
            hi = next;
            break;
        }
    }
    while hi > lo + 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { lo = mid } else { hi = mid }
    }
    let (mut after, front_out, victim_out) = victim_out_after(pool, i, j, lo, victim_in)?;
    let back_out = after.swap_exact_in(j, i, front_out).ok()?.amount_out;
    Some(SandwichPlan { front_in: lo, front_out, victim_out, back_out })
}

#[cfg(test)]
mod tests {
    use meshsim_math::v2::V2Pair;

    use super::*;

    const E18: u128 = 1_000_000_000_000_000_000;

    fn pool() -> Pool {
        // 1,000 ETH / 2,000,000 USDC at 0.30 %
        Pool::ConstantProduct(V2Pair {
            reserve0: 1_000 * E18,
            reserve1: 2_000_000_000_000,
            total_supply: 0,
            fee_pips: 3000,
        })
    }

    #[test]
    fn the_front_run_is_the_largest_that_leaves_the_victim_its_minimum() {
        let p = pool();
        let victim_in = 10 * E18;
        let alone = p.quote_exact_in(0, 1, victim_in).expect("quotes").amount_out;
        let min_out = alone * 99 / 100; // 1 % slippage
        let plan = optimal_sandwich(&p, 0, 1, victim_in, min_out, u128::MAX).expect("slack to take");
        assert!(plan.victim_out >= min_out, "the victim reverts");
        let (_, _, out_one_more) = victim_out_after(&p, 0, 1, plan.front_in + 1, victim_in).expect("swaps");
        assert!(out_one_more < min_out, "a larger front-run would still fit");
        assert!(plan.profit() > 0, "{plan:?}");
    }

    #[test]
    fn no_slack_or_no_capital_means_no_sandwich() {
        let p = pool();
        let victim_in = 10 * E18;
        let alone = p.quote_exact_in(0, 1, victim_in).expect("quotes").amount_out;
        // without slack only a front-run too small to move the victim's rounded output fits, and
        // the round trip's fees make it a loss
        assert!(optimal_sandwich(&p, 0, 1, victim_in, alone, u128::MAX).is_none_or(|s| s.profit() <= 0));
        assert!(optimal_sandwich(&p, 0, 1, victim_in, alone * 99 / 100, 0).is_none());
        // a capped searcher front-runs with at most its capital
        let capped = optimal_sandwich(&p, 0, 1, victim_in, alone * 99 / 100, E18).expect("some slack");
        assert!(capped.front_in <= E18);
    }
}
