//! Guard against fødselsnummer and D-nummer in free text, and the check of a patient's number
//! where the form asks for it (`parse_patient_id`).
//!
//! Text is read as runs of digit groups ("010170 123 45", "01.01.70/12345", "０１０１７０ １２３４５").
//! A digit is any Unicode decimal digit (fullwidth, Arabic-Indic, mathematical, …), because those
//! look like the number on screen or are read as it. Between two groups, up to three separators
//! (any whitespace, and the punctuation people put in numbers: `. , - _ / :` and the Unicode dashes)
//! join the groups; invisible characters (zero-width space, soft hyphen, direction marks, …) are
//! ignored altogether. Every group-aligned stretch of exactly eleven digits is checked: a plausible
//! birth date (or D-/H-number, or synthetic test number) and both mod-11 check digits. Groups are
//! never split, so an eleven-digit window inside a longer number does not count.

const K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// What the user reads when text is refused; it never repeats the number.
pub const NATIONAL_ID_MESSAGE: &str = "Teksten ser ut til å inneholde et fødselsnummer eller D-nummer. \
Ta det bort: pasientens identitet skal ikke stå i fritekst. Beskriv pasienten uten å identifisere \
(for eksempel «kvinne i 80-årene»); mottakeren kontakter dere ved behov.";

/// How many separator characters may stand between two digit groups of one number.
const MAX_SEPARATORS: usize = 3;

/// The zero of every block of Unicode decimal digits (general category Nd, Unicode 14; generated
/// with Python's `unicodedata`). Each block holds the digits 0–9 in order.
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0,
    0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620,
    0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0,
    0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60,
    0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// The value of a decimal digit in any script.
fn digit_value(c: char) -> Option<u32> {
    let c = u32::from(c);
    let zero = match DIGIT_ZEROS.binary_search(&c) {
        Ok(i) => DIGIT_ZEROS.get(i),
        Err(0) => None,
        Err(i) => DIGIT_ZEROS.get(i - 1),
    }?;
    Some(c - zero).filter(|d| *d < 10)
}

/// Characters that show nothing (Default_Ignorable_Code_Point, the ones text carries in practice).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}')
}

/// What people put between the parts of a number.
fn separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | ',' | '-' | '_' | '/' | ':' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '\u{fe58}'
                    | '\u{fe63}'
                    | '\u{ff0c}'
                    | '\u{ff0d}'
                    | '\u{ff0e}'
                    | '\u{ff0f}'
                    | '\u{ff1a}'
                    | '\u{ff3f}'
        )
}

/// True when the eleven digits form a valid fødselsnummer, D-nummer, H-nummer or synthetic number.
pub fn is_national_id(digits: &[u32]) -> bool {
    let [d0, d1, d2, d3, ..] = digits else { return false };
    if digits.len() != 11 {
        return false;
    }
    let day = d0 * 10 + d1;
    let month = d2 * 10 + d3;
    let day_ok = (1..=31).contains(&day) || (41..=71).contains(&day);
    let month_ok = (1..=12).contains(&month) || (41..=52).contains(&month) || (81..=92).contains(&month);
    let (first_nine, checks) = digits.split_at(9);
    let k1 = check(first_nine, &K1);
    let k2 = k1.and_then(|k1| check(&[first_nine, &[k1]].concat(), &K2));
    day_ok && month_ok && [k1, k2].iter().copied().collect::<Option<Vec<u32>>>().as_deref() == Some(checks)
}

fn check(digits: &[u32], weights: &[u32]) -> Option<u32> {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

/// Runs of digit groups: digits, with up to [`MAX_SEPARATORS`] separators between two groups.
fn digit_runs(text: &str) -> Vec<Vec<Vec<u32>>> {
    let mut runs = Vec::new();
    let mut run: Vec<Vec<u32>> = Vec::new();
    let mut group: Vec<u32> = Vec::new();
    let mut separators = 0;
    for c in text.chars().filter(|c| !invisible(*c)) {
        if let Some(d) = digit_value(c) {
            group.push(d);
            separators = 0;
            continue;
        }
        if !group.is_empty() {
            run.push(std::mem::take(&mut group));
        }
        if separator(c) && separators < MAX_SEPARATORS && !run.is_empty() {
            separators += 1;
        } else {
            separators = 0;
            if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
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
            for g in groups.iter().skip(start) {
                digits.extend_from_slice(g);
                if digits.len() >= 11 {
                    break;
                }
            }
            is_national_id(&digits)
        })
    })
}

/// A patient's national id as the form takes it: a fødselsnummer or D-nummer, eleven digits
/// (spaces allowed), both check digits right and a date that exists. Returns the eleven digits;
/// the refusal says what is wrong without repeating the number.
pub fn parse_patient_id(value: &str) -> Result<String, &'static str> {
    let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    let [d0, d1, d2, d3, d4, d5, d6, d7, d8, ..] = d[..] else {
        return Err("Skriv fødselsnummeret eller D-nummeret med 11 sifre.");
    };
    if d.len() != 11 || digits.chars().count() != 11 {
        return Err("Skriv fødselsnummeret eller D-nummeret med 11 sifre.");
    }
    if d0 >= 8 {
        return Err("Dette er et FH-nummer (felles hjelpenummer). Skriv pasientens fødselsnummer eller D-nummer.");
    }
    let (day, month) = (d0 * 10 + d1, d2 * 10 + d3);
    if (41..=52).contains(&month) {
        return Err("Dette er et H-nummer (hjelpenummer). Skriv pasientens fødselsnummer eller D-nummer.");
    }
    let (first_nine, checks) = d.split_at(9);
    let k1 = check(first_nine, &K1);
    let k2 = k1.and_then(|k1| check(&[first_nine, &[k1]].concat(), &K2));
    if [k1, k2].iter().copied().collect::<Option<Vec<u32>>>().as_deref() != Some(checks) {
        return Err("Kontrollsifrene stemmer ikke. Se over nummeret.");
    }
    // The century follows from the individual number (Skatteetaten's rules).
    let (yy, individual) = (d4 * 10 + d5, d6 * 100 + d7 * 10 + d8);
    let century = match individual {
        0..=499 => Some(1900),
        500..=749 if yy >= 54 => Some(1800),
        500..=999 if yy <= 39 => Some(2000),
        900..=999 => Some(1900),
        _ => None,
    };
    let day = if day > 40 { day - 40 } else { day };
    let date = century.and_then(|c| chrono::NaiveDate::from_ymd_opt((c + yy) as i32, month, day));
    match date {
        Some(_) => Ok(digits),
        None => Err("Datoen i nummeret finnes ikke. Se over nummeret."),
    }
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
    fn a_patient_id_is_a_real_fodselsnummer_or_d_nummer() {
        let fnr = some_fnr("010170");
        assert_eq!(parse_patient_id(&fnr), Ok(fnr.clone()));
        assert_eq!(parse_patient_id(&format!(" {} {} ", &fnr[..6], &fnr[6..])), Ok(fnr.clone()), "spaces allowed");
        let d = some_fnr("410170");
        assert_eq!(parse_patient_id(&d), Ok(d.clone()), "a D-nummer: day + 40");
        assert!(parse_patient_id(&some_fnr("014170")).unwrap_err().contains("H-nummer"));
        assert!(parse_patient_id(&valid("810170123")).unwrap_err().contains("FH-nummer"));
        assert!(parse_patient_id(&some_fnr("310270")).unwrap_err().contains("Datoen"), "31 February");
        let mut wrong = fnr.clone();
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(10.., last);
        assert!(parse_patient_id(&wrong).unwrap_err().contains("Kontrollsifrene"));
        for bad in ["", "0101701234", "010170123456", "0101701234a"] {
            assert!(parse_patient_id(bad).unwrap_err().contains("11 sifre"), "{bad}");
        }
        for e in [parse_patient_id(&wrong), parse_patient_id(&some_fnr("310270"))] {
            assert!(!e.unwrap_err().chars().any(|c| c.is_ascii_digit()), "no number echoed");
        }
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
    fn every_spelling_that_looks_like_the_number_is_found() {
        let f = some_fnr("150385");
        let (birth, person) = f.split_at(6);
        let shift = |zero: u32| -> String {
            f.chars().map(|c| char::from_u32(zero + c.to_digit(10).unwrap()).unwrap()).collect()
        };
        let between = |sep: &str| format!("Pasient {birth}{sep}{person} kom hjem");
        for sep in ["/", "_", "  ", "\n", "\t", "\u{2013}", ",", ", ", " - ", "\u{200b}", "\u{ad}", "\u{202f}"] {
            assert!(contains_national_id(&between(sep)), "separator {sep:?}");
        }
        for zero in [0xff10, 0x660, 0x6f0, 0x966, 0x1d7ce] {
            assert!(contains_national_id(&shift(zero)), "digits from U+{zero:04X}");
        }
        let invisible_everywhere: String = f.chars().flat_map(|c| [c, '\u{200b}']).collect();
        assert!(contains_national_id(&invisible_everywhere));
    }

    #[test]
    fn separated_numbers_far_apart_pass() {
        let f = some_fnr("150385");
        let (birth, person) = f.split_at(6);
        assert!(!contains_national_id(&format!("{birth} og så {person}")));
        assert!(!contains_national_id(&format!("{birth}    {person}")));
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
