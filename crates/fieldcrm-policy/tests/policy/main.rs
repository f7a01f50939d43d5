//! Integration tests of the policy engine, built on real Automerge documents written by
//! different devices.

mod engine;
mod merge;
mod rules;
mod support;
