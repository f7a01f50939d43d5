//! `fieldcrm`: the command-line client. Parsing and printing only; the work is done by
//! the `fieldcrm-workspace` crate. The wall clock is read here, once, and passed in.

mod app;
mod bundle;
mod cli;
mod cmd;
mod demo;
mod demo_app;
mod import;
mod inspect;
mod invite;
mod merge;
mod peer;
mod progress;
mod remote;
mod render;

use clap::{CommandFactory, FromArgMatches};

/// mimalloc: the CLI's heavy paths (loading documents, decoding policy snapshots, the
/// rule engine) make millions of small allocations; the system allocator spent a quarter
/// of `check` at 100,000 customers in `malloc`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // mimalloc asks for transparent huge pages: a 2 MiB page is zeroed and counted whole
    // the first time any byte of it is touched. Bulk commands gain from them (an import of
    // 100,000 customers is 15% faster); a short command only pays (a customer list of
    // 100,000 holds 59 MB with them, 40 MB without; parsing the arguments alone touched a
    // fresh one). Off from the start, back on for a bulk command once it is known. Failing
    // to ask changes nothing.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    // Help in the language of `--lang` or the locale (`cli/zh.rs`), then the same parse.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let lang = cli::zh::lang_of_args(&args);
    // Messages follow it from here on (the parsed `--lang` sets it again, the same).
    render::set_lang(lang);
    // The command line is read by the commands as defined; only what clap prints (help,
    // version, a usage error) comes from the localized ones, which accept exactly the
    // same arguments. Localizing every command's help first cost every command in a
    // Chinese locale 7 M instructions, 2 ms.
    let matches = match cli::Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(_) => cli::zh::localize(cli::Cli::command(), lang).get_matches_from(&args),
    };
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    #[cfg(target_os = "linux")]
    if cli.command.bulk() {
        let _ = rustix::thread::disable_transparent_huge_pages(false);
    }
    // A reader that went away (`fieldcrm customer list | head -1`) makes `println!` panic
    // on the broken pipe: end quietly instead, as command-line tools do.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(|| cmd::run(cli)) {
        Ok(Ok(code)) => std::process::exit(code),
        // A table written to a reader that went away: the same quiet end.
        Ok(Err(e))
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::exit(0)
        }
        Ok(Err(e)) => {
            report(&e);
            std::process::exit(2);
        }
        Err(payload) if is_broken_pipe(payload.as_ref()) => std::process::exit(0),
        Err(_) => {
            render::say_err!(
                zh: "内部错误：这是 fieldcrm 的缺陷；没有写入一半的数据",
                en: "internal error: this is a bug in fieldcrm; nothing was half written"
            );
            std::process::exit(70);
        }
    }
}

/// Whether a panic is `println!` failing on a closed pipe.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    text.contains("Broken pipe") || text.contains("os error 32")
}

/// The command-line option for an application field: free text is `--text`, money
/// `--amount` (the one vocabulary, README "CLI"); other fields by their own name.
fn flag_of(field: &str) -> String {
    match field {
        "summary" | "comment" | "description" | "note" | "reason" | "findings" | "text" => {
            "text".into()
        }
        "value" => "amount".into(),
        f => f.replace('_', "-"),
    }
}

/// An error's text in the chosen language: the application layer's and the sync layer's
/// own message (the workspace's with the option at fault, `--at: …`), else the error with
/// its context chain.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let lang = render::lang();
    if let Some(w) = e.downcast_ref::<fieldcrm_workspace::Error>() {
        let opt = w.field().map(|f| format!("--{}: ", flag_of(f)));
        format!("{}{}", opt.unwrap_or_default(), w.message(lang))
    } else if let Some(c) = e.downcast_ref::<fieldcrm_connect::Error>() {
        c.message(lang)
    } else {
        format!("{e:#}")
    }
}

/// Print an error for a person, in the chosen language: `错误：` or `error: `, then the
/// application layer's refusal (with the option at fault) or the error with its context
/// chain. Context a command added to an application error ("could not create a workspace
/// in …") comes on a line before it.
fn report(e: &anyhow::Error) {
    let prefix = render::tr("错误：", "error: ");
    let own = match (
        e.downcast_ref::<fieldcrm_workspace::Error>(),
        e.downcast_ref::<fieldcrm_connect::Error>(),
    ) {
        (Some(w), _) => Some(w.message(fieldcrm_model::Lang::En)),
        (None, Some(c)) => Some(c.to_string()),
        (None, None) => None,
    };
    if let Some(own) = own {
        let top = e.to_string();
        if top != own {
            eprintln!("{prefix}{top}");
        }
    }
    eprintln!("{prefix}{}", error_text(e));
}
