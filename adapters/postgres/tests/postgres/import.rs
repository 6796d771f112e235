//! The year import against a real PostgreSQL: the ports' conformance scenarios, and the
//! snapshot's order.

use shareholders_domain::{Country, OrgNr, Organisation, OwnerKind};
use shareholders_ports::conformance::years::{self, Stores};
use shareholders_ports::{RegisterHolder, RegisterLine, Snapshot as _};

use crate::common::{TestDb, class, name, organisation, orgnr, person, shares, state};

macro_rules! scenario {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            let db = TestDb::new().await;
            let snapshot = db.store.snapshot();
            years::$name(Stores {
                import: &db.store,
                write: &db.store,
                write_snapshot: &snapshot,
                read_model: None,
            })
            .await;
        }
    };
}

scenario!(a_year_becomes_the_live_register);
scenario!(years_import_in_any_order);
scenario!(a_newer_year_reports_the_live_changes_it_supersedes);
scenario!(movers_keep_their_id_and_ambiguous_ones_are_counted);

fn issuer(nr: OrgNr, label: &str, total: Option<u64>) -> Organisation {
    Organisation::new(
        nr,
        name(label),
        None,
        None,
        Country::NORWAY,
        total.map(shares),
    )
}

fn org_line(
    n: u64,
    company: &Organisation,
    holder: OrgNr,
    class_name: &str,
    count: u64,
) -> RegisterLine {
    RegisterLine {
        line: n,
        company: company.clone(),
        holder: RegisterHolder::Organisation(organisation(holder, "HOLDER AS", None)),
        share_class: class(class_name),
        shares: shares(count),
    }
}

fn person_line(n: u64, company: &Organisation, id: &str, code: &str, count: u64) -> RegisterLine {
    RegisterLine {
        line: n,
        company: company.clone(),
        holder: RegisterHolder::Person(person(id, "PERSON", code)),
        share_class: class("Ordinære aksjer"),
        shares: shares(count),
    }
}

#[tokio::test]
async fn snapshots_are_ordered_bytewise() {
    let db = TestDb::new().await;
    let store = &db.store;
    let company = issuer(orgnr(7), "ORDER AS", None);
    let lines = vec![
        person_line(1, &company, "b", "NO", 1),
        person_line(2, &company, "B", "NO", 1),
        person_line(3, &company, "a_", "NO", 1),
        org_line(4, &company, orgnr(9), "A", 1),
        org_line(5, &company, orgnr(2), "A", 1),
        person_line(6, &issuer(orgnr(1), "FIRST AS", None), "Z", "NO", 1),
    ];
    years::import(store, 2023, lines).await;
    let state = state(store).await;
    let ids: Vec<&str> = state
        .persons
        .iter()
        .map(|p| p.record.person.id().as_str())
        .collect();
    assert_eq!(ids, ["B", "Z", "a_", "b"]);
    let orgnrs: Vec<OrgNr> = state
        .companies
        .iter()
        .map(|c| c.record.organisation.orgnr())
        .collect();
    let mut sorted = orgnrs.clone();
    sorted.sort();
    assert_eq!(orgnrs, sorted);
    let keys: Vec<(OrgNr, OwnerKind, String)> = state
        .holdings
        .iter()
        .map(|h| {
            (
                h.record.company.orgnr,
                h.record.owner.owner.kind(),
                h.record.owner.owner.id().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 6);
    assert_eq!(keys[1].1, OwnerKind::Organisation);
    assert_eq!(keys[5].1, OwnerKind::Person);
    assert!(
        store
            .snapshot()
            .position()
            .await
            .expect("position")
            .is_none()
    );
}

/// The live tables' constraints and indexes, each with its definition, as PostgreSQL gives
/// them.
async fn live_keys(url: &str) -> Vec<(String, String, String)> {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let keys = sqlx::query_as(
        "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
         FROM pg_constraint
         WHERE conrelid = ANY ('{company_state,owner_state,holdings,company_classes}'::regclass[])
         UNION ALL
         SELECT tablename::text, indexname::text, indexdef
         FROM pg_indexes
         WHERE schemaname = 'public'
           AND tablename IN ('company_state', 'owner_state', 'holdings', 'company_classes')
         ORDER BY 1, 2, 3",
    )
    .fetch_all(&pool)
    .await
    .expect("the live keys");
    pool.close().await;
    keys
}

/// Moving the live register sets the live tables' keys aside while it writes their rows, and
/// builds them again as the migrations made them; a move that fails leaves them as they were.
#[tokio::test]
async fn the_live_keys_are_built_again_as_migrated_after_a_move() {
    let db = TestDb::new().await;
    let migrated = live_keys(&db.url).await;
    let named = |name: &str| migrated.iter().any(|(_, key, _)| key == name);
    assert!(named("holdings_by_owner") && named("company_classes_company_fkey"));
    assert_eq!(migrated.len(), 21, "{migrated:#?}");
    let company = issuer(orgnr(7), "KEYS AS", Some(10));
    let lines = vec![
        person_line(1, &company, "p1", "NO", 4),
        org_line(2, &company, orgnr(9), "A", 6),
    ];
    let imported = years::import(&db.store, 2023, lines.clone()).await;
    assert!(imported.live_moved);
    assert_eq!(live_keys(&db.url).await, migrated);
    // The keys hold again: a second live copy of a holding is refused.
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    let duplicate = sqlx::query(
        "INSERT INTO holdings (company, owner_kind, owner_id, share_class, shares, version)
         SELECT company, owner_kind, owner_id, share_class, shares, version FROM holdings",
    )
    .execute(&pool)
    .await
    .expect_err("a duplicate holding");
    assert_eq!(
        duplicate
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("23505")
    );
    // A move that fails once the keys are set aside (a check that refuses every company's
    // new state) rolls them back with it, and the live rows.
    sqlx::query(
        "ALTER TABLE company_state ADD CONSTRAINT refuse_moves CHECK (version < 0) NOT VALID",
    )
    .execute(&pool)
    .await
    .expect("a check every move fails");
    let before = live_keys(&db.url).await;
    let holdings = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM holdings")
            .fetch_one(&pool)
            .await
            .expect("count")
    };
    assert_eq!(holdings().await, 2);
    let store = db.store.clone();
    let failed = tokio::spawn(async move { years::import(&store, 2024, lines).await })
        .await
        .expect_err("the move fails");
    let message = failed
        .into_panic()
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(
        message.starts_with("the year commits") && message.contains("refuse_moves"),
        "{message}"
    );
    assert_eq!(live_keys(&db.url).await, before);
    assert_eq!(holdings().await, 2);
    pool.close().await;
}
