use std::fmt;

/// A share class as the register names it: "Ordinære aksjer", "A-aksjer", "B-aksjer", an ISIN…
///
/// The singular "A-aksje" and "B-aksje" are read as "A-aksjer" and "B-aksjer"; white space is
/// trimmed and folded. Any other non-empty name is kept as written.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareClass(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareClassError {
    #[error("a share class must not be empty")]
    Empty,
    #[error("a share class has at most {max} characters, not {actual}")]
    TooLong { max: usize, actual: usize },
    #[error("a share class must not contain control characters or text-direction overrides")]
    Control,
}

impl ShareClass {
    /// The most characters a class name may have.
    pub const MAX_CHARS: usize = 100;

    /// # Errors
    /// [`ShareClassError`] for an empty or too long name, or one with control characters.
    pub fn parse(input: &str) -> Result<Self, ShareClassError> {
        let folded = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if folded.is_empty() {
            return Err(ShareClassError::Empty);
        }
        if folded.chars().any(crate::text::unprintable) {
            return Err(ShareClassError::Control);
        }
        let actual = folded.chars().count();
        if actual > Self::MAX_CHARS {
            return Err(ShareClassError::TooLong {
                max: Self::MAX_CHARS,
                actual,
            });
        }
        let canonical = match folded.as_str() {
            "A-aksje" => "A-aksjer".to_owned(),
            "B-aksje" => "B-aksjer".to_owned(),
            _ => folded,
        };
        Ok(Self(canonical))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShareClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ShareClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareClass({:?})", self.0)
    }
}

/// A positive number of shares. It never exceeds [`ShareCount::MAX`] (`i64::MAX`), so every
/// store can keep it in a signed 64-bit column, and sums are checked for overflow.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareCount(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareCountError {
    #[error("a share count must be positive")]
    Zero,
    #[error("a share count must be at most {max}", max = ShareCount::MAX)]
    TooLarge,
}

impl ShareCount {
    /// The largest count: `i64::MAX`.
    pub const MAX: u64 = i64::MAX as u64;

    /// # Errors
    /// [`ShareCountError::Zero`] for 0, [`ShareCountError::TooLarge`] above [`ShareCount::MAX`].
    pub fn new(count: u64) -> Result<Self, ShareCountError> {
        match count {
            0 => Err(ShareCountError::Zero),
            n if n > Self::MAX => Err(ShareCountError::TooLarge),
            n => Ok(Self(n)),
        }
    }

    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }

    /// The sum, if it stays within [`ShareCount::MAX`].
    ///
    /// # Errors
    /// [`ShareCountError::TooLarge`] when the sum would exceed it.
    pub fn checked_add(self, other: Self) -> Result<Self, ShareCountError> {
        self.0
            .checked_add(other.0)
            .ok_or(ShareCountError::TooLarge)
            .and_then(Self::new)
    }
}

impl fmt::Display for ShareCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for ShareCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareCount({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("A-aksjer", "A-aksjer")]
    #[case("A-aksje", "A-aksjer")]
    #[case("B-aksje", "B-aksjer")]
    #[case(" B-aksje ", "B-aksjer")]
    #[case("Ordinære aksjer", "Ordinære aksjer")]
    #[case("Ordinære  aksjer", "Ordinære aksjer")]
    #[case("NO0010096985", "NO0010096985")]
    #[case("C-aksje", "C-aksje")]
    fn share_classes_are_canonical(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(
            ShareClass::parse(input).map(|c| c.to_string()),
            Ok(expected.to_owned())
        );
    }

    #[rstest]
    #[case("", ShareClassError::Empty)]
    #[case("  ", ShareClassError::Empty)]
    #[case("A\u{7}", ShareClassError::Control)]
    fn empty_share_classes_are_refused(#[case] input: &str, #[case] expected: ShareClassError) {
        assert_eq!(ShareClass::parse(input), Err(expected));
    }

    #[rstest]
    #[case(1, Ok(1))]
    #[case(120, Ok(120))]
    #[case(ShareCount::MAX, Ok(ShareCount::MAX))]
    #[case(0, Err(ShareCountError::Zero))]
    #[case(ShareCount::MAX + 1, Err(ShareCountError::TooLarge))]
    #[case(u64::MAX, Err(ShareCountError::TooLarge))]
    fn share_counts_are_positive_and_bounded(
        #[case] input: u64,
        #[case] expected: Result<u64, ShareCountError>,
    ) {
        assert_eq!(ShareCount::new(input).map(ShareCount::get), expected);
    }

    #[rstest]
    #[case(3, 117, Ok(120))]
    #[case(ShareCount::MAX - 1, 1, Ok(ShareCount::MAX))]
    #[case(ShareCount::MAX, 1, Err(ShareCountError::TooLarge))]
    #[case(ShareCount::MAX, ShareCount::MAX, Err(ShareCountError::TooLarge))]
    fn sums_are_checked(
        #[case] a: u64,
        #[case] b: u64,
        #[case] expected: Result<u64, ShareCountError>,
    ) {
        let sum = ShareCount::new(a)
            .and_then(|a| ShareCount::new(b).and_then(|b| a.checked_add(b)))
            .map(ShareCount::get);
        assert_eq!(sum, expected);
    }
}
