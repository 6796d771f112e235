//! Between SQLite rows and domain values.

use anyhow::{Context as _, anyhow};
use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, Country, Name, OrgNr, Organisation, OwnerProfile,
    OwnerRef, Person, PersonId, Place, PostalCode, ShareClass, ShareCount,
};
use shareholders_ports::{
    CompanyRecord, CompanySnapshot, HoldingRecord, HoldingSnapshot, PersonRecord, PersonSnapshot,
};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A count as SQLite stores it.
pub(crate) fn int(value: u64) -> anyhow::Result<i64> {
    i64::try_from(value).map_err(|_| anyhow!("{value} does not fit a SQLite integer"))
}

/// A stored count back; negative values are a corrupt database.
pub(crate) fn count(value: i64) -> anyhow::Result<u64> {
    u64::try_from(value).map_err(|_| anyhow!("negative count {value} in the database"))
}

/// A moment as SQLite stores it: milliseconds since the epoch (0 before it, saturated after
/// the year 292 million).
pub(crate) fn millis(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// A stored moment back, from [`millis`].
pub(crate) fn system_time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or_default())
}

pub(crate) fn owner_ref(kind: &str, id: &str) -> anyhow::Result<OwnerRef> {
    OwnerRef::parse(kind, id).with_context(|| format!("stored owner {kind} {id}"))
}

pub(crate) fn kind_str(owner: &OwnerRef) -> &'static str {
    owner.kind().as_str()
}

/// Classes as a JSON array of `[class, shares]` pairs.
pub(crate) fn classes_json(classes: &[ClassShares]) -> String {
    let pairs: Vec<(&str, u64)> = classes
        .iter()
        .map(|c| (c.share_class.as_str(), c.shares))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}

/// Reads [`classes_json`] (or SQLite's `json_group_array(json_array(class, shares))`) back,
/// sorted by class name, without zero entries. SQL NULL is an empty list.
pub(crate) fn classes_from_json(json: Option<&str>) -> anyhow::Result<Vec<ClassShares>> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let pairs: Vec<(String, u64)> =
        serde_json::from_str(json).with_context(|| format!("stored classes {json}"))?;
    let mut classes = pairs
        .into_iter()
        .filter(|(_, shares)| *shares > 0)
        .map(|(class, shares)| {
            Ok(ClassShares {
                share_class: ShareClass::parse(&class)
                    .with_context(|| format!("stored share class {class:?}"))?,
                shares,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    classes.sort_by(|a, b| a.share_class.as_str().cmp(b.share_class.as_str()));
    Ok(classes)
}

pub(crate) fn total(value: Option<i64>) -> anyhow::Result<Option<ShareCount>> {
    value
        .map(|t| ShareCount::new(count(t)?).with_context(|| format!("stored total {t}")))
        .transpose()
}

pub(crate) fn birth_year(value: Option<i64>) -> anyhow::Result<Option<BirthYear>> {
    value
        .map(|y| BirthYear::new(y).with_context(|| format!("stored birth year {y}")))
        .transpose()
}

pub(crate) fn name(value: &str) -> anyhow::Result<Name> {
    Name::parse(value).with_context(|| format!("stored name {value:?}"))
}

pub(crate) fn country(value: &str) -> anyhow::Result<Country> {
    Country::parse(value).with_context(|| format!("stored country {value:?}"))
}

pub(crate) fn person_id(value: &str) -> anyhow::Result<PersonId> {
    PersonId::parse(value).with_context(|| format!("stored person id {value:?}"))
}

pub(crate) fn orgnr(value: &str) -> anyhow::Result<OrgNr> {
    OrgNr::parse(value).with_context(|| format!("stored orgnr {value:?}"))
}

fn postal_code(value: Option<String>) -> anyhow::Result<Option<PostalCode>> {
    value
        .map(|v| PostalCode::parse(&v).with_context(|| format!("stored postal code {v:?}")))
        .transpose()
}

fn place(value: Option<String>) -> anyhow::Result<Option<Place>> {
    value
        .map(|v| Place::parse(&v).with_context(|| format!("stored place {v:?}")))
        .transpose()
}

/// A row of `orgnr, name, postal_code, place, country, total_shares, registered_shares,
/// owner_count, foreign_owner_count, classes, holding_count, version, owner_version`.
pub(crate) fn company(row: &SqliteRow) -> anyhow::Result<CompanySnapshot> {
    let country_code: Option<String> = row.try_get("country")?;
    let organisation = Organisation::new(
        orgnr(row.try_get("orgnr")?)?,
        name(row.try_get("name")?)?,
        postal_code(row.try_get("postal_code")?)?,
        place(row.try_get("place")?)?,
        country(country_code.as_deref().unwrap_or_default())?,
        total(row.try_get("total_shares")?)?,
    );
    let classes: Option<String> = row.try_get("classes")?;
    Ok(CompanySnapshot {
        record: CompanyRecord {
            organisation,
            registered_shares: count(row.try_get("registered_shares")?)?,
            owner_count: count(row.try_get("owner_count")?)?,
            foreign_owner_count: count(row.try_get("foreign_owner_count")?)?,
            holding_count: count(row.try_get("holding_count")?)?,
            classes: classes_from_json(classes.as_deref())?,
        },
        version: count(row.try_get("version")?)?,
        owner_version: count(row.try_get("owner_version")?)?,
        search: None,
    })
}

/// A row of `id, name, birth_year, postal_code, place, country, holding_count, owner_version`.
pub(crate) fn person(row: &SqliteRow) -> anyhow::Result<PersonSnapshot> {
    let person = Person::new(
        person_id(row.try_get("id")?)?,
        name(row.try_get("name")?)?,
        birth_year(row.try_get("birth_year")?)?,
        postal_code(row.try_get("postal_code")?)?,
        place(row.try_get("place")?)?,
        country(row.try_get("country")?)?,
    );
    Ok(PersonSnapshot {
        record: PersonRecord {
            person,
            holding_count: count(row.try_get("holding_count")?)?,
        },
        owner_version: count(row.try_get("owner_version")?)?,
        search: None,
    })
}

/// A row of `company, company_name, company_total, company_registered, owner_kind, owner_id,
/// owner_name, owner_country, owner_birth_year, classes, shares, version`.
pub(crate) fn holding(row: &SqliteRow) -> anyhow::Result<HoldingSnapshot> {
    let classes: Option<String> = row.try_get("classes")?;
    Ok(HoldingSnapshot {
        shares: count(row.try_get("shares")?)?,
        record: HoldingRecord {
            company: CompanyProfile {
                orgnr: orgnr(row.try_get("company")?)?,
                name: name(row.try_get("company_name")?)?,
                total_shares: total(row.try_get("company_total")?)?,
            },
            company_registered_shares: count(row.try_get("company_registered")?)?,
            owner: OwnerProfile {
                owner: owner_ref(row.try_get("owner_kind")?, row.try_get("owner_id")?)?,
                name: name(row.try_get("owner_name")?)?,
                country: country(row.try_get("owner_country")?)?,
                birth_year: birth_year(row.try_get("owner_birth_year")?)?,
            },
            classes: classes_from_json(classes.as_deref())?,
        },
        version: count(row.try_get("version")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(None, &[])]
    #[case(Some("[]"), &[])]
    #[case(Some(r#"[["B-aksjer",117],["A-aksjer",3]]"#), &[("A-aksjer", 3), ("B-aksjer", 117)])]
    #[case(Some(r#"[["a",1],["B",2],["A",0]]"#), &[("B", 2), ("a", 1)])]
    fn classes_are_sorted_bytewise_without_zeros(
        #[case] json: Option<&str>,
        #[case] expected: &[(&str, u64)],
    ) {
        let classes = classes_from_json(json).expect("valid json");
        let got: Vec<(&str, u64)> = classes
            .iter()
            .map(|c| (c.share_class.as_str(), c.shares))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(
            classes_from_json(Some(&classes_json(&classes))).expect("round trip"),
            classes
        );
    }

    #[rstest]
    #[case(0, Ok(0))]
    #[case(i64::MAX as u64, Ok(i64::MAX))]
    #[case(i64::MAX as u64 + 1, Err(()))]
    fn counts_fit_sqlite_integers(#[case] value: u64, #[case] expected: Result<i64, ()>) {
        assert_eq!(int(value).map_err(|_| ()), expected);
    }
}
