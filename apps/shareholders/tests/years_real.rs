//! The years on the real stack: PostgreSQL's year partitions projected into MongoDB's year
//! collections, through the ports' conformance scenario.

mod support;

use std::sync::Arc;

use shareholders::stack::Stack;
use shareholders_ports::conformance::years::{self, YearStores};
use shareholders_ports::{ReadStore, RegisterImport, YearReadModel, YearSnapshots};
use support::real::RealStack;

async fn connect(real: &RealStack) -> Stack {
    Stack::connect(&real.without_broker())
        .await
        .expect("the stack connects")
}

/// The stack's ports a years scenario takes.
struct YearPorts {
    import: Arc<dyn RegisterImport>,
    source: Arc<dyn YearSnapshots>,
    target: Arc<dyn YearReadModel>,
    reads: Arc<dyn ReadStore>,
}

impl YearPorts {
    fn of(stack: &Stack) -> Self {
        Self {
            import: stack.importer(),
            source: stack.year_snapshots(),
            target: stack.year_read_model(),
            reads: stack.read_store(),
        }
    }

    fn stores(&self) -> YearStores<'_> {
        YearStores {
            import: self.import.as_ref(),
            source: self.source.as_ref(),
            target: self.target.as_ref(),
            reads: self.reads.as_ref(),
        }
    }
}

#[tokio::test]
async fn years_are_served_as_imported_on_postgres_and_mongodb() {
    let real = RealStack::new().await;
    let stack = connect(&real).await;
    years::years_are_served_as_imported(YearPorts::of(&stack).stores()).await;
    real.cleanup().await;
}

/// The ownership graph's definitions hold on PostgreSQL's year projected into MongoDB.
#[tokio::test]
async fn the_ownership_graph_is_served_from_mongodb() {
    let real = RealStack::new().await;
    let stack = connect(&real).await;
    shareholders_ports::conformance::graph::the_ownership_graph_is_served(
        YearPorts::of(&stack).stores(),
        &stack.service(),
    )
    .await;
    real.cleanup().await;
}

/// Search by name and orgnr on PostgreSQL's year projected into MongoDB.
#[tokio::test]
async fn parties_are_found_by_name_and_orgnr_in_mongodb() {
    let real = RealStack::new().await;
    let stack = connect(&real).await;
    shareholders_ports::conformance::search::parties_are_found_by_name_and_orgnr(
        YearPorts::of(&stack).stores(),
        &stack.service(),
    )
    .await;
    real.cleanup().await;
}

/// A year's read model on MongoDB is verified field by field too: a corrupted stored share
/// total in a year's holdings is named, and projecting the year again repairs it.
#[tokio::test]
async fn a_corrupted_year_on_mongodb_is_named_and_projected_again() {
    use futures::TryStreamExt as _;
    use mongodb::bson::{Document, doc};
    use shareholders_domain::RegisterYear;
    use shareholders_ports::{Difference, diff_years, project_year};

    let real = RealStack::new().await;
    let storage = real.without_broker();
    let stack = Stack::connect(&storage).await.expect("the stack connects");
    let sample = std::fs::read_to_string(support::sample_path()).expect("the sample");
    let file = storage.data_dir.join("aksjeeiebok__2023.csv");
    std::fs::create_dir_all(&storage.data_dir).expect("data dir");
    std::fs::write(&file, sample).expect("write");
    let code = shareholders::commands::import(
        &storage,
        shareholders::cli::ImportArgs {
            file,
            year: None,
            rejects: None,
            batch: 5,
            no_rebuild: false,
        },
    )
    .await
    .expect("imports");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let (source, target) = (stack.year_snapshots(), stack.year_read_model());
    assert!(
        diff_years(source.as_ref(), target.as_ref())
            .await
            .expect("diff")
            .is_empty()
    );

    let db = mongodb::Client::with_uri_str(storage.mongodb_uri.as_deref().expect("a URI"))
        .await
        .expect("connects")
        .database(&storage.mongodb_database);
    let names = db.list_collection_names().await.expect("names");
    let holdings = names
        .iter()
        .find(|n| n.starts_with("y2023g") && n.ends_with("_holdings"))
        .expect("2023's holdings collection");
    let collection = db.collection::<Document>(holdings);
    let tvist: Vec<Document> = collection
        .find(doc! {"company.orgnr": "988844322", "shares": 3_i64})
        .await
        .expect("finds")
        .try_collect()
        .await
        .expect("reads");
    assert_eq!(tvist.len(), 1, "HAGEN STEIN ERIK's 3 shares in TVIST 1 AS");
    let id = tvist[0].get_str("_id").expect("an id").to_owned();
    collection
        .update_one(doc! {"_id": &id}, doc! {"$set": {"shares": 1000_i64}})
        .await
        .expect("corrupts");
    let found = diff_years(source.as_ref(), target.as_ref())
        .await
        .expect("diff");
    assert!(
        found.iter().any(
            |d| matches!(d, Difference::Differs { kind: "holding", key, field: "shares", .. }
            if *key == format!("2023/{id}"))
        ),
        "{found:#?}"
    );
    let year = RegisterYear::new(2023).expect("a year");
    project_year(source.as_ref(), target.as_ref(), year, 7, &|_| {})
        .await
        .expect("projects")
        .expect("an imported year");
    assert!(
        diff_years(source.as_ref(), target.as_ref())
            .await
            .expect("diff")
            .is_empty()
    );
    real.cleanup().await;
}
