//! The relay's findings on its merged state (`/v1/findings`, `check --relay`).

use crate::relay::Office;
use crate::support::Rep;

/// Issue #5: the relay serves the findings on its merged state at `/v1/findings`, only
/// to a device that signs its request, and only about documents that device may read.
#[test]
fn the_relay_serves_findings_on_its_merged_state_within_scope() {
    let office = Office::new("");
    let mgr = office.device("王经理", "manager", "华东");
    let rep1 = office.device("小张", "rep", "华东");
    let rep2 = office.device("小李", "rep", "华东");
    let rep3 = office.device("小陈", "rep", "华南");
    for dev in [&mgr, &rep1, &rep2, &rep3] {
        dev.ok(&["sync"]);
    }
    // The same company created by two reps offline; each device alone is clean.
    rep1.ok(&[
        "customer",
        "add",
        "华东精密机械有限公司",
        "--credit-code",
        "91310000MA1FL8XQ3K",
    ]);
    rep2.ok(&[
        "customer",
        "add",
        "华东精密机械公司",
        "--credit-code",
        "91310000MA1FL8XQ3K",
    ]);
    rep3.ok(&["customer", "add", "华南贸易有限公司", "--class", "key"]);
    for dev in [&rep1, &rep2, &rep3] {
        let local = dev.run(&["check", "--json", "--rule", "CUST-DUPLICATE"]);
        assert_eq!(local.code, 0, "{}", local.stdout);
        dev.ok(&["sync"]);
    }
    let findings = |dev: &Rep, rule: &str| -> Vec<serde_json::Value> {
        let run = dev.run(&["check", "--relay", "--json", "--rule", rule]);
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        serde_json::from_str::<Vec<serde_json::Value>>(&run.stdout).unwrap()
    };
    // The manager of the team sees the duplicate the relay found on the merged state,
    // and the 撞单 notice on the later registrant's file.
    let dup = findings(&mgr, "CUST-DUPLICATE");
    let pairs = |f: &[serde_json::Value]| -> usize {
        f.iter()
            .filter(|f| f["doc_ids"].as_array().unwrap().len() == 2)
            .count()
    };
    assert_eq!(dup.len(), 2, "{dup:?}");
    assert_eq!(pairs(&dup), 1, "{dup:?}");
    assert_eq!(
        mgr.run(&["check", "--relay", "--rule", "CUST-DUPLICATE"])
            .code,
        1
    );
    // A rep sees no finding about documents outside its scope (not even the other rep's
    // file); the later registrant of the two (same time: the smaller claim ID is earlier)
    // sees the notice on its own file, the same one the manager sees.
    let (d1, d2) = (
        findings(&rep1, "CUST-DUPLICATE"),
        findings(&rep2, "CUST-DUPLICATE"),
    );
    assert_eq!(pairs(&d1) + pairs(&d2), 0, "{d1:?} {d2:?}");
    assert_eq!(d1.len() + d2.len(), 1, "{d1:?} {d2:?}");
    let notice = d1.iter().chain(&d2).next().unwrap();
    assert!(dup.contains(notice), "{notice} {dup:?}");
    assert!(
        notice["message_zh"]
            .as_str()
            .unwrap()
            .contains("该客户已由其他销售代表于"),
        "{notice}"
    );
    let rep3_all = findings(&rep3, "CUST-KEY-PLAN");
    assert_eq!(
        rep3_all.len(),
        1,
        "rep3 sees findings about its own key customer"
    );
    assert!(findings(&rep1, "CUST-KEY-PLAN").is_empty());
    // Waived by the admin: settled on the relay as on the devices.
    let key = rep3
        .run(&["check", "--json", "--rule", "CUST-KEY-PLAN"])
        .stdout;
    let key: Vec<serde_json::Value> = serde_json::from_str(&key).unwrap();
    let key = key[0]["key"].as_str().unwrap().to_string();
    office.admin.ok(&["sync"]);
    office.admin.ok(&[
        "finding",
        "waive",
        &key,
        "--reason",
        "客户年底停产，明年再定计划",
        "--until",
        "2027-01-31",
    ]);
    office.admin.ok(&["sync"]);
    assert!(findings(&rep3, "CUST-KEY-PLAN").is_empty());
    rep3.ok(&["sync"]);
    assert_eq!(rep3.run(&["check", "--rule", "CUST-KEY-PLAN"]).code, 0);
    // An unsigned request is refused.
    let host = office.relay.url.trim_start_matches("ws://").to_string();
    let mut s = std::net::TcpStream::connect(&host).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "GET /v1/findings HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        !text.contains("华东精密"),
        "no data leaves without a signature"
    );

    // A signed request captured on the wire cannot be replayed: its nonce is spent.
    let key_hex = std::fs::read_to_string(mgr.home.join("device.key")).unwrap();
    let key: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&key_hex.trim()[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let secret = fieldcrm_workspace::DeviceSecret::from_bytes(&key).unwrap();
    let ws_id = mgr.run(&["whoami", "--json"]).json()["workspace_id"]
        .as_str()
        .unwrap()
        .to_string();
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let nonce = "0123456789abcdef0123456789abcdef";
    let sig = secret.sign(&fieldcrm_net::ws::findings_message(
        &ws_id, at as i64, nonce,
    ));
    let [hd, ht, hn, hs] = fieldcrm_net::ws::FINDINGS_HEADERS;
    let request = format!(
        "GET /v1/findings HTTP/1.1\r\nHost: {host}\r\n{hd}: {}\r\n{ht}: {at}\r\n{hn}: {nonce}\r\n{hs}: {}\r\nConnection: close\r\n\r\n",
        secret.public().to_hex(),
        fieldcrm_model::hex(&sig),
    );
    let send = |req: &str| {
        let mut s = std::net::TcpStream::connect(&host).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    let first = send(&request);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let replay = send(&request);
    assert!(replay.starts_with("HTTP/1.1 403"), "{replay}");
    assert!(replay.contains("replayed"), "{replay}");
}
