//! The ports of the shareholder register — the traits its core needs from the outside world —
//! and the use cases written against them.
//!
//! - [`WriteStore`]: commands, each recorded with its event in one atomic step.
//! - [`Outbox`] and [`EventPublisher`]: moving recorded events to subscribers, at least once.
//! - [`Projection`]: applying events to the read model, idempotently and in any order.
//! - [`ReadStore`]: the queries, answered from the read model.
//! - [`Snapshot`] and [`ReadModelLoader`]: the whole state at once, to verify and rebuild.
//! - [`Dependency`]: a configured store or broker, as readiness checks it.
//! - [`WriteRetention`] and [`AppliedRetention`]: pruning what is kept only for a while
//!   ([`run_pruning`]).
//!
//! Every trait has a `mockall` mock (`MockWriteStore`, …) in tests and behind the `mocks`
//! feature.

#[cfg(feature = "conformance")]
pub mod conformance;
mod health;
mod import;
pub mod metrics;
mod outbox;
mod pipeline;
mod projection;
mod read;
mod retention;
mod service;
mod snapshot;
mod stakes;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
mod write;
mod years;

pub use health::{Dependency, PoolUsage};
pub use import::{
    RegisterHolder, RegisterImport, RegisterLine, TotalConflict, YearImported, YearLoad,
    YearProvenance, YearRecord,
};
pub use outbox::{EventPublisher, Outbox, OutboxBacklog, PublishError, RelayError};
pub use pipeline::{DirectPublisher, RebuildReport, RelaySettings, rebuild, run_relay};
pub use projection::{Projection, ProjectionError};
pub use read::{
    CompanyRecord, HoldingRecord, PageRequest, PageRequestError, PersonRecord, ReadError,
    ReadStore, SearchMatches,
};
pub use retention::{
    AppliedRetention, PruneReport, Pruned, Retained, RetentionSettings, WriteRetention, prune,
    run_pruning,
};
pub use service::{
    BeneficialOwnersView, ChainLinkView, ChainView, ChangeEntry, ChangesView, ClassEntry,
    GraphDirection, GraphEdge, GraphLimits, GraphNode, GraphRequest, GraphRequestError, GraphView,
    HistoryEntry, HoldingChangeEntry, HoldingEntry, HoldingsView, MAX_SEARCH_RESULTS, MAX_WAIT,
    NetworkCompany, OwnerChangesView, OwnerEntry, OwnersView, PageInfo, PersonDetails, QueryError,
    SearchView, Service, SummaryView, UltimateAnswer, UltimateHoldingEntry, UltimateHoldingsView,
    UltimateOwnerEntry, UltimateOwnersView, UltimateQuestion,
};
pub use snapshot::{
    CompanySnapshot, Difference, HoldingSnapshot, PersonSnapshot, ReadModelLoader, SearchField,
    Snapshot, SnapshotBatch, diff, diff_settled,
};
pub use stakes::{
    OwnershipChange, OwnershipChanged, OwnershipChanges, OwnershipLog, StakesInMemory,
    UnchangingRegister,
};
pub use write::{
    Idempotency, IdempotencyKey, IdempotencyKeyError, PurchaseError, PurchaseReceipt, Recorded,
    RegisterError, WriteStore,
};
pub use years::{
    YearReadLoad, YearReadModel, YearSnapshots, diff_years, project_year, project_years,
};

#[cfg(any(test, feature = "mocks"))]
pub use health::MockDependency;
#[cfg(any(test, feature = "mocks"))]
pub use outbox::{MockEventPublisher, MockOutbox};
#[cfg(any(test, feature = "mocks"))]
pub use projection::MockProjection;
#[cfg(any(test, feature = "mocks"))]
pub use read::MockReadStore;
#[cfg(any(test, feature = "mocks"))]
pub use retention::{MockAppliedRetention, MockWriteRetention};
#[cfg(any(test, feature = "mocks"))]
pub use stakes::MockOwnershipLog;
#[cfg(any(test, feature = "mocks"))]
pub use write::MockWriteStore;
