//! Bydel: the GraphQL API of the Danish Neighbourhood Mothers (Bydelsmødre) programme.
//!
//! Domain areas (one module each, holding GraphQL types, resolvers and scoped queries):
//! organisations, projects, mothers, courses, participants, visits, referrals, stats, tokens.
//! Cross-cutting: auth (tokens, principal, row scoping), error, config, db, loaders,
//! pagination, ids, node, vocabulary, schema, server, cli, demo, writes (shared by the
//! write resolvers).

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod courses;
pub mod db;
pub mod demo;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod loaders;
pub mod mothers;
pub mod node;
pub mod organisations;
pub mod pagination;
pub mod participants;
pub mod projects;
pub mod referrals;
pub mod schema;
pub mod server;
pub mod stats;
pub mod tokens;
pub mod visits;
pub mod vocabulary;
pub mod writes;
