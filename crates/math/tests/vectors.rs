//! Exact parity with the contracts: every row of every vector file in `tests/data/` (copied from
//! `../shared/vectors`, each with its `source`). A missing file fails the test.

use meshsim_math::stableswap::{StableSwapPool, StableSwapVariant, get_d, get_y};
use meshsim_math::v2::{self, V2Pair};
use meshsim_math::v3::sqrt_price_math as spm;
use meshsim_math::v3::tick_math::{get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio};
use meshsim_math::v3::{AmountRemaining, amounts_for_liquidity, compute_swap_step};
use meshsim_math::{MathError, U256};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("vector file {path} is missing: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(v["source"].as_str().is_some_and(|s| !s.is_empty()), "{path} lost its source field");
    v
}

fn rows<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    let rows = v[key].as_array().unwrap_or_else(|| panic!("no array {key}"));
    assert!(!rows.is_empty(), "{key} is empty");
    rows
}

fn u256(v: &Value) -> U256 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}"));
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn u128_(v: &Value) -> u128 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a u128: {v}"))
}

#[test]
fn uniswap_v2_library_and_pair() {
    let v = load("uniswap_v2.json");
    for r in rows(&v, "get_amount_out") {
        let (a, rin, rout, want) =
            (u128_(&r["amount_in"]), u128_(&r["reserve_in"]), u128_(&r["reserve_out"]), u128_(&r["expected"]));
        assert_eq!(v2::get_amount_out(a, rin, rout, 3000), Ok(want), "{r}");
        // the pair accepts exactly that output and rejects one more unit with 'UniswapV2: K'
        let pair = V2Pair { reserve0: rin, reserve1: rout, total_supply: 0, fee_pips: 3000 };
        assert!(pair.clone().swap(0, want, a, 0).is_ok(), "{r}");
        let err = pair.clone().swap(0, want + 1, a, 0).unwrap_err();
        assert!(matches!(err, MathError::Revert { reason: "UniswapV2: K", .. }), "{r}: {err}");
    }
    for r in rows(&v, "get_amount_in") {
        let got = v2::get_amount_in(u128_(&r["amount_out"]), u128_(&r["reserve_in"]), u128_(&r["reserve_out"]), 3000);
        assert_eq!(got, Ok(u128_(&r["expected"])), "{r}");
    }
    for r in rows(&v, "quote") {
        assert_eq!(
            v2::quote(u128_(&r["amount"]), u128_(&r["reserve_a"]), u128_(&r["reserve_b"])),
            Ok(u128_(&r["expected"])),
            "{r}"
        );
    }
    let mut boundary_rows = 0;
    for r in rows(&v, "pair_swap_k_boundary") {
        if r.get("reserve0").is_none() {
            continue; // a note row
        }
        boundary_rows += 1;
        let pair = V2Pair {
            reserve0: u128_(&r["reserve0"]),
            reserve1: u128_(&r["reserve1"]),
            total_supply: 0,
            fee_pips: 3000,
        };
        let (a_in, out_max) = (u128_(&r["amount0_in"]), u128_(&r["amount0_out_max"]));
        assert!(pair.clone().swap(out_max, 0, a_in, 0).is_ok(), "{r}");
        assert!(
            matches!(pair.clone().swap(out_max + 1, 0, a_in, 0), Err(MathError::Revert { reason: "UniswapV2: K", .. })),
            "{r}"
        );
    }
    assert_eq!(boundary_rows, 4);

    let mb = rows(&v, "mint_burn");
    let first = &mb[0]["first_mint"];
    let mut pair = V2Pair::empty(3000).unwrap();
    let minted = pair.mint(u128_(&first["amount0"]), u128_(&first["amount1"])).unwrap();
    assert_eq!(pair.total_supply, u128_(&first["total_supply"]));
    assert_eq!(minted, u128_(&first["minter_balance"]));
    let burn = &mb[1]["burn_all"];
    let mut pair = V2Pair::empty(3000).unwrap();
    let minted = pair.mint(u128_(&burn["amount0"]), u128_(&burn["amount1"])).unwrap();
    assert_eq!(pair.burn(minted), Ok((u128_(&burn["returned0"]), u128_(&burn["returned1"]))));
}

#[test]
fn uniswap_v3_tick_math() {
    let v = load("uniswap_v3_tickmath.json");
    for r in rows(&v, "get_sqrt_ratio_at_tick") {
        let tick = r["tick"].as_i64().expect("tick") as i32;
        assert_eq!(get_sqrt_ratio_at_tick(tick), Ok(u256(&r["sqrt_price_x96"])), "{r}");
    }
    for r in rows(&v, "get_tick_at_sqrt_ratio") {
        assert_eq!(
            get_tick_at_sqrt_ratio(u256(&r["sqrt_price_x96"])),
            Ok(r["tick"].as_i64().expect("tick") as i32),
            "{r}"
        );
    }
    let reverts = &v["reverts"];
    for t in reverts["get_sqrt_ratio_at_tick"].as_array().expect("reverts") {
        let err = get_sqrt_ratio_at_tick(t.as_i64().expect("tick") as i32).unwrap_err();
        assert!(matches!(err, MathError::Revert { reason: "T", .. }), "{t}: {err}");
    }
    for s in reverts["get_tick_at_sqrt_ratio"].as_array().expect("reverts") {
        let err = get_tick_at_sqrt_ratio(u256(s)).unwrap_err();
        assert!(matches!(err, MathError::Revert { reason: "R", .. }), "{s}: {err}");
    }
}

#[test]
fn uniswap_v3_sqrt_price_math() {
    let v = load("uniswap_v3_sqrtpricemath.json");
    let liq = |r: &Value| u128_(&r["liquidity"]);
    for r in rows(&v, "get_next_sqrt_price_from_input") {
        let got = spm::get_next_sqrt_price_from_input(
            u256(&r["sqrt_price_x96"]),
            liq(r),
            u256(&r["amount_in"]),
            r["zero_for_one"].as_bool().expect("bool"),
        );
        assert_eq!(got, Ok(u256(&r["expected"])), "{r}");
    }
    for r in rows(&v, "get_next_sqrt_price_from_output") {
        let got = spm::get_next_sqrt_price_from_output(
            u256(&r["sqrt_price_x96"]),
            liq(r),
            u256(&r["amount_out"]),
            r["zero_for_one"].as_bool().expect("bool"),
        );
        assert_eq!(got, Ok(u256(&r["expected"])), "{r}");
    }
    for r in rows(&v, "reverts") {
        let (p, l, a, z) =
            (u256(&r["sqrt_price_x96"]), liq(r), u256(&r["amount"]), r["zero_for_one"].as_bool().expect("bool"));
        let got = match r["fn"].as_str().expect("fn") {
            "get_next_sqrt_price_from_input" => spm::get_next_sqrt_price_from_input(p, l, a, z),
            "get_next_sqrt_price_from_output" => spm::get_next_sqrt_price_from_output(p, l, a, z),
            other => panic!("unknown fn {other}"),
        };
        assert!(got.is_err(), "must revert: {r} (got {got:?})");
    }
    for r in rows(&v, "get_amount0_delta") {
        let got = spm::get_amount0_delta(
            u256(&r["sqrt_a_x96"]),
            u256(&r["sqrt_b_x96"]),
            liq(r),
            r["round_up"].as_bool().expect("bool"),
        );
        assert_eq!(got, Ok(u256(&r["expected"])), "{r}");
    }
    for r in rows(&v, "get_amount1_delta") {
        let got = spm::get_amount1_delta(
            u256(&r["sqrt_a_x96"]),
            u256(&r["sqrt_b_x96"]),
            liq(r),
            r["round_up"].as_bool().expect("bool"),
        );
        assert_eq!(got, Ok(u256(&r["expected"])), "{r}");
    }
}

#[test]
fn uniswap_v3_swap_math() {
    let v = load("uniswap_v3_swapmath.json");
    for r in rows(&v, "compute_swap_step") {
        let remaining = r["amount_remaining"].as_str().expect("amount");
        let amount = match remaining.strip_prefix('-') {
            Some(abs) => AmountRemaining::ExactOut(abs.parse().expect("u256")),
            None => AmountRemaining::ExactIn(remaining.parse().expect("u256")),
        };
        let fee = r["fee_pips"].as_u64().expect("fee") as u32;
        let step = compute_swap_step(
            u256(&r["sqrt_price_x96"]),
            u256(&r["sqrt_target_x96"]),
            u128_(&r["liquidity"]),
            amount,
            fee,
        )
        .unwrap_or_else(|e| panic!("{r}: {e}"));
        let e = &r["expected"];
        assert_eq!(step.sqrt_next_x96, u256(&e["sqrt_next_x96"]), "{r}");
        assert_eq!(step.amount_in, u256(&e["amount_in"]), "{r}");
        assert_eq!(step.amount_out, u256(&e["amount_out"]), "{r}");
        assert_eq!(step.fee_amount, u256(&e["fee_amount"]), "{r}");
    }
}

fn curve_case(balances: &[Value], rates: &[Value], amp: u64, fee: u64, variant: StableSwapVariant) -> StableSwapPool {
    StableSwapPool::try_new(
        balances.iter().map(u128_).collect(),
        rates.iter().map(u256).collect(),
        amp,
        fee,
        0,
        0,
        variant,
    )
    .expect("valid pool")
}

fn check_curve(r: &Value, expected: &Value, amp: u64, variant: StableSwapVariant) {
    let balances = r["balances"].as_array().expect("balances");
    let rates = r["rates"].as_array().expect("rates");
    let fee = r["fee"].as_u64().expect("fee");
    let pool = curve_case(balances, rates, amp, fee, variant);
    let (i, j) = (r["i"].as_u64().expect("i") as usize, r["j"].as_u64().expect("j") as usize);
    let xp = pool.xp();
    if let Some(want_xp) = r["xp"].as_array() {
        assert_eq!(xp.to_vec(), want_xp.iter().map(u256).collect::<Vec<_>>(), "{}", r["label"]);
    }
    assert_eq!(get_d(&xp, amp, variant), Ok(u256(&expected["D"])), "{} D ({variant:?})", r["label"]);
    let dx = u128_(&r["dx"]);
    let x = xp[i] + U256::from(dx) * pool.rates()[i] / U256::from(10u128.pow(18));
    assert_eq!(get_y(i, j, x, &xp, amp, variant), Ok(u256(&expected["y_after_dx"])), "{} y ({variant:?})", r["label"]);
    let q = pool.quote(i, j, dx).expect("quote");
    assert_eq!(q.dy, u128_(&expected["dy"]), "{} dy ({variant:?})", r["label"]);
    assert_eq!(q.dy_fee, u128_(&expected["dy_fee"]), "{} dy_fee ({variant:?})", r["label"]);
}

#[test]
fn curve_stableswap_classic_and_ng() {
    let v = load("curve_stableswap.json");
    for r in rows(&v, "cases") {
        let classic = &r["classic"];
        check_curve(r, classic, classic["amp_param"].as_u64().expect("amp"), StableSwapVariant::Classic);
        let ng = &r["ng"];
        check_curve(r, ng, ng["amp_param"].as_u64().expect("amp"), StableSwapVariant::Ng);
    }
    for r in rows(&v, "ng_fractional_A_cases") {
        check_curve(r, &r["ng"], r["amp"].as_u64().expect("amp"), StableSwapVariant::Ng);
    }
}

#[test]
fn impermanent_loss_table_from_exact_v3_amounts() {
    let v = load("impermanent_loss.json");
    let cpmm = v["cpmm"].as_object().expect("cpmm");
    for (r, want) in cpmm {
        let r: f64 = r.parse().expect("ratio");
        let il = 2.0 * r.sqrt() / (1.0 + r) - 1.0;
        assert!((il - want.as_f64().expect("f64")).abs() < 1e-15, "cpmm r={r}");
    }
    for (w, table) in v["weighted"].as_object().expect("weighted") {
        let w: f64 = w.trim_start_matches("w=").parse().expect("weight");
        for (r, want) in table.as_object().expect("table") {
            let r: f64 = r.parse().expect("ratio");
            let il = libm::pow(r, w) / (w * r + 1.0 - w) - 1.0;
            assert!((il - want.as_f64().expect("f64")).abs() < 1e-14, "weighted w={w} r={r}");
        }
    }
    let liquidity: u128 = 10u128.pow(24);
    for row in rows(&v, "v3") {
        let t = |k: &str| row[k].as_i64().expect("tick") as i32;
        let (sa, sb) = (
            get_sqrt_ratio_at_tick(t("tick_lower")).expect("tick"),
            get_sqrt_ratio_at_tick(t("tick_upper")).expect("tick"),
        );
        let (s0, s1) =
            (get_sqrt_ratio_at_tick(t("tick0")).expect("tick"), get_sqrt_ratio_at_tick(t("tick1")).expect("tick"));
        // deposited at tick0, withdrawn at tick1: exact integer position amounts
        let (x0, y0) = amounts_for_liquidity(s0, sa, sb, liquidity).expect("amounts");
        let (x1, y1) = amounts_for_liquidity(s1, sa, sb, liquidity).expect("amounts");
        let f = meshsim_math::u256_to_f64;
        let p1 = libm::pow(1.0001, f64::from(t("tick1") - t("tick0")));
        let il = (f(x1) * p1 + f(y1)) / (f(x0) * p1 + f(y0)) - 1.0;
        let want_int = row["il_integer"].as_f64().expect("il_integer");
        let want_float = row["il"].as_f64().expect("il");
        assert!((il - want_int).abs() < 1e-12, "{row}: integer IL {il} vs {want_int}");
        assert!((il - want_float).abs() < 1e-12, "{row}: integer IL {il} vs float {want_float}");
        assert!((p1 / row["r"].as_f64().expect("r") - 1.0).abs() < 1e-12);
    }
}
