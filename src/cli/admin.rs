//! Workspace administration: catalog, price policy, users, remotes, devices, targets, reports, configuration.

use clap::{Args, Subcommand};

use super::JsonFlag;

/// `catalog ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum CatalogCmd {
    /// Add or update a product (managers).
    Add {
        /// SKU.
        sku: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Product line.
        #[arg(long)]
        line: String,
        /// List price, yuan.
        #[arg(long)]
        list_price: String,
        /// Floor price for channel resale, yuan (default: list price).
        #[arg(long)]
        floor_price: Option<String>,
    },
    /// List products.
    List(JsonFlag),
}

/// `price-policy ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum PricePolicyCmd {
    /// Show allowances.
    Show(JsonFlag),
    /// Set a role's discount allowance, e.g. `--role rep --allowance 10%`.
    Set {
        /// Role.
        #[arg(long)]
        role: String,
        /// Allowance in percent.
        #[arg(long)]
        allowance: String,
    },
}

/// `user ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum UserCmd {
    /// Add a user (admins).
    Add {
        /// Name.
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// Team.
        #[arg(long)]
        team: Option<String>,
        /// Region.
        #[arg(long)]
        region: Option<String>,
    },
    /// List users.
    List(JsonFlag),
    /// Change a user (admins).
    Set {
        /// User.
        user: String,
        /// New role.
        #[arg(long)]
        role: Option<String>,
        /// New team.
        #[arg(long)]
        team: Option<String>,
        /// New region.
        #[arg(long)]
        region: Option<String>,
        /// Deactivate.
        #[arg(long)]
        deactivate: bool,
    },
}

/// `remote ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum RemoteCmd {
    /// Save a relay URL under a name (`office` is what `fieldcrm sync` uses by default).
    Add {
        /// The name.
        name: String,
        /// ws://host:port or wss://host.
        url: String,
    },
    /// List saved remotes.
    List,
    /// Forget a remote.
    Remove {
        /// The name.
        name: String,
    },
}

/// `device ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum DeviceCmd {
    /// Enroll a device key for a user (admins).
    Add {
        /// The device key (64 hex) shown by `fieldcrm whoami` on that device.
        key: String,
        /// The user.
        #[arg(long)]
        user: String,
        /// Label.
        #[arg(long, default_value = "device")]
        label: String,
    },
    /// List devices.
    List(JsonFlag),
    /// Revoke a device (admins).
    Revoke {
        /// Device key or prefix.
        key: String,
    },
}

/// `target ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum TargetCmd {
    /// Set a target (managers).
    Set {
        /// For this user.
        #[arg(long)]
        user: Option<String>,
        /// For this team.
        #[arg(long)]
        team: Option<String>,
        /// Period: 2026, 2026-Q4, 2026-11.
        #[arg(long)]
        period: String,
        /// Amount, yuan.
        #[arg(long)]
        amount: String,
    },
    /// List targets.
    List(JsonFlag),
    /// Remove a target set by mistake (managers, admins): out of lists, progress and
    /// rules, kept in the history; `restore` brings it back.
    Remove {
        /// Target (ID prefix).
        target: String,
        /// Why.
        #[arg(long = "text", alias = "reason", value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Put a removed target back (managers, admins).
    Restore {
        /// Target (ID prefix).
        target: String,
    },
}

/// `report ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ReportCmd {
    /// Submit your sales report.
    Submit {
        /// Period, e.g. 2026-W48.
        #[arg(long)]
        period: String,
        /// Sales in the period, yuan.
        #[arg(long)]
        amount: String,
        /// Summary.
        #[arg(long = "text", alias = "summary", value_name = "TEXT")]
        summary: String,
    },
    /// List reports.
    List(JsonFlag),
    /// Target against actual, per rep or team and period (the app's reports page).
    #[command(after_help = super::REPORT_EXAMPLES)]
    Targets(ReportOut),
    /// Open pipeline by stage: opportunities and amounts.
    #[command(after_help = super::REPORT_EXAMPLES)]
    Pipeline(ReportOut),
    /// Visits and calls per rep per week, the last 8 weeks.
    #[command(after_help = super::REPORT_EXAMPLES)]
    Activity(ReportOut),
    /// Complaints open and closed.
    #[command(after_help = super::REPORT_EXAMPLES)]
    Complaints(ReportOut),
    /// Remove a sales report made by mistake (your own within 7 days of submitting it;
    /// managers, admins: any); `restore` brings it back.
    Remove {
        /// Report (ID prefix).
        report: String,
        /// Why.
        #[arg(long = "text", alias = "reason", value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Put a removed sales report back (managers, admins).
    Restore {
        /// Report (ID prefix).
        report: String,
    },
}

/// How a report is given: a table on the terminal, JSON, or a file for a spreadsheet.
#[derive(Args, Debug)]
pub(crate) struct ReportOut {
    /// Print JSON (same as --format json).
    #[arg(long)]
    pub(crate) json: bool,
    /// csv, json or xlsx (default: a table; xlsx when the output file ends in .xlsx).
    #[arg(long, value_enum)]
    pub(crate) format: Option<crate::import::Format>,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub(crate) output: Option<std::path::PathBuf>,
}

/// `config ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ConfigCmd {
    /// Set the display time zone, e.g. Asia/Shanghai.
    Timezone {
        /// IANA zone name.
        zone: String,
    },
}
