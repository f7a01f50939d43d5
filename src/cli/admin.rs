//! Workspace administration: catalog, price policy, users, remotes, devices, targets, reports, configuration.

use clap::Subcommand;

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
        #[arg(long)]
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
        #[arg(long)]
        summary: String,
    },
    /// List reports.
    List(JsonFlag),
    /// Target against actual, per rep or team and period (the app's reports page).
    Targets(JsonFlag),
    /// Open pipeline by stage: opportunities and amounts.
    Pipeline(JsonFlag),
    /// Visits and calls per rep per week, the last 8 weeks.
    Activity(JsonFlag),
    /// Complaints open and closed.
    Complaints(JsonFlag),
    /// Remove a sales report made by mistake (your own within 7 days of submitting it;
    /// managers, admins: any); `restore` brings it back.
    Remove {
        /// Report (ID prefix).
        report: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Put a removed sales report back (managers, admins).
    Restore {
        /// Report (ID prefix).
        report: String,
    },
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
