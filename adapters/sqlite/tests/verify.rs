//! `verify` sees every stored field of the embedded read model: one stored value corrupted at a
//! time is named, with its record and field, and `rebuild` repairs it.

mod common;

use common::*;
use rstest::rstest;
use shareholders_domain::OwnerRef;
use shareholders_ports::{Difference, diff, rebuild};
use shareholders_sqlite::SqliteStore;

/// Two companies, a person at home and one abroad, an organisation owner; projected.
async fn register(store: &SqliteStore) {
    record(
        store,
        &[
            organisation(orgnr(1), "TVIST 1 AS", Some(200)),
            organisation(orgnr(2), "CANICA INVESTOR AS", None),
        ],
        &[
            person("hagen", "HAGEN STEIN ERIK", "NO"),
            person("kjos", "KJOS CAROLINE", "CH"),
        ],
        &[
            purchase(orgnr(1), person_ref("hagen"), "A-aksjer", 3),
            purchase(orgnr(1), person_ref("kjos"), "B-aksjer", 117),
            purchase(orgnr(1), OwnerRef::Organisation(orgnr(2)), "A-aksjer", 9),
            purchase(orgnr(2), person_ref("kjos"), "A-aksjer", 36),
        ],
    )
    .await;
    project(store).await;
}

async fn differences(store: &SqliteStore) -> Vec<Difference> {
    diff(&store.write_snapshot(), &store.read_snapshot())
        .await
        .expect("diff runs")
}

#[rstest]
#[case::holding_shares(
    "UPDATE read_holdings SET shares = 1000 WHERE owner_id = 'hagen'",
    "holding",
    "{1}/person/hagen",
    "shares"
)]
#[case::holding_classes(
    "UPDATE read_holdings SET classes = '[[\"A-aksjer\",4]]' WHERE owner_id = 'hagen'",
    "holding",
    "{1}/person/hagen",
    "classes"
)]
#[case::holding_owner_name(
    "UPDATE read_holdings SET owner_name = 'SOMEONE ELSE' WHERE owner_id = 'kjos' AND company = '{1}'",
    "holding",
    "{1}/person/kjos",
    "owner.name"
)]
#[case::holding_owner_country(
    "UPDATE read_holdings SET owner_country = 'SE' WHERE owner_id = 'kjos' AND company = '{1}'",
    "holding",
    "{1}/person/kjos",
    "owner.country"
)]
#[case::holding_owner_birth_year(
    "UPDATE read_holdings SET owner_birth_year = 1901 WHERE owner_id = 'hagen'",
    "holding",
    "{1}/person/hagen",
    "owner.birth_year"
)]
#[case::holding_gone(
    "DELETE FROM read_holdings WHERE owner_id = 'hagen'",
    "holding",
    "{1}/person/hagen",
    "missing"
)]
#[case::organisation_name(
    "UPDATE read_organisations SET name = 'OTHER AS' WHERE orgnr = '{2}'",
    "organisation",
    "{2}",
    "name"
)]
#[case::organisation_total(
    "UPDATE read_organisations SET total_shares = 999 WHERE orgnr = '{1}'",
    "organisation",
    "{1}",
    "total_shares"
)]
#[case::organisation_registered(
    "UPDATE read_organisations SET registered_shares = 1 WHERE orgnr = '{1}'",
    "organisation",
    "{1}",
    "registered_shares"
)]
#[case::organisation_owner_count(
    "UPDATE read_organisations SET owner_count = 7 WHERE orgnr = '{1}'",
    "organisation",
    "{1}",
    "owner_count"
)]
#[case::organisation_foreign(
    "UPDATE read_organisations SET foreign_owner_count = 0 WHERE orgnr = '{1}'",
    "organisation",
    "{1}",
    "foreign_owner_count"
)]
#[case::organisation_classes(
    "UPDATE read_organisations SET classes = '[]' WHERE orgnr = '{1}'",
    "organisation",
    "{1}",
    "classes"
)]
#[case::organisation_holding_count(
    "UPDATE read_organisations SET holding_count = 5 WHERE orgnr = '{2}'",
    "organisation",
    "{2}",
    "holding_count"
)]
#[case::organisation_country(
    "UPDATE read_organisations SET country = 'DK' WHERE orgnr = '{2}'",
    "organisation",
    "{2}",
    "country"
)]
#[case::organisation_place(
    "UPDATE read_organisations SET place = 'BERGEN' WHERE orgnr = '{2}'",
    "organisation",
    "{2}",
    "place"
)]
#[case::organisation_gone(
    "DELETE FROM read_organisations WHERE orgnr = '{2}'",
    "organisation",
    "{2}",
    "missing"
)]
#[case::person_name(
    "UPDATE read_persons SET name = 'NOBODY' WHERE id = 'hagen'",
    "person",
    "hagen",
    "name"
)]
#[case::person_birth_year(
    "UPDATE read_persons SET birth_year = 1990 WHERE id = 'hagen'",
    "person",
    "hagen",
    "birth_year"
)]
#[case::person_country(
    "UPDATE read_persons SET country = 'NO' WHERE id = 'kjos'",
    "person",
    "kjos",
    "country"
)]
#[case::person_postal_code(
    "UPDATE read_persons SET postal_code = '0150' WHERE id = 'kjos'",
    "person",
    "kjos",
    "postal_code"
)]
#[case::person_holding_count(
    "UPDATE read_persons SET holding_count = 9 WHERE id = 'kjos'",
    "person",
    "kjos",
    "holding_count"
)]
#[case::person_extra(
    "INSERT INTO read_persons (id, registered, name, country, owner_version) VALUES ('ghost', 1, 'GHOST', 'NO', 0)",
    "person",
    "ghost",
    "unexpected"
)]
#[tokio::test]
async fn a_corrupted_field_is_named_and_a_rebuild_repairs_it(
    #[case] corruption: &str,
    #[case] kind: &str,
    #[case] key: &str,
    #[case] field: &str,
) {
    let (dir, store) = store().await;
    register(&store).await;
    assert!(differences(&store).await.is_empty(), "clean before");
    let fill = |s: &str| {
        s.replace("{1}", orgnr(1).as_str())
            .replace("{2}", orgnr(2).as_str())
    };
    // Straight into the file, as a stray write or a bad disk would.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path()
            .join(shareholders_sqlite::DATABASE_FILE)
            .display()
    ))
    .await
    .expect("open the file");
    let changed = sqlx::query(sqlx::AssertSqlSafe(fill(corruption)))
        .execute(&pool)
        .await
        .expect("corrupts")
        .rows_affected();
    assert_eq!(changed, 1, "{corruption}");
    pool.close().await;

    let found: Vec<_> = differences(&store).await.iter().map(named).collect();
    assert!(
        found.contains(&(kind.to_owned(), fill(key), field.to_owned())),
        "{kind} {key} {field} not in {found:#?}"
    );
    rebuild(&store.write_snapshot(), &store, true, 3, &|_| {})
        .await
        .expect("rebuilds");
    assert!(differences(&store).await.is_empty(), "repaired");
}
