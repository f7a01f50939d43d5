//! Channel partners.

use clap::Subcommand;

/// `channel ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ChannelCmd {
    /// Fold a duplicate channel record into another.
    Merge(crate::merge::MergeArgs),
    /// Import channels from a CSV or Excel (.xlsx) file (all or nothing).
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
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
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
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
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
    /// Archive a file made by mistake or no longer needed: out of lists and rules, kept
    /// with its history (managers, admins). `restore` brings it back.
    Archive {
        /// Channel.
        channel: String,
        /// Why.
        #[arg(long = "text", aliases = ["reason", "note"], value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Restore an archived channel record (managers, admins).
    Restore {
        /// Channel.
        channel: String,
    },
    /// Remove a record made by mistake (channel managers, managers, admins): out of lists
    /// and rules, kept in the record's history; `restore-record` brings it back.
    RemoveRecord {
        /// Channel.
        channel: String,
        /// Kind of record: territory, communication, training, assessment, price report
        /// (or 区域, 沟通, 培训, 评估, 价格报告).
        kind: String,
        /// The record (ID prefix).
        record: String,
        /// Why.
        #[arg(long = "text", alias = "reason", value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Put a removed record back (channel managers, managers, admins).
    RestoreRecord {
        /// Channel.
        channel: String,
        /// Kind of record (as for remove-record).
        kind: String,
        /// The record (ID prefix).
        record: String,
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
        #[arg(long = "text", alias = "summary", value_name = "TEXT")]
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
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
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
