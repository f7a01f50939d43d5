//! End-to-end scenarios driving the real `fieldcrm` binary against real redb files.

mod bundle;
mod cli_check;
mod cli_offline;
mod cli_p2p;
mod csv_import;
mod demo;
mod inspect;
mod relay;
mod support;
