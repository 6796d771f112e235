//! The queries ([`ReadStore`]): one lookup by key, or one indexed page of holdings with their
//! companies' current totals.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::stream::TryStreamExt as _;
use mongodb::bson::{Document, doc};
use shareholders_domain::{
    OrgNr, OwnerKind, OwnerProfile, OwnerRef, PersonId, Position, RegisterYear, SearchQuery,
    ShareCount,
};
use shareholders_ports::{
    CompanyRecord, CompanySnapshot, HoldingRecord, PageRequest, PersonRecord, PersonSnapshot,
    ReadError, ReadStore, SearchMatches, YearRecord,
};

use crate::codec::{self, int};
use crate::{MongoReadModel, years};

/// What a holding shows of its company, read from the company's document at query time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompanyTotals {
    pub(crate) registered_shares: u64,
    /// `Some` when the company's document has its issuer state (and so its declared total).
    pub(crate) total_shares: Option<Option<ShareCount>>,
}

impl CompanyTotals {
    pub(crate) const UNKNOWN: Self = Self {
        registered_shares: 0,
        total_shares: None,
    };

    pub(crate) fn of(doc: &Document) -> anyhow::Result<Self> {
        let has_state = doc.contains_key("version");
        Ok(Self {
            registered_shares: codec::get_opt_u64(doc, "registered_shares")?.unwrap_or(0),
            total_shares: if has_state {
                Some(
                    codec::get_opt_u64(doc, "total_shares")?
                        .map(ShareCount::new)
                        .transpose()
                        .context("total_shares")?,
                )
            } else {
                None
            },
        })
    }
}

/// The fields of a company's document a holding needs.
pub(crate) fn totals_projection() -> Document {
    doc! { "_id": 1, "version": 1, "registered_shares": 1, "total_shares": 1 }
}

pub(crate) fn holding_record(
    doc: &Document,
    totals: CompanyTotals,
) -> anyhow::Result<HoldingRecord> {
    let (mut company, owner, classes) = codec::read_holding(doc)?;
    if let Some(total) = totals.total_shares {
        company.total_shares = total;
    }
    Ok(HoldingRecord {
        company,
        company_registered_shares: totals.registered_shares,
        owner,
        classes,
    })
}

pub(crate) fn company_snapshot(doc: &Document) -> anyhow::Result<CompanySnapshot> {
    let orgnr = doc.get_str("_id").unwrap_or("?").to_owned();
    let read = || -> anyhow::Result<CompanySnapshot> {
        Ok(CompanySnapshot {
            record: CompanyRecord {
                organisation: codec::read_organisation(doc)?,
                registered_shares: codec::get_opt_u64(doc, "registered_shares")?.unwrap_or(0),
                owner_count: codec::get_opt_u64(doc, "owner_count")?.unwrap_or(0),
                foreign_owner_count: codec::get_opt_u64(doc, "foreign_owner_count")?.unwrap_or(0),
                holding_count: codec::get_opt_u64(doc, "holding_count")?.unwrap_or(0),
                classes: codec::read_classes(doc)?,
            },
            version: codec::get_opt_u64(doc, "version")?.unwrap_or(0),
            owner_version: codec::get_opt_u64(doc, "owner_version")?.unwrap_or(0),
            search: Some(crate::search::read_search_field(doc)),
        })
    };
    read().with_context(|| format!("reading organisation {orgnr}"))
}

pub(crate) fn person_snapshot(doc: &Document) -> anyhow::Result<PersonSnapshot> {
    let id = doc.get_str("_id").unwrap_or("?").to_owned();
    let read = || -> anyhow::Result<PersonSnapshot> {
        Ok(PersonSnapshot {
            record: PersonRecord {
                person: codec::read_person(doc)?,
                holding_count: codec::get_opt_u64(doc, "holding_count")?.unwrap_or(0),
            },
            owner_version: codec::get_opt_u64(doc, "owner_version")?.unwrap_or(0),
            search: Some(crate::search::read_search_field(doc)),
        })
    };
    read().with_context(|| format!("reading person {id}"))
}

impl MongoReadModel {
    /// The totals of the given companies, by orgnr.
    async fn totals(
        &self,
        orgnrs: Vec<&str>,
    ) -> anyhow::Result<std::collections::HashMap<String, CompanyTotals>> {
        let mut cursor = self
            .organisations
            .find(doc! { "_id": { "$in": orgnrs } })
            .projection(totals_projection())
            .await
            .context("reading companies' totals")?;
        let mut totals = std::collections::HashMap::new();
        while let Some(doc) = cursor.try_next().await? {
            totals.insert(
                codec::get_str(&doc, "_id")?.to_owned(),
                CompanyTotals::of(&doc)?,
            );
        }
        Ok(totals)
    }

    async fn page(
        &self,
        filter: Document,
        sort: Document,
        page: PageRequest,
    ) -> anyhow::Result<Vec<HoldingRecord>> {
        self.find(filter, Some((sort, page))).await
    }

    /// Every holding `filter` picks, in no particular order.
    async fn every(&self, filter: Document) -> anyhow::Result<Vec<HoldingRecord>> {
        self.find(filter, None).await
    }

    /// The holdings `filter` picks, one sorted page of them when `order` is given.
    async fn find(
        &self,
        filter: Document,
        order: Option<(Document, PageRequest)>,
    ) -> anyhow::Result<Vec<HoldingRecord>> {
        let documents = self.documents(filter, order).await?;
        self.with_totals(&documents).await
    }

    /// The holding documents `filter` picks, one sorted page of them when `order` is given.
    async fn documents(
        &self,
        filter: Document,
        order: Option<(Document, PageRequest)>,
    ) -> anyhow::Result<Vec<Document>> {
        let mut find = self.holdings.find(filter);
        if let Some((sort, page)) = order {
            find = find
                .sort(sort)
                .skip(page.offset())
                .limit(i64::from(page.size()));
        }
        find.await
            .context("querying holdings")?
            .try_collect()
            .await
            .context("reading holdings")
    }

    /// The holdings' records, each with its company's current totals.
    async fn with_totals(&self, documents: &[Document]) -> anyhow::Result<Vec<HoldingRecord>> {
        let orgnrs = documents
            .iter()
            .map(|doc| {
                doc.get_document("company")
                    .and_then(|company| company.get_str("orgnr"))
                    .context("a holding without company.orgnr")
            })
            .collect::<anyhow::Result<std::collections::BTreeSet<_>>>()?;
        let totals = self.totals(orgnrs.into_iter().collect()).await?;
        documents
            .iter()
            .map(|doc| {
                let orgnr = doc
                    .get_document("company")
                    .and_then(|company| company.get_str("orgnr"))
                    .unwrap_or_default();
                let company = totals.get(orgnr).copied().unwrap_or(CompanyTotals::UNKNOWN);
                holding_record(doc, company)
            })
            .collect()
    }
}

/// A company's holdings, to be ordered by [`owners_order`].
fn owners_filter(company: OrgNr) -> Document {
    doc! { "company.orgnr": company.as_str() }
}

/// The order of a company's owners: largest first, then by owner kind and id.
fn owners_order() -> Document {
    doc! { "shares": -1, "owner.kind": 1, "owner.id": 1 }
}

/// The order of `owner_holdings`: by owner, then an owner's holdings largest first.
pub(crate) fn owner_holdings_order() -> Document {
    doc! { "owner.kind": 1, "owner.id": 1, "shares": -1, "company.orgnr": 1 }
}

/// The ids of `owners` of each kind, the kinds with none left out.
fn ids_by_kind(owners: &[OwnerRef]) -> impl Iterator<Item = (OwnerKind, Vec<&str>)> {
    [OwnerKind::Organisation, OwnerKind::Person]
        .into_iter()
        .map(move |kind| {
            let ids: Vec<&str> = owners
                .iter()
                .filter(|owner| owner.kind() == kind)
                .map(OwnerRef::id)
                .collect();
            (kind, ids)
        })
        .filter(|(_, ids)| !ids.is_empty())
}

fn unknown(error: anyhow::Error) -> ReadError {
    ReadError::Unknown(error)
}

#[async_trait]
impl ReadStore for MongoReadModel {
    async fn organisation(&self, orgnr: OrgNr) -> Result<Option<CompanyRecord>, ReadError> {
        let found = self
            .organisations
            .find_one(doc! { "_id": orgnr.as_str(), "registered": true })
            .await
            .with_context(|| format!("reading organisation {orgnr}"))?;
        Ok(found
            .map(|doc| company_snapshot(&doc))
            .transpose()?
            .map(|snapshot| snapshot.record))
    }

    async fn person(&self, id: &PersonId) -> Result<Option<PersonRecord>, ReadError> {
        let found = self
            .persons
            .find_one(doc! { "_id": id.as_str(), "registered": true })
            .await
            .with_context(|| format!("reading person {id}"))?;
        Ok(found
            .map(|doc| person_snapshot(&doc))
            .transpose()?
            .map(|snapshot| snapshot.record))
    }

    async fn owners(
        &self,
        company: OrgNr,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.page(owners_filter(company), owners_order(), page)
            .await
            .with_context(|| format!("reading the owners of {company}"))
            .map_err(unknown)
    }

    /// One query: the company's totals are the record's, not read again.
    async fn owners_given(
        &self,
        company: &CompanyRecord,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        let orgnr = company.organisation.orgnr();
        let totals = CompanyTotals {
            registered_shares: company.registered_shares,
            total_shares: Some(company.organisation.total_shares()),
        };
        let read = async {
            self.documents(owners_filter(orgnr), Some((owners_order(), page)))
                .await?
                .iter()
                .map(|doc| holding_record(doc, totals))
                .collect::<anyhow::Result<Vec<_>>>()
        };
        read.await
            .with_context(|| format!("reading the owners of {orgnr}"))
            .map_err(unknown)
    }

    async fn holdings(
        &self,
        owner: &OwnerRef,
        page: PageRequest,
    ) -> Result<Vec<HoldingRecord>, ReadError> {
        self.page(
            doc! { "owner.kind": owner.kind().as_str(), "owner.id": owner.id() },
            doc! { "shares": -1, "company.orgnr": 1 },
            page,
        )
        .await
        .with_context(|| format!("reading the holdings of {owner}"))
        .map_err(unknown)
    }

    async fn owners_of(&self, companies: &[OrgNr]) -> Result<Vec<HoldingRecord>, ReadError> {
        if companies.is_empty() {
            return Ok(Vec::new());
        }
        let orgnrs: Vec<&str> = companies.iter().map(OrgNr::as_str).collect();
        self.every(doc! { "company.orgnr": { "$in": orgnrs } })
            .await
            .context("reading the owners of a level of the ownership graph")
            .map_err(unknown)
    }

    async fn holdings_of(&self, owners: &[OwnerRef]) -> Result<Vec<HoldingRecord>, ReadError> {
        let mut all = Vec::new();
        for (kind, ids) in ids_by_kind(owners) {
            all.extend(
                self.every(doc! { "owner.kind": kind.as_str(), "owner.id": { "$in": ids } })
                    .await
                    .context("reading the holdings of a level of the ownership graph")
                    .map_err(unknown)?,
            );
        }
        Ok(all)
    }

    /// Each owner's profile from its largest holding: one aggregation a kind of owner, which
    /// reads `owner_holdings` in its order and keeps the first holding of each owner, so an
    /// owner with many holdings costs one document.
    async fn owner_profiles(&self, owners: &[OwnerRef]) -> Result<Vec<OwnerProfile>, ReadError> {
        let mut all = Vec::with_capacity(owners.len());
        for (kind, ids) in ids_by_kind(owners) {
            let pipeline = [
                doc! { "$match": { "owner.kind": kind.as_str(), "owner.id": { "$in": ids } } },
                doc! { "$sort": owner_holdings_order() },
                doc! { "$group": { "_id": "$owner.id", "owner": { "$first": "$owner" } } },
            ];
            let mut profiles = self
                .holdings
                .aggregate(pipeline)
                .await
                .context("reading owners' profiles")?;
            while let Some(doc) = profiles
                .try_next()
                .await
                .context("reading owners' profiles")?
            {
                all.push(codec::read_owner(codec::get_doc(&doc, "owner")?)?);
            }
        }
        Ok(all)
    }

    async fn search(&self, query: &SearchQuery, limit: u32) -> Result<SearchMatches, ReadError> {
        Ok(self.search_parties(query, limit).await?)
    }

    async fn years(&self) -> Result<Vec<YearRecord>, ReadError> {
        Ok(years::served(&self.db).await?)
    }

    async fn year(&self, year: RegisterYear) -> Result<Option<Arc<dyn ReadStore>>, ReadError> {
        if self.frozen {
            return Ok(None);
        }
        Ok(years::served_model(&self.db, year)
            .await?
            .map(|model| Arc::new(model) as Arc<dyn ReadStore>))
    }

    async fn applied(&self, position: Position) -> Result<bool, ReadError> {
        if self.frozen {
            return Ok(true);
        }
        if self
            .watermark()
            .await?
            .is_some_and(|through| position.get() <= through)
        {
            return Ok(true);
        }
        let id = int(position.get(), "position")?;
        let found = self
            .applied
            .find_one(doc! { "_id": id })
            .await
            .with_context(|| format!("reading whether event {} is applied", position.get()))?;
        Ok(found.is_some())
    }
}
