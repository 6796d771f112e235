//! The replies of the reads over the register's years.

use serde::Serialize;
use shareholders_domain::Percentage;
use shareholders_ports::{
    ChangeEntry, ChangesView, HistoryEntry, HoldingChangeEntry, OwnerChangesView, YearRecord,
};

use super::{CompanyOut, OwnerProfileOut, OwnerRefOut, PageOut, percent};

/// One imported year, in `GET /api/years`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct YearOut {
    pub year: u16,
    pub file_name: String,
    pub sha256: String,
    /// RFC 3339, UTC, to the millisecond.
    pub imported_at: String,
    pub lines: u64,
    pub rejects: u64,
    pub companies: u64,
    pub holdings: u64,
    pub persons_linked: u64,
    pub persons_ambiguous: u64,
    pub superseded_live_changes: u64,
    /// How long the import took, in seconds; null for years imported before it was kept.
    pub duration_seconds: Option<f64>,
}

/// Days since 1970-01-01 as a civil date (proleptic Gregorian), after Howard Hinnant's
/// published algorithm.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A time as RFC 3339 in UTC with milliseconds.
#[must_use]
pub fn rfc3339(time: std::time::SystemTime) -> String {
    let millis = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let (days, rest) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (year, month, day) = civil(days);
    let (hours, minutes) = (rest / 3_600_000, rest / 60_000 % 60);
    let (seconds, ms) = (rest / 1000 % 60, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{ms:03}Z")
}

impl From<&YearRecord> for YearOut {
    fn from(r: &YearRecord) -> Self {
        Self {
            year: r.year.get(),
            file_name: r.file_name.clone(),
            sha256: r.sha256.clone(),
            imported_at: rfc3339(r.imported_at),
            lines: r.lines,
            rejects: r.rejects,
            companies: r.companies,
            holdings: r.holdings,
            persons_linked: r.persons_linked,
            persons_ambiguous: r.persons_ambiguous,
            superseded_live_changes: r.superseded_live_changes,
            duration_seconds: r.duration.map(|d| d.as_secs_f64()),
        }
    }
}

/// `GET /api/years`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct YearsOut {
    pub years: Vec<YearOut>,
}

/// One year of `GET /api/{orgnr}/history`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct HistoryEntryOut {
    pub year: u16,
    pub total_shares: u64,
    pub registered_shares: u64,
    pub number_of_owners: u64,
    pub number_of_holdings: u64,
}

impl From<&HistoryEntry> for HistoryEntryOut {
    fn from(e: &HistoryEntry) -> Self {
        Self {
            year: e.year.get(),
            total_shares: e.total_shares,
            registered_shares: e.registered_shares,
            number_of_owners: e.number_of_owners,
            number_of_holdings: e.number_of_holdings,
        }
    }
}

/// `GET /api/{orgnr}/history`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct HistoryOut {
    pub orgnr: String,
    pub history: Vec<HistoryEntryOut>,
}

/// A value in each of the two years compared.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Span<T> {
    pub from: T,
    pub to: T,
}

/// A change's shares and percentages in the two years.
fn spans(shares: (u64, u64), percentage: (Percentage, Percentage)) -> (Span<u64>, Span<f64>) {
    (
        Span {
            from: shares.0,
            to: shares.1,
        },
        Span {
            from: percent(percentage.0),
            to: percent(percentage.1),
        },
    )
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ChangeOut {
    pub owner: OwnerProfileOut,
    pub change: &'static str,
    pub shares: Span<u64>,
    pub percentage: Span<f64>,
}

impl From<&ChangeEntry> for ChangeOut {
    fn from(e: &ChangeEntry) -> Self {
        let (shares, percentage) = spans(e.shares, e.percentage);
        Self {
            owner: (&e.owner).into(),
            change: e.change.as_str(),
            shares,
            percentage,
        }
    }
}

/// `GET /api/{orgnr}/changes?from=&to=`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ChangesOut {
    pub orgnr: String,
    pub from: u16,
    pub to: u16,
    /// `null` in a year whose extract does not list the company.
    pub total_shares: Span<Option<u64>>,
    pub changes: Vec<ChangeOut>,
    pub page: PageOut,
}

impl From<&ChangesView> for ChangesOut {
    fn from(v: &ChangesView) -> Self {
        Self {
            orgnr: v.orgnr.as_str().to_owned(),
            from: v.from.get(),
            to: v.to.get(),
            total_shares: Span {
                from: v.total_shares.0,
                to: v.total_shares.1,
            },
            changes: v.changes.iter().map(ChangeOut::from).collect(),
            page: v.page.into(),
        }
    }
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct HoldingChangeOut {
    pub company: CompanyOut,
    pub change: &'static str,
    pub shares: Span<u64>,
    pub percentage: Span<f64>,
}

impl From<&HoldingChangeEntry> for HoldingChangeOut {
    fn from(e: &HoldingChangeEntry) -> Self {
        let (shares, percentage) = spans(e.shares, e.percentage);
        Self {
            company: (&e.company).into(),
            change: e.change.as_str(),
            shares,
            percentage,
        }
    }
}

/// `GET /api/person/{id}/changes?from=&to=` and `GET /api/{orgnr}/holdings/changes`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct OwnerChangesOut {
    pub owner: OwnerRefOut,
    pub from: u16,
    pub to: u16,
    pub changes: Vec<HoldingChangeOut>,
    pub page: PageOut,
}

impl From<&OwnerChangesView> for OwnerChangesOut {
    fn from(v: &OwnerChangesView) -> Self {
        Self {
            owner: (&v.owner).into(),
            from: v.from.get(),
            to: v.to.get(),
            changes: v.changes.iter().map(HoldingChangeOut::from).collect(),
            page: v.page.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(0, "1970-01-01T00:00:00.000Z")]
    #[case(951_782_400_123, "2000-02-29T00:00:00.123Z")]
    #[case(1_795_608_015_000, "2026-11-25T12:00:15.000Z")]
    #[case(4_107_542_399_999, "2100-02-28T23:59:59.999Z")]
    fn times_are_rfc3339_in_utc(#[case] millis: u64, #[case] expected: &str) {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis);
        assert_eq!(rfc3339(time), expected);
    }
}
