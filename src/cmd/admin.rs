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
        eprintln!(
            "在浏览器中打开此链接登录办公室控制台（5 分钟内有效，只能使用一次）。\nOpen this link in a browser to sign in to the office console (valid for 5 minutes, once)."
        );
    }
    Ok(())
}

pub(super) fn whoami(ctx: &Ctx, json: bool) -> Result<()> {
    let w = ctx.ws.whoami();
    if json {
        return print_json(&w);
    }
    println!(
        "workspace: {} ({})",
        w.workspace_name.as_deref().unwrap_or("(not received yet)"),
        w.workspace_id
    );
    println!("device:    {}", w.device);
    match (&w.user_id, &w.user, &w.role) {
        (Some(id), Some(name), Some(role)) => {
            let zh = role
                .parse::<Role>()
                .map(|r| r.zh().to_string())
                .unwrap_or_default();
            println!(
                "user:      {name} [{}] role {role} ({zh}){}",
                short(id),
                w.team
                    .as_ref()
                    .map(|t| format!(", team {t}"))
                    .unwrap_or_default()
            )
        }
        _ => println!(
            "user:      (this device is not enrolled: {})",
            w.not_enrolled
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default()
        ),
    }
    println!("home:      {}", w.home.display());
    for r in fieldcrm_connect::remotes(&ctx.ws).unwrap_or_default() {
        if let Ok(n) = ctx.ws.waiting(&r.url, 0) {
            let changes = n.changes.map(|c| format!(", {c} change(s)"));
            println!(
                "waiting:   {} document(s){} to go to {} (待同步 {} 份)",
                n.docs,
                changes.unwrap_or_default(),
                r.name,
                n.docs
            );
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
            wrote("product", &sku, || println!("已保存 saved product {sku}"));
        }
        CatalogCmd::List(f) => {
            let cat = ws.catalog()?;
            if f.json {
                print_json(&cat.products)?;
            } else {
                let mut t = Table::new(&["SKU", "NAME", "LINE", "LIST PRICE", "FLOOR PRICE"]);
                for (k, p) in &cat.products {
                    t.row(vec![
                        k.clone(),
                        p.name.clone(),
                        p.product_line.clone(),
                        yuan(p.list_price),
                        yuan(p.floor_price),
                    ]);
                }
                print!("{}", t.render());
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
            wrote("user", &uid, || {
                println!("已保存 saved user {name} [{}]", short(&uid))
            });
        }
        UserCmd::Set {
            user,
            role,
            team,
            region,
            deactivate,
        } => {
            let role = role.map(|r| input::vocab("role", &r)).transpose()?;
            ws.update_user(
                &user,
                role,
                team,
                region,
                deactivate.then_some(false),
                ctx.now(),
            )?;
            wrote("user", &user, || println!("已保存 saved user {user}"));
        }
        UserCmd::List(f) => {
            let roster = ws.roster()?;
            if f.json {
                print_json(&roster.users)?;
            } else {
                let mut t = Table::new(&["ID", "NAME", "ROLE", "TEAM", "REGION", "ACTIVE"]);
                for (id, u) in &roster.users {
                    t.row(vec![
                        short(id).into(),
                        u.name.clone(),
                        format!("{} {}", u.role, u.role.zh()),
                        u.team.clone().unwrap_or("-".into()),
                        u.region.clone().unwrap_or("-".into()),
                        u.active.to_string(),
                    ]);
                }
                print!("{}", t.render());
            }
        }
    }
    Ok(())
}

pub(super) fn device(ctx: &Ctx, c: DeviceCmd) -> Result<()> {
    let ws = &ctx.ws;
    match c {
        DeviceCmd::Add { key, user, label } => {
            let key: DeviceKey = key.parse().map_err(|e: BadDeviceKey| anyhow!("{e}"))?;
            ws.enroll_device(&key, &user, &label, ctx.now())?;
            wrote("device", &key.to_hex(), || {
                println!("已登记 enrolled device {} for {user}", short(&key.to_hex()))
            });
            crate::remote::push_roster(ws);
        }
        DeviceCmd::Revoke { key } => {
            let k = ws.revoke_device(&key, ctx.now())?;
            wrote("device", &k.to_hex(), || {
                println!("已吊销 revoked device {}", short(&k.to_hex()))
            });
            crate::remote::push_roster(ws);
        }
        DeviceCmd::List(f) => {
            let roster = ws.roster()?;
            if f.json {
                print_json(&roster.devices)?;
            } else {
                let mut t = Table::new(&[
                    "DEVICE",
                    "USER",
                    "LABEL",
                    "ENROLLED",
                    "INVITED BY",
                    "REVOKED",
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
                print!("{}", t.render());
            }
        }
    }
    Ok(())
}
