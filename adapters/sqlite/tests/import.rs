//! The year import against a real SQLite file: the ports' conformance scenarios.

mod common;

use common::store;
use shareholders_ports::conformance::years::{self, Stores};

macro_rules! scenario {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            let (_dir, store) = store().await;
            let (write_snapshot, read_snapshot) = (store.write_snapshot(), store.read_snapshot());
            years::$name(Stores {
                import: &store,
                write: &store,
                write_snapshot: &write_snapshot,
                read_model: Some((&read_snapshot, &store)),
            })
            .await;
        }
    };
}

scenario!(a_year_becomes_the_live_register);
scenario!(years_import_in_any_order);
scenario!(a_newer_year_reports_the_live_changes_it_supersedes);
scenario!(movers_keep_their_id_and_ambiguous_ones_are_counted);

#[tokio::test]
async fn years_are_served_as_imported() {
    let (_dir, store) = store().await;
    years::years_are_served_as_imported(years::YearStores {
        import: &store,
        source: &store,
        target: &store,
        reads: &store,
    })
    .await;
}

/// A scenario over a year served through the service, as the API serves it.
macro_rules! served {
    ($module:ident :: $name:ident) => {
        #[tokio::test]
        async fn $name() {
            let (_dir, store) = store().await;
            let service = shareholders_ports::Service::new(
                std::sync::Arc::new(store.clone()),
                std::sync::Arc::new(store.clone()),
            );
            shareholders_ports::conformance::$module::$name(
                years::YearStores {
                    import: &store,
                    source: &store,
                    target: &store,
                    reads: &store,
                },
                &service,
            )
            .await;
        }
    };
}

served!(graph::the_ownership_graph_is_served);
served!(search::parties_are_found_by_name_and_orgnr);

/// The live holdings' indexes with their SQL, as the file has them now.
async fn live_holdings_indexes(dir: &std::path::Path) -> Vec<(String, Option<String>)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.join("shareholders.db").display()
    ))
    .await
    .expect("a second connection");
    let indexes = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'holdings' \
         ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the indexes");
    conn.close().await.expect("closed");
    indexes
}

/// Moving the live register writes the live holdings without their owner index and builds it
/// again, as the migrations made it, in the same transaction.
#[tokio::test]
async fn the_live_holdings_are_indexed_by_owner_again_after_a_move() {
    let (dir, store) = store().await;
    let migrated = live_holdings_indexes(dir.path()).await;
    assert!(
        migrated
            .iter()
            .any(|(name, sql)| name == "holdings_by_owner" && sql.is_some()),
        "{migrated:?}"
    );
    let (write_snapshot, read_snapshot) = (store.write_snapshot(), store.read_snapshot());
    // Imports years, in and out of order, that move the live register.
    years::a_year_becomes_the_live_register(Stores {
        import: &store,
        write: &store,
        write_snapshot: &write_snapshot,
        read_model: Some((&read_snapshot, &store)),
    })
    .await;
    assert_eq!(live_holdings_indexes(dir.path()).await, migrated);
}
