//! How the tables show a mean and its spread: rounded alike, to four significant digits.

/// Decimal places that show four significant digits of `x`, or none when it needs an exponent.
fn decimals(x: f64) -> Option<usize> {
    const SIGNIFICANT: i32 = 4;
    if !x.is_finite() {
        return None;
    }
    if x == 0.0 {
        return Some((SIGNIFICANT - 1) as usize);
    }
    let e = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&e) {
        return None;
    }
    Some((SIGNIFICANT - 1 - e).max(0) as usize)
}

/// The mean (with the mark, when best) and the std, rounded alike so they can be compared; `-`
/// without a mean.
pub(crate) fn mean_and_spread(mean: Option<f64>, std: Option<f64>, best: bool, mark: &str) -> (String, Option<String>) {
    let Some(mean) = mean else { return ("-".to_string(), None) };
    let mark = if best { mark } else { "" };
    match decimals(mean) {
        Some(d) => (format!("{mark}{mean:.d$}"), std.map(|v| format!("{v:.d$}"))),
        None => (format!("{mark}{mean:.3e}"), std.map(|v| format!("{v:.1e}"))),
    }
}
