//! The customer file and the sales process: customers, contacts, interactions, complaints, surveys, plans, opportunities, quotes, contracts, orders, gifts.

use clap::{Args, Subcommand};

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
    /// Remove a record made by mistake from a customer file (contact, interaction,
    /// survey, opportunity, quote; complaints, contracts, orders and gifts need a
    /// manager). It leaves lists and rules but stays in the history;
    /// `restore-record` brings it back.
    RemoveRecord {
        /// Customer.
        customer: String,
        /// Kind of record: contact, interaction, complaint, survey, opportunity, quote,
        /// contract, order, gift (or 联系人, 互动, 投诉, 满意度调查, 商机, 报价, 合同, 订单, 礼品).
        kind: String,
        /// The record (ID prefix).
        record: String,
        /// Why.
        #[arg(long = "text", alias = "reason", value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Put a removed record back (managers, admins).
    RestoreRecord {
        /// Customer.
        customer: String,
        /// Kind of record (as for remove-record).
        kind: String,
        /// The record (ID prefix).
        record: String,
    },
    /// Approve a class that does not meet the criteria (managers).
    ClassException {
        /// Customer.
        customer: String,
        /// Reason.
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
        note: Option<String>,
    },
    /// Archive a file made by mistake or no longer needed: out of lists and rules, kept
    /// with its history (managers, admins). `restore` brings it back.
    Archive {
        /// Customer.
        customer: String,
        /// Why.
        #[arg(long = "text", aliases = ["reason", "note"], value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Restore an archived customer file (managers, admins).
    Restore {
        /// Customer.
        customer: String,
    },
    /// Fold a duplicate customer file into another (managers).
    Merge(crate::merge::MergeArgs),
    /// Import customers from a CSV or Excel (.xlsx) file (all or nothing).
    #[command(after_help = super::IMPORT_EXAMPLES)]
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
    /// Correct a contact: only the options given change (an empty value clears the
    /// phone, email or title).
    Edit {
        /// Customer.
        customer: String,
        /// Contact (ID prefix).
        contact: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New phone.
        #[arg(long)]
        phone: Option<String>,
        /// New email.
        #[arg(long)]
        email: Option<String>,
        /// New job title.
        #[arg(long)]
        title: Option<String>,
    },
    /// Remove a contact entered by mistake (same as `customer remove-record CUSTOMER
    /// contact ID`).
    Remove(RecordRemoval),
    /// Put a removed contact back (managers, admins).
    Restore(RecordRef),
}

/// A record of a customer file to remove, and why.
#[derive(Args, Debug)]
pub(crate) struct RecordRemoval {
    /// Customer.
    pub(crate) customer: String,
    /// The record (ID prefix).
    pub(crate) record: String,
    /// Why.
    #[arg(long = "text", alias = "reason", value_name = "TEXT")]
    pub(crate) reason: Option<String>,
}

/// A record of a customer file.
#[derive(Args, Debug)]
pub(crate) struct RecordRef {
    /// Customer.
    pub(crate) customer: String,
    /// The record (ID prefix).
    pub(crate) record: String,
}

/// A quote or order to cancel, and why.
#[derive(Args, Debug)]
pub(crate) struct Cancellation {
    /// Customer.
    pub(crate) customer: String,
    /// The quote or order (ID prefix).
    pub(crate) record: String,
    /// Why.
    #[arg(long = "text", alias = "reason", value_name = "TEXT")]
    pub(crate) reason: Option<String>,
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
        #[arg(long = "text", alias = "summary", value_name = "TEXT")]
        summary: String,
        /// When it happened (default now).
        #[arg(long)]
        at: Option<String>,
        /// Contact (ID prefix).
        #[arg(long)]
        contact: Option<String>,
    },
    /// Correct an interaction: only the options given change.
    Edit {
        /// Customer.
        customer: String,
        /// Interaction (ID prefix).
        interaction: String,
        /// visit (拜访), call (电话), email (邮件), meeting (会议).
        #[arg(long)]
        kind: Option<String>,
        /// What was discussed.
        #[arg(long)]
        summary: Option<String>,
        /// When it happened.
        #[arg(long)]
        at: Option<String>,
        /// Contact (ID prefix; empty for none).
        #[arg(long)]
        contact: Option<String>,
    },
    /// Remove an interaction entered by mistake (same as `customer remove-record
    /// CUSTOMER interaction ID`).
    Remove(RecordRemoval),
    /// Put a removed interaction back (managers, admins).
    Restore(RecordRef),
}

/// `complaint ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum ComplaintCmd {
    /// Open a complaint.
    Open {
        /// Customer.
        customer: String,
        /// What the customer complained about.
        #[arg(long = "text", alias = "summary", value_name = "TEXT")]
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
        #[arg(long = "text", alias = "findings", value_name = "TEXT")]
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
        #[arg(long = "text", alias = "comment", value_name = "TEXT")]
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
    /// Change a quote's unit price or quantity (an approval given before no longer
    /// covers it and must be given again).
    Edit {
        /// Customer.
        customer: String,
        /// Quote (ID prefix).
        quote: String,
        /// New unit price, yuan.
        #[arg(long)]
        price: Option<String>,
        /// New quantity.
        #[arg(long)]
        quantity: Option<String>,
    },
    /// Cancel a quote: it needs no approval any more and leaves the inbox (reps: their
    /// own quotes not yet approved; managers, admins: any).
    Cancel(Cancellation),
    /// Approve a quote's discount (managers).
    Approve {
        /// Customer.
        customer: String,
        /// Quote (ID prefix).
        quote: String,
        /// Remark.
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
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
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
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
    /// Change an order's unit price or quantity (an approval given before no longer
    /// covers it and must be given again).
    Edit {
        /// Customer.
        customer: String,
        /// Order (ID prefix).
        order: String,
        /// New unit price, yuan.
        #[arg(long)]
        price: Option<String>,
        /// New quantity.
        #[arg(long)]
        quantity: Option<String>,
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
    /// Cancel an order that is not delivered (reps: their own orders not yet approved;
    /// managers, admins: any).
    Cancel(Cancellation),
    /// Approve an order's discount (managers).
    Approve {
        /// Customer.
        customer: String,
        /// Order.
        order: String,
        /// Remark.
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
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
        #[arg(long = "text", alias = "description", value_name = "TEXT")]
        description: String,
        /// Value, yuan.
        #[arg(long = "amount", alias = "value", value_name = "AMOUNT")]
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
        #[arg(long = "text", alias = "note", value_name = "TEXT")]
        note: Option<String>,
    },
}
