//! Integration tests of the policy engine, built on real Automerge documents written by
//! different devices.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod authority;
mod cancel;
mod claims;
mod engine;
mod lifecycle;
mod merge;
mod rules;
mod saved;
mod signoff;
mod support;
