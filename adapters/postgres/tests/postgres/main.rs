//! The PostgreSQL write model against a real server: each test has a database of its own.

mod common;
mod import;
mod outbox;
mod retention;
mod write;
