//! The one rule for text a client sends, whatever the route: a body field, an event's
//! `data`, a query parameter. Checked before anything reaches SQL, so a bad character
//! is a 4xx naming its field rather than an error from Postgres. And the one way the
//! service writes a number for people to read (hints, drill-down reasons).

/// At most two decimals, halves rounded up as people do (0.625 → 0.63, where `{:.2}`
/// rounds to even), without trailing zeros: 0.5, 57, 1.25.
pub fn number(v: f64) -> String {
    let s = format!("{:.2}", (v * 100.0).round() / 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0" } else { s }.to_string()
}

/// Why `s` is not acceptable text of at most `max` characters, if it is not: Postgres
/// cannot store U+0000, and no other control character but tab and line breaks has a
/// place in names, notes or parameters.
pub fn problem(s: &str, max: usize) -> Option<String> {
    if s.contains('\0') {
        return Some("must not contain NUL (U+0000) characters".into());
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Some("must not contain control characters".into());
    }
    if s.chars().count() > max {
        return Some(format!("must be at most {max} characters"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn names_the_first_problem() {
        assert_eq!(problem("ok\tline\n", 10), None);
        assert_eq!(
            problem("a\0b", 10).unwrap(),
            "must not contain NUL (U+0000) characters"
        );
        assert_eq!(
            problem("a\u{7}b", 10).unwrap(),
            "must not contain control characters"
        );
        assert_eq!(
            problem("a\u{85}b", 10).unwrap(),
            "must not contain control characters"
        );
        assert_eq!(problem("ééé", 3), None, "characters, not bytes");
        assert_eq!(problem("éééé", 3).unwrap(), "must be at most 3 characters");
    }
}
