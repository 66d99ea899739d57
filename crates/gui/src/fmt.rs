//! Number and error formatting for people.

/// An error and every cause under it, `outer: cause: cause` (what the CLI prints with `{:#}`):
/// error messages never repeat their source, so the chain is the whole story.
pub fn error(e: &dyn std::error::Error) -> String {
    meshsim_scenario::input::chain(e)
}

/// `amount` base units with `decimals` as a short decimal (at most 6 significant decimals).
pub fn amount(amount: u128, decimals: u8) -> String {
    let unit = 10u128.checked_pow(u32::from(decimals)).unwrap_or(u128::MAX);
    let whole = meshsim_core::math::u128_to_f64(amount) / meshsim_core::math::u128_to_f64(unit);
    number(whole)
}

/// A number with a precision that suits its size.
pub fn number(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        format!("{x}")
    } else if a >= 1e9 {
        format!("{:.3}e9", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.3}M", x / 1e6)
    } else if a >= 1000.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.4}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{x:.6}")
    }
}

/// A fraction as a percentage.
pub fn percent(x: f64) -> String {
    format!("{:.3} %", x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_whole_units() {
        assert_eq!(amount(1_500_000, 6), "1.5000");
        assert_eq!(amount(2_000_000_000_000_000_000_000, 18), "2000.0");
        assert_eq!(number(3_250_000.0), "3.250M");
        assert_eq!(percent(0.0125), "1.250 %");
    }

    #[test]
    fn errors_read_with_their_causes() {
        let missing = std::path::Path::new("/nonexistent/world.ron");
        let e = meshsim_scenario::load_file(missing).unwrap_err();
        let text = error(&e);
        assert!(text.starts_with("/nonexistent/world.ron: cannot read: "), "{text}");
        // the cause, once
        assert_eq!(text.matches("os error 2").count(), 1, "{text}");
    }
}
