//! The ownership rules: how many shares a company has, what share of it a holding is, which
//! purchases are possible, and what makes a company's ownership interesting.

use std::fmt;

use crate::ShareCount;

/// A company's total shares: its declared total when the register gives one, otherwise the sum
/// of its registered holdings over all classes.
#[must_use]
pub fn company_total(declared: Option<ShareCount>, registered: u64) -> u64 {
    declared.map_or(registered, ShareCount::get)
}

/// Why a purchase cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurchaseRefused {
    #[error(
        "the company has issued {issued} shares and {registered} are already owned: \
         {requested} more would exceed what it has issued"
    )]
    ExceedsIssued {
        issued: u64,
        registered: u64,
        requested: u64,
    },
    #[error("{registered} + {requested} shares would overflow the largest share count")]
    Overflow { registered: u64, requested: u64 },
}

/// Checks that `requested` more shares can be owned in a company that has `registered` shares
/// owned already and `declared` issued (when known), and returns the new registered total.
///
/// # Errors
/// [`PurchaseRefused::ExceedsIssued`] when a declared total would be exceeded: a company cannot
/// have more shares owned than it has issued. [`PurchaseRefused::Overflow`] past
/// [`ShareCount::MAX`].
pub fn check_purchase(
    declared: Option<ShareCount>,
    registered: u64,
    requested: ShareCount,
) -> Result<u64, PurchaseRefused> {
    let requested = requested.get();
    let after = registered
        .checked_add(requested)
        .filter(|sum| *sum <= ShareCount::MAX)
        .ok_or(PurchaseRefused::Overflow {
            registered,
            requested,
        })?;
    match declared {
        Some(issued) if after > issued.get() => Err(PurchaseRefused::ExceedsIssued {
            issued: issued.get(),
            registered,
            requested,
        }),
        _ => Ok(after),
    }
}

/// A share of a company, in ten-thousandths of a percent (4 decimals).
///
/// It is truncated, never rounded up, so a company's owners never sum past 100 %; when all of
/// a company's shares are registered they sum to 100 % less at most 0.0001 per owner.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Percentage(u64);

impl Percentage {
    /// 100 %.
    pub const WHOLE: Self = Self(1_000_000);

    /// The percentage as a number with 4 decimals, e.g. `50.0`.
    #[must_use]
    pub fn as_f64(self) -> f64 {
        // At most 1_000_000, exactly representable.
        #[allow(clippy::cast_precision_loss)]
        let value = self.0 as f64;
        value / 10_000.0
    }

    /// Ten-thousandths of a percent: 500_000 is 50 %.
    #[must_use]
    pub fn ten_thousandths(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:04}", self.0 / 10_000, self.0 % 10_000)
    }
}

/// `100 × shares / total`, truncated to 4 decimals. A total of 0 gives 0 %.
#[must_use]
pub fn percentage(shares: u64, total: u64) -> Percentage {
    if total == 0 {
        return Percentage(0);
    }
    let scaled = u128::from(shares) * 1_000_000 / u128::from(total);
    Percentage(u64::try_from(scaled).unwrap_or(u64::MAX))
}

/// What makes a company's ownership worth a closer look.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Interest {
    pub foreign_owners: bool,
    pub multiple_share_classes: bool,
}

impl Interest {
    /// A company is interesting when it has a foreign owner or more than one share class.
    #[must_use]
    pub fn of(foreign_owner_count: u64, share_class_count: usize) -> Self {
        Self {
            foreign_owners: foreign_owner_count > 0,
            multiple_share_classes: share_class_count > 1,
        }
    }

    #[must_use]
    pub fn is_interesting(self) -> bool {
        self.foreign_owners || self.multiple_share_classes
    }

    /// The reasons, in a fixed order: `foreign_owners`, `multiple_share_classes`.
    #[must_use]
    pub fn reasons(self) -> Vec<&'static str> {
        let mut reasons = Vec::new();
        if self.foreign_owners {
            reasons.push("foreign_owners");
        }
        if self.multiple_share_classes {
            reasons.push("multiple_share_classes");
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn count(n: u64) -> ShareCount {
        ShareCount::new(n).expect("positive")
    }

    #[rstest]
    #[case(Some(1000), 500, 1000)]
    #[case(None, 500, 500)]
    #[case(Some(120), 0, 120)]
    #[case(None, 0, 0)]
    fn total_is_declared_or_registered(
        #[case] declared: Option<u64>,
        #[case] registered: u64,
        #[case] total: u64,
    ) {
        assert_eq!(company_total(declared.map(count), registered), total);
    }

    #[rstest]
    #[case(Some(120), 0, 3, Ok(3))]
    #[case(Some(120), 3, 117, Ok(120))]
    #[case(Some(120), 120, 1, Err(PurchaseRefused::ExceedsIssued { issued: 120, registered: 120, requested: 1 }))]
    #[case(Some(100), 50, 51, Err(PurchaseRefused::ExceedsIssued { issued: 100, registered: 50, requested: 51 }))]
    #[case(None, 1_000_000, 5, Ok(1_000_005))]
    #[case(None, ShareCount::MAX, 1, Err(PurchaseRefused::Overflow { registered: ShareCount::MAX, requested: 1 }))]
    #[case(None, u64::MAX, 1, Err(PurchaseRefused::Overflow { registered: u64::MAX, requested: 1 }))]
    fn purchases_never_exceed_the_issued_total(
        #[case] declared: Option<u64>,
        #[case] registered: u64,
        #[case] requested: u64,
        #[case] expected: Result<u64, PurchaseRefused>,
    ) {
        assert_eq!(
            check_purchase(declared.map(count), registered, count(requested)),
            expected
        );
    }

    #[rstest]
    #[case(1000, 1000, "100.0000")]
    #[case(500, 1000, "50.0000")]
    #[case(3, 120, "2.5000")]
    #[case(117, 120, "97.5000")]
    #[case(36, 120, "30.0000")]
    #[case(1, 3, "33.3333")]
    #[case(2, 3, "66.6666")]
    #[case(1, 6, "16.6666")]
    #[case(0, 10, "0.0000")]
    #[case(5, 0, "0.0000")]
    #[case(ShareCount::MAX, ShareCount::MAX, "100.0000")]
    #[case(1, ShareCount::MAX, "0.0000")]
    fn percentages_are_truncated_to_four_decimals(
        #[case] shares: u64,
        #[case] total: u64,
        #[case] expected: &str,
    ) {
        assert_eq!(percentage(shares, total).to_string(), expected);
    }

    #[rstest]
    #[case(&[1, 1, 1])]
    #[case(&[1, 1, 1, 1, 1, 1])]
    #[case(&[3, 117])]
    #[case(&[36, 9, 36, 36, 3])]
    #[case(&[7, 11, 13, 17, 19, 23])]
    fn owners_never_sum_past_whole(#[case] holdings: &[u64]) {
        let total: u64 = holdings.iter().sum();
        let sum: u64 = holdings
            .iter()
            .map(|h| percentage(*h, total).ten_thousandths())
            .sum();
        assert!(sum <= Percentage::WHOLE.ten_thousandths());
        let owners = u64::try_from(holdings.len()).expect("small");
        assert!(sum + owners >= Percentage::WHOLE.ten_thousandths(), "{sum}");
    }

    #[rstest]
    #[case(0, 1, false, false, &[])]
    #[case(1, 1, true, false, &["foreign_owners"])]
    #[case(0, 2, false, true, &["multiple_share_classes"])]
    #[case(2, 3, true, true, &["foreign_owners", "multiple_share_classes"])]
    #[case(0, 0, false, false, &[])]
    fn interest_is_foreign_owners_or_several_classes(
        #[case] foreign: u64,
        #[case] classes: usize,
        #[case] foreign_flag: bool,
        #[case] classes_flag: bool,
        #[case] reasons: &[&str],
    ) {
        let interest = Interest::of(foreign, classes);
        assert_eq!(interest.foreign_owners, foreign_flag);
        assert_eq!(interest.multiple_share_classes, classes_flag);
        assert_eq!(interest.is_interesting(), foreign_flag || classes_flag);
        assert_eq!(interest.reasons(), reasons);
    }
}
