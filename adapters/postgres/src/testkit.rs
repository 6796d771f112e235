//! A fresh database per test on the test server (feature `testkit`): tests run in parallel,
//! each in a database of its own, dropped when the test is done with it.

use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

/// The test server's admin URL: `SHAREHOLDERS_TEST_DATABASE_URL`, or the local server's
/// `postgres` database as user `postgres`.
#[must_use]
pub fn admin_url() -> String {
    std::env::var("SHAREHOLDERS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database (the last path segment) replaced, its query kept.
///
/// # Panics
/// When `url` has no path.
#[must_use]
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let cut = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    match query {
        Some(query) => format!("{}/{database}?{query}", &base[..cut]),
        None => format!("{}/{database}", &base[..cut]),
    }
}

/// A database of its own on the test server, dropped (with `FORCE`) when the value is.
#[derive(Debug)]
pub struct TestDatabase {
    /// The database's URL, for a store or a binary under test.
    pub url: String,
    /// The database's name.
    pub name: String,
}

impl TestDatabase {
    /// Creates an empty database named `{prefix}_{uuid}`.
    ///
    /// # Panics
    /// When the test server is unreachable or refuses.
    pub async fn create(prefix: &str) -> Self {
        let admin = admin_url();
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL is reachable (SHAREHOLDERS_TEST_DATABASE_URL)");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        conn.close().await.ok();
        Self {
            url: with_database(&admin, &name),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = admin_url();
        // The drop runs on a runtime of its own: the test's may be shutting down.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&admin).await?;
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn another_database_keeps_the_host_and_the_query() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=require", "t1"),
            "postgres://u@h:5432/t1?sslmode=require"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres", "t2"),
            "postgres://u@h/t2"
        );
        assert_eq!(with_database("postgres://u@h", "t3"), "postgres://u@h/t3");
    }
}
