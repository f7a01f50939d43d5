//! Command-line definitions (clap), one module per record group.

mod admin;
mod channel;
mod customer;
pub(crate) mod zh;

pub(crate) use admin::*;
pub(crate) use channel::*;
pub(crate) use customer::*;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Examples in the help texts: each `$ fieldcrm …` line is run by a test
/// (`tests/help_examples.rs`) in a prepared workspace with customer 华南物流有限公司;
/// a `# exit N` comment names another expected exit code.
pub(crate) const EXAMPLES: &str = "\
Examples 示例:
  $ fieldcrm customer add 华北重工有限公司 --class general --region 华北
  $ fieldcrm interaction log 华南物流 --kind visit --text 介绍新款传感器 --at 2026-11-28T15:00
  $ fieldcrm --json customer add 西南化工有限公司
  $ fieldcrm -q opportunity add 华南物流 \"2027 年框架采购\" --amount 500000
  $ fieldcrm export customers -o customers.xlsx
  $ fieldcrm --lang zh today
  $ fieldcrm check                  # exit 1 when violations are open";

/// Examples of `export`.
pub(crate) const EXPORT_EXAMPLES: &str = "\
Examples 示例:
  $ fieldcrm export customers -o customers.xlsx
  $ fieldcrm export customers --encoding gbk -o customers.csv
  $ fieldcrm export channels --format json";

/// Examples of `customer import`.
pub(crate) const IMPORT_EXAMPLES: &str = "\
Examples 示例:
  $ fieldcrm customer import examples/customers.csv
  $ fieldcrm customer import customers.xlsx      # an Excel file from `export customers -o customers.xlsx`";

/// Examples of the reports.
pub(crate) const REPORT_EXAMPLES: &str = "\
Examples 示例:
  $ fieldcrm report targets
  $ fieldcrm report targets --format xlsx -o targets.xlsx
  $ fieldcrm report pipeline --format csv -o pipeline.csv
  $ fieldcrm report activity --json";

/// fieldcrm: an offline-first CRM for field reps and channel partners.
#[derive(Parser, Debug)]
#[command(name = "fieldcrm", version, about, long_about = None, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// Workspace directory (default: $FIELDCRM_HOME, else the platform data directory).
    #[arg(long, global = true, env = "FIELDCRM_HOME")]
    pub(crate) home: Option<PathBuf>,
    /// Override "now" (RFC 3339 or 2026-11-29T14:00); for scripts and tests.
    #[arg(long, global = true, env = "FIELDCRM_NOW", hide = true)]
    pub(crate) now: Option<String>,
    /// Display time zone (default: the workspace setting, Asia/Shanghai).
    #[arg(long, global = true, env = "FIELDCRM_TZ")]
    pub(crate) tz: Option<String>,
    /// Colour in the output: auto (only on a terminal, and not when NO_COLOR is set),
    /// always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Print only what a script needs: a command that saves prints just the full ID of
    /// what it created or changed.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// More detail on standard error: how long each step took, and a line per document
    /// on import.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub(crate) verbose: bool,
    /// A command that saves prints what it created or changed as JSON:
    /// {"kind":"customer","id":"…","short":"…"} (README, "Scripts"); other commands
    /// print their JSON form where they have one.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Language of help and messages: zh or en (default: zh for a zh_* locale in
    /// LC_ALL / LC_MESSAGES / LANG, else en).
    #[arg(long, global = true, value_parser = ["zh", "en"])]
    pub(crate) lang: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// When to colour the output.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the whole story on loopback in a temporary directory: a relay, a manager and
    /// two reps offline, a sync, the findings, the fixes, the findings cleared.
    Demo {
        /// Instead: fill demo workspaces with a few weeks of work and serve the rep's and
        /// the manager's web apps (`fieldcrm app`) until Ctrl-C.
        #[arg(long)]
        app: bool,
    },
    /// Open the field app: a local web app (loopback only) for this workspace.
    App(AppArgs),
    /// Create a new workspace with you as its first user.
    Init(InitArgs),
    /// Join a workspace: with an invitation (`--invite CODE --relay URL`, or the
    /// invitation's link), or prepare this device for an admin to enroll its key.
    Join(JoinArgs),
    /// Invite a person's device (admins): a one-time code, a link and a QR code, held by
    /// the office relay until used or expired.
    Invite(InviteArgs),
    /// Listen for peers and sync with them directly (iroh); prints a ticket to share.
    Serve(ServeArgs),
    /// Sync now: with the office relay (URL or saved remote; default remote `office`) or
    /// with a peer (the ticket `fieldcrm serve` printed).
    Sync(SyncArgs),
    /// Saved relays (`fieldcrm remote add office ws://host:port`).
    #[command(subcommand)]
    Remote(RemoteCmd),
    /// Show this device, user and workspace.
    Whoami(JsonFlag),
    /// A sign-in link for the office relay's console (admins and managers): open it in a
    /// browser within 5 minutes; it works once.
    OfficeLogin(OfficeLoginArgs),
    /// My day (今日): customers due for contact, key-customer visits, deliveries, what
    /// waits for approval, my open findings — the app's Today page.
    Today(JsonFlag),
    /// What waits for my sign-off (审批): discounts over the allowance, gifts, contracts
    /// for legal review — the app's approval inbox.
    Inbox(JsonFlag),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) for `man`.
    Man,
    /// Customer files (客户档案).
    #[command(subcommand)]
    Customer(CustomerCmd),
    /// Contacts of a customer.
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Visits, calls, emails and meetings.
    #[command(subcommand)]
    Interaction(InteractionCmd),
    /// Complaints (投诉).
    #[command(subcommand)]
    Complaint(ComplaintCmd),
    /// Satisfaction surveys (回访).
    #[command(subcommand)]
    Survey(SurveyCmd),
    /// Customer development plans.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Sales opportunities.
    #[command(subcommand)]
    Opportunity(OpportunityCmd),
    /// Quotes.
    #[command(subcommand)]
    Quote(QuoteCmd),
    /// Contracts.
    #[command(subcommand)]
    Contract(ContractCmd),
    /// Orders.
    #[command(subcommand)]
    Order(OrderCmd),
    /// Gifts, hospitality and payments.
    #[command(subcommand)]
    Gift(GiftCmd),
    /// Channel partners (渠道).
    #[command(subcommand)]
    Channel(ChannelCmd),
    /// Products.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Discount allowances per role.
    #[command(subcommand, name = "price-policy")]
    PricePolicy(PricePolicyCmd),
    /// Users (admins).
    #[command(subcommand)]
    User(UserCmd),
    /// Devices (admins).
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Sales targets.
    #[command(subcommand)]
    Target(TargetCmd),
    /// Sales reports.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Workspace settings.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Check the company rules on the merged state: open findings with their keys and
    /// states (exit 1 if there are open violations; acknowledged ones are still open,
    /// waived and resolved ones are not).
    Check(CheckArgs),
    /// Act on a rule finding by its key (the `key` line of `fieldcrm check`): acknowledge,
    /// waive until a date, reopen.
    #[command(subcommand)]
    Finding(FindingCmd),
    /// Rule configuration (thresholds, severities).
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Inspect documents: list, show, history, diff.
    #[command(subcommand)]
    Doc(crate::inspect::DocCmd),
    /// List every field holding concurrent values (who set each, when).
    Conflicts(crate::inspect::ConflictsArgs),
    /// Decide a field's concurrent values (`fieldcrm conflicts` lists them).
    Resolve(crate::inspect::ResolveArgs),
    /// Sync through a file: signed offline bundles.
    #[command(subcommand)]
    Bundle(crate::bundle::BundleCmd),
    /// Carry edits made to merged-away files over to their survivors (runs after sync and import).
    MergeForward(crate::merge::MergeForwardArgs),
    /// Export customers or channels as CSV, JSON or Excel (.xlsx).
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(crate::import::ExportArgs),
}

impl Command {
    /// Whether this command works through many documents or for a long time (imports,
    /// syncs, the findings and what is computed from them, reports, exports, the app):
    /// what the allocator's huge pages are for.
    pub(crate) fn bulk(&self) -> bool {
        matches!(
            self,
            Command::Demo { .. }
                | Command::App(_)
                | Command::Serve(_)
                | Command::Sync(_)
                | Command::Check(_)
                | Command::Finding(_)
                | Command::Today(_)
                | Command::Inbox(_)
                | Command::Conflicts(_)
                | Command::Report(_)
                | Command::Bundle(_)
                | Command::MergeForward(_)
                | Command::Export(_)
                | Command::Customer(CustomerCmd::Import(_))
                | Command::Channel(ChannelCmd::Import(_))
        )
    }

    /// Whether this command lists from the summary index and loads no document.
    pub(crate) fn lists_index(&self) -> bool {
        matches!(
            self,
            Command::Customer(CustomerCmd::List(_))
                | Command::Channel(ChannelCmd::List { .. })
                | Command::Doc(crate::inspect::DocCmd::List { .. })
        )
    }
}

/// `check`.
#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only this rule (e.g. CUST-DUPLICATE).
    #[arg(long)]
    pub(crate) rule: Option<String>,
    /// Only findings about this customer.
    #[arg(long)]
    pub(crate) customer: Option<String>,
    /// Only findings about this channel.
    #[arg(long)]
    pub(crate) channel: Option<String>,
    /// Language of the messages: zh or en (default: the global --lang, else the locale).
    #[arg(long)]
    pub(crate) lang: Option<String>,
    /// Fail (exit 1) on open warnings too.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Also list waived and resolved findings (with who and when); the exit code still
    /// counts only open ones.
    #[arg(long)]
    pub(crate) all: bool,
    /// Ask the office relay for the findings on its merged state instead (remote name or
    /// ws:// URL; default the `office` remote).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    pub(crate) relay: Option<String>,
}

/// `finding ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum FindingCmd {
    /// Acknowledge a finding with a note (anyone who may write its document). It stays
    /// open: `check` still lists it and its exit code still counts it.
    Ack {
        /// The finding's key, or a unique start of it.
        key: String,
        /// What you noted (确认备注).
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
        note: String,
    },
    /// Waive a finding until a date, with a reason (managers and admins; channel managers
    /// for channel records). It is open again from that date, or after the workspace's
    /// longest waiver (`[general] waiver_max`, 180 days by default).
    Waive {
        /// The finding's key, or a unique start of it.
        key: String,
        /// Why it is waived (豁免理由).
        #[arg(long = "text", alias = "reason", value_name = "TEXT")]
        reason: String,
        /// Last day of the waiver (2026-12-31, in the workspace time zone).
        #[arg(long)]
        until: String,
    },
    /// Remove a finding's acknowledgement or waiver (removing a waiver takes the
    /// authority to waive).
    Reopen {
        /// The finding's key, or a unique start of it (resolved ones too).
        key: String,
    },
}

/// `policy ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum PolicyCmd {
    /// Show the effective configuration (defaults plus this workspace's overrides) as TOML.
    Show,
    /// Override a rule's severity or parameters (managers, admins); syncs to every device.
    #[command(
        after_help = "Examples 示例:\n  $ fieldcrm policy set CUST-CONTACT-CADENCE --param key_interval=20d\n  $ fieldcrm policy set CUST-PROFILE-COMPLETE --severity off"
    )]
    Set {
        /// Rule ID, e.g. CUST-CONTACT-CADENCE.
        rule: String,
        /// violation, warning or off.
        #[arg(long)]
        severity: Option<String>,
        /// Parameter as NAME=VALUE (repeatable), e.g. --param key_interval=20d.
        #[arg(long = "param")]
        params: Vec<String>,
    },
}

/// `join`.
#[derive(Args, Debug)]
pub(crate) struct JoinArgs {
    /// The office relay's URL (ws://host:port): it tells the workspace ID and is saved
    /// as remote `office`. Or an invitation's link (fieldcrm://join?…).
    pub(crate) url: Option<String>,
    /// The workspace ID (shown by `fieldcrm whoami` on an enrolled device), when joining
    /// without a relay.
    #[arg(long, required_unless_present_any = ["url", "invite"], conflicts_with_all = ["url", "invite"])]
    pub(crate) workspace: Option<String>,
    /// The invitation code an admin gave you (ABCD-EFGH; case and dash do not matter).
    #[arg(long)]
    pub(crate) invite: Option<String>,
    /// The office relay of the invitation (ws://host:port); same as the URL argument.
    #[arg(long, requires = "invite", conflicts_with = "url")]
    pub(crate) relay: Option<String>,
    /// A label for this device in the roster.
    #[arg(long, default_value = "device")]
    pub(crate) label: String,
}

/// `invite`.
#[derive(Args, Debug)]
pub(crate) struct InviteArgs {
    /// The new user's name.
    #[arg(long, required_unless_present = "user", conflicts_with = "user")]
    pub(crate) name: Option<String>,
    /// The new user's role: rep, manager, channel-manager, legal, admin.
    #[arg(long, required_unless_present = "user", conflicts_with = "user")]
    pub(crate) role: Option<String>,
    /// The new user's team.
    #[arg(long, conflicts_with = "user")]
    pub(crate) team: Option<String>,
    /// Instead of a new user: another device for this existing user (name or ID prefix).
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// How long the invitation is valid: 72h, 3d, 30m (at most 30 days).
    #[arg(long, default_value = "72h")]
    pub(crate) valid: String,
    /// The office relay that holds it (ws:// URL or remote name; default remote `office`).
    #[arg(long)]
    pub(crate) relay: Option<String>,
    /// Also write the link's QR code to this SVG file.
    #[arg(long)]
    pub(crate) qr: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Address to listen on (UDP), e.g. 0.0.0.0:7000.
    #[arg(long, default_value = "0.0.0.0:0")]
    pub(crate) bind: std::net::SocketAddr,
    /// Exit after the first completed session.
    #[arg(long)]
    pub(crate) once: bool,
    /// Write the ticket to this file as well (for scripts).
    #[arg(long)]
    pub(crate) ticket_file: Option<PathBuf>,
    /// Print each finished session as one line of JSON (as `sync --json`).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `sync`.
#[derive(Args, Debug)]
pub(crate) struct SyncArgs {
    /// A relay URL (ws://…, wss://…), a saved remote's name, or a peer's ticket
    /// (fieldcrm1…). Default: the remote `office`.
    pub(crate) ticket: Option<String>,
    /// Local address to bind (UDP).
    #[arg(long, default_value = "0.0.0.0:0")]
    pub(crate) bind: std::net::SocketAddr,
    /// Print the outcome as JSON (documents, bytes, messages, turns, time, refusals).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `office-login`.
#[derive(Args, Debug)]
pub(crate) struct OfficeLoginArgs {
    /// The relay: a ws:// URL or a saved remote's name (default: remote `office`).
    pub(crate) remote: Option<String>,
    /// Print JSON (`url`, `valid_until`).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--json` alone.
#[derive(Args, Debug)]
pub(crate) struct JsonFlag {
    /// Print JSON (stable field names, see README).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `app`.
#[derive(Args, Debug)]
pub(crate) struct AppArgs {
    /// Port on 127.0.0.1 (default: a free port).
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Do not open the browser; just print the URL.
    #[arg(long)]
    pub(crate) no_open: bool,
}

/// `init`.
#[derive(Args, Debug)]
pub(crate) struct InitArgs {
    /// Your name.
    #[arg(long)]
    pub(crate) user: String,
    /// Your role: rep, manager, channel-manager, legal, admin.
    #[arg(long)]
    pub(crate) role: String,
    /// Your team.
    #[arg(long)]
    pub(crate) team: Option<String>,
    /// Your region.
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Company name.
    #[arg(long, default_value = "fieldcrm")]
    pub(crate) company: String,
    /// A label for this device.
    #[arg(long, default_value = "laptop")]
    pub(crate) device_label: String,
}
