//! Who am I, catalog, users, devices.

#[allow(unused_imports)]
use super::*;

/// `fieldcrm office-login`: signed with the real clock (the relay checks freshness
/// against its own); `--now` does not move it.
pub(super) fn office_login(ctx: &Ctx, a: &crate::cli::OfficeLoginArgs) -> Result<()> {
    let now = jiff::Timestamp::now().as_millisecond();
    let link = fieldcrm_connect::console_link(&ctx.ws, a.remote.as_deref(), now)
        .map_err(crate::peer::cli_error)?;
    if a.json {
        return print_json(&serde_json::json!({
            "url": link.url,
            "valid_until": link.valid_until,
        }));
    }
    println!("{}", link.url);
    if !crate::render::quiet() {
        crate::render::say_err!(
            zh: "在浏览器中打开此链接登录办公室控制台（5 分钟内有效，只能使用一次）。",
            en: "Open this link in a browser to sign in to the office console (valid for 5 minutes, once)."
        );
    }
    Ok(())
}

pub(super) fn whoami(ctx: &Ctx, json: bool) -> Result<()> {
    let w = ctx.ws.whoami();
    if json {
        return print_json(&w);
    }
    let field = |zh: &str, en: &str| crate::render::label(zh, en, 10, 11);
    let (workspace_id, device) = (&w.workspace_id, &w.device);
    let name = w
        .workspace_name
        .as_deref()
        .unwrap_or(tr("（尚未收到）", "(not received yet)"));
    println!("{}{name} ({workspace_id})", field("工作区", "workspace"));
    println!("{}{device}", field("设备", "device"));
    let user = field("用户", "user");
    match (&w.user_id, &w.user, &w.role) {
        (Some(id), Some(name), Some(role)) => {
            let id = short(id);
            let role_zh = role
                .parse::<Role>()
                .map(|r| r.zh().to_string())
                .unwrap_or_else(|_| role.clone());
            let team = w.team.as_deref().unwrap_or_default();
            match (&w.team, crate::render::zh()) {
                (Some(_), true) => println!("{user}{name} [{id}]，角色 {role_zh}，团队 {team}"),
                (None, true) => println!("{user}{name} [{id}]，角色 {role_zh}"),
                (Some(_), false) => println!("{user}{name} [{id}] role {role}, team {team}"),
                (None, false) => println!("{user}{name} [{id}] role {role}"),
            }
        }
        _ => {
            let why = w
                .not_enrolled
                .as_ref()
                .map(|e| e.message(crate::render::lang()))
                .unwrap_or_default();
            say!(
                zh: "{user}（本设备尚未登记：{why}）",
                en: "{user}(this device is not enrolled: {why})"
            )
        }
    }
    println!("{}{}", field("目录", "home"), w.home.display());
    for r in fieldcrm_connect::remotes(&ctx.ws).unwrap_or_default() {
        if let Ok(n) = ctx.ws.waiting(&r.url, 0) {
            let (docs, remote, waiting) = (n.docs, &r.name, field("待同步", "waiting"));
            match n.changes {
                Some(c) => say!(
                    zh: "{waiting}{docs} 份文档（{c} 项修改）待发往 {remote}",
                    en: "{waiting}{docs} document(s), {c} change(s) to go to {remote}"
                ),
                None => say!(
                    zh: "{waiting}{docs} 份文档待发往 {remote}",
                    en: "{waiting}{docs} document(s) to go to {remote}"
                ),
            }
        }
    }
    Ok(())
}

pub(super) fn catalog(ctx: &Ctx, c: CatalogCmd) -> Result<()> {
    let ws = &ctx.ws;
    match c {
        CatalogCmd::Add {
            sku,
            name,
            line,
            list_price,
            floor_price,
        } => {
            let list_price = input::money("list-price", &list_price)?;
            let floor_price = floor_price
                .map(|f| input::money("floor-price", &f))
                .transpose()?
                .unwrap_or(list_price);
            ws.catalog_put(
                &sku,
                Product {
                    name,
                    product_line: line,
                    list_price,
                    floor_price,
                },
                ctx.now(),
            )?;
            wrote(
                "product",
                &sku,
                || say!(zh: "已保存产品 {sku}", en: "saved product {sku}"),
            );
        }
        CatalogCmd::List(f) => {
            let cat = ws.catalog()?;
            if f.json {
                print_json(&cat.products)?;
            } else {
                let mut t = Table::titled(&[
                    ("SKU", "SKU"),
                    ("名称", "NAME"),
                    ("产品线", "LINE"),
                    ("目录价", "LIST PRICE"),
                    ("底价", "FLOOR PRICE"),
                ]);
                for (k, p) in &cat.products {
                    t.row(vec![
                        k.clone(),
                        p.name.clone(),
                        p.product_line.clone(),
                        yuan(p.list_price),
                        yuan(p.floor_price),
                    ]);
                }
                t.print()?;
            }
        }
    }
    Ok(())
}

pub(super) fn user(ctx: &Ctx, c: UserCmd) -> Result<()> {
    let ws = &ctx.ws;
    match c {
        UserCmd::Add {
            name,
            role,
            team,
            region,
        } => {
            let uid = ws.add_user(&name, input::vocab("role", &role)?, team, region, ctx.now())?;
            let short_id = short(&uid);
            wrote(
                "user",
                &uid,
                || say!(zh: "已保存用户 {name} [{short_id}]", en: "saved user {name} [{short_id}]"),
            );
        }
        UserCmd::Set {
            user,
            role,
            team,
            region,
            deactivate,
        } => {
            let role = role.map(|r| input::vocab("role", &r)).transpose()?;
            let uid = ws.update_user(
                &user,
                role,
                team,
                region,
                deactivate.then_some(false),
                ctx.now(),
            )?;
            wrote(
                "user",
                &uid,
                || say!(zh: "已保存用户 {user}", en: "saved user {user}"),
            );
        }
        UserCmd::List(f) => {
            let roster = ws.roster()?;
            if f.json {
                print_json(&roster.users)?;
            } else {
                let mut t = Table::titled(&[
                    ("ID", "ID"),
                    ("姓名", "NAME"),
                    ("角色", "ROLE"),
                    ("团队", "TEAM"),
                    ("区域", "REGION"),
                    ("在用", "ACTIVE"),
                ]);
                for (id, u) in &roster.users {
                    t.row(vec![
                        short(id).into(),
                        u.name.clone(),
                        tr(u.role.zh(), u.role.as_str()).to_string(),
                        u.team.clone().unwrap_or("-".into()),
                        u.region.clone().unwrap_or("-".into()),
                        crate::render::bool_cell(u.active),
                    ]);
                }
                t.print()?;
            }
        }
    }
    Ok(())
}

pub(super) fn device(ctx: &Ctx, c: DeviceCmd) -> Result<()> {
    let ws = &ctx.ws;
    match c {
        DeviceCmd::Add { key, user, label } => {
            let key: DeviceKey = key.parse().map_err(|e: BadDeviceKey| {
                let text = &e.0;
                anyhow!(trf!(
                    zh: "`{text}` 不是设备密钥（应为 64 个十六进制字符）",
                    en: "{e}"
                ))
            })?;
            ws.enroll_device(&key, &user, &label, ctx.now())?;
            let hex = key.to_hex();
            let short_key = short(&hex);
            wrote("device", &hex, || {
                say!(
                    zh: "已为 {user} 登记设备 {short_key}",
                    en: "enrolled device {short_key} for {user}"
                )
            });
            crate::remote::push_roster(ws);
        }
        DeviceCmd::Revoke { key } => {
            let hex = ws.revoke_device(&key, ctx.now())?.to_hex();
            let short_key = short(&hex);
            wrote(
                "device",
                &hex,
                || say!(zh: "已吊销设备 {short_key}", en: "revoked device {short_key}"),
            );
            crate::remote::push_roster(ws);
        }
        DeviceCmd::List(f) => {
            let roster = ws.roster()?;
            if f.json {
                print_json(&roster.devices)?;
            } else {
                let mut t = Table::titled(&[
                    ("设备", "DEVICE"),
                    ("用户", "USER"),
                    ("标签", "LABEL"),
                    ("登记时间", "ENROLLED"),
                    ("邀请人", "INVITED BY"),
                    ("吊销时间", "REVOKED"),
                ]);
                for (k, d) in &roster.devices {
                    // A device that enrolled itself shows the admin whose invitation it used.
                    let by = d
                        .invited_by()
                        .map(|dev| {
                            let user = roster.devices.get(dev).map(|x| x.user.clone());
                            format!("{} ({})", ctx.user_name(&roster, &user), short(dev))
                        })
                        .unwrap_or_else(|| "-".into());
                    t.row(vec![
                        short(k).into(),
                        ctx.user_name(&roster, &Some(d.user.clone())),
                        d.label.clone(),
                        ctx.clock.fmt(d.enrolled_at),
                        by,
                        ctx.clock.fmt_opt(d.revoked_at),
                    ]);
                }
                t.print()?;
            }
        }
    }
    Ok(())
}
