use std::fmt;
use std::str::FromStr;

/// A Norwegian organisation number: nine digits whose last is a valid MOD11 check digit
/// (weights 3, 2, 7, 6, 5, 4, 3, 2; a computed check digit of 10 is invalid).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgNr([u8; 9]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgNrError {
    #[error("an organisation number has 9 digits, not {0} characters")]
    Length(usize),
    #[error("an organisation number has only digits")]
    NotDigits,
    #[error("the check digit of {0} is wrong (MOD11)")]
    CheckDigit(String),
}

const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

impl OrgNr {
    /// Parses nine ASCII digits with a valid MOD11 check digit. Surrounding white space is
    /// not accepted: an orgnr is an identifier, not free text.
    ///
    /// # Errors
    /// [`OrgNrError`] says which rule the input breaks.
    pub fn parse(input: &str) -> Result<Self, OrgNrError> {
        let bytes = input.as_bytes();
        let chars = input.chars().count();
        if chars != 9 {
            return Err(OrgNrError::Length(chars));
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(OrgNrError::NotDigits);
        }
        let sum: u32 = bytes[..8]
            .iter()
            .zip(WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(OrgNrError::CheckDigit(input.to_owned())),
            digit => digit,
        };
        if u32::from(bytes[8] - b'0') != check {
            return Err(OrgNrError::CheckDigit(input.to_owned()));
        }
        let mut digits = [0u8; 9];
        digits.copy_from_slice(bytes);
        Ok(Self(digits))
    }

    /// The nine digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for OrgNr {
    type Err = OrgNrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for OrgNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OrgNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgNr({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("123456785")]
    #[case("988077917")]
    #[case("891450052")]
    #[case("885648312")]
    #[case("988844322")]
    fn accepts_valid_numbers(#[case] input: &str) {
        assert_eq!(
            OrgNr::parse(input).map(|o| o.to_string()),
            Ok(input.to_owned())
        );
    }

    #[rstest]
    #[case("123456789", OrgNrError::CheckDigit("123456789".into()))]
    #[case("12345678", OrgNrError::Length(8))]
    #[case("1234567890", OrgNrError::Length(10))]
    #[case("1abc", OrgNrError::Length(4))]
    #[case("s123456789s", OrgNrError::Length(11))]
    #[case("12345678a", OrgNrError::NotDigits)]
    #[case(" 12345678", OrgNrError::NotDigits)]
    #[case("", OrgNrError::Length(0))]
    #[case("ææææææææ5", OrgNrError::NotDigits)]
    #[case("æææææææææ5", OrgNrError::Length(10))]
    fn rejects_invalid_numbers(#[case] input: &str, #[case] expected: OrgNrError) {
        assert_eq!(OrgNr::parse(input), Err(expected));
    }

    #[test]
    fn a_check_digit_of_ten_is_never_valid() {
        // 00000001x: sum = 2, 11 - 2 = 9; 00000010x: sum = 3, check 8; find one giving 10:
        // sum % 11 == 1 -> 00000300x gives 3*4=12 -> 12 % 11 = 1 -> check 10.
        for last in 0..=9 {
            let candidate = format!("00000300{last}");
            assert!(matches!(
                OrgNr::parse(&candidate),
                Err(OrgNrError::CheckDigit(_))
            ));
        }
    }

    #[test]
    fn a_remainder_of_zero_gives_check_digit_zero() {
        // 00000011x: 3 + 2 = 5? use weights: positions 7,8 have weights 3,2 -> 1*3 + 1*2 = 5.
        // 000000000 has sum 0 -> check digit 0.
        assert!(OrgNr::parse("000000000").is_ok());
    }
}
