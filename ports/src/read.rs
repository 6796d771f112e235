use std::sync::Arc;

use async_trait::async_trait;
use shareholders_domain::{
    ClassShares, CompanyProfile, OrgNr, Organisation, OwnerProfile, OwnerRef, Person, PersonId,
    Position, RegisterYear, SearchQuery,
};

use crate::{UltimateAnswer, UltimateHoldingsView, UltimateQuestion, YearRecord};

/// A company (or any organisation) as the read model holds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompanyRecord {
    pub organisation: Organisation,
    /// Shares owned over all classes, as registered.
    pub registered_shares: u64,
    /// Distinct owners of its shares.
    pub owner_count: u64,
    /// Distinct owners whose country is not Norway.
    pub foreign_owner_count: u64,
    /// Distinct companies it holds shares in.
    pub holding_count: u64,
    /// Registered shares per class, sorted by class name.
    pub classes: Vec<ClassShares>,
}

/// A person as the read model holds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonRecord {
    pub person: Person,
    /// Distinct companies the person holds shares in.
    pub holding_count: u64,
}

/// One owner's holding in one company.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HoldingRecord {
    pub company: CompanyProfile,
    /// The company's registered shares over all classes now; with its declared total, this
    /// gives the denominator of the holding's percentage.
    pub company_registered_shares: u64,
    pub owner: OwnerProfile,
    /// Shares per class, sorted by class name; all positive.
    pub classes: Vec<ClassShares>,
}

impl HoldingRecord {
    /// The holding's shares over all classes.
    #[must_use]
    pub fn shares(&self) -> u64 {
        self.classes.iter().map(|class| class.shares).sum()
    }
}

/// What a search found in the read model: how many parties match, and the first of them.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SearchMatches {
    /// Every matching party, however many were returned.
    pub total: u64,
    /// At most the limit asked for: the matches with the shortest names, then by name, kind
    /// and id.
    pub parties: Vec<OwnerProfile>,
}

/// A page of a list: 1-based `page`, and `size` between 1 and [`PageRequest::MAX_SIZE`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageRequestError {
    #[error("page starts at 1")]
    Page,
    #[error("size is between 1 and {max}", max = PageRequest::MAX_SIZE)]
    Size,
}

impl PageRequest {
    pub const DEFAULT_SIZE: u32 = 100;
    pub const MAX_SIZE: u32 = 1000;

    /// # Errors
    /// [`PageRequestError`] for page 0 or a size outside 1..=1000.
    pub fn new(page: Option<u32>, size: Option<u32>) -> Result<Self, PageRequestError> {
        let page = page.unwrap_or(1);
        let size = size.unwrap_or(Self::DEFAULT_SIZE);
        if page == 0 {
            return Err(PageRequestError::Page);
        }
        if size == 0 || size > Self::MAX_SIZE {
            return Err(PageRequestError::Size);
        }
        Ok(Self { page, size })
    }

    #[must_use]
    pub fn page(self) -> u32 {
        self.page
    }
    #[must_use]
    pub fn size(self) -> u32 {
        self.size
    }
    /// How many items come before this page.
    #[must_use]
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.size)
    }
}

impl PageRequest {
    /// The first page of one item: where a record's first holding is read from.
    #[must_use]
    pub const fn one() -> Self {
        Self { page: 1, size: 1 }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            size: Self::DEFAULT_SIZE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The read model's queries. Everything a GET answers comes from here.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReadStore: Send + Sync + 'static {
    /// The organisation, with its aggregate state, or `None` when it is not (yet) registered.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError>;

    /// The person, or `None` when not (yet) registered.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError>;

    /// A page of the company's owners, ordered by shares (largest first), then by owner kind
    /// and id, so that pages never overlap.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError>;

    /// A page of the owners of `company`, whose record the caller has just read: as
    /// [`ReadStore::owners`], but a store that would read the company's totals again for the
    /// page's holdings may take them from the record instead (one round trip fewer), and a
    /// store that keeps a copy current may answer from the copy the record came from without
    /// bringing it up to date again (the page is then as new as the record, or newer).
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn owners_given(
        &self,
        company: &CompanyRecord,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.owners(company.organisation.orgnr(), page).await
    }

    /// A page of what the owner holds, ordered by shares (largest first), then by orgnr.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError>;

    /// Every holding in any of `companies`: all their owners, in no particular order. The
    /// ownership graph is read upwards with it, a level at a time.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn owners_of(&self, companies: &[OrgNr]) -> Result<Vec<HoldingRecord>, ReadError>;

    /// Every holding of any of `owners`, in no particular order. The ownership graph is read
    /// downwards with it, a level at a time.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn holdings_of(&self, owners: &[OwnerRef]) -> Result<Vec<HoldingRecord>, ReadError>;

    /// The profile of each of `owners` that holds shares, as its holdings show it, in no
    /// particular order: what an answer computed on a held graph shows of its parties. By
    /// default one page of one holding a party; a store that can read them together does.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn owner_profiles(&self, owners: &[OwnerRef]) -> Result<Vec<OwnerProfile>, ReadError> {
        let mut profiles = Vec::with_capacity(owners.len());
        for owner in owners {
            if let Some(holding) = self
                .holdings(owner, PageRequest::one())
                .await?
                .into_iter()
                .next()
            {
                profiles.push(holding.owner);
            }
        }
        Ok(profiles)
    }

    /// The registered parties a search finds (see [`SearchQuery`]): organisations and persons
    /// whose name has a word starting with each of the query's words, and organisations whose
    /// orgnr starts with its digits; only those of its kind when it has one. Returns their
    /// number and the `limit` with the shortest names, then ordered by name, kind and id; the
    /// caller ranks those.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn search(&self, query: &SearchQuery, limit: u32) -> Result<SearchMatches, ReadError>;

    /// The search already ranked, where the store can: the number of parties that match, and
    /// the first `limit` of them in the domain's order ([`SearchQuery::rank`]: exact matches
    /// first, then by [`NameOrder`](shareholders_domain::NameOrder), then by kind and id).
    /// `None` (the default) when the store cannot, and [`search`](ReadStore::search)'s
    /// shortest names are ranked by the caller instead.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn search_ranked(
        &self,
        _query: &SearchQuery,
        _limit: u32,
    ) -> Result<Option<SearchMatches>, ReadError> {
        Ok(None)
    }

    /// The company's ultimate owners that `question` asks for, computed where the store holds
    /// its register in memory (the company's record is known to exist). `None` (the default)
    /// when it holds none, and the caller reads the graph above the company a level at a
    /// time with [`owners_of`](ReadStore::owners_of) instead.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn ultimate_owners(
        &self,
        _company: OrgNr,
        _question: UltimateQuestion,
    ) -> Result<Option<UltimateAnswer>, ReadError> {
        Ok(None)
    }

    /// A page of every company below `party` in which it has an effective share, computed
    /// where the store holds its register in memory (the party is known to hold shares).
    /// `None` (the default) when it holds none, and the caller reads the graph below the party
    /// a level at a time with [`holdings_of`](ReadStore::holdings_of) instead.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn ultimate_holdings(
        &self,
        _party: &OwnerRef,
        _page: PageRequest,
    ) -> Result<Option<UltimateHoldingsView>, ReadError> {
        Ok(None)
    }

    /// The imported years the read model serves, oldest first, with their provenance.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn years(&self) -> Result<Vec<YearRecord>, ReadError>;

    /// The same queries on `year`'s register, or `None` when the read model does not serve
    /// that year. A year never changes after its import, so its
    /// [`applied`](ReadStore::applied) is always true.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn year(&self, year: RegisterYear) -> Result<Option<Arc<dyn ReadStore>>, ReadError>;

    /// Whether the event at `position` has been applied to the read model.
    ///
    /// # Errors
    /// [`ReadError::Unknown`] when the store fails.
    async fn applied(&self, position: Position) -> Result<bool, ReadError>;
}
