//! End-to-end scenarios driving the real `fieldcrm` binary against real redb files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod browser;
mod browser_channels;
mod browser_kit;
mod browser_records;
mod browser_targets;
mod bundle;
mod cli_check;
mod cli_conventions;
mod cli_findings;
mod cli_offline;
mod cli_p2p;
mod console;
mod crash_init;
mod csv_import;
mod demo;
mod forgery;
mod help_examples;
mod inspect;
mod invite;
mod js_interop;
mod readme_tour;
mod reassign;
mod relay;
mod relay_findings;
mod signoffs;
mod support;
