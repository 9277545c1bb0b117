//! Cells for spreadsheets. A CSV cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return is read by Excel and LibreOffice as a formula (CSV injection): every CSV the service
//! writes passes its text through [`cell`], which puts an apostrophe in front — the spreadsheets'
//! own sign for «this is text». A plain number such as `-3.5` is a number, not a formula, and stays.

fn risky(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err()
}

/// `s` as a CSV cell a spreadsheet shows as text.
pub fn cell(s: &str) -> String {
    match risky(s) {
        true => format!("'{s}"),
        false => s.to_owned(),
    }
}

/// A cell of a CSV the service wrote, as it was before [`cell`]: what comes back in an upload.
pub fn uncell(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if risky(rest) => rest,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        for formula in ["=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-"] {
            assert_eq!(cell(formula), format!("'{formula}"), "{formula:?}");
            assert_eq!(uncell(&cell(formula)), formula);
        }
        for plain in ["Ringte avdelingen", "-3.5", "12", "", "'quoted", "a=b"] {
            assert_eq!(cell(plain), plain);
            assert_eq!(uncell(plain), plain);
        }
    }
}
