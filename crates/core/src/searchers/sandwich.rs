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
    if !ok(0) || cap == 0 || !ok(1) {
        return None;
    }
    // largest a in [1, cap] keeping the victim at its minimum: gallop up, then bisect
    let (mut lo, mut hi) = (1u128, cap.saturating_add(1));
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
