//! The years on the real stack: PostgreSQL's year partitions projected into MongoDB's year
//! collections, through the ports' conformance scenario.

mod support;

use shareholders::stack::Stack;
use shareholders_ports::conformance::years::{self, YearStores};
use support::real::RealStack;

#[tokio::test]
async fn years_are_served_as_imported_on_postgres_and_mongodb() {
    let real = RealStack::new().await;
    let stack = Stack::connect(&real.without_broker())
        .await
        .expect("the stack connects");
    let (import, source, target, reads) = (
        stack.importer(),
        stack.year_snapshots(),
        stack.year_read_model(),
        stack.read_store(),
    );
    years::years_are_served_as_imported(YearStores {
        import: import.as_ref(),
        source: source.as_ref(),
        target: target.as_ref(),
        reads: reads.as_ref(),
    })
    .await;
    real.cleanup().await;
}
