//! Who is calling and what they may see: tokens and their signing keys, scopes, the
//! [`Principal`] and row scoping.
//!
//! Every way into the data (queries, nested fields, loaders, `node`) obtains its rows from
//! [`access`], which applies the scope check and the organisation's row filter in one place.

pub mod access;
pub mod issuers;
pub mod jwks;
pub mod key_store;
pub mod keys;
pub mod principal;
pub mod scope;
pub mod token_cache;

pub use access::Scoped;
pub use keys::{Claims, TokenKeys, Verified};
pub use principal::{OrganisationRef, Person, Principal, authenticate};
pub use scope::{Access, Area, Scope, ScopeSet};
pub use token_cache::TokenCache;
