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
