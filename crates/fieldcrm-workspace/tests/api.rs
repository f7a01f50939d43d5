//! The workspace API, command by command: each public action succeeds once, and is
//! refused (with the stable error code, writing nothing) for the wrong role, an unknown
//! or ambiguous ID, a bad value and a record outside the acting user's scope.
//!
//! Devices, sync and the clock come from `fieldcrm-testkit`; assertions are on
//! `Error::code()` and `Error::field()`, not on message text.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    // Amounts in fen are written yuan_fen: 1000_00 is 1 000 yuan.
    clippy::inconsistent_digit_grouping
)]

mod api {
    mod admin;
    mod amend;
    mod channel;
    mod channel_removal;
    mod claims;
    mod customer;
    mod exchange;
    mod findings;
    mod first_sync;
    mod forgery;
    mod fuzz;
    mod inspect;
    mod kept_snapshots;
    mod lean;
    mod removal;
    mod sales;
    mod sales_removal;
    mod signoffs;
}
