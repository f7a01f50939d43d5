//! The README's main job: `fieldcrm demo` tells the whole story and ends with the
//! findings cleared (it exits non-zero otherwise).

use std::process::Command;

#[test]
fn the_demo_runs_and_clears_its_findings() {
    let out = Command::new(env!("CARGO_BIN_EXE_fieldcrm"))
        .arg("demo")
        .env_remove("FIELDCRM_HOME")
        .output()
        .expect("run fieldcrm demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        stdout.contains("客户档案重复"),
        "Chinese findings are shown"
    );
    assert!(
        !stdout.contains('\x1b'),
        "output to a pipe has no colour escapes"
    );
}
