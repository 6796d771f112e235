//! Loading a whole register extract into the write model at once.

use async_trait::async_trait;
use futures::stream::BoxStream;
use shareholders_domain::Position;
pub use shareholders_domain::{RegisterHolder, RegisterLine, TotalConflict};

/// What an import did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ImportReport {
    /// Lines loaded (after rejects).
    pub lines: u64,
    /// Distinct companies (issuers) in the file.
    pub companies: u64,
    /// Organisations newly registered (issuers and holders).
    pub organisations_added: u64,
    /// Persons newly registered.
    pub persons_added: u64,
    /// Distinct (company, holder) holdings in the file.
    pub holdings: u64,
    pub total_conflicts: Vec<TotalConflict>,
    /// The write model's last event position after the import, if it has any; the read model
    /// built from the write model afterwards covers every event up to it.
    pub position: Option<Position>,
}

/// The write model's bulk path for a register extract.
///
/// The extract is the register's state of the companies it lists. Importing it:
/// - registers every organisation (issuers and holders) and person not yet registered; those
///   already registered keep their details;
/// - sets each listed company's declared total to the largest of the totals its lines declare
///   and the sum of its lines' shares (reporting a [`TotalConflict`] where these differ);
/// - sets each listed company's holdings to what the file says — lines of the same company,
///   holder and class add up — replacing the holdings it had, so that importing the same file
///   twice changes nothing;
/// - bumps the version of every company and owner whose state changed, so that the read model
///   rebuilt afterwards wins over any older event still in flight.
///
/// It writes no event per line: the caller rebuilds the read model from the write model.
#[async_trait]
pub trait RegisterImport: Send + Sync {
    /// Imports the batches of lines as one unit: all or nothing.
    ///
    /// # Errors
    /// When the store fails; nothing is then changed.
    async fn import(
        &self,
        lines: BoxStream<'static, Vec<RegisterLine>>,
    ) -> anyhow::Result<ImportReport>;
}
