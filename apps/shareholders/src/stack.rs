//! Wires adapters to ports from the storage configuration. Anything not configured falls back
//! to the embedded default (one SQLite file), so any mix works: PostgreSQL with the embedded
//! read model, the real stack without a broker (events projected in-process), and so on.

use std::sync::Arc;

use anyhow::Context;
use shareholders_mongo::MongoReadModel;
use shareholders_ports::{
    Dependency, DirectPublisher, EventPublisher, GraphLimits, Outbox, Projection, ReadModelLoader,
    ReadStore, RegisterImport, Service, Snapshot, StakesInMemory, WriteStore, YearReadModel,
    YearSnapshots,
};
use shareholders_postgres::PostgresStore;
use shareholders_rabbitmq::{
    BrokerHealth, ConsumerSettings, PublisherSettings, RabbitPublisher, Topology,
};
use shareholders_sqlite::SqliteStore;

use crate::cli::StorageArgs;
use crate::trust::TrustedCa;
use shareholders_redact::redact;

/// The write model.
#[derive(Clone, Debug)]
pub enum WriteSide {
    Embedded(SqliteStore),
    Postgres(PostgresStore),
}

/// The read model.
#[derive(Clone, Debug)]
pub enum ReadSide {
    Embedded(SqliteStore),
    Mongo(MongoReadModel),
}

/// A broker, when one is configured.
#[derive(Clone, Debug)]
pub struct Broker {
    pub url: String,
    pub prefix: String,
    pub topology: Topology,
    /// `--ca-file`'s certificates, for `amqps://`.
    pub ca: Option<String>,
}

impl Broker {
    /// The relay's settings; its connection is named `<prefix>.relay` on the broker.
    #[must_use]
    pub fn publisher_settings(&self) -> PublisherSettings {
        PublisherSettings {
            connection_name: format!("{}.relay", self.prefix),
            ca: self.ca.clone(),
            ..PublisherSettings::default()
        }
    }

    /// The projector's settings; its connection is named `<prefix>.projector` on the broker.
    #[must_use]
    pub fn consumer_settings(&self) -> ConsumerSettings {
        ConsumerSettings {
            connection_name: format!("{}.projector", self.prefix),
            ca: self.ca.clone(),
            ..ConsumerSettings::default()
        }
    }
}

/// Every adapter the configuration asks for, connected (and migrated).
#[derive(Clone)]
pub struct Stack {
    pub write: WriteSide,
    pub read: ReadSide,
    pub broker: Option<Broker>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("write", &self.write_name())
            .field("read", &self.read_name())
            .field("broker", &self.broker.as_ref().map(|b| redact(&b.url)))
            .finish()
    }
}

impl Stack {
    /// Connects to every configured store, runs the migrations and creates indexes.
    ///
    /// # Errors
    /// When a store cannot be reached or migrated; the message names it (redacted).
    pub async fn connect(storage: &StorageArgs) -> anyhow::Result<Self> {
        let ca = storage
            .ca_file
            .as_deref()
            .map(TrustedCa::read)
            .transpose()?;
        let needs_embedded = storage.database_url.is_none() || storage.mongodb_uri.is_none();
        let embedded = if needs_embedded {
            let store = SqliteStore::open(&storage.data_dir)
                .await
                .with_context(|| {
                    format!(
                        "opening the embedded store in {}",
                        storage.data_dir.display()
                    )
                })?;
            Some(store)
        } else {
            None
        };
        let write = match (&storage.database_url, &embedded) {
            (Some(url), _) => {
                let store = PostgresStore::connect_trusting(
                    url,
                    shareholders_postgres::DEFAULT_MAX_CONNECTIONS,
                    ca.as_ref().map(|ca| ca.pem().as_bytes()),
                )
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
                store
                    .migrate()
                    .await
                    .with_context(|| format!("migrating PostgreSQL at {}", redact(url)))?;
                tracing::info!(url = %redact(url), "write model: PostgreSQL");
                WriteSide::Postgres(store)
            }
            (None, Some(store)) => {
                tracing::info!(dir = %storage.data_dir.display(), "write model: embedded SQLite");
                WriteSide::Embedded(store.clone())
            }
            (None, None) => {
                unreachable!("the embedded store is opened when no database is configured")
            }
        };
        let read = match (&storage.mongodb_uri, &embedded) {
            (Some(uri), _) => {
                let model = MongoReadModel::connect_trusting(
                    uri,
                    &storage.mongodb_database,
                    ca.as_ref().map(TrustedCa::path),
                )
                .await
                .with_context(|| format!("connecting to MongoDB at {}", redact(uri)))?;
                tracing::info!(uri = %redact(uri), database = %storage.mongodb_database, "read model: MongoDB");
                ReadSide::Mongo(model)
            }
            (None, Some(store)) => {
                tracing::info!(dir = %storage.data_dir.display(), "read model: embedded SQLite");
                ReadSide::Embedded(store.clone())
            }
            (None, None) => {
                unreachable!("the embedded store is opened when no read model is configured")
            }
        };
        let broker = storage.amqp_url.as_ref().map(|url| {
            tracing::info!(url = %redact(url), prefix = %storage.amqp_prefix, "events: RabbitMQ");
            Broker {
                url: url.clone(),
                prefix: storage.amqp_prefix.clone(),
                topology: Topology::named(&storage.amqp_prefix),
                ca: ca.as_ref().map(|ca| ca.pem().to_owned()),
            }
        });
        if broker.is_none() {
            tracing::info!("events: projected in-process (no broker configured)");
        }
        Ok(Self {
            write,
            read,
            broker,
        })
    }

    fn write_name(&self) -> &'static str {
        match self.write {
            WriteSide::Embedded(_) => "embedded",
            WriteSide::Postgres(_) => "postgres",
        }
    }

    fn read_name(&self) -> &'static str {
        match self.read {
            ReadSide::Embedded(_) => "embedded",
            ReadSide::Mongo(_) => "mongo",
        }
    }

    #[must_use]
    pub fn service(&self) -> Service {
        Service::new(self.write_store(), self.read_store())
    }

    /// The use cases, with the ownership graph held to `limits`.
    #[must_use]
    pub fn service_with(&self, limits: GraphLimits) -> Service {
        Service::with_graph_limits(self.write_store(), self.read_store(), limits)
    }

    /// Every store and broker this stack was configured with, once each (the embedded file
    /// once, when it serves both sides), for readiness and the pools' metrics.
    ///
    /// # Errors
    /// When the broker's URL is not an AMQP URL.
    pub fn dependencies(&self) -> anyhow::Result<Vec<Arc<dyn Dependency>>> {
        let mut dependencies: Vec<Arc<dyn Dependency>> = Vec::new();
        match &self.write {
            WriteSide::Embedded(s) => dependencies.push(Arc::new(s.clone())),
            WriteSide::Postgres(s) => dependencies.push(Arc::new(s.clone())),
        }
        match (&self.read, &self.write) {
            (ReadSide::Embedded(_), WriteSide::Embedded(_)) => {}
            (ReadSide::Embedded(s), WriteSide::Postgres(_)) => {
                dependencies.push(Arc::new(s.clone()));
            }
            (ReadSide::Mongo(m), _) => dependencies.push(Arc::new(m.clone())),
        }
        if let Some(broker) = &self.broker {
            dependencies.push(Arc::new(
                BrokerHealth::new(&broker.url, format!("{}.health", broker.prefix))?
                    .trusting(broker.ca.clone()),
            ));
        }
        Ok(dependencies)
    }

    /// The write side's adapter as the port `T` (one resolution for every write-side port).
    fn write_port<T: ?Sized>(
        &self,
        embedded: fn(SqliteStore) -> Arc<T>,
        postgres: fn(PostgresStore) -> Arc<T>,
    ) -> Arc<T> {
        match &self.write {
            WriteSide::Embedded(s) => embedded(s.clone()),
            WriteSide::Postgres(s) => postgres(s.clone()),
        }
    }

    /// The read side's adapter as the port `T`.
    fn read_port<T: ?Sized>(
        &self,
        embedded: fn(SqliteStore) -> Arc<T>,
        mongo: fn(MongoReadModel) -> Arc<T>,
    ) -> Arc<T> {
        match &self.read {
            ReadSide::Embedded(s) => embedded(s.clone()),
            ReadSide::Mongo(m) => mongo(m.clone()),
        }
    }

    #[must_use]
    pub fn write_store(&self) -> Arc<dyn WriteStore> {
        self.write_port(|s| Arc::new(s), |s| Arc::new(s))
    }

    #[must_use]
    pub fn outbox(&self) -> Arc<dyn Outbox> {
        self.write_port(|s| Arc::new(s), |s| Arc::new(s))
    }

    #[must_use]
    pub fn importer(&self) -> Arc<dyn RegisterImport> {
        self.write_port(|s| Arc::new(s), |s| Arc::new(s))
    }

    /// The write model's imported years.
    #[must_use]
    pub fn year_snapshots(&self) -> Arc<dyn YearSnapshots> {
        self.write_port(|s| Arc::new(s), |s| Arc::new(s))
    }

    #[must_use]
    pub fn read_store(&self) -> Arc<dyn ReadStore> {
        self.read_port(|s| Arc::new(s), |m| Arc::new(m))
    }

    /// The read model with the live register also held in memory (for the ownership graph,
    /// the pages and the search), kept current by the read model's log of which companies
    /// changed. Nothing is held until its `load` runs.
    #[must_use]
    pub fn stakes_in_memory(&self) -> StakesInMemory {
        match &self.read {
            ReadSide::Embedded(s) => StakesInMemory::new(Arc::new(s.clone()), Arc::new(s.clone())),
            ReadSide::Mongo(m) => StakesInMemory::new(Arc::new(m.clone()), Arc::new(m.clone())),
        }
    }

    #[must_use]
    pub fn projection(&self) -> Arc<dyn Projection> {
        self.read_port(|s| Arc::new(s), |m| Arc::new(m))
    }

    #[must_use]
    pub fn loader(&self) -> Arc<dyn ReadModelLoader> {
        self.read_port(|s| Arc::new(s), |m| Arc::new(m))
    }

    /// The read model's years.
    #[must_use]
    pub fn year_read_model(&self) -> Arc<dyn YearReadModel> {
        self.read_port(|s| Arc::new(s), |m| Arc::new(m))
    }

    /// The write model's state, for verify and rebuild.
    #[must_use]
    pub fn write_snapshot(&self) -> Box<dyn Snapshot + '_> {
        match &self.write {
            WriteSide::Embedded(s) => Box::new(s.write_snapshot()),
            WriteSide::Postgres(s) => Box::new(s.snapshot()),
        }
    }

    /// The read model's state, for verify.
    #[must_use]
    pub fn read_snapshot(&self) -> Box<dyn Snapshot> {
        match &self.read {
            ReadSide::Embedded(s) => Box::new(s.read_snapshot()),
            ReadSide::Mongo(m) => Box::new(m.snapshot()),
        }
    }

    /// Where the relay publishes: the broker, or straight into the read model.
    ///
    /// # Errors
    /// When the broker cannot be reached.
    pub async fn publisher(&self) -> anyhow::Result<Arc<dyn EventPublisher>> {
        Ok(match &self.broker {
            Some(broker) => Arc::new(
                RabbitPublisher::connect_with(
                    &broker.url,
                    broker.topology.clone(),
                    broker.publisher_settings(),
                )
                .await
                .with_context(|| format!("connecting to RabbitMQ at {}", redact(&broker.url)))?,
            ),
            None => Arc::new(DirectPublisher::new(self.projection())),
        })
    }
}
