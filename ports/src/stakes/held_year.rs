//! One imported year held in memory: its ownership graph, laid out once ([`YearGraph`]), and
//! everything else read from the year's read model.
//!
//! A year's ultimate and beneficial owners and ultimate holdings are computed on the held
//! graph; the profiles the answer shows (the owners', and the companies' of a page of
//! ultimate holdings) are read from the year's read model for that page only, in one query
//! for the owners and one indexed read a company. Every other read of the year (its records,
//! its pages of owners and holdings, its search, the drawn graph's and BODS's levels) is its
//! read model's. Until the graph has loaded (in the background, the first time the year is
//! asked for), the read model answers everything, as for a year not held.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt as _;
use shareholders_domain::{
    CompanyProfile, OrgNr, OwnerProfile, OwnerRef, OwnershipNetwork, PersonId, Position,
    RegisterYear, SearchQuery,
};

use super::frozen::{YearGraph, YearGraphBuilder, YearNode};
use crate::metrics::{GRAPH_YEAR_BYTES, GRAPH_YEAR_STAKES_HELD, register_count};
use crate::service::{
    ShownNetwork, ultimate_holdings_nodes, ultimate_holdings_shown, ultimate_nodes,
};
use crate::{
    CompanyRecord, HoldingRecord, PageRequest, PersonRecord, ReadError, ReadStore, SearchMatches,
    Snapshot, UltimateAnswer, UltimateHoldingsView, UltimateQuestion, YearRecord,
};

/// Owners' profiles kept per year, at most (about 200 bytes each): the parties shown most often,
/// such as the owners of the largest companies, are read from the read model once. When full,
/// it is emptied and fills again with what is shown next.
const PROFILES_KEPT: usize = 32_768;

struct Shared {
    graph: RwLock<Option<Arc<YearGraph>>>,
    /// Owners' profiles already read (a year never changes, so they stay true).
    profiles: Mutex<HashMap<OwnerRef, OwnerProfile>>,
    /// No longer held (dropped to make room, or imported again): a load under way lets go
    /// of what it read instead of holding it.
    forgotten: AtomicBool,
}

/// An imported year's read model, with its ownership graph held in memory once loaded (see
/// the module).
#[derive(Clone)]
pub(super) struct HeldYear {
    read: Arc<dyn ReadStore>,
    year: RegisterYear,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HeldYear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldYear")
            .field("year", &self.year)
            .field("graph", &self.graph())
            .finish_non_exhaustive()
    }
}

impl HeldYear {
    /// `read`, the read model of `year`, with nothing held yet.
    pub(super) fn new(read: Arc<dyn ReadStore>, year: RegisterYear) -> Self {
        let this = Self {
            read,
            year,
            shared: Arc::new(Shared {
                graph: RwLock::new(None),
                profiles: Mutex::new(HashMap::new()),
                forgotten: AtomicBool::new(false),
            }),
        };
        this.set_gauges(None);
        this
    }

    fn set_gauges(&self, graph: Option<&YearGraph>) {
        let year = self.year.to_string();
        #[allow(clippy::cast_precision_loss)]
        let (holdings, bytes) = graph.map_or((0.0, 0.0), |graph| {
            (graph.len() as f64, graph.bytes() as f64)
        });
        metrics::gauge!(GRAPH_YEAR_STAKES_HELD, "year" => year.clone()).set(holdings);
        metrics::gauge!(GRAPH_YEAR_BYTES, "year" => year).set(bytes);
    }

    /// Reads the year's holdings from `snapshot` into its graph on a task of its own; a
    /// failure is logged, and the read model keeps answering.
    pub(super) fn load_in_background(&self, snapshot: Box<dyn Snapshot>) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(error) = this.load(snapshot).await {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    year = this.year.get(),
                    "loading the year's ownership graph failed; it is read from its read model"
                );
            }
        });
    }

    async fn load(&self, snapshot: Box<dyn Snapshot>) -> Result<(), ReadError> {
        let started = Instant::now();
        let mut builder = YearGraphBuilder::default();
        let mut all = snapshot.holdings();
        while let Some(holding) = all.next().await {
            let holding = holding.map_err(ReadError::Unknown)?;
            builder.push(&holding.record);
            if builder.len() % 1_000_000 == 0 {
                tracing::info!(
                    stakes = builder.len(),
                    year = self.year.get(),
                    "loading the year's ownership graph"
                );
            }
            if self.shared.forgotten.load(Ordering::Acquire) {
                return Ok(());
            }
        }
        drop(all);
        let graph = tokio::task::spawn_blocking(move || builder.build())
            .await
            .map_err(|error| {
                ReadError::Unknown(anyhow::anyhow!(
                    "building a year's ownership graph: {error}"
                ))
            })?;
        tracing::info!(
            stakes = graph.len(),
            bytes = graph.bytes(),
            seconds = started.elapsed().as_secs_f64(),
            year = self.year.get(),
            "the year's ownership graph is held in memory"
        );
        let mut held = self.shared.graph.write().expect("the held graph's lock");
        // Checked under the lock that `forget` takes, so nothing is held after it.
        if !self.shared.forgotten.load(Ordering::Acquire) {
            self.set_gauges(Some(&graph));
            *held = Some(Arc::new(graph));
        }
        Ok(())
    }

    /// Lets go of the graph, and of what a load under way reads.
    pub(super) fn forget(&self) {
        let mut held = self.shared.graph.write().expect("the held graph's lock");
        self.shared.forgotten.store(true, Ordering::Release);
        *held = None;
        self.set_gauges(None);
    }

    /// The graph, once loaded.
    fn graph(&self) -> Option<Arc<YearGraph>> {
        self.shared
            .graph
            .read()
            .expect("the held graph's lock")
            .clone()
    }

    /// `compute` on the held graph, on the blocking pool (a company with a third of the
    /// register above it takes a second), and the graph it ran on; `None` while nothing is
    /// held. `what` names it in an error.
    async fn computed<T: Send + 'static>(
        &self,
        what: &'static str,
        compute: impl FnOnce(&YearGraph) -> T + Send + 'static,
    ) -> Result<Option<(Arc<YearGraph>, T)>, ReadError> {
        let Some(graph) = self.graph() else {
            return Ok(None);
        };
        let computing = Arc::clone(&graph);
        let computed = tokio::task::spawn_blocking(move || compute(&computing))
            .await
            .map_err(|error| ReadError::Unknown(anyhow::anyhow!("{what}: {error}")))?;
        Ok(Some((graph, computed)))
    }

    /// The profiles of `parties` as the year's holdings show them: those kept, and the others
    /// read together (and kept).
    async fn owner_profiles_of(
        &self,
        parties: &[OwnerRef],
    ) -> Result<HashMap<OwnerRef, OwnerProfile>, ReadError> {
        let mut found = HashMap::with_capacity(parties.len());
        let mut missing = Vec::new();
        {
            let kept = self
                .shared
                .profiles
                .lock()
                .expect("the kept profiles' lock");
            for party in parties {
                match kept.get(party) {
                    Some(profile) => {
                        found.insert(party.clone(), profile.clone());
                    }
                    None => missing.push(party.clone()),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let read = self.read.owner_profiles(&missing).await?;
        let mut kept = self
            .shared
            .profiles
            .lock()
            .expect("the kept profiles' lock");
        for profile in read {
            if kept.len() >= PROFILES_KEPT {
                kept.clear();
            }
            kept.insert(profile.owner.clone(), profile.clone());
            found.insert(profile.owner.clone(), profile);
        }
        Ok(found)
    }

    /// The profiles of `companies` as the year's holdings in them show them.
    async fn company_profiles(
        &self,
        companies: Vec<OrgNr>,
    ) -> Result<HashMap<OrgNr, CompanyProfile>, ReadError> {
        let reads = companies
            .iter()
            .map(|&orgnr| self.read.owners(orgnr, PageRequest::one()));
        let mut profiles = HashMap::with_capacity(companies.len());
        for holdings in futures::future::try_join_all(reads).await? {
            if let Some(holding) = holdings.into_iter().next() {
                profiles.insert(holding.company.orgnr, holding.company);
            }
        }
        Ok(profiles)
    }
}

/// The year's graph with the profiles of one answer's parties: what the answer shows.
struct Shown<'g> {
    graph: &'g YearGraph,
    owners: HashMap<OwnerRef, OwnerProfile>,
    companies: HashMap<OrgNr, CompanyProfile>,
}

impl OwnershipNetwork for Shown<'_> {
    type Node = YearNode;

    fn owners(&self, company: YearNode) -> impl Iterator<Item = (YearNode, u64)> + '_ {
        self.graph.owners(company)
    }

    fn holdings(&self, party: YearNode) -> impl Iterator<Item = (YearNode, u64)> + '_ {
        self.graph.holdings(party)
    }

    fn outstanding(&self, company: YearNode) -> u64 {
        self.graph.outstanding(company)
    }

    fn has_owners(&self, node: YearNode) -> bool {
        self.graph.has_owners(node)
    }

    fn holds(&self, node: YearNode) -> bool {
        self.graph.holds(node)
    }

    fn party(&self, node: YearNode) -> std::borrow::Cow<'_, OwnerRef> {
        self.graph.party(node)
    }
}

impl ShownNetwork for Shown<'_> {
    fn node(&self, party: &OwnerRef) -> Option<YearNode> {
        self.graph.node(party)
    }

    fn profile(&self, node: YearNode) -> Option<OwnerProfile> {
        self.owners.get(self.graph.party(node).as_ref()).cloned()
    }

    fn company(&self, node: YearNode) -> Option<CompanyProfile> {
        match self.graph.party(node).as_ref() {
            OwnerRef::Organisation(orgnr) => self.companies.get(orgnr).cloned(),
            OwnerRef::Person(_) => None,
        }
    }
}

#[async_trait]
impl ReadStore for HeldYear {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        self.read.organisation(orgnr).await
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        self.read.person(id).await
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.read.owners(company, page).await
    }

    async fn owners_given(
        &self,
        company: &CompanyRecord,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.read.owners_given(company, page).await
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.read.holdings(owner, page).await
    }

    async fn owners_of(&self, companies: &[OrgNr]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.read.owners_of(companies).await
    }

    async fn holdings_of(&self, owners: &[OwnerRef]) -> Result<Vec<HoldingRecord>, ReadError> {
        self.read.holdings_of(owners).await
    }

    async fn owner_profiles(&self, owners: &[OwnerRef]) -> Result<Vec<OwnerProfile>, ReadError> {
        self.read.owner_profiles(owners).await
    }

    async fn search(&self, query: &SearchQuery, limit: u32) -> Result<SearchMatches, ReadError> {
        self.read.search(query, limit).await
    }

    async fn search_ranked(
        &self,
        query: &SearchQuery,
        limit: u32,
    ) -> Result<Option<SearchMatches>, ReadError> {
        self.read.search_ranked(query, limit).await
    }

    /// Computed on the held graph (on the blocking pool), with the profiles of the owners it
    /// shows read from the year's read model.
    async fn ultimate_owners(
        &self,
        company: OrgNr,
        question: UltimateQuestion,
    ) -> Result<Option<UltimateAnswer>, ReadError> {
        let count = register_count("ultimate_owners");
        let answered = self.computed("a held year's ultimate owners", move |graph| {
            let node = graph.node(&OwnerRef::Organisation(company));
            ultimate_nodes(graph, node, question)
        });
        let Some((graph, nodes)) = answered.await? else {
            count("read_model");
            return self.read.ultimate_owners(company, question).await;
        };
        let parties: HashSet<YearNode> = nodes.parties().collect();
        let parties: Vec<OwnerRef> = parties
            .into_iter()
            .map(|node| graph.party(node).into_owned())
            .collect();
        let shown = Shown {
            owners: self.owner_profiles_of(&parties).await?,
            companies: HashMap::new(),
            graph: &graph,
        };
        count("memory");
        nodes.shown(&shown).map(Some)
    }

    /// Computed on the held graph (on the blocking pool), with the profiles of the companies
    /// the page shows read from the year's read model.
    async fn ultimate_holdings(
        &self,
        party: &OwnerRef,
        page: PageRequest,
    ) -> Result<Option<UltimateHoldingsView>, ReadError> {
        let count = register_count("ultimate_holdings");
        let owner = party.clone();
        let answered = self.computed("a held year's ultimate holdings", move |graph| {
            let node = graph.node(&owner);
            ultimate_holdings_nodes(graph, node, page)
        });
        let Some((graph, nodes)) = answered.await? else {
            count("read_model");
            return self.read.ultimate_holdings(party, page).await;
        };
        let companies = nodes
            .0
            .iter()
            .filter_map(|holding| match *graph.party(holding.company) {
                OwnerRef::Organisation(orgnr) => Some(orgnr),
                OwnerRef::Person(_) => None,
            })
            .collect();
        let shown = Shown {
            owners: HashMap::new(),
            companies: self.company_profiles(companies).await?,
            graph: &graph,
        };
        count("memory");
        ultimate_holdings_shown(&shown, party, nodes).map(Some)
    }

    async fn years(&self) -> Result<Vec<YearRecord>, ReadError> {
        self.read.years().await
    }

    async fn year(&self, year: RegisterYear) -> Result<Option<Arc<dyn ReadStore>>, ReadError> {
        self.read.year(year).await
    }

    async fn applied(&self, position: Position) -> Result<bool, ReadError> {
        self.read.applied(position).await
    }
}
