//! The notes service over real sockets, served by `approute::serve` as in
//! production, on a fresh SQLite file per test (or PostgreSQL: see
//! `support.rs`). One test binary, so the crate links once.

mod auth;
mod concurrency;
mod crud;
mod forms;
mod legacy;
mod openapi;
mod pages;
mod signin_load;
mod sse;
mod support;
mod webhooks;
