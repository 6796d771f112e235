//! Rows written many to a statement: a bulk write is a few statements, not a statement a row
//! (each statement is a round trip to SQLite's worker thread).

use anyhow::Context as _;
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

/// Rows per statement: at most 14 parameters a row stay well under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;

/// Inserts `rows` in order, [`ROWS_PER_STATEMENT`] to a statement: `insert` (the `INSERT INTO`
/// with its columns), each row's values as `bind` pushes them, then `on_conflict`. A later row
/// with the key of an earlier one is applied after it, as one statement each would be.
pub(crate) async fn insert_rows<T>(
    conn: &mut SqliteConnection,
    insert: &str,
    rows: &[T],
    mut bind: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
    on_conflict: &str,
    what: &str,
) -> anyhow::Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut statement: QueryBuilder<Sqlite> = QueryBuilder::new(insert);
        statement.push_values(chunk, |mut values, row| bind(&mut values, row));
        statement.push(on_conflict);
        statement
            .build()
            .execute(&mut *conn)
            .await
            .with_context(|| format!("writing {what}"))?;
    }
    Ok(())
}
