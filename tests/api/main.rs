//! Integration tests: the real Bydel server over HTTP against a real database.
//!
//! One binary, one fresh database per test (SQLite by default, PostgreSQL with
//! `BYDEL_TEST_DATABASE=postgres`), no shared state, so every test runs in parallel.
//! The GraphQL documents the tests send live in `queries/`, written as a partner would.

mod harness;
mod queries;

mod access;
mod audit;
mod auth;
mod browser;
mod cli;
mod cors;
mod course_changes;
mod demo;
mod differencing;
mod directory;
mod federation;
mod graphiql;
mod hardening;
mod http;
mod http_audit;
mod idempotency;
mod inbound;
mod keys;
mod leaks;
mod limits;
mod list_operators;
mod lists;
mod loaders;
mod logs;
mod migrations;
mod mothers_write;
mod node;
mod oauth;
mod operations;
mod pagination;
mod participants;
mod people;
mod persisted;
mod planned;
mod process_metrics;
mod projects_write;
mod referrals;
mod response_order;
mod rights;
mod scale;
mod schema;
mod stale;
mod stats;
mod subscriptions;
mod surveys;
mod sync;
mod tallies;
mod token_cache;
mod tokens;
mod training;
mod trusted_issuers;
mod visits_write;
mod vocabularies;
mod volunteer_hours;
mod webhooks;
