//! The real stack for tests: a fresh PostgreSQL database, a fresh MongoDB database and a fresh
//! set of RabbitMQ exchanges and queues per test, removed when the test ends.

use shareholders::cli::StorageArgs;
use shareholders_postgres::testkit::TestDatabase;

#[allow(unused_imports)] // each test binary uses its own part
pub use shareholders_mongo::testkit::server_uri as mongodb_uri;
#[allow(unused_imports)] // each test binary uses its own part
pub use shareholders_rabbitmq::testkit::{amqp_url, close_connections as close_broker_connections};

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// One test's share of the real servers.
#[derive(Debug)]
pub struct RealStack {
    pub storage: StorageArgs,
    database: TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl RealStack {
    pub async fn new() -> Self {
        let database = TestDatabase::create("sh_e2e").await;
        let prefix = unique("sh-e2e");
        let data_dir = tempfile::tempdir().expect("tempdir");
        Self {
            storage: StorageArgs {
                data_dir: data_dir.path().to_path_buf(),
                database_url: Some(database.url.clone()),
                amqp_url: Some(amqp_url()),
                amqp_prefix: prefix.clone(),
                mongodb_uri: Some(mongodb_uri().to_owned()),
                mongodb_database: prefix.replace('-', "_"),
                ca_file: None,
            },
            database,
            _data_dir: data_dir,
        }
    }

    /// The same stack without a broker: events are projected in-process.
    pub fn without_broker(&self) -> StorageArgs {
        StorageArgs {
            amqp_url: None,
            ..self.storage.clone()
        }
    }

    pub fn topology(&self) -> shareholders_rabbitmq::Topology {
        shareholders_rabbitmq::Topology::named(&self.storage.amqp_prefix)
    }

    /// Environment variables that point the binary at this stack.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let s = &self.storage;
        vec![
            ("SHAREHOLDERS_DATA_DIR", s.data_dir.display().to_string()),
            (
                "SHAREHOLDERS_DATABASE_URL",
                s.database_url.clone().unwrap_or_default(),
            ),
            (
                "SHAREHOLDERS_AMQP_URL",
                s.amqp_url.clone().unwrap_or_default(),
            ),
            ("SHAREHOLDERS_AMQP_PREFIX", s.amqp_prefix.clone()),
            (
                "SHAREHOLDERS_MONGODB_URI",
                s.mongodb_uri.clone().unwrap_or_default(),
            ),
            ("SHAREHOLDERS_MONGODB_DATABASE", s.mongodb_database.clone()),
        ]
    }

    pub async fn cleanup(self) {
        if let Ok(connection) =
            lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await
        {
            if let Ok(channel) = connection.create_channel().await {
                let _ = self.topology().delete(&channel).await;
            }
            let _ = connection.close(200, "done".into()).await;
        }
        if let Ok(client) = mongodb::Client::with_uri_str(mongodb_uri()).await {
            let _ = client.database(&self.storage.mongodb_database).drop().await;
        }
        drop(self.database);
    }
}
