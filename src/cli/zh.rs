//! Chinese help: the one table of every command's Chinese description, applied to the
//! clap `Command` at run time when the language is Chinese (`--lang zh`, or a zh_* locale).
//! A test walks the command tree so a new command cannot go without its Chinese line.

use clap::{Arg, ArgAction, Command};
use fieldcrm_model::Lang;

/// Command path (space separated, "" for `fieldcrm` itself) → Chinese description.
pub(crate) const ABOUT_ZH: &[(&str, &str)] = &[
    ("", "fieldcrm：面向外勤销售与渠道伙伴的离线优先 CRM。"),
    (
        "demo",
        "在临时目录的本机回环上演示完整流程：中继、一位经理和两位离线销售、同步、检查结果、修正、结果清零。",
    ),
    ("app", "打开外勤应用：本工作区的本地网页应用（仅限本机）。"),
    ("init", "新建工作区，你是第一位用户。"),
    (
        "join",
        "加入工作区：凭邀请（`--invite 邀请码 --relay 地址`，或邀请链接），或准备本设备待管理员登记其密钥。",
    ),
    (
        "invite",
        "邀请某人的设备（管理员）：一次性邀请码、链接与二维码，由办公室中继保管至使用或过期。",
    ),
    (
        "serve",
        "监听并与对等设备直接同步（iroh）；打印可分享的票据。",
    ),
    (
        "sync",
        "立即同步：与办公室中继（地址或已保存的远端，默认远端 `office`）或与对等设备（`fieldcrm serve` 打印的票据）。",
    ),
    (
        "remote",
        "已保存的中继（`fieldcrm remote add office ws://主机:端口`）。",
    ),
    (
        "remote add",
        "以名称保存中继地址（`fieldcrm sync` 默认使用 `office`）。",
    ),
    ("remote list", "列出已保存的远端。"),
    ("remote remove", "删除一个远端。"),
    ("whoami", "显示本设备、用户与工作区。"),
    (
        "office-login",
        "办公室中继控制台的登录链接（管理员与经理）：5 分钟内在浏览器中打开，仅可用一次。",
    ),
    (
        "today",
        "我的今日：待联系客户、重要客户拜访、待交付、待审批事项、我的待处理问题——即应用的“今日”页。",
    ),
    (
        "inbox",
        "等待我审批的事项：超出权限的折扣、礼品、待法务审核的合同——即应用的审批页。",
    ),
    (
        "completions",
        "打印命令行补全脚本（bash、zsh、fish、powershell、elvish）。",
    ),
    ("man", "打印 `man` 用的手册页（roff）。"),
    ("customer", "客户档案。"),
    ("customer add", "新建客户档案。"),
    ("customer list", "列出客户（读取索引，不加载文档）。"),
    ("customer show", "显示一份客户档案。"),
    ("customer edit", "修改客户档案的字段。"),
    (
        "customer remove-record",
        "从客户档案中删除误建的记录（联系人、互动、回访、商机、报价、合同、订单、礼品）。",
    ),
    (
        "customer restore-record",
        "恢复已删除的记录（经理、管理员）。",
    ),
    (
        "customer class-exception",
        "批准不符合标准的客户分类（经理）。",
    ),
    (
        "customer archive",
        "归档误建或不再需要的档案：移出列表与规则检查，保留其历史（经理、管理员）。",
    ),
    ("customer restore", "恢复已归档的客户档案（经理、管理员）。"),
    ("customer merge", "将重复的客户档案并入另一份（经理）。"),
    (
        "customer import",
        "从 CSV 或 Excel（.xlsx）文件导入客户（全部成功或全部不导入）。",
    ),
    ("contact", "客户的联系人。"),
    ("contact add", "为客户添加联系人。"),
    (
        "contact edit",
        "修改联系人（只改给出的字段；清空可选字段用空值）。",
    ),
    (
        "contact remove",
        "删除误建的联系人（保留在档案历史中，经理可恢复）。",
    ),
    ("contact restore", "恢复已删除的联系人（经理、管理员）。"),
    ("interaction", "拜访、电话、邮件与会议。"),
    ("interaction log", "记录一次拜访、电话、邮件或会议。"),
    ("interaction edit", "修改一条拜访、电话、邮件或会议记录。"),
    (
        "interaction remove",
        "删除误记的互动记录（保留在档案历史中，经理可恢复）。",
    ),
    (
        "interaction restore",
        "恢复已删除的互动记录（经理、管理员）。",
    ),
    ("complaint", "投诉。"),
    ("complaint open", "登记投诉。"),
    ("complaint respond", "记录首次响应。"),
    ("complaint escalate", "上报经理。"),
    ("complaint investigate", "记录调查（重点投诉）。"),
    ("complaint resolve", "解决并结案。"),
    ("survey", "满意度回访。"),
    ("survey record", "记录一次满意度回访。"),
    ("plan", "客户开发计划。"),
    ("plan set", "制定开发计划。"),
    ("opportunity", "销售商机。"),
    ("opportunity add", "新增商机。"),
    ("opportunity update", "更新阶段或金额（计入活动）。"),
    ("quote", "报价。"),
    ("quote add", "新增报价。"),
    (
        "quote edit",
        "修改报价的单价或数量（此前的审批不再覆盖，需重新审批）。",
    ),
    ("quote approve", "批准报价折扣（经理）。"),
    (
        "quote cancel",
        "取消报价（你自己未批准的报价；经理、管理员：任何报价），注明原因。",
    ),
    ("contract", "合同。"),
    ("contract add", "起草合同。"),
    ("contract review", "法务审核（法务角色）。"),
    ("contract sign", "记录签署。"),
    ("contract archive", "记录归档编号。"),
    ("order", "订单。"),
    ("order add", "新增订单。"),
    (
        "order edit",
        "修改订单的单价或数量（此前的审批不再覆盖，需重新审批）。",
    ),
    ("order deliver", "记录交付。"),
    ("order approve", "批准订单折扣（经理）。"),
    (
        "order cancel",
        "取消未交付的订单（你自己未批准的订单；经理、管理员：任何未交付订单），注明原因。",
    ),
    ("gift", "礼品、招待与款项。"),
    ("gift record", "记录礼品、招待或款项。"),
    ("gift approve", "批准（经理）。"),
    ("channel", "渠道伙伴。"),
    ("channel merge", "将重复的渠道记录并入另一份。"),
    (
        "channel import",
        "从 CSV 或 Excel（.xlsx）文件导入渠道（全部成功或全部不导入）。",
    ),
    ("channel add", "新增渠道伙伴。"),
    ("channel list", "列出渠道。"),
    ("channel show", "显示一个渠道。"),
    ("channel review", "资质审核（渠道经理）。"),
    ("channel assess-risk", "风险评估（渠道经理）。"),
    ("channel agreement", "记录合作协议。"),
    ("channel activate", "启用（渠道经理）。"),
    (
        "channel archive",
        "归档误建或不再需要的记录：移出列表与规则检查，保留其历史（经理、管理员）。",
    ),
    ("channel restore", "恢复已归档的渠道记录（经理、管理员）。"),
    (
        "channel remove-record",
        "删除误建的记录（渠道经理、经理、管理员）：移出列表与规则检查。",
    ),
    (
        "channel restore-record",
        "恢复已删除的记录（渠道经理、经理、管理员）。",
    ),
    ("channel suspend", "暂停合作。"),
    ("channel terminate", "终止合作。"),
    ("channel territory", "授予区域。"),
    ("channel communicate", "记录一次沟通或会议。"),
    ("channel train", "记录一次培训。"),
    ("channel assess", "记录业绩评估。"),
    ("channel price-report", "记录渠道伙伴报告的售价。"),
    ("catalog", "产品。"),
    ("catalog add", "新增或更新产品（经理）。"),
    ("catalog list", "列出产品。"),
    ("price-policy", "各角色的折扣权限。"),
    ("price-policy show", "显示折扣权限。"),
    (
        "price-policy set",
        "设置某角色的折扣权限，例如 `--role rep --allowance 10%`。",
    ),
    ("user", "用户（管理员）。"),
    ("user add", "新增用户（管理员）。"),
    ("user list", "列出用户。"),
    ("user set", "修改用户（管理员）。"),
    ("device", "设备（管理员）。"),
    ("device add", "为用户登记设备密钥（管理员）。"),
    ("device list", "列出设备。"),
    ("device revoke", "吊销设备（管理员）。"),
    ("target", "销售目标。"),
    ("target set", "设定目标（经理）。"),
    ("target list", "列出目标。"),
    (
        "target remove",
        "删除录错的目标（经理、管理员），注明原因；可恢复。",
    ),
    ("target restore", "恢复已删除的目标（经理、管理员）。"),
    ("report", "销售报表。"),
    ("report submit", "提交你的销售报告。"),
    ("report list", "列出报告。"),
    (
        "report remove",
        "删除误交的销售报告（本人提交后 7 天内；经理、管理员：任何报告）；可恢复。",
    ),
    ("report restore", "恢复已删除的销售报告（经理、管理员）。"),
    (
        "report targets",
        "目标与实际：按销售或团队、按周期（即应用的报表页）。",
    ),
    ("report pipeline", "按阶段的未结商机：数量与金额。"),
    ("report activity", "近 8 周每位销售每周的拜访与联系。"),
    ("report complaints", "处理中与已结案的投诉。"),
    ("config", "工作区设置。"),
    ("config timezone", "设置显示时区，例如 Asia/Shanghai。"),
    (
        "check",
        "在合并后的状态上检查公司规则：列出待处理问题及其键与状态（有未处理的违规时退出码为 1）。",
    ),
    (
        "finding",
        "按键处理规则检查结果（`fieldcrm check` 的 key 行）：确认、豁免至某日、重新打开。",
    ),
    (
        "finding ack",
        "附备注确认一条结果（可写其文档者均可）。它仍为待处理，`check` 仍会列出并计入退出码。",
    ),
    (
        "finding waive",
        "豁免一条结果至某日并说明理由（经理与管理员；渠道记录为渠道经理）。",
    ),
    (
        "finding reopen",
        "撤销一条结果的确认或豁免（撤销豁免需要豁免权限）。",
    ),
    ("policy", "规则配置（阈值、严重程度）。"),
    (
        "policy show",
        "以 TOML 显示生效的配置（默认值加本工作区的覆盖）。",
    ),
    (
        "policy set",
        "覆盖某规则的严重程度或参数（经理、管理员）；同步到每台设备。",
    ),
    ("doc", "查看文档：列表、内容、历史、差异。"),
    (
        "doc list",
        "列出本设备上的所有文档（客户、渠道、工作区文档）。",
    ),
    ("doc show", "显示文档的字段（当前，或某日期、某变更时）。"),
    ("doc history", "列出文档的变更：时间、设备、用户与摘要。"),
    ("doc diff", "显示两个时点（日期或变更哈希）之间改动的字段。"),
    (
        "doc stats",
        "本设备存储的大小：文件与每张表（文档、变更、索引、快照缓存）。",
    ),
    (
        "conflicts",
        "列出所有存在并发取值的字段（各由谁、何时设置）。",
    ),
    (
        "resolve",
        "裁定字段的并发取值（`fieldcrm conflicts` 列出它们）。",
    ),
    ("bundle", "通过文件同步：签名的离线包。"),
    (
        "bundle export",
        "写出本设备文档的签名离线包文件（用于 U 盘或邮件）。",
    ),
    (
        "bundle import",
        "应用离线包文件（全部成功或全部不应用；重复导入不改变任何内容）。",
    ),
    (
        "merge-forward",
        "把对已被合并档案所做的修改转到保留的档案上（同步与导入后自动运行）。",
    ),
    ("export", "将客户或渠道导出为 CSV、JSON 或 Excel（.xlsx）。"),
];

/// Global option → Chinese help.
const GLOBAL_ZH: &[(&str, &str)] = &[
    (
        "home",
        "工作区目录（默认：$FIELDCRM_HOME，否则为系统数据目录）。",
    ),
    ("tz", "显示时区（默认：工作区设置，Asia/Shanghai）。"),
    (
        "color",
        "输出颜色：auto（仅在终端且未设置 NO_COLOR 时）、always、never。",
    ),
    (
        "quiet",
        "只输出脚本需要的内容：保存类命令只输出所建或所改对象的完整 ID。",
    ),
    (
        "verbose",
        "在标准错误上输出更多细节：各步骤耗时，导入时逐条文档。",
    ),
    (
        "json",
        "保存类命令以 JSON 输出所建或所改的对象：{\"kind\",\"id\",\"short\"}；其他命令输出其 JSON 形式。",
    ),
    (
        "lang",
        "帮助与消息的语言：zh 或 en（默认：zh_* 语言环境为 zh，否则 en）。",
    ),
];

/// The help layout clap uses, with the Chinese heading 用法 for its English `Usage:`.
const TEMPLATE_ZH: &str =
    "{before-help}{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}";

/// What clap's own `help` subcommand says, in Chinese.
const HELP_SUBCOMMAND_ZH: &str = "显示本帮助或给定子命令的帮助";

/// The language asked for on the command line (`--lang zh`, `--lang=en`), else the
/// locale's.
pub(crate) fn lang_of_args(args: &[std::ffi::OsString]) -> Lang {
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = match a.strip_prefix("--lang") {
            Some("") => it.next(),
            Some(v) => v.strip_prefix('='),
            None => None,
        };
        if let Some(l) = value.and_then(Lang::parse) {
            return l;
        }
    }
    crate::render::lang_from_env()
}

/// The Chinese description of a command path, if the table has one.
pub(crate) fn about_zh(path: &str) -> Option<&'static str> {
    ABOUT_ZH.iter().find(|(p, _)| *p == path).map(|(_, zh)| *zh)
}

/// `cmd` with its help in `lang`: for Chinese, every command's description from the table
/// (the English one kept after it in `--help`), the global options' help, and clap's own
/// headings (用法, 命令, 参数, 选项), help and version flags and `help` subcommand.
pub(crate) fn localize(cmd: Command, lang: Lang) -> Command {
    if lang != Lang::Zh {
        return cmd;
    }
    let mut cmd = localize_at(cmd, "");
    for (id, zh) in GLOBAL_ZH {
        if cmd.get_arguments().any(|a| a.get_id() == *id) {
            cmd = cmd.mut_arg(*id, |a| a.help(*zh));
        }
    }
    if cmd.get_version().is_some() {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("显示版本")
                .help_heading("选项")
                .display_order(usize::MAX),
        );
    }
    // clap adds its `help` subcommands while building: build now, then say them in Chinese.
    cmd.build();
    help_subcommands_zh(cmd)
}

/// Chinese headings and help flag for one command (clap's `Usage:`, `Commands:`,
/// `Arguments:`, `Options:`, `Print help`).
fn headings_zh(cmd: Command) -> Command {
    cmd.help_template(TEMPLATE_ZH)
        .subcommand_help_heading("命令")
        .mut_args(|a| match a.get_help_heading() {
            Some(_) => a,
            None if a.is_positional() => a.help_heading("参数"),
            None => a.help_heading("选项"),
        })
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("显示帮助（用 '--help' 查看更多）")
                .long_help("显示帮助（用 '-h' 查看摘要）")
                .help_heading("选项")
                .display_order(usize::MAX - 1),
        )
}

/// The `help` subcommands clap added (one under every command with subcommands), in
/// Chinese.
fn help_subcommands_zh(cmd: Command) -> Command {
    cmd.mut_subcommands(|sub| {
        if sub.get_name() == "help" {
            sub.about(HELP_SUBCOMMAND_ZH)
                .help_template(TEMPLATE_ZH)
                .subcommand_help_heading("命令")
                .mut_args(|a| {
                    a.help("要显示帮助的子命令")
                        .help_heading("参数")
                        .value_name("命令")
                })
        } else {
            help_subcommands_zh(sub)
        }
    })
}

fn localize_at(mut cmd: Command, path: &str) -> Command {
    cmd = headings_zh(cmd);
    if let Some(after) = cmd.get_after_help().map(|h| h.to_string())
        && let Some(examples) = after.strip_prefix("Examples 示例:")
    {
        cmd = cmd.after_help(format!("示例：{examples}"));
    }
    if let Some(zh) = about_zh(path) {
        let en = cmd
            .get_long_about()
            .or(cmd.get_about())
            .map(|s| s.to_string());
        cmd = cmd.about(zh);
        if let Some(en) = en {
            cmd = cmd.long_about(format!("{zh}\n\n{en}"));
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |s| localize_at(s, &sub));
    }
    cmd
}

/// Every command path of the tree, "" for the root.
#[cfg(test)]
pub(crate) fn paths(cmd: &Command) -> Vec<String> {
    fn walk(cmd: &Command, path: &str, out: &mut Vec<String>) {
        out.push(path.to_string());
        for s in cmd.get_subcommands() {
            let p = if path.is_empty() {
                s.get_name().to_string()
            } else {
                format!("{path} {}", s.get_name())
            };
            walk(s, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(cmd, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_has_a_chinese_description_and_the_table_no_stale_line() {
        let paths = paths(&crate::cli::Cli::command());
        let missing: Vec<&String> = paths.iter().filter(|p| about_zh(p).is_none()).collect();
        assert!(
            missing.is_empty(),
            "no Chinese description for: {missing:?}"
        );
        let stale: Vec<&str> = ABOUT_ZH
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| !paths.iter().any(|q| q == p))
            .collect();
        assert!(stale.is_empty(), "table lines for no command: {stale:?}");
        for (p, zh) in ABOUT_ZH {
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{p}: not Chinese"
            );
        }
    }

    #[test]
    fn the_language_comes_from_the_flag_first() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(lang_of_args(&args(&["fieldcrm", "--lang", "zh"])), Lang::Zh);
        assert_eq!(
            lang_of_args(&args(&["fieldcrm", "--lang=en", "x"])),
            Lang::En
        );
    }
}
