//! Offline bundles (`fieldcrm bundle export|import`): two devices of one workspace that
//! never touch a network, a scoped export, idempotent import, and refused bad bundles.

use std::path::PathBuf;

use crate::support::Rep;

/// An admin device and an enrolled rep device (小张) that received the workspace by
/// bundle; 甲公司 is owned by 小张, 总部客户 by the admin.
pub(crate) struct Pair {
    pub(crate) admin: Rep,
    pub(crate) rep: Rep,
    pub(crate) rep_key: String,
}

impl Pair {
    pub(crate) fn new() -> Self {
        let admin = Rep::new();
        admin.ok(&[
            "init",
            "--user",
            "王经理",
            "--role",
            "admin",
            "--team",
            "华东一组",
            "--company",
            "示例科技",
        ]);
        admin.ok(&["user", "add", "小张", "--role", "rep", "--team", "华东一组"]);
        let ws = crate::cli_p2p::workspace_id(&admin);
        let rep = Rep::at(&admin.home.with_file_name("rep-device"));
        rep.ok(&["join", "--workspace", &ws]);
        let rep_key = crate::support::device_key(&rep);
        admin.ok(&["device", "add", &rep_key, "--user", "小张"]);
        admin.ok(&[
            "customer",
            "add",
            "甲公司",
            "--owner",
            "小张",
            "--class",
            "general",
        ]);
        admin.ok(&["customer", "add", "总部客户"]);
        let pair = Pair {
            admin,
            rep,
            rep_key,
        };
        pair.to_rep();
        pair
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.admin.home.with_file_name(name)
    }

    /// Admin → rep: a bundle of what the rep may read.
    pub(crate) fn to_rep(&self) -> String {
        let f = self.file("to-rep.bundle");
        let f = f.to_str().unwrap();
        self.admin
            .ok(&["bundle", "export", "--for", &self.rep_key[..10], "-o", f]);
        self.rep.ok(&["bundle", "import", f])
    }

    /// Rep → admin: everything on the rep's device.
    pub(crate) fn to_admin(&self) -> String {
        let f = self.file("to-admin.bundle");
        let f = f.to_str().unwrap();
        self.rep.ok(&["bundle", "export", "-o", f]);
        self.admin.ok(&["bundle", "import", f])
    }
}

fn names(rep: &Rep) -> Vec<String> {
    let mut v: Vec<String> = rep
        .run(&["customer", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn bundles_carry_scoped_work_both_ways_and_apply_once() {
    let p = Pair::new();
    assert_eq!(
        names(&p.rep),
        vec!["甲公司"],
        "an export --for the rep's device holds only what 小张 may read"
    );
    assert_eq!(p.rep.run(&["whoami", "--json"]).json()["user"], "小张");

    // Importing the same bundle again changes nothing.
    let f = p.file("to-rep.bundle");
    let again = p
        .rep
        .run(&["bundle", "import", f.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(again["changes"], 0);
    assert_eq!(again["updated"].as_array().unwrap().len(), 0);

    // The rep works offline and sends only the changes since this morning.
    let later = "--now=2026-11-29T10:00:00+08:00";
    p.rep.ok(&[
        "contact",
        "add",
        "甲公司",
        "张伟",
        "--phone",
        "13800000001",
        later,
    ]);
    p.rep
        .ok(&["customer", "add", "乙公司", "--class", "potential", later]);
    let since = p.file("since.bundle");
    let since = since.to_str().unwrap();
    let out = p.rep.ok(&[
        "bundle",
        "export",
        "--since",
        "2026-11-29T09:30",
        "-o",
        since,
        later,
    ]);
    // The two files and the Sales document with their claims.
    assert!(out.contains("exported 3 document(s)"), "{out}");
    let r = p.admin.run(&["bundle", "import", since, "--json"]).json();
    assert_eq!(r["updated"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(names(&p.admin), vec!["乙公司", "总部客户", "甲公司"]);
    let a = p
        .admin
        .run(&["customer", "show", "甲公司", "--json"])
        .json();
    let b = p.rep.run(&["customer", "show", "甲公司", "--json"]).json();
    assert_eq!(a, b, "both devices hold the same 甲公司");
    assert_eq!(
        p.admin.run(&["bundle", "import", since, "--json"]).json()["changes"],
        0
    );
}

#[test]
fn bad_bundles_are_refused_and_nothing_is_applied() {
    let p = Pair::new();
    p.rep.ok(&["customer", "add", "乙公司"]);
    let good = p.file("good.bundle");
    p.rep
        .ok(&["bundle", "export", "-o", good.to_str().unwrap()]);
    let bytes = std::fs::read(&good).unwrap();

    let altered = p.file("altered.bundle");
    let mut b = bytes.clone();
    let mid = b.len() / 2;
    b[mid] ^= 0x20;
    std::fs::write(&altered, &b).unwrap();
    p.admin
        .run(&["bundle", "import", altered.to_str().unwrap()])
        .fails_with("signature does not match");

    let truncated = p.file("truncated.bundle");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    p.admin
        .run(&["bundle", "import", truncated.to_str().unwrap()])
        .fails_with("truncated or was altered");

    let junk = p.file("junk.bundle");
    std::fs::write(&junk, "名称,区域\n").unwrap();
    p.admin
        .run(&["bundle", "import", junk.to_str().unwrap()])
        .fails_with("not a fieldcrm bundle");
    p.admin
        .run(&[
            "bundle",
            "import",
            p.file("missing.bundle").to_str().unwrap(),
        ])
        .fails_with("missing.bundle");

    // Another workspace's bundle.
    let other = Rep::at(&p.admin.home.with_file_name("other-company"));
    other.ok(&["init", "--user", "外人", "--role", "admin"]);
    other.ok(&["customer", "add", "外部公司"]);
    let foreign = p.file("foreign.bundle");
    other.ok(&["bundle", "export", "-o", foreign.to_str().unwrap()]);
    p.admin
        .run(&["bundle", "import", foreign.to_str().unwrap()])
        .fails_with("belongs to workspace");

    // A revoked device's bundle.
    p.admin.ok(&["device", "revoke", &p.rep_key[..8]]);
    p.admin
        .run(&["bundle", "import", good.to_str().unwrap()])
        .fails_with("has been revoked");

    assert_eq!(
        names(&p.admin),
        vec!["总部客户", "甲公司"],
        "nothing was applied"
    );

    p.admin
        .run(&["bundle", "export", "--for", "ffffffff", "-o", "/dev/null"])
        .fails_with("no device `ffffffff`");
}
