//! "Did you mean ...?": the name a user probably meant, for a name that is
//! close to one approute knows. Each rule is narrow on purpose: flagging an
//! ordinary helper (`get_user`, `path`) as a typo would be worse than
//! missing a typo.

use crate::model::Method;

/// The method a public name was probably meant to be: the same letters in
/// another case (`Get`, `post`), or an all-capitals name one edit away
/// (`POSTS`, `DELET`). Ordinary helpers (`get_user`, `path`) are not flagged.
pub fn method(name: &str) -> Option<Method> {
    let upper = name.to_ascii_uppercase();
    if let Some(m) = Method::from_name(&upper) {
        return Some(m);
    }
    if name != upper || name.len() < 3 {
        return None;
    }
    Method::ALL
        .iter()
        .copied()
        .find(|m| edit_distance(&upper, m.as_str()) <= 1)
}

/// The config constant a public all-capitals name was probably meant to be:
/// one of `known` at most two edits away (`REVALIDATES`, `BODYLIMIT`).
pub fn constant(name: &str, known: impl IntoIterator<Item = &'static str>) -> Option<&'static str> {
    if name != name.to_ascii_uppercase() {
        return None;
    }
    known.into_iter().find(|n| edit_distance(name, n) <= 2)
}

/// The middleware export a function name was probably meant to be: one of
/// `known` in another case (`Layer`), or, for names longer than five
/// letters, two edits away (`midleware`).
pub fn export(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    known
        .iter()
        .copied()
        .find(|meant| lower == *meant || (meant.len() > 5 && edit_distance(&lower, meant) <= 2))
}

/// Levenshtein distance, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_rules() {
        assert_eq!(method("Get"), Some(Method::Get));
        assert_eq!(method("get"), Some(Method::Get));
        assert_eq!(method("POSTS"), Some(Method::Post));
        assert_eq!(method("DELET"), Some(Method::Delete));
        assert_eq!(method("PATH"), Some(Method::Patch));
        assert_eq!(method("path"), None);
        assert_eq!(method("get_user"), None);
        assert_eq!(method("OK"), None);
        assert_eq!(method("MAX"), None);
    }

    #[test]
    fn constant_and_export_rules() {
        let known = ["REVALIDATE", "BODY_LIMIT"];
        assert_eq!(constant("REVALIDATES", known), Some("REVALIDATE"));
        assert_eq!(constant("BODYLIMIT", known), Some("BODY_LIMIT"));
        assert_eq!(constant("Revalidate", known), None);
        assert_eq!(constant("PAGE_SIZE", known), None);
        let known = ["middleware", "layer"];
        assert_eq!(export("midleware", &known), Some("middleware"));
        assert_eq!(export("Layer", &known), Some("layer"));
        assert_eq!(
            export("player", &known),
            None,
            "short names need the same letters"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("GET", "GET"), 0);
    }
}
