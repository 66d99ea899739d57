//! Exact decimal amounts: `"1234.5"` with a token's decimals becomes base units, no floats.

/// Parses a non-negative decimal string (digits, optional `.` fraction, `_` between thousands of
/// the whole part: `1_000_000.5`) into base units of a token with `decimals`. Anything ambiguous
/// (spaces, `5_00`, `1_0000`) is refused. Errors say what was expected.
pub fn parse_amount(text: &str, decimals: u8) -> Result<u128, String> {
    let expected = || {
        format!(
            "expected a non-negative decimal amount like \"1000.5\" with at most {decimals} decimals, found {text:?}"
        )
    };
    if text.chars().any(char::is_whitespace) {
        return Err(format!("{}: spaces are not allowed in an amount", expected()));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if text.contains('_') && (!thousands(whole) || fraction.contains('_')) {
        return Err(format!("{}: `_` may only separate thousands of the whole part (1_000_000)", expected()));
    }
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() {
        return Err(expected());
    }
    let (int_part, frac_part) = match cleaned.split_once('.') {
        Some((i, f)) => (i, f),
        None => (cleaned.as_str(), ""),
    };
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits_ok(int_part) || !digits_ok(frac_part) || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(expected());
    }
    if frac_part.len() > usize::from(decimals) {
        return Err(format!("{text:?} has {} decimals but the token has only {decimals}", frac_part.len()));
    }
    let too_big = || format!("{text:?} does not fit in 128-bit base units");
    let scale = 10u128.checked_pow(u32::from(decimals)).ok_or_else(too_big)?;
    let int: u128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| too_big())? };
    let frac_scale = 10u128.pow((usize::from(decimals) - frac_part.len()) as u32);
    let frac: u128 =
        if frac_part.is_empty() { 0 } else { frac_part.parse::<u128>().map_err(|_| too_big())? * frac_scale };
    int.checked_mul(scale).and_then(|v| v.checked_add(frac)).ok_or_else(too_big)
}

/// `1_000` or `12_345_678`: one to three digits, then groups of exactly three.
fn thousands(whole: &str) -> bool {
    let mut groups = whole.split('_');
    let first = groups.next().unwrap_or("");
    let digits = |g: &str| g.chars().all(|c| c.is_ascii_digit());
    (1..=3).contains(&first.len()) && digits(first) && groups.all(|g| g.len() == 3 && digits(g))
}

/// An f64 that must be a whole number of `unit`s after scaling (e.g. basis points to pips).
pub fn exact_units(value: f64, scale: f64, what: &str) -> Result<u128, String> {
    let scaled = value * scale;
    if !scaled.is_finite() || scaled < 0.0 {
        return Err(format!("expected a finite non-negative {what}, found {value}"));
    }
    let rounded = libm::round(scaled);
    if (scaled - rounded).abs() > 1e-6 * rounded.max(1.0) {
        return Err(format!("{value} is not a whole number of the contract's units for {what} (x{scale} = {scaled})"));
    }
    Ok(rounded as u128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_amount("1000.5", 6), Ok(1_000_500_000));
        assert_eq!(parse_amount("1_000", 18), Ok(1_000 * 10u128.pow(18)));
        assert_eq!(parse_amount("12_345_678.25", 2), Ok(1_234_567_825));
        for ambiguous in [" 500 ", "500 ", "5 00", "5_00", "1_0000", "_100", "100_", "1__000", "1.000_5"] {
            assert!(parse_amount(ambiguous, 18).is_err(), "{ambiguous:?}");
        }
        assert_eq!(parse_amount(".25", 2), Ok(25));
        assert_eq!(parse_amount("7", 0), Ok(7));
        for bad in ["", "-1", "1e6", "1.2.3", "abc", " . ", "0x10"] {
            assert!(parse_amount(bad, 18).is_err(), "{bad}");
        }
        assert!(parse_amount("0.1234567", 6).unwrap_err().contains("has 7 decimals"));
        assert!(parse_amount("999999999999999999999999999999999999999", 18).is_err());
    }

    proptest! {
        #[test]
        fn round_trips_any_base_amount(units in any::<u64>(), decimals in 0u8..=18) {
            let scale = 10u128.pow(u32::from(decimals));
            let units = u128::from(units);
            let text = if decimals == 0 { units.to_string() } else {
                format!("{}.{:0width$}", units / scale, units % scale, width = usize::from(decimals))
            };
            prop_assert_eq!(parse_amount(&text, decimals), Ok(units));
        }
    }
}
