//! Shared by the relay's in-process tests: an admin's workspace and a relay that holds
//! its roster (as after the admin's first sync).

use fieldcrm_model::{DocId, DocKind};
use fieldcrm_relay::{Config, Relay};
use fieldcrm_workspace::{InitOptions, Workspace};

/// An admin (管理员, company 示例科技) in `dir/admin`.
pub(crate) fn admin(dir: &std::path::Path) -> Workspace {
    Workspace::init(
        &dir.join("admin"),
        &InitOptions::admin("管理员", "示例科技", "laptop"),
        0,
    )
    .unwrap()
}

/// A relay in `dir/relay` (iroh off) bootstrapped for `admin`, holding the admin's
/// roster as it is now.
pub(crate) fn relay_with_roster(dir: &std::path::Path, admin: &Workspace) -> Relay {
    let mut config = Config::default();
    config.data_dir = dir.join("relay");
    config.iroh_listen = None;
    Relay::init(&config.data_dir, admin.workspace_id(), admin.device()).unwrap();
    let relay = Relay::open(config).unwrap();
    let id = DocId::workspace(&DocKind::Roster);
    let (bytes, sigs) = admin.store().load_signed(&id).unwrap();
    relay
        .store()
        .apply_batch([(&id, bytes.as_slice(), sigs.as_slice())])
        .unwrap();
    relay
}
