//! Router tests of correcting, deleting and cancelling one record (`record_forms.rs`):
//! the pages, the CSRF guard, a refusal beside the field, and what is written.

use axum::http::{StatusCode, header};
use fieldcrm_model::{Contact, Customer, DocId};
use fieldcrm_workspace::Workspace;

use crate::tests::{app, get, login, post, send, workspace};

/// 2026-11-29 14:00 in Shanghai, less a little (the app's clock is this plus nothing).
const AT: i64 = 1_795_932_000_000 - 60_000;

fn file(dir: &std::path::Path, id: &str) -> Customer {
    let ws = Workspace::open(dir).unwrap();
    let id: DocId = id.parse().unwrap();
    ws.load(&id).unwrap().hydrate().unwrap()
}

#[tokio::test]
async fn a_contact_is_edited_and_a_quote_cancelled_through_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let id = workspace(dir.path());
    let (contact, quote) = {
        let ws = Workspace::open(dir.path()).unwrap();
        let doc: DocId = id.parse().unwrap();
        let contact = Contact {
            name: "张伟".into(),
            phone: Some("13800000001".into()),
            ..Default::default()
        };
        let k = ws.add_contact(&doc, contact, AT).unwrap();
        let (q, _) = ws.add_quote(&doc, "P-100", 2, 50_000, AT).unwrap();
        (k, q)
    };
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;

    // The file links to the edit and delete pages; the edit page is pre-filled.
    let (status, _, body) = send(&app, get(&format!("/customers/{id}"), Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    let edit = format!("/customers/{id}/contacts/{contact}/edit");
    assert!(body.contains(&format!("href=\"{edit}\"")), "{body}");
    assert!(body.contains(&format!("/quotes/{quote}/cancel")), "{body}");
    let (status, _, body) = send(&app, get(&edit, Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("value=\"13800000001\""), "{body}");

    // No CSRF token: refused, nothing written.
    let (status, _, _) = send(&app, post(&edit, &cookie, &[("phone", "139")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A bad phone: the page again, the message beside the field, what was typed kept.
    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "张伟"),
        ("phone", "abc"),
        ("title", ""),
        ("email", ""),
    ];
    let (status, _, body) = send(&app, post(&edit, &cookie, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("id=\"edit-phone-error\" role=\"alert\">“abc”不是电话号码"),
        "{body}"
    );
    assert!(body.contains("value=\"abc\""));
    assert_eq!(
        file(dir.path(), &id).contacts[&contact].phone.as_deref(),
        Some("13800000001")
    );
    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "张伟"),
        ("phone", "139 1234 5678"),
        ("title", "采购经理"),
        ("email", ""),
    ];
    let (status, headers, _) = send(&app, post(&edit, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], format!("/customers/{id}"));
    let c = file(dir.path(), &id).contacts[&contact].clone();
    assert_eq!(c.phone.as_deref(), Some("139 1234 5678"));
    assert_eq!(c.title.as_deref(), Some("采购经理"));
    assert_eq!(c.email, None);

    // Cancel the quote from its confirmation page.
    let cancel = format!("/customers/{id}/quotes/{quote}/cancel");
    let (status, _, body) = send(&app, get(&cancel, Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=\"confirm-form\""), "{body}");
    let form = [("_csrf", csrf.as_str()), ("reason", "客户改用其他型号")];
    let (status, _, _) = send(&app, post(&cancel, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let note = file(dir.path(), &id).quotes[&quote]
        .cancelled
        .clone()
        .unwrap();
    assert_eq!(note.text, "客户改用其他型号");
    // Twice: the page again, saying so.
    let (status, _, body) = send(&app, post(&cancel, &cookie, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("已取消"), "{body}");

    // Delete the contact, then restore it from the file's removed records.
    let delete = format!("/customers/{id}/contacts/{contact}/delete");
    let (status, _, _) = send(&app, post(&delete, &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get(&format!("/customers/{id}"), Some(&cookie))).await;
    assert!(body.contains("id=\"removed-records\""), "{body}");
    assert!(!body.contains("139 1234 5678"));
    // A removed record has no edit page.
    let (status, _, _) = send(&app, get(&edit, Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let restore = format!("/customers/{id}/contacts/{contact}/restore");
    let (status, _, _) = send(&app, post(&restore, &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get(&format!("/customers/{id}"), Some(&cookie))).await;
    assert!(body.contains("139 1234 5678"), "{body}");
    // Unknown records and actions are not found.
    for path in [
        format!("/customers/{id}/contacts/ffffffff/edit"),
        format!("/customers/{id}/gifts/{quote}/cancel"),
        format!("/customers/{id}/contacts/{contact}/nonsense"),
    ] {
        let (status, _, _) = send(&app, get(&path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
