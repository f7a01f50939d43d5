//! Resolving what a user typed (a short ID prefix or an exact name) to an ID.

use std::collections::BTreeMap;

use fieldcrm_model::{Roster, short_id};

use crate::{Error, Result};

/// Minimum prefix length accepted.
const MIN_PREFIX: usize = 4;

/// Resolve an entity in a collection (`what` names it in errors, e.g. "complaint") by
/// unique ID prefix (at least 4 characters) or exact ID.
pub fn resolve_entity<V>(what: &str, map: &BTreeMap<String, V>, text: &str) -> Result<String> {
    resolve_in(what, map.keys().map(|k| (k.as_str(), None)), text)
}

/// Resolve an entity like [`resolve_entity`] and return it with its key.
pub(crate) fn resolve_entry<'m, V>(
    what: &str,
    map: &'m BTreeMap<String, V>,
    text: &str,
) -> Result<(String, &'m V)> {
    let key = resolve_entity(what, map, text)?;
    let v = entry(what, map, &key)?;
    Ok((key, v))
}

/// The entity stored under `key` (a key resolved earlier), or a not-found error.
pub(crate) fn entry<'m, V>(what: &str, map: &'m BTreeMap<String, V>, key: &str) -> Result<&'m V> {
    map.get(key)
        .ok_or_else(|| Error::not_found(format!("{what} `{}`", fieldcrm_model::short_id(key))))
}

/// Resolve an entity among `keys` by unique ID prefix or exact ID.
pub(crate) fn resolve_key(what: &str, keys: Vec<String>, text: &str) -> Result<String> {
    resolve_in(what, keys.iter().map(|k| (k.as_str(), None)), text)
}

/// Resolve a user by ID prefix or exact name.
pub(crate) fn resolve_user(roster: &Roster, text: &str) -> Result<String> {
    resolve_in(
        "user",
        roster
            .users
            .iter()
            .map(|(id, u)| (id.as_str(), Some(u.name.as_str()))),
        text,
    )
}

fn resolve_in<'a>(
    what: &str,
    items: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    text: &str,
) -> Result<String> {
    let text = text.trim();
    let mut by_name = Vec::new();
    let mut by_prefix = Vec::new();
    for (id, name) in items {
        if id == text {
            return Ok(id.to_string());
        }
        if name == Some(text) {
            by_name.push((id, name));
        } else if text.len() >= MIN_PREFIX && id.starts_with(&text.to_ascii_lowercase()) {
            by_prefix.push((id, name));
        }
    }
    let hits = if by_name.is_empty() {
        by_prefix
    } else {
        by_name
    };
    match hits.as_slice() {
        [] => Err(Error::not_found(format!(
            "no {what} matches `{text}`{}",
            if text.len() < MIN_PREFIX {
                " (ID prefixes need at least 4 characters)"
            } else {
                ""
            }
        ))),
        [(id, _)] => Ok(id.to_string()),
        many => Err(Error::ambiguous(format!(
            "`{text}` matches {} {what}s: {}",
            many.len(),
            many.iter()
                .map(|(id, n)| match n {
                    Some(n) => format!("{} ({n})", short_id(id)),
                    None => short_id(id).to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_ambiguity() {
        let m: BTreeMap<String, ()> =
            [("abcd1111".to_string(), ()), ("abcd2222".to_string(), ())].into();
        assert_eq!(resolve_entity("contact", &m, "abcd1").unwrap(), "abcd1111");
        assert!(matches!(
            resolve_entity("contact", &m, "abcd"),
            Err(Error::Ambiguous(_))
        ));
        assert!(matches!(
            resolve_entity("contact", &m, "ab"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            resolve_entity("contact", &m, "ffff"),
            Err(Error::NotFound(_))
        ));
    }
}
