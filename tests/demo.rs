//! The README's main job: `fieldcrm demo` tells the whole story and ends with the
//! findings cleared (it exits non-zero otherwise).

use std::process::Command;

/// Run `fieldcrm --lang LANG demo`; its standard output.
fn demo(lang: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fieldcrm"))
        .args(["--lang", lang, "demo"])
        .env_remove("FIELDCRM_HOME")
        .output()
        .expect("run fieldcrm demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains('\x1b'),
        "output to a pipe has no colour escapes"
    );
    stdout
}

#[test]
fn the_demo_runs_and_clears_its_findings() {
    let stdout = demo("en");
    for rule in ["CUST-DUPLICATE", "CUST-CONCURRENT-EDIT", "PRICE-DISCOUNT"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(rule) && l.contains("before:"))
            .unwrap_or_else(|| panic!("no result line for {rule}:\n{stdout}"));
        assert!(
            line.contains("after: 0") && !line.contains("before: 0"),
            "{line}"
        );
    }
    assert!(
        stdout.contains("duplicate customer files") && !stdout.contains("客户档案重复"),
        "the findings are shown in English:\n{stdout}"
    );
    assert!(stdout.contains("The rules, checked on the merged state"));

    // The same story in Chinese: the demo's own lines and every command it runs.
    let stdout = demo("zh");
    for rule in ["CUST-DUPLICATE", "CUST-CONCURRENT-EDIT", "PRICE-DISCOUNT"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(rule) && l.contains("之前："))
            .unwrap_or_else(|| panic!("no result line for {rule}:\n{stdout}"));
        assert!(
            line.contains("之后：0") && !line.contains("之前：0"),
            "{line}"
        );
    }
    assert!(
        stdout.contains("客户档案重复") && !stdout.contains("duplicate customer files"),
        "the findings are shown in Chinese:\n{stdout}"
    );
    assert!(stdout.contains("在合并后的状态上检查规则"));
    assert!(!stdout.contains("before:") && !stdout.contains("synced with"));
}

/// On a terminal the demo's headings are bold; `NO_COLOR` turns that off, as does a pipe
/// (above). The terminal is a pseudo-terminal from util-linux `script`.
#[test]
fn colour_on_a_terminal_and_never_with_no_color() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (util-linux) is needed to give the demo a terminal");
    }
    let on_terminal = |no_color: bool| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qec",
            &format!("{} demo", env!("CARGO_BIN_EXE_fieldcrm")),
            "/dev/null",
        ])
        .env_remove("FIELDCRM_HOME")
        .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().expect("run fieldcrm demo under script");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "demo failed:\n{stdout}");
        stdout
    };
    assert!(
        on_terminal(false).contains("\x1b[1m== "),
        "bold headings on a terminal"
    );
    assert!(
        !on_terminal(true).contains("\x1b[1m"),
        "NO_COLOR: no colour escapes"
    );
}
