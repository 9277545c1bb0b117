//! Norwegian organisation number (organisasjonsnummer): nine digits, the last a mod-11 check digit.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNumber(String);

const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

impl OrgNumber {
    /// Accepts the digits with optional spaces ("883 974 832"); stores them without.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("Organisasjonsnummeret må ha ni siffer.");
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let (first_eight, last) = d.split_at(8);
        match check_digit(first_eight) {
            Some(c) if [c] == last => Ok(OrgNumber(digits)),
            _ => Err("Organisasjonsnummeret har feil kontrollsiffer. Sjekk at det er skrevet riktig."),
        }
    }

    /// Completes eight digits with their check digit, or `None` where no valid number exists.
    pub fn complete(first_eight: &str) -> Option<Self> {
        let d: Vec<u32> = first_eight.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
        if d.len() != 8 {
            return None;
        }
        let c = check_digit(&d)?;
        Some(OrgNumber(format!("{first_eight}{c}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_digit(first_eight: &[u32]) -> Option<u32> {
    let sum: u32 = first_eight.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

impl fmt::Display for OrgNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::OrgNumber;

    #[test]
    fn accepts_published_numbers() {
        // Brønnøysundregistrene's own number and DNB's: public, well-known and valid.
        for n in ["974760673", "984851006", "974 760 673"] {
            assert!(OrgNumber::parse(n).is_ok(), "{n}");
        }
        assert_eq!(OrgNumber::parse("974 760 673").unwrap().as_str(), "974760673");
    }

    #[test]
    fn refuses_wrong_check_digit_length_and_letters() {
        for n in ["974760674", "97476067", "9747606730", "97476067a", "", "974-760-673"] {
            assert!(OrgNumber::parse(n).is_err(), "{n}");
        }
    }

    #[test]
    fn refuses_numbers_whose_check_digit_would_be_ten() {
        // 8 digits whose weighted sum leaves remainder 1 have no valid check digit.
        let eight = (10_000_000..10_000_200)
            .map(|n: u32| n.to_string())
            .find(|s| OrgNumber::complete(s).is_none())
            .expect("some prefix has no check digit");
        for last in 0..=9 {
            assert!(OrgNumber::parse(&format!("{eight}{last}")).is_err());
        }
    }

    #[test]
    fn completes_to_a_valid_number() {
        let n = OrgNumber::complete("97476067").unwrap();
        assert_eq!(n.as_str(), "974760673");
        assert!(OrgNumber::parse(n.as_str()).is_ok());
    }
}
