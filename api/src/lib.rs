//! Bydel: the GraphQL API of the Danish Neighbourhood Mothers (Bydelsmødre) programme.
//!
//! Domain areas (one module each, holding GraphQL types, resolvers and scoped queries):
//! organisations, projects, mothers, courses, participants, visits, hours (volunteer hours),
//! referrals, stats, tokens, oauth (OAuth 2.0 for API clients), webhooks, directory (the
//! service directory referrals point to), surveys (the evaluation's questionnaires,
//! rounds and responses), corps (neighbourhood fathers beside the mothers).
//! Cross-cutting: auth (tokens, principal, row scoping), error, config, db, loaders,
//! pagination, ids, node, federation, vocabulary, schema, server, websocket (subscriptions),
//! events (the referral event bus), metrics, telemetry (request logs), shutdown, cli, demo,
//! writes (shared by the write resolvers); around `/graphql`: graphql_http (the protocol),
//! limits (cost, size, time, rate) and persisted (persisted queries).

// The merged query and mutation roots nest one object per area; their resolvers' futures
// need a deeper type layout than the default limit allows.
#![recursion_limit = "256"]

pub mod audit;
pub mod audit_trail;
pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod corps;
pub mod cors;
pub mod courses;
pub mod db;
pub mod demo;
pub mod directory;
pub mod error;
pub mod events;
pub mod execution;
pub mod federation;
pub mod graphiql;
pub mod graphql_http;
pub mod hours;
pub mod idempotency;
pub mod ids;
pub mod inputs;
pub mod limits;
pub mod loaders;
pub mod metrics;
pub mod mothers;
pub mod node;
pub mod oauth;
pub mod ordering;
pub mod organisations;
pub mod pagination;
pub mod participants;
pub mod persisted;
pub mod planned;
pub mod projects;
pub mod propagation;
pub mod referrals;
pub mod schema;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod stats;
pub mod surveys;
pub mod telemetry;
pub mod tokens;
pub mod visits;
pub mod vocabularies;
pub mod vocabulary;
pub mod webhooks;
pub mod websocket;
pub mod writes;
