//! Search by name or orgnr ([`ReadStore::search`](shareholders_ports::ReadStore::search)):
//! every organisation's and person's document carries its name's search words (folded by
//! [`shareholders_domain::search_words`]) and the name's length, written with the profile, and
//! a multikey index on the words answers a word prefix as an index range. The snapshot reads
//! the field back, so `verify` compares it with what the name makes.

use anyhow::Context as _;
use futures::stream::TryStreamExt as _;
use mongodb::Collection;
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use shareholders_domain::{OwnerKind, OwnerProfile, OwnerRef, SearchQuery};
use shareholders_ports::{SearchField, SearchMatches};

use crate::codec;
use crate::{MongoReadModel, years};

/// The field holding a document's search words and its name's length.
const SEARCH: &str = "search";

/// The `meta` document saying the documents written before search existed have their field.
const SEARCH_BACKFILLED: &str = "search_words_backfilled";

/// The `search` field of a party named `name`.
pub(crate) fn search_field(name: &str) -> Document {
    let SearchField { words, length } = SearchField::of(name);
    doc! { "words": words, "length": i64::try_from(length).unwrap_or(i64::MAX) }
}

/// A document's `search` field as stored; a missing or malformed one reads as no words and
/// no length, so that `verify` names it.
pub(crate) fn read_search_field(doc: &Document) -> SearchField {
    let stored = doc.get_document(SEARCH).ok();
    let words = stored
        .and_then(|s| s.get_array("words").ok())
        .map(|words| {
            words
                .iter()
                .map(|w| w.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let length = stored
        .and_then(|s| s.get_i64("length").ok())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or_default();
    SearchField { words, length }
}

/// The index of the search words, on the organisations' and the persons' collections.
pub(crate) fn index() -> IndexModel {
    IndexModel::builder()
        .keys(doc! { "search.words": 1 })
        .options(
            IndexOptions::builder()
                .name("search_words".to_owned())
                .build(),
        )
        .build()
}

/// A regular expression matching the strings that start with `prefix`, whatever it holds.
fn starts_with(prefix: &str) -> String {
    let mut pattern = String::from("^");
    for c in prefix.chars() {
        if !c.is_alphanumeric() {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

/// Registered parties whose name has a word starting with each of the query's words.
fn words_filter(query: &SearchQuery) -> Document {
    let words: Vec<Bson> = query
        .words()
        .iter()
        .map(|word| Bson::Document(doc! { "search.words": { "$regex": starts_with(word) } }))
        .collect();
    doc! { "registered": true, "$and": words }
}

/// The same for organisations, or one whose orgnr starts with the query's digits.
fn organisations_filter(query: &SearchQuery) -> Document {
    let words = words_filter(query);
    match query.orgnr_prefix() {
        None => words,
        Some(prefix) => doc! { "$or": [
            words,
            { "registered": true, "_id": { "$gte": prefix, "$lt": format!("{prefix}:") } },
        ] },
    }
}

/// The order the port asks for: shortest names first, then by name and id.
fn order() -> Document {
    doc! { "search.length": 1, "name": 1, "_id": 1 }
}

fn profile(kind: OwnerKind, doc: &Document) -> anyhow::Result<OwnerProfile> {
    let id = codec::get_str(doc, "_id")?;
    let (name, country, birth_year) = match kind {
        OwnerKind::Organisation => {
            let organisation = codec::read_organisation(doc)?;
            (organisation.name().clone(), organisation.country(), None)
        }
        OwnerKind::Person => {
            let person = codec::read_person(doc)?;
            (person.name().clone(), person.country(), person.birth_year())
        }
    };
    Ok(OwnerProfile {
        owner: OwnerRef::parse(kind.as_str(), id).context("a found party's id")?,
        name,
        country,
        birth_year,
    })
}

/// The sort key of a found party, as [`order`] sorts, after its kind.
fn sort_key(profile: &OwnerProfile) -> (usize, String, &'static str, String) {
    (
        profile.name.as_str().chars().count(),
        profile.name.as_str().to_owned(),
        profile.owner.kind().as_str(),
        profile.owner.id().to_owned(),
    )
}

impl MongoReadModel {
    /// One kind's matches: their number and the first `limit` in [`order`].
    async fn search_in(
        collection: &Collection<Document>,
        kind: OwnerKind,
        filter: Document,
        limit: u32,
    ) -> anyhow::Result<(u64, Vec<OwnerProfile>)> {
        let total = collection
            .count_documents(filter.clone())
            .await
            .with_context(|| format!("counting the {} a search finds", kind.as_str()))?;
        let documents: Vec<Document> = collection
            .find(filter)
            .sort(order())
            .limit(i64::from(limit))
            .await
            .context("searching the register")?
            .try_collect()
            .await
            .context("reading what a search found")?;
        let parties = documents
            .iter()
            .map(|doc| profile(kind, doc))
            .collect::<anyhow::Result<_>>()?;
        Ok((total, parties))
    }

    pub(crate) async fn search_parties(
        &self,
        query: &SearchQuery,
        limit: u32,
    ) -> anyhow::Result<SearchMatches> {
        let wants = |kind| query.kind().is_none_or(|wanted| wanted == kind);
        let (mut total, mut parties) = (0, Vec::new());
        if wants(OwnerKind::Organisation) {
            let (found, first) = Self::search_in(
                &self.organisations,
                OwnerKind::Organisation,
                organisations_filter(query),
                limit,
            )
            .await?;
            total += found;
            parties.extend(first);
        }
        if wants(OwnerKind::Person) {
            let (found, first) =
                Self::search_in(&self.persons, OwnerKind::Person, words_filter(query), limit)
                    .await?;
            total += found;
            parties.extend(first);
        }
        parties.sort_by_cached_key(sort_key);
        parties.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(SearchMatches { total, parties })
    }

    /// Gives the search field to the documents written before it existed, in the live
    /// collections and every served year's, once: a marker in `meta` says it was done, so a
    /// start does not scan the parties again (every write since carries the field).
    pub(crate) async fn index_names(&self) -> anyhow::Result<()> {
        let done = doc! { "_id": SEARCH_BACKFILLED };
        if self
            .meta
            .find_one(done.clone())
            .await
            .context("reading whether the search words were given")?
            .is_some()
        {
            return Ok(());
        }
        self.backfill_search().await?;
        for record in years::served(&self.db).await? {
            if let Some(year) = years::served_model(&self.db, record.year).await? {
                year.backfill_search().await?;
            }
        }
        self.meta
            .update_one(
                done,
                doc! { "$set": { "at": mongodb::bson::DateTime::now() } },
            )
            .upsert(true)
            .await
            .context("marking the search words given")?;
        Ok(())
    }

    async fn backfill_search(&self) -> anyhow::Result<()> {
        for collection in [&self.organisations, &self.persons] {
            let mut cursor = collection
                .find(doc! { "registered": true, SEARCH: { "$exists": false } })
                .projection(doc! { "_id": 1, "name": 1 })
                .await
                .context("finding documents without search words")?;
            while let Some(doc) = cursor.try_next().await? {
                let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
                let name = codec::get_str(&doc, "name")?;
                collection
                    .update_one(
                        doc! { "_id": id },
                        doc! { "$set": { SEARCH: search_field(name) } },
                    )
                    .await
                    .context("adding a document's search words")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("tvist", "^tvist")]
    #[case("a.b", "^a\\.b")]
    #[case("å*", "^å\\*")]
    fn prefixes_are_matched_literally(#[case] prefix: &str, #[case] pattern: &str) {
        assert_eq!(starts_with(prefix), pattern);
    }

    #[test]
    fn the_search_field_has_the_folded_words_and_the_length_of_the_name() {
        assert_eq!(
            search_field("RØKKE ÅSE AS"),
            doc! { "words": ["roekke", "aase", "as", "rokke", "ase"], "length": 12_i64 }
        );
    }

    #[test]
    fn a_search_field_reads_back_and_a_missing_one_reads_as_empty() {
        let doc = doc! { "name": "TVIST 5 AS", SEARCH: search_field("TVIST 5 AS") };
        assert_eq!(read_search_field(&doc), SearchField::of("TVIST 5 AS"));
        assert_eq!(
            read_search_field(&doc! { "name": "TVIST 5 AS" }),
            SearchField {
                words: vec![],
                length: 0
            }
        );
    }
}
