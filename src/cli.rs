//! Command-line definitions (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// fieldcrm: an offline-first CRM for field reps and channel partners.
#[derive(Parser, Debug)]
#[command(name = "fieldcrm", version, about, long_about = None)]
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
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the whole story on loopback in a temporary directory: a relay, a manager and
    /// two reps offline, a sync, the findings, the fixes, the findings cleared.
    Demo,
    /// Create a new workspace with you as its first user.
    Init(InitArgs),
    /// Prepare this device to join an existing workspace (then an admin enrolls its key).
    Join(JoinArgs),
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
    /// Check the company rules on the merged state (exit 1 if there are violations).
    Check(CheckArgs),
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
    /// Export customers or channels as CSV or JSON.
    Export(crate::import::ExportArgs),
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
    /// Language of the messages: zh or en.
    #[arg(long, default_value = "zh")]
    pub(crate) lang: String,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Ask the office relay for the findings on its merged state instead (remote name or
    /// ws:// URL; default the `office` remote).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    pub(crate) relay: Option<String>,
}

/// `policy ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum PolicyCmd {
    /// Show the effective configuration (defaults plus this workspace's overrides) as TOML.
    Show,
    /// Override a rule's severity or parameters (managers, admins); syncs to every device.
    Set {
        /// Rule ID, e.g. CUST-CONTACT-CADENCE.
        rule: String,
        /// violation, warning or off.
        #[arg(long)]
        severity: Option<String>,
        /// Parameter as NAME=VALUE (repeatable), e.g. --param key_days=20.
        #[arg(long = "param")]
        params: Vec<String>,
    },
}

/// `join`.
#[derive(Args, Debug)]
pub(crate) struct JoinArgs {
    /// The office relay's URL (ws://host:port): it tells the workspace ID and is saved
    /// as remote `office`.
    pub(crate) url: Option<String>,
    /// The workspace ID (shown by `fieldcrm whoami` on an enrolled device), when joining
    /// without a relay.
    #[arg(long, required_unless_present = "url", conflicts_with = "url")]
    pub(crate) workspace: Option<String>,
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
}

/// `--json`.
#[derive(Args, Debug)]
pub(crate) struct JsonFlag {
    /// Print JSON (stable field names, see README).
    #[arg(long)]
    pub(crate) json: bool,
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

/// Customer list filters.
#[derive(Args, Debug)]
pub(crate) struct CustomerListArgs {
    /// Only this class.
    #[arg(long)]
    pub(crate) class: Option<String>,
    /// Only this owner (name or ID).
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Only this team.
    #[arg(long)]
    pub(crate) team: Option<String>,
    /// Only this region.
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Name contains.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Include merged-away files.
    #[arg(long)]
    pub(crate) all: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Fields shared by `customer add` and `customer edit`.
#[derive(Args, Debug, Default)]
pub(crate) struct CustomerFields {
    /// Class: key (重要), general (一般), potential (潜在).
    #[arg(long)]
    pub(crate) class: Option<String>,
    /// Industry.
    #[arg(long)]
    pub(crate) industry: Option<String>,
    /// Region.
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Address.
    #[arg(long)]
    pub(crate) address: Option<String>,
    /// Unified social credit code (统一社会信用代码).
    #[arg(long)]
    pub(crate) credit_code: Option<String>,
    /// Annual business value in yuan.
    #[arg(long)]
    pub(crate) annual_value: Option<String>,
    /// Owner (user name or ID).
    #[arg(long)]
    pub(crate) owner: Option<String>,
    /// Team.
    #[arg(long)]
    pub(crate) team: Option<String>,
}

/// `customer ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum CustomerCmd {
    /// Create a customer file.
    Add {
        /// Company name.
        name: String,
        #[command(flatten)]
        fields: CustomerFields,
    },
    /// List customers (from the index; loads no document).
    List(CustomerListArgs),
    /// Show one customer file.
    Show {
        /// Customer (ID prefix or exact name).
        customer: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change fields of a customer file.
    Edit {
        /// Customer (ID prefix or exact name).
        customer: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: CustomerFields,
    },
    /// Approve a class that does not meet the criteria (managers).
    ClassException {
        /// Customer.
        customer: String,
        /// Reason.
        #[arg(long)]
        note: Option<String>,
    },
    /// Fold a duplicate customer file into another (managers).
    Merge(crate::merge::MergeArgs),
    /// Import customers from a CSV file (all or nothing).
    Import(crate::import::ImportArgs),
}

/// `contact ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ContactCmd {
    /// Add a contact to a customer.
    Add {
        /// Customer.
        customer: String,
        /// Contact name.
        name: String,
        /// Phone.
        #[arg(long)]
        phone: Option<String>,
        /// Email.
        #[arg(long)]
        email: Option<String>,
        /// Job title.
        #[arg(long)]
        title: Option<String>,
    },
}

/// `interaction ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum InteractionCmd {
    /// Log a visit, call, email or meeting.
    Log {
        /// Customer.
        customer: String,
        /// visit (拜访), call (电话), email (邮件), meeting (会议).
        #[arg(long)]
        kind: String,
        /// What was discussed.
        #[arg(long)]
        summary: String,
        /// When it happened (default now).
        #[arg(long)]
        at: Option<String>,
        /// Contact (ID prefix).
        #[arg(long)]
        contact: Option<String>,
    },
}

/// `complaint ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ComplaintCmd {
    /// Open a complaint.
    Open {
        /// Customer.
        customer: String,
        /// What the customer complained about.
        #[arg(long)]
        summary: String,
        /// normal (一般) or major (重点).
        #[arg(long, default_value = "normal")]
        severity: String,
        /// When it was received (default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Record the first response.
    Respond {
        /// Customer.
        customer: String,
        /// Complaint (ID prefix).
        complaint: String,
        /// Response.
        #[arg(long)]
        text: String,
        /// When (default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Report to a manager.
    Escalate {
        /// Customer.
        customer: String,
        /// Complaint.
        complaint: String,
        /// The manager (name or ID).
        #[arg(long)]
        to: String,
    },
    /// Record the investigation (major complaints).
    Investigate {
        /// Customer.
        customer: String,
        /// Complaint.
        complaint: String,
        /// Departments involved, comma separated.
        #[arg(long, value_delimiter = ',')]
        departments: Vec<String>,
        /// Findings.
        #[arg(long)]
        findings: String,
    },
    /// Resolve and close.
    Resolve {
        /// Customer.
        customer: String,
        /// Complaint.
        complaint: String,
        /// Resolution.
        #[arg(long)]
        text: String,
    },
}

/// `survey ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum SurveyCmd {
    /// Record a satisfaction survey.
    Record {
        /// Customer.
        customer: String,
        /// Score 1-5.
        #[arg(long)]
        score: String,
        /// Comment.
        #[arg(long)]
        comment: Option<String>,
        /// When (default now).
        #[arg(long)]
        at: Option<String>,
    },
}

/// `plan ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum PlanCmd {
    /// Set the development plan.
    Set {
        /// Customer.
        customer: String,
        /// The plan.
        #[arg(long)]
        text: String,
        /// Next review date.
        #[arg(long)]
        review: String,
    },
}

/// `opportunity ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum OpportunityCmd {
    /// Add an opportunity.
    Add {
        /// Customer.
        customer: String,
        /// Title.
        title: String,
        /// Expected amount, yuan.
        #[arg(long)]
        amount: String,
        /// Stage: lead, qualified, proposal, negotiation, won, lost.
        #[arg(long, default_value = "lead")]
        stage: String,
    },
    /// Update stage or amount (records activity).
    Update {
        /// Customer.
        customer: String,
        /// Opportunity (ID prefix).
        opportunity: String,
        /// New stage.
        #[arg(long)]
        stage: Option<String>,
        /// New amount, yuan.
        #[arg(long)]
        amount: Option<String>,
    },
}

/// `quote ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum QuoteCmd {
    /// Add a quote.
    Add {
        /// Customer.
        customer: String,
        /// Product SKU or name.
        #[arg(long)]
        product: String,
        /// Unit price, yuan.
        #[arg(long)]
        price: String,
        /// Quantity.
        #[arg(long, default_value = "1")]
        quantity: String,
    },
    /// Approve a quote's discount (managers).
    Approve {
        /// Customer.
        customer: String,
        /// Quote (ID prefix).
        quote: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
    },
}

/// `contract ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ContractCmd {
    /// Draft a contract.
    Add {
        /// Customer.
        customer: String,
        /// Title.
        title: String,
        /// Amount, yuan.
        #[arg(long)]
        amount: String,
    },
    /// Legal review (legal role).
    Review {
        /// Customer.
        customer: String,
        /// Contract (ID prefix).
        contract: String,
        /// passed (通过) or failed (不通过).
        #[arg(long)]
        result: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
    },
    /// Record signing.
    Sign {
        /// Customer.
        customer: String,
        /// Contract.
        contract: String,
        /// When signed (default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Record the archive reference.
    Archive {
        /// Customer.
        customer: String,
        /// Contract.
        contract: String,
        /// Archive reference (档案号).
        #[arg(long = "ref")]
        reference: String,
    },
}

/// `order ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum OrderCmd {
    /// Add an order.
    Add {
        /// Customer.
        customer: String,
        /// Product SKU or name.
        #[arg(long)]
        product: String,
        /// Quantity.
        #[arg(long)]
        quantity: String,
        /// Unit price, yuan (default list price).
        #[arg(long)]
        price: Option<String>,
        /// Promised delivery date.
        #[arg(long)]
        promised: String,
        /// Channel partner it is sold through.
        #[arg(long)]
        channel: Option<String>,
    },
    /// Record delivery.
    Deliver {
        /// Customer.
        customer: String,
        /// Order (ID prefix).
        order: String,
        /// When delivered (default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Approve an order's discount (managers).
    Approve {
        /// Customer.
        customer: String,
        /// Order.
        order: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
    },
}

/// `gift ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum GiftCmd {
    /// Record a gift, hospitality or payment.
    Record {
        /// Customer.
        customer: String,
        /// gift (礼品), hospitality (招待), payment (款项).
        #[arg(long, default_value = "gift")]
        kind: String,
        /// given (赠送) or received (收受).
        #[arg(long, default_value = "given")]
        direction: String,
        /// What.
        #[arg(long)]
        description: String,
        /// Value, yuan.
        #[arg(long)]
        value: String,
        /// Declared to the company.
        #[arg(long)]
        declared: bool,
        /// When (default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Approve (managers).
    Approve {
        /// Customer.
        customer: String,
        /// Gift (ID prefix).
        gift: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
    },
}

/// `channel ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ChannelCmd {
    /// Fold a duplicate channel record into another.
    Merge(crate::merge::MergeArgs),
    /// Import channels from a CSV file (all or nothing).
    Import(crate::import::ImportArgs),
    /// Add a channel partner.
    Add {
        /// Name.
        name: String,
        /// distributor (分销商), agent (代理商), dealer (经销商), retailer (零售商).
        #[arg(long)]
        kind: String,
        /// Region.
        #[arg(long)]
        region: Option<String>,
        /// Product lines, comma separated.
        #[arg(long, value_delimiter = ',')]
        lines: Vec<String>,
        /// Owning channel manager.
        #[arg(long)]
        owner: Option<String>,
    },
    /// List channels.
    List {
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
        /// Include merged-away records.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one channel.
    Show {
        /// Channel.
        channel: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Qualification review (channel managers).
    Review {
        /// Channel.
        channel: String,
        /// passed or failed.
        #[arg(long)]
        result: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
    },
    /// Risk assessment (channel managers).
    AssessRisk {
        /// Channel.
        channel: String,
        /// low, medium, high.
        #[arg(long)]
        level: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
    },
    /// Record the cooperation agreement.
    Agreement {
        /// Channel.
        channel: String,
        /// Rights (权益).
        #[arg(long)]
        rights: String,
        /// Responsibilities (责任).
        #[arg(long)]
        responsibilities: String,
        /// Cooperation plan.
        #[arg(long)]
        plan: String,
        /// Term start.
        #[arg(long)]
        from: String,
        /// Term end.
        #[arg(long)]
        to: String,
        /// Authorised products / lines, comma separated (default: all its lines).
        #[arg(long, value_delimiter = ',')]
        products: Vec<String>,
        /// Signed now.
        #[arg(long)]
        signed: bool,
    },
    /// Activate (channel managers).
    Activate {
        /// Channel.
        channel: String,
    },
    /// Suspend.
    Suspend {
        /// Channel.
        channel: String,
    },
    /// Terminate.
    Terminate {
        /// Channel.
        channel: String,
    },
    /// Grant a territory.
    Territory {
        /// Channel.
        channel: String,
        /// Region.
        #[arg(long)]
        region: String,
        /// Product line.
        #[arg(long)]
        line: String,
        /// Start.
        #[arg(long)]
        from: String,
        /// End.
        #[arg(long)]
        to: String,
        /// Not exclusive.
        #[arg(long)]
        non_exclusive: bool,
    },
    /// Record a communication or meeting.
    Communicate {
        /// Channel.
        channel: String,
        /// Summary.
        #[arg(long)]
        summary: String,
        /// When (default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Record a training.
    Train {
        /// Channel.
        channel: String,
        /// Topic.
        #[arg(long)]
        topic: String,
        /// When (default now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Record a performance assessment.
    Assess {
        /// Channel.
        channel: String,
        /// Period, e.g. 2026-Q3.
        #[arg(long)]
        period: String,
        /// Score 0-100.
        #[arg(long)]
        score: String,
        /// Remark.
        #[arg(long)]
        note: Option<String>,
    },
    /// Record a selling price the partner reported.
    PriceReport {
        /// Channel.
        channel: String,
        /// Product SKU or name.
        #[arg(long)]
        product: String,
        /// Price, yuan.
        #[arg(long)]
        price: String,
        /// When observed (default now).
        #[arg(long)]
        at: Option<String>,
    },
}

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
