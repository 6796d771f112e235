//! Bounded, trimmed free text: names and addresses.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters, not {actual}")]
    TooLong { max: usize, actual: usize },
    #[error("must not contain control characters or text-direction overrides")]
    Control,
}

/// A character no name or class holds: a control character, or one that overrides or
/// isolates the direction of the text around it (U+202A–U+202E, U+2066–U+2069), with which a
/// name could show as something else than it is.
pub(crate) fn unprintable(c: char) -> bool {
    c.is_control()
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn bounded(input: &str, max: usize) -> Result<String, TextError> {
    // Inner runs of white space are folded, so "HAGEN  STEIN" and "HAGEN STEIN" are one name.
    let folded = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return Err(TextError::Empty);
    }
    if folded.chars().any(unprintable) {
        return Err(TextError::Control);
    }
    let actual = folded.chars().count();
    if actual > max {
        return Err(TextError::TooLong { max, actual });
    }
    Ok(folded)
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The most characters a value may have.
            pub const MAX_CHARS: usize = $max;

            /// Trims the input and folds inner white space.
            ///
            /// # Errors
            /// [`TextError`] when the result is empty, too long or holds control characters.
            pub fn parse(input: &str) -> Result<Self, TextError> {
                bounded(input, $max).map(Self)
            }

            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

text_type!(
    /// The name of a person or an organisation, as the register spells it.
    Name,
    300
);
text_type!(
    /// A postal code (Norwegian ones are four digits; foreign ones vary).
    PostalCode,
    20
);
text_type!(
    /// A postal place, or a whole foreign address line.
    Place,
    300
);

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("TVIST 1 AS", "TVIST 1 AS")]
    #[case("  HAGEN   STEIN ERIK ", "HAGEN STEIN ERIK")]
    #[case("UAB \"ERA CAPITAL\"", "UAB \"ERA CAPITAL\"")]
    #[case(
        "\"IF P INSURANCE HOLDING LTD (PUBL",
        "\"IF P INSURANCE HOLDING LTD (PUBL"
    )]
    #[case("SØRLI NINA CAMILLA HAGEN", "SØRLI NINA CAMILLA HAGEN")]
    fn names_are_trimmed_and_folded(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(
            Name::parse(input).map(|n| n.as_str().to_owned()),
            Ok(expected.to_owned())
        );
    }

    #[rstest]
    #[case("", TextError::Empty)]
    #[case("   ", TextError::Empty)]
    #[case("A\u{0}B", TextError::Control)]
    #[case("SA 1\u{202E}SA", TextError::Control)]
    #[case("\u{2066}TVIST\u{2069}", TextError::Control)]
    fn bad_names_are_refused(#[case] input: &str, #[case] expected: TextError) {
        assert_eq!(Name::parse(input), Err(expected));
    }

    #[test]
    fn length_is_bounded_in_characters() {
        let ok = "Ø".repeat(Name::MAX_CHARS);
        assert!(Name::parse(&ok).is_ok());
        let long = "Ø".repeat(Name::MAX_CHARS + 1);
        assert_eq!(
            Name::parse(&long),
            Err(TextError::TooLong {
                max: 300,
                actual: 301
            })
        );
        assert!(PostalCode::parse("0790").is_ok());
        assert!(PostalCode::parse(&"1".repeat(21)).is_err());
        assert!(Place::parse("OSLO").is_ok());
    }
}
