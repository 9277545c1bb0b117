//! Guard against fødselsnummer and D-nummer in free text.
//!
//! Text is split into runs of digit groups joined by single spaces, dots or hyphens
//! ("010170 123 45", "01.01.70 12345"). Every group-aligned stretch of exactly eleven digits is
//! checked: a plausible birth date (or D-/H-number, or synthetic test number) and both mod-11 check
//! digits. Groups are never split, so an eleven-digit window inside a longer number does not count.

const K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// True when the eleven digits form a valid fødselsnummer, D-nummer, H-nummer or synthetic number.
pub fn is_national_id(digits: &[u32]) -> bool {
    if digits.len() != 11 {
        return false;
    }
    let day = digits[0] * 10 + digits[1];
    let month = digits[2] * 10 + digits[3];
    let day_ok = (1..=31).contains(&day) || (41..=71).contains(&day);
    let month_ok = (1..=12).contains(&month) || (41..=52).contains(&month) || (81..=92).contains(&month);
    day_ok && month_ok && check(&digits[..9], &K1) == Some(digits[9]) && check(&digits[..10], &K2) == Some(digits[10])
}

fn check(digits: &[u32], weights: &[u32]) -> Option<u32> {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

/// Runs of digit groups: digits, with a single separator allowed between two digits.
fn digit_runs(text: &str) -> Vec<Vec<Vec<u32>>> {
    let chars: Vec<char> = text.chars().collect();
    let mut runs = Vec::new();
    let mut run: Vec<Vec<u32>> = Vec::new();
    let mut group: Vec<u32> = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if let Some(d) = c.to_digit(10) {
            group.push(d);
            continue;
        }
        let joins = matches!(c, ' ' | '.' | '-' | '\u{a0}')
            && !group.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if !group.is_empty() {
            run.push(std::mem::take(&mut group));
        }
        if !joins && !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !group.is_empty() {
        run.push(group);
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Whether `text` contains something that reads as a national id number.
pub fn contains_national_id(text: &str) -> bool {
    digit_runs(text).iter().any(|groups| {
        (0..groups.len()).any(|start| {
            let mut digits = Vec::new();
            for g in &groups[start..] {
                digits.extend_from_slice(g);
                if digits.len() >= 11 {
                    break;
                }
            }
            is_national_id(&digits)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid number from nine leading digits by computing both check digits.
    fn valid(first_nine: &str) -> String {
        let mut d: Vec<u32> = first_nine.chars().map(|c| c.to_digit(10).unwrap()).collect();
        let k1 = check(&d, &K1).expect("k1");
        d.push(k1);
        let k2 = check(&d, &K2).expect("k2");
        d.push(k2);
        d.iter().map(|x| x.to_string()).collect()
    }

    /// A valid fødselsnummer whose check digits both exist (searching individual numbers).
    fn some_fnr(birth: &str) -> String {
        (100..1000)
            .map(|n| format!("{birth}{n}"))
            .find(|nine| {
                let d: Vec<u32> = nine.chars().map(|c| c.to_digit(10).unwrap()).collect();
                check(&d, &K1).is_some_and(|k1| {
                    let mut e = d.clone();
                    e.push(k1);
                    check(&e, &K2).is_some()
                })
            })
            .map(|nine| valid(&nine))
            .unwrap()
    }

    #[test]
    fn known_valid_numbers_are_found() {
        let fnr = some_fnr("010170");
        assert!(contains_national_id(&fnr));
        assert!(contains_national_id(&format!("Pasient {fnr} kom hjem uten epikrise")));
        assert!(contains_national_id(&format!("fnr:{fnr}.")));
    }

    #[test]
    fn d_numbers_and_synthetic_numbers_are_found() {
        let d_number = some_fnr("410170"); // day + 40
        assert!(contains_national_id(&d_number));
        let synthetic = some_fnr("018170"); // month + 80 (test data)
        assert!(contains_national_id(&synthetic));
    }

    #[test]
    fn spaced_dotted_and_hyphenated_forms_are_found() {
        let f = some_fnr("150385");
        let (birth, person) = f.split_at(6);
        for text in [
            format!("{birth} {person}"),
            format!("{birth}-{person}"),
            format!("{}.{}.{} {person}", &birth[..2], &birth[2..4], &birth[4..]),
            format!("{} {} {} {}", &f[..3], &f[3..6], &f[6..9], &f[9..]),
            format!("Dato 12.03.2026 {f}"),
        ] {
            assert!(contains_national_id(&text), "{text}");
        }
    }

    #[test]
    fn wrong_check_digits_pass() {
        let f = some_fnr("010170");
        let last = f.chars().last().unwrap().to_digit(10).unwrap();
        let wrong = format!("{}{}", &f[..10], (last + 1) % 10);
        assert!(!contains_national_id(&wrong));
        let mut first_check_wrong: Vec<char> = f.chars().collect();
        first_check_wrong[9] = char::from_digit((first_check_wrong[9].to_digit(10).unwrap() + 1) % 10, 10).unwrap();
        assert!(!contains_national_id(&first_check_wrong.iter().collect::<String>()));
    }

    #[test]
    fn numbers_inside_longer_runs_pass() {
        let f = some_fnr("010170");
        assert!(!contains_national_id(&format!("1{f}")));
        assert!(!contains_national_id(&format!("{f}9")));
        assert!(!contains_national_id(&format!("KID 12{f}34")));
    }

    #[test]
    fn ordinary_numbers_pass() {
        for text in [
            "Ring 73 86 80 00 eller +47 918 12 345",
            "Innlagt 12.03.2026 kl. 14.30, utskrevet 2026-03-15",
            "Avvik SA-2026-00042, 3 tabletter à 500 mg",
            "Kontonummer 1234.56.78903",
            "Pasienten er i 80-årene",
            "00000000000",
            "12345678901",
        ] {
            assert!(!contains_national_id(text), "{text}");
        }
    }

    #[test]
    fn impossible_dates_pass_even_with_valid_check_digits() {
        // Day 35 is neither a birth day nor a D-number day.
        let nine = (100..1000).map(|n| format!("350170{n}")).find(|n| {
            let d: Vec<u32> = n.chars().map(|c| c.to_digit(10).unwrap()).collect();
            check(&d, &K1).is_some_and(|k| {
                let mut e = d.clone();
                e.push(k);
                check(&e, &K2).is_some()
            })
        });
        assert!(!contains_national_id(&valid(&nine.unwrap())));
    }
}
