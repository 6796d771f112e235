use std::fmt;

use crate::iso3166::COUNTRIES;

/// A country by its ISO 3166-1 alpha-2 code. Input may be alpha-2 or alpha-3, in any case:
/// `NOR`, `no` and `NO` are all Norway; `CHE` is `CH`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryError {
    #[error("a country is an ISO 3166-1 alpha-2 or alpha-3 code, not {0:?}")]
    Format(String),
    #[error("{0:?} is not an ISO 3166-1 country code")]
    Unknown(String),
}

impl Country {
    /// Norway, the default country of an organisation.
    pub const NORWAY: Self = Self(*b"NO");

    /// Parses an alpha-2 or alpha-3 code; surrounding white space and case are ignored.
    ///
    /// # Errors
    /// [`CountryError::Format`] for anything but two or three ASCII letters,
    /// [`CountryError::Unknown`] for a code that is not assigned.
    pub fn parse(input: &str) -> Result<Self, CountryError> {
        let code = input.trim().to_ascii_uppercase();
        if !(2..=3).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CountryError::Format(input.to_owned()));
        }
        let found = if code.len() == 2 {
            COUNTRIES
                .binary_search_by(|(alpha2, _, _)| (*alpha2).cmp(code.as_str()))
                .ok()
                .map(|index| COUNTRIES[index])
        } else {
            COUNTRIES
                .iter()
                .copied()
                .find(|(_, alpha3, _)| *alpha3 == code)
        };
        let (alpha2, _, _) = found.ok_or_else(|| CountryError::Unknown(input.to_owned()))?;
        let bytes = alpha2.as_bytes();
        Ok(Self([bytes[0], bytes[1]]))
    }

    /// The alpha-2 code.
    #[must_use]
    pub fn alpha2(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The alpha-3 code.
    #[must_use]
    pub fn alpha3(&self) -> &'static str {
        self.entry().1
    }

    /// The English short name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.entry().2
    }

    /// An owner is foreign when its country is not Norway.
    #[must_use]
    pub fn is_foreign(&self) -> bool {
        *self != Self::NORWAY
    }

    fn entry(&self) -> (&'static str, &'static str, &'static str) {
        let code = self.alpha2();
        COUNTRIES
            .binary_search_by(|(alpha2, _, _)| (*alpha2).cmp(code))
            .map(|index| COUNTRIES[index])
            .unwrap_or(("", "", ""))
    }
}

impl Default for Country {
    fn default() -> Self {
        Self::NORWAY
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.alpha2())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn the_table_is_sorted_so_binary_search_works() {
        assert!(COUNTRIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[rstest]
    #[case("NO", "NO", false)]
    #[case("NOR", "NO", false)]
    #[case("nor", "NO", false)]
    #[case(" no ", "NO", false)]
    #[case("CHE", "CH", true)]
    #[case("CH", "CH", true)]
    #[case("SWE", "SE", true)]
    #[case("USA", "US", true)]
    #[case("GBR", "GB", true)]
    #[case("XK", "XK", true)]
    fn parses_alpha2_and_alpha3(#[case] input: &str, #[case] alpha2: &str, #[case] foreign: bool) {
        let country = Country::parse(input).expect("valid country");
        assert_eq!(country.alpha2(), alpha2);
        assert_eq!(country.is_foreign(), foreign);
    }

    #[rstest]
    #[case("", CountryError::Format(String::new()))]
    #[case("N", CountryError::Format("N".into()))]
    #[case("NORW", CountryError::Format("NORW".into()))]
    #[case("N0", CountryError::Format("N0".into()))]
    #[case("QQ", CountryError::Unknown("QQ".into()))]
    #[case("QQQ", CountryError::Unknown("QQQ".into()))]
    fn rejects_unknown_codes(#[case] input: &str, #[case] expected: CountryError) {
        assert_eq!(Country::parse(input), Err(expected));
    }

    #[test]
    fn knows_alpha3_and_names() {
        let switzerland = Country::parse("CH").expect("valid");
        assert_eq!(switzerland.alpha3(), "CHE");
        assert_eq!(switzerland.name(), "Switzerland");
        assert_eq!(Country::default(), Country::NORWAY);
    }
}
