//! The use cases: what the API does, written against the ports alone.

use std::sync::Arc;
use std::time::Duration;

use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, Country, Interest, Name, OrgNr, Organisation,
    OwnerProfile, OwnerRef, Percentage, Person, PersonId, Place, Position, PostalCode, Purchase,
    Register, RegisterYear, company_total, percentage,
};

use crate::{
    CompanyRecord, HoldingRecord, Idempotency, PageRequest, PersonRecord, PurchaseError,
    PurchaseReceipt, ReadError, ReadStore, Recorded, RegisterError, WriteStore,
};

/// The longest a read waits for the read model to apply a given position.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// What a client says of a new person; the service assigns the id.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonDetails {
    pub name: Name,
    pub birth_year: Option<BirthYear>,
    pub postal_code: Option<PostalCode>,
    pub place: Option<Place>,
    pub country: Country,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The read model has not applied the requested position within [`MAX_WAIT`].
    #[error("the read model has not yet applied event {0}")]
    NotYetApplied(u64),
    /// No write has been given the requested position (yet): `last` is the largest given.
    #[error("no event has position {position}; the last is {last:?}")]
    PositionNotIssued { position: u64, last: Option<u64> },
    /// The year was never imported (or its read model is not built yet).
    #[error("the register of {0} has not been imported")]
    YearNotImported(RegisterYear),
    /// The ownership graphs being computed held [`GraphLimits::budget`] stakes in all for as
    /// long as [`GraphLimits::wait`]; the client may retry.
    #[error("too many ownership graphs are being computed; retry in a moment")]
    GraphBusy,
    /// The graph the answer needs holds more than `limit` of `what`: stakes
    /// ([`GraphLimits::stakes`]) or companies ([`GraphLimits::network`]).
    #[error("the ownership graph holds more than {limit} {what}")]
    GraphTooLarge { limit: usize, what: &'static str },
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// A page's place in the whole list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PageInfo {
    pub page: u32,
    pub size: u32,
    pub total_items: u64,
    pub total_pages: u64,
}

impl PageInfo {
    fn new(request: PageRequest, total_items: u64) -> Self {
        Self {
            page: request.page(),
            size: request.size(),
            total_items,
            total_pages: total_items.div_ceil(u64::from(request.size())),
        }
    }
}

/// One page of a list held whole in memory, and the page's place in it.
fn page_of<T>(entries: Vec<T>, page: PageRequest) -> (Vec<T>, PageInfo) {
    let info = PageInfo::new(page, entries.len() as u64);
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let shown = entries
        .into_iter()
        .skip(offset)
        .take(page.size() as usize)
        .collect();
    (shown, info)
}

/// One class of a holding, with its share of the company's total.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClassEntry {
    pub share_class: shareholders_domain::ShareClass,
    pub shares: u64,
    pub percentage: Percentage,
}

/// One distinct owner of a company.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnerEntry {
    pub owner: OwnerProfile,
    pub shares: u64,
    pub percentage: Percentage,
    pub classes: Vec<ClassEntry>,
    /// The company holds its own shares.
    pub treasury: bool,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OwnersView {
    pub company: CompanyRecord,
    pub total_shares: u64,
    pub owners: Vec<OwnerEntry>,
    pub page: PageInfo,
}

/// One company an owner holds shares in.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingEntry {
    pub company: CompanyProfile,
    pub shares: u64,
    pub percentage: Percentage,
    pub classes: Vec<ClassEntry>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingsView {
    pub owner: OwnerRef,
    pub holdings: Vec<HoldingEntry>,
    pub page: PageInfo,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SummaryView {
    pub company: CompanyRecord,
    pub total_shares: u64,
    pub share_classes: Vec<ClassShares>,
    pub interest: Interest,
    pub largest_owner: Option<OwnerEntry>,
}

/// What one process spends on ownership graphs. Each graph is read whole into memory, so the
/// stakes of all graphs being computed share one budget: a graph takes its share of it as it
/// reads each level, and gives it back when its answer is made. Small graphs never wait for
/// each other; a flood of the largest ones waits (and is then refused as busy) instead of
/// exhausting the process, and one graph alone is bounded too.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GraphLimits {
    /// The stakes all graphs being computed may hold at once.
    pub budget: usize,
    /// The longest a graph waits for its share of the budget.
    pub wait: Duration,
    /// The most stakes one graph may hold (a 3.1 M-row register holds about 3.1 M in all).
    pub stakes: usize,
    /// The most companies an ownership network (a company and every organisation above it,
    /// each with its own beneficial owners) may hold: each is a computation of its own.
    pub network: usize,
}

impl Default for GraphLimits {
    /// A graph being computed holds about 670 bytes a stake (measured with 400,000 stakes
    /// whose parties have names of the register's lengths), so the budget is about 1 GB.
    fn default() -> Self {
        Self {
            budget: 1_500_000,
            wait: Duration::from_secs(10),
            stakes: 1_000_000,
            network: 10_000,
        }
    }
}

/// The use cases, over a write store and a read store.
#[derive(Clone)]
pub struct Service {
    write: Arc<dyn WriteStore>,
    read: Arc<dyn ReadStore>,
    graph: graph::Budget,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

fn classes(classes: &[ClassShares], total: u64) -> Vec<ClassEntry> {
    classes
        .iter()
        .map(|class| ClassEntry {
            share_class: class.share_class.clone(),
            shares: class.shares,
            percentage: percentage(class.shares, total),
        })
        .collect()
}

/// How many companies the owner holds shares in, or `None` when the register does not know
/// the owner.
async fn holding_count(read: &dyn ReadStore, owner: &OwnerRef) -> Result<Option<u64>, ReadError> {
    Ok(match owner {
        OwnerRef::Organisation(orgnr) => read.organisation(*orgnr).await?.map(|c| c.holding_count),
        OwnerRef::Person(id) => read.person(id).await?.map(|p| p.holding_count),
    })
}

fn owner_entry(holding: HoldingRecord, total: u64) -> OwnerEntry {
    let shares = holding.shares();
    OwnerEntry {
        treasury: holding.owner.owner == OwnerRef::Organisation(holding.company.orgnr),
        percentage: percentage(shares, total),
        classes: classes(&holding.classes, total),
        owner: holding.owner,
        shares,
    }
}

impl Service {
    #[must_use]
    pub fn new(write: Arc<dyn WriteStore>, read: Arc<dyn ReadStore>) -> Self {
        Self::with_graph_limits(write, read, GraphLimits::default())
    }

    /// A service whose ownership graphs keep within `limits`.
    #[must_use]
    pub fn with_graph_limits(
        write: Arc<dyn WriteStore>,
        read: Arc<dyn ReadStore>,
        limits: GraphLimits,
    ) -> Self {
        Self {
            write,
            read,
            graph: graph::Budget::new(limits),
        }
    }

    /// # Errors
    /// As [`WriteStore::register_organisation`].
    pub async fn register_organisation(
        &self,
        organisation: &Organisation,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Organisation>, RegisterError> {
        self.write
            .register_organisation(organisation, idempotency)
            .await
    }

    /// Assigns the person a fresh id and records it.
    ///
    /// # Errors
    /// As [`WriteStore::register_person`].
    pub async fn register_person(
        &self,
        details: PersonDetails,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Person>, RegisterError> {
        let id = PersonId::parse(&uuid::Uuid::new_v4().simple().to_string())
            .map_err(|e| RegisterError::Unknown(e.into()))?;
        let person = Person::new(
            id,
            details.name,
            details.birth_year,
            details.postal_code,
            details.place,
            details.country,
        );
        self.write.register_person(&person, idempotency).await
    }

    /// # Errors
    /// As [`WriteStore::purchase`].
    pub async fn buy_shares(
        &self,
        purchase: &Purchase,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<PurchaseReceipt>, PurchaseError> {
        self.write.purchase(purchase, idempotency).await
    }

    /// Waits until the read model has applied `position`, polling with a growing interval for
    /// at most [`MAX_WAIT`].
    ///
    /// # Errors
    /// [`QueryError::PositionNotIssued`] at once for a position no write has been given;
    /// [`QueryError::NotYetApplied`] after [`MAX_WAIT`]; [`QueryError::Read`] when a store fails.
    pub async fn wait_for(&self, position: Option<Position>) -> Result<(), QueryError> {
        self.wait_for_within(position, MAX_WAIT).await
    }

    async fn wait_for_within(
        &self,
        position: Option<Position>,
        limit: Duration,
    ) -> Result<(), QueryError> {
        let Some(position) = position else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + limit;
        let mut interval = Duration::from_millis(2);
        let mut checked_issued = false;
        loop {
            if self.read.applied(position).await? {
                return Ok(());
            }
            if !checked_issued {
                // Waiting for a position no write has been given would only time out.
                checked_issued = true;
                let last = self
                    .write
                    .last_position()
                    .await
                    .map_err(ReadError::Unknown)?;
                if last.is_none_or(|last| position > last) {
                    return Err(QueryError::PositionNotIssued {
                        position: position.get(),
                        last: last.map(Position::get),
                    });
                }
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(QueryError::NotYetApplied(position.get()));
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = (interval * 2).min(Duration::from_millis(100));
        }
    }

    /// The read model of `register`, once it has applied `min_position`.
    ///
    /// # Errors
    /// See [`Service::wait_for`]; [`QueryError::YearNotImported`] for a year it does not serve.
    async fn reader(
        &self,
        register: Register,
        min_position: Option<Position>,
    ) -> Result<Arc<dyn ReadStore>, QueryError> {
        self.wait_for(min_position).await?;
        match register {
            Register::Live => Ok(self.read.clone()),
            Register::Year(year) => self
                .read
                .year(year)
                .await?
                .ok_or(QueryError::YearNotImported(year)),
        }
    }

    /// # Errors
    /// See [`Service::reader`].
    pub async fn organisation(
        &self,
        register: Register,
        orgnr: OrgNr,
        min_position: Option<Position>,
    ) -> Result<Option<CompanyRecord>, QueryError> {
        let read = self.reader(register, min_position).await?;
        Ok(read.organisation(orgnr).await?)
    }

    /// # Errors
    /// See [`Service::reader`].
    pub async fn person(
        &self,
        register: Register,
        id: &PersonId,
        min_position: Option<Position>,
    ) -> Result<Option<PersonRecord>, QueryError> {
        let read = self.reader(register, min_position).await?;
        Ok(read.person(id).await?)
    }

    /// A page of the company's owners with their percentages; `None` for an unknown company.
    ///
    /// # Errors
    /// See [`Service::reader`].
    pub async fn owners(
        &self,
        register: Register,
        orgnr: OrgNr,
        page: PageRequest,
        min_position: Option<Position>,
    ) -> Result<Option<OwnersView>, QueryError> {
        let read = self.reader(register, min_position).await?;
        let Some(company) = read.organisation(orgnr).await? else {
            return Ok(None);
        };
        let total = company_total(
            company.organisation.total_shares(),
            company.registered_shares,
        );
        let owners = read
            .owners_given(&company, page)
            .await?
            .into_iter()
            .map(|holding| owner_entry(holding, total))
            .collect();
        Ok(Some(OwnersView {
            page: PageInfo::new(page, company.owner_count),
            company,
            total_shares: total,
            owners,
        }))
    }

    /// A page of what the owner holds; `None` for an unknown owner.
    ///
    /// # Errors
    /// See [`Service::reader`].
    pub async fn holdings(
        &self,
        register: Register,
        owner: &OwnerRef,
        page: PageRequest,
        min_position: Option<Position>,
    ) -> Result<Option<HoldingsView>, QueryError> {
        let read = self.reader(register, min_position).await?;
        let Some(holding_count) = holding_count(read.as_ref(), owner).await? else {
            return Ok(None);
        };
        let holdings = read
            .holdings(owner, page)
            .await?
            .into_iter()
            .map(|holding| {
                let total = company_total(
                    holding.company.total_shares,
                    holding.company_registered_shares,
                );
                let shares = holding.shares();
                HoldingEntry {
                    percentage: percentage(shares, total),
                    classes: classes(&holding.classes, total),
                    company: holding.company,
                    shares,
                }
            })
            .collect();
        Ok(Some(HoldingsView {
            owner: owner.clone(),
            holdings,
            page: PageInfo::new(page, holding_count),
        }))
    }

    /// The company's summary; `None` for an unknown company.
    ///
    /// # Errors
    /// See [`Service::reader`].
    pub async fn summary(
        &self,
        register: Register,
        orgnr: OrgNr,
        min_position: Option<Position>,
    ) -> Result<Option<SummaryView>, QueryError> {
        let read = self.reader(register, min_position).await?;
        let Some(company) = read.organisation(orgnr).await? else {
            return Ok(None);
        };
        let total = company_total(
            company.organisation.total_shares(),
            company.registered_shares,
        );
        let largest_owner = if company.owner_count == 0 {
            None
        } else {
            read.owners_given(&company, PageRequest::one())
                .await?
                .into_iter()
                .next()
                .map(|holding| owner_entry(holding, total))
        };
        Ok(Some(SummaryView {
            interest: Interest::of(company.foreign_owner_count, company.classes.len()),
            share_classes: company.classes.clone(),
            total_shares: total,
            largest_owner,
            company,
        }))
    }
}

mod graph;
mod search;
mod years;

pub use graph::{
    BeneficialOwnersView, ChainLinkView, ChainView, GraphDirection, GraphEdge, GraphNode,
    GraphRequest, GraphRequestError, GraphView, NetworkCompany, UltimateAnswer,
    UltimateHoldingEntry, UltimateHoldingsView, UltimateOwnerEntry, UltimateOwnersView,
    UltimateQuestion,
};
pub(crate) use graph::{
    ShownNetwork, ultimate_answer, ultimate_holdings_nodes, ultimate_holdings_shown,
    ultimate_holdings_view, ultimate_nodes,
};
pub use search::{MAX_SEARCH_RESULTS, SearchView};
pub use years::{ChangeEntry, ChangesView, HistoryEntry, HoldingChangeEntry, OwnerChangesView};

#[cfg(test)]
mod tests;
