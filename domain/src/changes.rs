//! What changed between two years: who entered, who exited, whose holding grew or shrank.

use std::cmp::{Ordering, Reverse};

/// How one holding changed between two years.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ChangeKind {
    /// Held nothing in the first year, something in the second.
    Entered,
    /// Held something in the first year, nothing in the second.
    Exited,
    Increased,
    Decreased,
}

impl ChangeKind {
    /// The name the API uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entered => "entered",
            Self::Exited => "exited",
            Self::Increased => "increased",
            Self::Decreased => "decreased",
        }
    }
}

/// One holding whose share count changed, summed over classes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingChange<K> {
    /// Who (or what) holds: an owner of a company, or a company an owner holds.
    pub key: K,
    pub kind: ChangeKind,
    /// Shares in the first year; 0 when it entered.
    pub from: u64,
    /// Shares in the second year; 0 when it exited.
    pub to: u64,
}

impl<K> HoldingChange<K> {
    /// The size of the change in shares.
    #[must_use]
    pub fn magnitude(&self) -> u64 {
        self.from.abs_diff(self.to)
    }
}

/// Compares two years' holdings, each given as `(key, shares)` sorted by key with each key
/// once, and returns the holdings whose share count changed, largest change first (ties by
/// key). Holdings with the same count in both years are not changes, whatever else about them
/// differs (a country written as alpha-3 one year and alpha-2 the next, a new address).
pub fn holding_changes<K: Ord>(
    from: impl IntoIterator<Item = (K, u64)>,
    to: impl IntoIterator<Item = (K, u64)>,
) -> Vec<HoldingChange<K>> {
    let mut from = from.into_iter().peekable();
    let mut to = to.into_iter().peekable();
    let mut changes = Vec::new();
    loop {
        let order = match (from.peek(), to.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        let (key, before, after) = match order {
            Ordering::Less => {
                let Some((key, shares)) = from.next() else {
                    break;
                };
                (key, shares, 0)
            }
            Ordering::Greater => {
                let Some((key, shares)) = to.next() else {
                    break;
                };
                (key, 0, shares)
            }
            Ordering::Equal => {
                let (Some((key, before)), Some((_, after))) = (from.next(), to.next()) else {
                    break;
                };
                (key, before, after)
            }
        };
        let kind = match (before, after) {
            (b, a) if b == a => continue,
            (0, _) => ChangeKind::Entered,
            (_, 0) => ChangeKind::Exited,
            (b, a) if a > b => ChangeKind::Increased,
            _ => ChangeKind::Decreased,
        };
        changes.push(HoldingChange {
            key,
            kind,
            from: before,
            to: after,
        });
    }
    changes.sort_by(|a, b| {
        Reverse(a.magnitude())
            .cmp(&Reverse(b.magnitude()))
            .then_with(|| a.key.cmp(&b.key))
    });
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(&[("a", 10)], &[("a", 10)], &[])]
    #[case(&[], &[("a", 10)], &[("a", ChangeKind::Entered, 0, 10)])]
    #[case(&[("a", 10)], &[], &[("a", ChangeKind::Exited, 10, 0)])]
    #[case(&[("a", 10)], &[("a", 15)], &[("a", ChangeKind::Increased, 10, 15)])]
    #[case(&[("a", 10)], &[("a", 4)], &[("a", ChangeKind::Decreased, 10, 4)])]
    // Largest change first, ties by key; unchanged holdings are left out.
    #[case(
        &[("a", 10), ("b", 100), ("c", 7), ("e", 3)],
        &[("a", 11), ("b", 100), ("d", 50), ("e", 1)],
        &[
            ("d", ChangeKind::Entered, 0, 50),
            ("c", ChangeKind::Exited, 7, 0),
            ("e", ChangeKind::Decreased, 3, 1),
            ("a", ChangeKind::Increased, 10, 11),
        ]
    )]
    #[case(
        &[("a", 5), ("b", 5)],
        &[("a", 7), ("b", 3)],
        &[("a", ChangeKind::Increased, 5, 7), ("b", ChangeKind::Decreased, 5, 3)]
    )]
    #[case(&[], &[], &[])]
    fn only_changed_counts_are_changes_largest_first(
        #[case] from: &[(&str, u64)],
        #[case] to: &[(&str, u64)],
        #[case] expected: &[(&str, ChangeKind, u64, u64)],
    ) {
        let changes = holding_changes(from.iter().copied(), to.iter().copied());
        let found: Vec<_> = changes
            .iter()
            .map(|c| (c.key, c.kind, c.from, c.to))
            .collect();
        assert_eq!(found, expected);
    }

    #[rstest]
    #[case(ChangeKind::Entered, "entered")]
    #[case(ChangeKind::Exited, "exited")]
    #[case(ChangeKind::Increased, "increased")]
    #[case(ChangeKind::Decreased, "decreased")]
    fn change_kinds_have_the_api_names(#[case] kind: ChangeKind, #[case] name: &str) {
        assert_eq!(kind.as_str(), name);
    }
}
