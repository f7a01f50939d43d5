//! The browser-test harness: chromedriver and headless Chromium sessions, a relay and an
//! office bootstrapped through the CLI, `fieldcrm app` processes, and waiting helpers.
//! Used by `browser.rs` (the field app) and `console.rs` (the relay's office console).
//!
//! Needs `chromedriver` and `chromium` on PATH (Debian: `apt-get install chromium
//! chromium-driver`; `.ci/run` installs them). Without them these tests fail, saying so;
//! `FIELDCRM_SKIP_BROWSER=1` skips them on a developer's machine.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{Rep, device_key};

/// Upper bound of one browser test.
pub(crate) const TEST_BUDGET: Duration = Duration::from_secs(240);
/// Upper bound of one wait for a page condition.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Processes: chromedriver, the relay, the app.

/// Kill a process group we started (the child was made its group leader) and reap it.
///
/// The `--` matters: procps-ng 4.0.2's `kill -KILL -12345` reads only the first digit of a
/// negative pid and calls `kill(-1, SIGKILL)`, which as root kills every process of the
/// machine (the test runner and CI with it).
pub(crate) fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn on_path(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    })
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn skip_browser() -> bool {
    if std::env::var("FIELDCRM_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("FIELDCRM_SKIP_BROWSER=1: browser test skipped");
        return true;
    }
    false
}

/// A running `chromedriver --port=N` (in its own process group, with the browsers it
/// starts); killed when dropped, and its browsers' profiles removed (left to Chromium,
/// a killed browser leaves its profile in `/tmp`).
pub(crate) struct Chromedriver {
    pub(crate) child: Child,
    pub(crate) url: String,
    profiles: tempfile::TempDir,
    sessions: std::sync::atomic::AtomicUsize,
}

impl Chromedriver {
    pub(crate) fn start() -> Chromedriver {
        let Some(bin) = on_path("chromedriver") else {
            panic!(
                "chromedriver is not on PATH: the browser tests need Debian's `chromium` and \
                 `chromium-driver` (apt-get install -y chromium chromium-driver; .ci/run \
                 installs them). Set FIELDCRM_SKIP_BROWSER=1 to skip these tests."
            );
        };
        let port = free_port();
        let profiles = tempfile::tempdir().expect("a directory for browser profiles");
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            // Chromium's own temporary files (its singleton socket) go there too.
            .env("TMPDIR", profiles.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let mut driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profiles,
            sessions: std::sync::atomic::AtomicUsize::new(0),
        };
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = driver.child.try_wait().unwrap() {
                panic!("chromedriver exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// A new browser session (its own profile, so its own cookies) with a viewport of
    /// `width` × `height` CSS pixels; widths under 500 emulate a phone (device pixel
    /// ratio 2, touch, the page's viewport meta honoured).
    pub(crate) async fn session(&self, width: u32, height: u32) -> Client {
        let n = self
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = self.profiles.path().join(format!("profile-{n}"));
        let mut opts = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--lang=zh-CN",
                "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {"intl.accept_languages": "zh-CN,zh"},
        });
        if let Some(chromium) = on_path("chromium") {
            opts["binary"] = json!(chromium);
        }
        let phone = width < 500;
        opts["mobileEmulation"] = json!({"deviceMetrics": {
            "width": width,
            "height": height,
            "pixelRatio": if phone { 2.0 } else { 1.0 },
            "touch": phone,
            "mobile": phone,
        }});
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), opts);
        // Only plain HTTP to chromedriver on loopback; rustls still wants a provider chosen
        // (the test binary links both ring and aws-lc-rs through other crates).
        let _ = rustls::crypto::ring::default_provider().install_default();
        ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("start a headless Chromium session through chromedriver")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// The relay binary, built next to `fieldcrm`.
pub(crate) fn relay_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_fieldcrm")).with_file_name("fieldcrm-relay");
    assert!(
        p.exists(),
        "{} is missing: build it with `cargo build -p fieldcrm-relay` (or run the tests with --workspace)",
        p.display()
    );
    p
}

/// Read one line of a child's stdout, giving up after `WAIT`.
pub(crate) fn first_lines(
    out: std::process::ChildStdout,
    until: impl Fn(&str) -> bool + Send + 'static,
) -> Vec<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let done = until(&line);
            lines.push(line);
            if done {
                break;
            }
        }
        let _ = tx.send(lines);
    });
    rx.recv_timeout(WAIT).unwrap_or_default()
}

/// A running `fieldcrm-relay serve` on loopback.
pub(crate) struct Relay {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Starts `fieldcrm-relay serve` with `config` on `http` and waits until it is ready.
pub(crate) fn start_relay(config: &Path, http: &str) -> Relay {
    let mut child = Command::new(relay_bin())
        .args(["serve", "--config"])
        .arg(config)
        .args(["--http", http, "--iroh", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start fieldcrm-relay");
    let lines = first_lines(child.stdout.take().unwrap(), |l| l == "ready");
    let url = lines
        .iter()
        .find_map(|l| l.strip_prefix("http: "))
        .map(str::to_string);
    Relay {
        child,
        url: url.unwrap_or_else(|| panic!("the relay printed no address: {lines:?}")),
    }
}

/// An office: an admin device and a relay bootstrapped with it (as in `relay.rs`).
pub(crate) struct Office {
    pub(crate) admin: Rep,
    pub(crate) relay: Relay,
    pub(crate) root: PathBuf,
}

impl Office {
    pub(crate) fn new() -> Office {
        let admin = Rep::new();
        admin.ok(&[
            "init",
            "--user",
            "管理员",
            "--role",
            "admin",
            "--team",
            "总部",
            "--company",
            "示例科技",
        ]);
        let root = admin.home.parent().unwrap().to_path_buf();
        let config = root.join("relay.toml");
        let ws = admin.run(&["whoami", "--json"]).json()["workspace_id"]
            .as_str()
            .unwrap()
            .to_string();
        let out = Command::new(relay_bin())
            .args(["init", "--config"])
            .arg(&config)
            .args(["--workspace", &ws, "--admin-device", &device_key(&admin)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let relay = start_relay(&config, "127.0.0.1:0");
        admin.ok(&["remote", "add", "office", &relay.url]);
        admin.ok(&["sync"]);
        Office { admin, relay, root }
    }

    /// Stops the relay and starts it again on the same address (what it folded from its
    /// files at start is what a restarted relay shows).
    pub(crate) fn restart_relay(&mut self) {
        kill_group(&mut self.relay.child);
        let addr = self.relay.url.trim_start_matches("ws://").to_string();
        self.relay = start_relay(&self.root.join("relay.toml"), &addr);
    }

    /// The relay's data directory.
    pub(crate) fn relay_data(&self) -> PathBuf {
        self.root.join("relay-data")
    }

    /// A user and their device, joined through the relay and enrolled by the admin.
    pub(crate) fn device(&self, name: &str, role: &str, team: &str) -> Rep {
        self.admin.ok(&[
            "user", "add", name, "--role", role, "--team", team, "--region", "华东",
        ]);
        let dev = Rep::at(&self.root.join(format!("dev-{name}")));
        dev.ok(&["join", &self.relay.url]);
        self.admin
            .ok(&["device", "add", &device_key(&dev), "--user", name]);
        self.admin.ok(&["sync"]);
        let out = dev.ok(&["sync"]);
        assert!(
            out.contains(&format!("joined workspace as {name}")),
            "{out}"
        );
        dev
    }
}

/// A running `fieldcrm app --no-open --port 0` for one workspace.
pub(crate) struct App {
    pub(crate) child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The printed login URL, with the launch secret.
    pub(crate) login: String,
}

impl App {
    pub(crate) fn start(dev: &Rep) -> App {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fieldcrm"))
            .args(["app", "--no-open", "--port", "0"])
            .env("FIELDCRM_HOME", &dev.home)
            .env("FIELDCRM_NOW", &dev.now)
            .env_remove("FIELDCRM_TZ")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start fieldcrm app");
        let lines = first_lines(child.stdout.take().unwrap(), |_| true);
        let Some(login) = lines
            .first()
            .and_then(|l| l.strip_prefix("fieldcrm app: "))
            .map(str::to_string)
        else {
            let _ = child.kill();
            let status = child.wait();
            panic!("`fieldcrm app` printed no URL line ({lines:?}, {status:?})");
        };
        let base = login.split("/login").next().unwrap_or_default().to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{login}");
        App { child, base, login }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

impl Drop for App {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

// ---------------------------------------------------------------------------------------
// Browser helpers.

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Run an async test body on a fresh runtime, bounded by [`TEST_BUDGET`].
pub(crate) fn bounded(body: impl Future<Output = ()>) {
    runtime().block_on(async {
        tokio::time::timeout(TEST_BUDGET, body)
            .await
            .expect("the browser test ran out of time");
    });
}

/// Log in with the launch secret; lands on the day view.
pub(crate) async fn login(c: &Client, app: &App) {
    c.goto(&app.login).await.unwrap();
    wait_for(
        c,
        "the day view after login",
        "!!document.querySelector('#nav')",
    )
    .await;
}

pub(crate) async fn goto(c: &Client, app: &App, path: &str) {
    c.goto(&app.url(path)).await.unwrap();
    // On the page asked for: a page that reloaded itself instead (the app's change feed)
    // would also be complete and have a `#main`.
    let pathname = path.split(['?', '#']).next().unwrap_or(path);
    wait_for(
        c,
        path,
        &format!(
            "document.readyState === 'complete' && !!document.querySelector('#main') \
             && location.pathname === {}",
            json!(pathname)
        ),
    )
    .await;
}

pub(crate) async fn js(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed ({e}): {script}"))
}

/// Wait until the JS expression `cond` is true.
pub(crate) async fn wait_for(c: &Client, what: &str, cond: &str) {
    let deadline = Instant::now() + WAIT;
    let script = format!("try {{ return !!({cond}); }} catch (e) {{ return false; }}");
    loop {
        if c.execute(&script, vec![]).await.ok() == Some(Value::Bool(true)) {
            return;
        }
        if Instant::now() > deadline {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!(
                "waited {WAIT:?} for {what} (`{cond}`) on {url}:\n{}",
                body_text(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn body_text(c: &Client) -> String {
    c.execute(
        "return document.body ? document.body.innerText : ''",
        vec![],
    )
    .await
    .ok()
    .and_then(|v| v.as_str().map(str::to_string))
    .unwrap_or_default()
}

/// Text of the first element matching `css`, if any.
pub(crate) async fn text_of(c: &Client, css: &str) -> Option<String> {
    js(
        c,
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
        vec![json!(css)],
    )
    .await
    .as_str()
    .map(str::to_string)
}

/// Set field `name` of form `form` like a user would end up with it: a select gets the
/// option whose value or label matches; a date input that cannot hold `value` (the
/// browser would refuse to keep a bad date) becomes a text input, as in a browser
/// without a date picker; `input` and `change` events fire.
pub(crate) async fn set_field(c: &Client, form: &str, name: &str, value: &str) {
    let r = js(
        c,
        r#"const [form, name, value] = arguments;
        const f = document.querySelector(form);
        if (!f) return 'no form ' + form;
        const el = f.querySelector('[name="' + name + '"]');
        if (!el) return 'no field ' + name + ' in ' + form;
        if (el.tagName === 'SELECT') {
            const opt = [...el.options].find(o => o.value === value || o.text.includes(value));
            if (!opt) return 'no option ' + value + ': ' + [...el.options].map(o => o.value + '=' + o.text).join(', ');
            el.value = opt.value;
        } else {
            if (['date', 'datetime-local', 'number'].includes(el.type)) {
                el.value = value;
                if (el.value !== value) el.type = 'text';
            }
            el.value = value;
        }
        el.dispatchEvent(new Event('input', {bubbles: true}));
        el.dispatchEvent(new Event('change', {bubbles: true}));
        return 'ok';"#,
        vec![json!(form), json!(name), json!(value)],
    )
    .await;
    assert_eq!(r, json!("ok"), "setting {form} [{name}] = {value}");
}

/// Type into a field key by key (for the live search and the discount readout).
pub(crate) async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c.find(Locator::Css(css)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

/// Click `css` and wait for the next page (a form POST answered by a redirect).
pub(crate) async fn click_and_load(c: &Client, css: &str) {
    js(c, "window.__fieldcrm_old_page = true;", vec![]).await;
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        &format!("the page after clicking {css}"),
        "!window.__fieldcrm_old_page && document.readyState === 'complete'",
    )
    .await;
}

/// Sync from the Sync page.
pub(crate) async fn sync_in_app(c: &Client, app: &App) {
    goto(c, app, "/sync").await;
    click_and_load(c, "#sync-now").await;
    wait_for(
        c,
        "#sync-status",
        "!!document.querySelector('#sync-status')",
    )
    .await;
    let status = text_of(c, "#sync-status").await.unwrap_or_default();
    let flash = text_of(c, ".flash").await.unwrap_or_default();
    assert!(
        !status.contains("失败") && !flash.contains("失败"),
        "sync failed: {status} / {flash}"
    );
}

pub(crate) fn customer_json(dev: &Rep, customer: &str) -> Value {
    dev.run(&["customer", "show", customer, "--json"]).json()
}

pub(crate) fn full_id(dev: &Rep, name: &str) -> String {
    customer_json(dev, name)["id"].as_str().unwrap().to_string()
}

/// Assert that the page does not scroll sideways at its width.
pub(crate) async fn fits(c: &Client, what: &str) {
    let m = js(
        c,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
        vec![],
    )
    .await;
    let (sw, iw) = (m[0].as_i64().unwrap(), m[1].as_i64().unwrap());
    assert!(sw <= iw, "{what} scrolls sideways: scrollWidth {sw} > {iw}");
}

/// With `FIELDCRM_SCREENSHOTS=1`: write `docs/screenshots/{name}`.
pub(crate) async fn screenshot(c: &Client, name: &str) {
    if std::env::var("FIELDCRM_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), c.screenshot().await.unwrap()).unwrap();
    }
}
