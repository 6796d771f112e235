//! Versioned, idempotent bulk writes.
//!
//! Every write is an [`Op`]: `$set` a group of fields of the document `_id`, upserting it, but
//! only where the group's version field is lower than the op's version (or absent):
//! `{_id, <version field>: {$not: {$gte: v}}}`. Ops are sent as one unordered `update` command
//! per chunk, so a batch costs one round trip per collection, and the server may apply them in
//! any order: the version guards make the result independent of it.
//!
//! When the guard fails on an existing document, the upsert tries to insert a second document
//! with the same `_id` and fails with a duplicate-key error (11000). Usually that means a newer
//! version is already there; but it also happens when a concurrent writer inserted the document
//! between our filter and our insert, with an older version. So every duplicate-key failure is
//! retried once as a plain (non-upsert) update with the same guard: the document exists by
//! then, and a single-document update is atomic, so the newer version always wins.
//!
//! Bulk loads ([`Mode::InsertFirst`]) start with plain inserts instead, which cost what raw
//! inserts cost when the read model is empty; documents already there fail with a duplicate
//! key and get the same guarded update.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use anyhow::{Context, anyhow, bail};
use futures::{StreamExt, TryStreamExt};
use mongodb::bson::{Bson, Document, doc};
use mongodb::{Collection, Database};

/// Statements per `update` command: well under the server's 100,000 and 16 MB limits for
/// documents of the sizes the read model writes.
const CHUNK: usize = 2_000;

/// Documents per `insert_many` of a bulk load, and how many of them are in flight at once.
const INSERT_CHUNK: usize = 2_500;
const IN_FLIGHT: usize = 2;

const DUPLICATE_KEY: i32 = 11000;

/// One guarded `$set` of a group of fields.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub id: Bson,
    /// The version field guarding the group and the op's version; `None` for immutable fields,
    /// which any op may write.
    pub guard: Option<(&'static str, i64)>,
    pub set: Document,
}

impl Op {
    pub(crate) fn plain(id: impl Into<Bson>, set: Document) -> Self {
        Self {
            id: id.into(),
            guard: None,
            set,
        }
    }

    pub(crate) fn versioned(
        id: impl Into<Bson>,
        field: &'static str,
        version: u64,
        set: Document,
    ) -> anyhow::Result<Self> {
        let version = i64::try_from(version)
            .map_err(|_| anyhow!("{field} {version} does not fit a 64-bit signed integer"))?;
        Ok(Self {
            id: id.into(),
            guard: Some((field, version)),
            set,
        })
    }

    fn statement(&self, upsert: bool) -> Document {
        let mut filter = doc! { "_id": self.id.clone() };
        if let Some((field, version)) = self.guard {
            // "Absent or lower". Not written as `$or` of the two: SecantusDB then scans the
            // collection instead of looking the `_id` up.
            filter.insert(field, doc! { "$not": { "$gte": version } });
        }
        doc! { "q": filter, "u": { "$set": self.set.clone() }, "upsert": upsert }
    }
}

/// Keeps, for each document and field group, only the op with the highest version: the others
/// could never win. Ops for immutable fields keep their first occurrence. Order is preserved.
pub(crate) fn reduce(ops: Vec<Op>) -> Vec<Op> {
    let mut best: HashMap<(String, Option<&'static str>), usize> = HashMap::new();
    let mut kept: Vec<Option<Op>> = Vec::with_capacity(ops.len());
    for op in ops {
        let key = (op.id.to_string(), op.guard.map(|(field, _)| field));
        match best.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(kept.len());
                kept.push(Some(op));
            }
            Entry::Occupied(slot) => {
                let index = *slot.get();
                let newer = match (&kept[index], op.guard) {
                    (Some(old), Some((_, version))) => {
                        old.guard.is_some_and(|(_, old)| version > old)
                    }
                    _ => false,
                };
                if newer {
                    kept[index] = None;
                    *slot.into_mut() = kept.len();
                    kept.push(Some(op));
                }
            }
        }
    }
    kept.into_iter().flatten().collect()
}

/// The write errors of a write command's reply: `(index, code, message)`.
fn write_errors(reply: &Document) -> anyhow::Result<Vec<(usize, i32, String)>> {
    if let Ok(concern) = reply.get_document("writeConcernError") {
        bail!("write concern error: {concern}");
    }
    let Ok(errors) = reply.get_array("writeErrors") else {
        return Ok(Vec::new());
    };
    errors
        .iter()
        .map(|error| {
            let error = error
                .as_document()
                .ok_or_else(|| anyhow!("a write error is not a document"))?;
            let index = match error.get("index") {
                Some(Bson::Int32(i)) => usize::try_from(*i).ok(),
                Some(Bson::Int64(i)) => usize::try_from(*i).ok(),
                _ => None,
            }
            .ok_or_else(|| anyhow!("a write error has no index: {error}"))?;
            let code = match error.get("code") {
                Some(Bson::Int32(c)) => *c,
                Some(Bson::Int64(c)) => i32::try_from(*c).unwrap_or(i32::MAX),
                _ => 0,
            };
            let message = error.get_str("errmsg").unwrap_or_default().to_owned();
            Ok((index, code, message))
        })
        .collect()
}

async fn run_updates(
    db: &Database,
    collection: &str,
    ops: &[Op],
    upsert: bool,
) -> anyhow::Result<Vec<(usize, i32, String)>> {
    let statements: Vec<Document> = ops.iter().map(|op| op.statement(upsert)).collect();
    let reply = db
        .run_command(doc! { "update": collection, "updates": statements, "ordered": false })
        .await
        .with_context(|| format!("update command on {collection}"))?;
    write_errors(&reply)
}

/// How [`apply`] writes: which attempt comes first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Guarded upserts, then guarded updates for the duplicate keys: one round trip when the
    /// documents mostly exist or are newer, as for a stream of events.
    Upsert,
    /// Plain inserts, then guarded updates for the documents already there: as fast as raw
    /// inserts into an empty read model, as for a rebuild.
    InsertFirst,
}

/// Applies the ops to `collection`, in chunks of unordered write commands.
///
/// # Errors
/// When the server fails or reports a write error other than the expected duplicate key.
pub(crate) async fn apply(
    db: &Database,
    collection: &str,
    ops: &[Op],
    mode: Mode,
) -> anyhow::Result<()> {
    match mode {
        Mode::Upsert => {
            for chunk in ops.chunks(CHUNK) {
                let errors = run_updates(db, collection, chunk, true).await?;
                retry_duplicates(
                    db,
                    collection,
                    chunk,
                    errors.into_iter().map(|e| (vec![e.0], e)),
                )
                .await?;
            }
            Ok(())
        }
        Mode::InsertFirst => insert_first(db, collection, ops).await,
    }
}

/// Retries, as guarded non-upsert updates, the ops (by index into `ops`) whose first attempt
/// failed with a duplicate key; fails on any other error.
async fn retry_duplicates(
    db: &Database,
    collection: &str,
    ops: &[Op],
    errors: impl Iterator<Item = (Vec<usize>, (usize, i32, String))>,
) -> anyhow::Result<()> {
    let mut retry = Vec::new();
    for (indexes, (_, code, message)) in errors {
        if code != DUPLICATE_KEY {
            bail!("writing {collection}: error {code}: {message}");
        }
        for index in indexes {
            let op = ops
                .get(index)
                .ok_or_else(|| anyhow!("write error for statement {index} out of range"))?;
            retry.push(op.clone());
        }
    }
    for chunk in retry.chunks(CHUNK) {
        if let Some((_, code, message)) = run_updates(db, collection, chunk, false)
            .await?
            .into_iter()
            .next()
        {
            bail!("writing {collection} (retry after a duplicate key): error {code}: {message}");
        }
    }
    Ok(())
}

/// One document per `_id`, merging every op's fields, with the indexes of its ops.
fn merge(ops: &[Op]) -> (Vec<Document>, Vec<Vec<usize>>) {
    let mut slots: HashMap<String, usize> = HashMap::with_capacity(ops.len());
    let mut documents: Vec<Document> = Vec::with_capacity(ops.len());
    let mut members: Vec<Vec<usize>> = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let key = match &op.id {
            Bson::String(id) => id.clone(),
            other => other.to_string(),
        };
        match slots.entry(key) {
            Entry::Occupied(slot) => {
                let slot = *slot.get();
                documents[slot].extend(op.set.clone());
                members[slot].push(index);
            }
            Entry::Vacant(slot) => {
                slot.insert(documents.len());
                let mut document = Document::new();
                document.insert("_id", op.id.clone());
                document.extend(op.set.clone());
                documents.push(document);
                members.push(vec![index]);
            }
        }
    }
    (documents, members)
}

/// Inserts one document per `_id` with every op's fields (what the guarded writes would
/// produce on an empty collection), a few chunks in flight; a document already there fails
/// with a duplicate key, and its ops are then applied as guarded updates.
async fn insert_first(db: &Database, collection: &str, ops: &[Op]) -> anyhow::Result<()> {
    let (documents, members) = merge(ops);
    let target = db.collection::<Document>(collection);
    let mut chunks = Vec::new();
    for (documents, members) in documents
        .chunks(INSERT_CHUNK)
        .zip(members.chunks(INSERT_CHUNK))
    {
        chunks.push(insert_chunk(db, &target, ops, documents, members));
    }
    futures::stream::iter(chunks)
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// One chunk of [`insert_first`]: `members[i]` are the indexes into `ops` of `documents[i]`.
async fn insert_chunk(
    db: &Database,
    target: &Collection<Document>,
    ops: &[Op],
    documents: &[Document],
    members: &[Vec<usize>],
) -> anyhow::Result<()> {
    let collection = target.name();
    let errors = match target.insert_many(documents).ordered(false).await {
        Ok(_) => Vec::new(),
        Err(error) => {
            insert_errors(error).with_context(|| format!("inserting into {collection}"))?
        }
    };
    let mut failed = Vec::with_capacity(errors.len());
    for error in errors {
        let indexes = members
            .get(error.0)
            .cloned()
            .ok_or_else(|| anyhow!("insert error for document {} out of range", error.0))?;
        failed.push((indexes, error));
    }
    retry_duplicates(db, collection, ops, failed.into_iter()).await
}

/// The write errors of a failed unordered `insert_many`: `(index, code, message)`; any other
/// failure is returned as is.
fn insert_errors(error: mongodb::error::Error) -> anyhow::Result<Vec<(usize, i32, String)>> {
    if let mongodb::error::ErrorKind::InsertMany(failure) = error.kind.as_ref() {
        if let (None, Some(errors)) = (&failure.write_concern_error, &failure.write_errors) {
            return Ok(errors
                .iter()
                .map(|e| (e.index, e.code, e.message.clone()))
                .collect());
        }
    }
    Err(error.into())
}

/// Inserts the documents, ignoring those whose `_id` is already there.
///
/// # Errors
/// When the server fails or reports a write error other than a duplicate key.
pub(crate) async fn insert_new(
    db: &Database,
    collection: &str,
    documents: Vec<Document>,
) -> anyhow::Result<()> {
    for chunk in documents.chunks(CHUNK) {
        let reply = db
            .run_command(doc! { "insert": collection, "documents": chunk, "ordered": false })
            .await
            .with_context(|| format!("insert command on {collection}"))?;
        if let Some((_, code, message)) = write_errors(&reply)?
            .into_iter()
            .find(|(_, code, _)| *code != DUPLICATE_KEY)
        {
            bail!("inserting into {collection}: error {code}: {message}");
        }
    }
    Ok(())
}

/// Whether `error` is a duplicate key (11000): another writer inserted the same `_id` first.
pub(crate) fn duplicate_key(error: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match error.kind.as_ref() {
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(ops: &[Op]) -> Vec<(String, Option<i64>)> {
        ops.iter()
            .map(|op| (op.id.to_string(), op.guard.map(|(_, v)| v)))
            .collect()
    }

    #[test]
    fn reduce_keeps_the_newest_op_of_each_group() {
        let op = |id: &str, field, version| {
            Op::versioned(id, field, version, doc! {}).expect("small version")
        };
        let ops = vec![
            op("a", "version", 1),
            op("a", "version", 3),
            op("a", "owner_version", 1),
            op("b", "version", 2),
            op("a", "version", 2),
            op("b", "version", 2),
            Op::plain("a", doc! { "name": "first" }),
            Op::plain("a", doc! { "name": "second" }),
        ];
        let reduced = reduce(ops);
        assert_eq!(
            versions(&reduced),
            vec![
                ("\"a\"".to_owned(), Some(3)),
                ("\"a\"".to_owned(), Some(1)),
                ("\"b\"".to_owned(), Some(2)),
                ("\"a\"".to_owned(), None),
            ]
        );
        assert_eq!(reduced[3].set.get_str("name").ok(), Some("first"));
        assert_eq!(reduced[0].guard.map(|(f, _)| f), Some("version"));
        assert_eq!(reduced[1].guard.map(|(f, _)| f), Some("owner_version"));
    }
}
