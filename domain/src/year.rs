//! The register's years: each yearly extract is a snapshot of its own, and the live register is
//! the newest one plus what was recorded since.

use std::fmt;

/// The year of a register extract: the register's state at the end of that year.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegisterYear(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterYearError {
    #[error("a register year is a number between {min} and {max}, not {0:?}", min = RegisterYear::MIN, max = RegisterYear::MAX)]
    Malformed(String),
    #[error("a register year is between {min} and {max}, not {0}", min = RegisterYear::MIN, max = RegisterYear::MAX)]
    OutOfRange(i64),
}

impl RegisterYear {
    /// The shareholder register was established in 2004; earlier years are allowed for
    /// reconstructed data.
    pub const MIN: u16 = 1900;
    pub const MAX: u16 = 2100;

    /// # Errors
    /// [`RegisterYearError::OutOfRange`] outside 1900–2100.
    pub fn new(year: i64) -> Result<Self, RegisterYearError> {
        u16::try_from(year)
            .ok()
            .filter(|y| (Self::MIN..=Self::MAX).contains(y))
            .map(Self)
            .ok_or(RegisterYearError::OutOfRange(year))
    }

    /// Four ASCII digits, e.g. `2023`.
    ///
    /// # Errors
    /// [`RegisterYearError::Malformed`] for anything but four digits, and
    /// [`RegisterYearError::OutOfRange`] outside 1900–2100.
    pub fn parse(input: &str) -> Result<Self, RegisterYearError> {
        if input.len() != 4 || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegisterYearError::Malformed(
                input.chars().take(20).collect(),
            ));
        }
        let year: i64 = input
            .parse()
            .map_err(|_| RegisterYearError::Malformed(input.to_owned()))?;
        Self::new(year)
    }

    #[must_use]
    pub fn get(self) -> u16 {
        self.0
    }

    /// The year before, if it is still a register year.
    #[must_use]
    pub fn previous(self) -> Option<Self> {
        Self::new(i64::from(self.0) - 1).ok()
    }
}

impl fmt::Display for RegisterYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for RegisterYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegisterYear({})", self.0)
    }
}

/// Which register a read looks at.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub enum Register {
    /// The newest imported year plus every change recorded through the API since its import.
    #[default]
    Live,
    /// One year's extract exactly as imported; it never changes but by importing that year again.
    Year(RegisterYear),
}

impl Register {
    /// The year, for a yearly snapshot.
    #[must_use]
    pub fn year(self) -> Option<RegisterYear> {
        match self {
            Self::Live => None,
            Self::Year(year) => Some(year),
        }
    }
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Live => f.write_str("live"),
            Self::Year(year) => year.fmt(f),
        }
    }
}

/// Whether importing `year` moves the live register to it: the live register follows the
/// newest imported year, so an import of that year or a newer one moves it (and supersedes the
/// live changes recorded since the last move), and an older one never does.
#[must_use]
pub fn moves_live_register(year: RegisterYear, newest_imported: Option<RegisterYear>) -> bool {
    newest_imported.is_none_or(|newest| year >= newest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2023", Ok(2023))]
    #[case("1900", Ok(1900))]
    #[case("2100", Ok(2100))]
    #[case("1899", Err(RegisterYearError::OutOfRange(1899)))]
    #[case("2101", Err(RegisterYearError::OutOfRange(2101)))]
    #[case("23", Err(RegisterYearError::Malformed("23".into())))]
    #[case("20233", Err(RegisterYearError::Malformed("20233".into())))]
    #[case("+202", Err(RegisterYearError::Malformed("+202".into())))]
    #[case("２０２３", Err(RegisterYearError::Malformed("２０２３".into())))]
    #[case("", Err(RegisterYearError::Malformed(String::new())))]
    fn years_are_four_digits_in_range(
        #[case] input: &str,
        #[case] expected: Result<u16, RegisterYearError>,
    ) {
        assert_eq!(RegisterYear::parse(input).map(RegisterYear::get), expected);
    }

    fn year(y: i64) -> RegisterYear {
        RegisterYear::new(y).expect("valid year")
    }

    #[rstest]
    #[case(2023, None, true)]
    #[case(2023, Some(2022), true)]
    #[case(2023, Some(2023), true)]
    #[case(2022, Some(2023), false)]
    #[case(2019, Some(2023), false)]
    fn only_the_newest_year_moves_the_live_register(
        #[case] imported: i64,
        #[case] newest: Option<i64>,
        #[case] moves: bool,
    ) {
        assert_eq!(moves_live_register(year(imported), newest.map(year)), moves);
    }

    #[test]
    fn registers_order_live_first_then_years() {
        assert!(Register::Live < Register::Year(year(1900)));
        assert!(Register::Year(year(2022)) < Register::Year(year(2023)));
        assert_eq!(Register::Year(year(2022)).to_string(), "2022");
        assert_eq!(Register::Live.year(), None);
    }
}
