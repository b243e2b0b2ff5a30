//! How tables and charts show numbers: four significant digits; a mean and its spread rounded
//! alike; a key's value as written when that is short, rounded when it has many digits (as a
//! value a search draws has).

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

/// A key's float value for reading: as written when that takes at most six significant digits
/// (0.001, 1e-5, 0.3, 1e30), else four (a value a search drew, 0.004319824731766165, shows as
/// 0.00432). CSV and JSON keep every digit.
pub(crate) fn short_float(x: f64) -> String {
    let written = format!("{x:?}");
    let mantissa = written.split(['e', 'E']).next().unwrap_or_default();
    let digits = mantissa.chars().filter(char::is_ascii_digit).skip_while(|c| *c == '0').count();
    if digits <= 6 {
        return written;
    }
    significant(x)
}

/// Four significant digits without trailing zeros (0.004320 → 0.00432, 12.00 → 12), with an
/// exponent outside 1e-4 … 1e6 (1.235e-7). Table values and chart ticks alike.
pub(crate) fn significant(x: f64) -> String {
    match decimals(x) {
        Some(d) => trim_zeros(format!("{x:.d$}")),
        None => {
            let text = format!("{x:.3e}");
            match text.split_once('e') {
                Some((m, e)) => format!("{}e{e}", trim_zeros(m.to_string())),
                None => text,
            }
        }
    }
}

/// `0.004320` → `0.00432`, `12.00` → `12`; a number without a decimal point is left alone.
fn trim_zeros(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_written_stay_and_drawn_ones_get_four_significant_digits() {
        // Reference: Rust's shortest round-trip `{:?}` for the short ones, by hand for the rest.
        for (x, shown) in [
            (0.001, "0.001"),
            (1e-5, "1e-5"),
            (0.3, "0.3"),
            (1e30, "1e30"),
            (2.5, "2.5"),
            (0.004319824731766165, "0.00432"),
            (0.09756998999138895, "0.09757"),
            (0.00011092334154779915, "0.0001109"),
            (3.0000000000000004, "3"),
            (1.234567891e-7, "1.235e-7"),
            (-0.12345678, "-0.1235"),
        ] {
            assert_eq!(short_float(x), shown, "{x:?}");
        }
    }
}
