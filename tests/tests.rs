//! End-to-end scenarios driving the real `fieldcrm` binary against real redb files.

mod cli_check;
mod cli_offline;
mod cli_p2p;
mod support;
