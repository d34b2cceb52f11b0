//! Reference paths: the only paths ASL accepts in a Choice rule's `Variable` and `...Path` fields.
//!
//! A reference path identifies a single node, so it allows only dot and bracket steps: `$.a.b`, `$['x y']`,
//! `$.a[0]`, the context object `$$.Execution.Input` and workflow variables `$name.field`. Wildcards, filters,
//! slices and functions are rejected. See
//! <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html#amazon-states-language-reference-paths>.

/// Where and why a path stopped being a valid reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathError {
    /// Byte offset in the scanned text.
    pub offset: usize,
    pub message: String,
}

/// True when `s` is exactly one reference path this language accepts (and so ASL accepts in a Choice rule).
pub fn is_valid_path(s: &str) -> bool {
    s.starts_with('$') && scan(s, 0) == Ok(s.len())
}

/// A character allowed in a dot-notation field name (`$.input-value`, `$.données`).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn is_variable_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_variable_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Scans the reference path that starts with the `$` at byte `start` of `src` and returns the byte offset just
/// past it. Scanning stops at the first character that cannot continue a path.
pub(crate) fn scan(src: &str, start: usize) -> Result<usize, PathError> {
    let err = |offset: usize, message: &str| PathError {
        offset,
        message: message.to_string(),
    };
    let peek = |i: usize| src.get(i..).and_then(|rest| rest.chars().next());
    if peek(start) != Some('$') {
        return Err(err(start, "a path starts with '$'"));
    }
    let mut i = start + 1;
    match peek(i) {
        Some('$') => {
            i += 1;
            if peek(i).is_some_and(is_name_char) {
                return Err(err(
                    i,
                    "expected '.' after '$$' (the context object, e.g. $$.Execution.Input)",
                ));
            }
        }
        Some(c) if is_variable_start(c) => {
            while let Some(c) = peek(i).filter(|c| is_variable_char(*c)) {
                i += c.len_utf8();
            }
        }
        _ => {}
    }
    loop {
        match peek(i) {
            Some('.') => {
                let name_start = i + 1;
                i = name_start;
                while let Some(c) = peek(i).filter(|c| is_name_char(*c)) {
                    i += c.len_utf8();
                }
                if i == name_start {
                    return Err(err(
                        name_start,
                        "expected a field name after '.' (use ['...'] for names with other characters)",
                    ));
                }
            }
            Some('[') => {
                i = scan_bracket(src, i)?;
            }
            _ => return Ok(i),
        }
    }
}

/// Scans `[123]`, `['name']` or `["name"]` starting at the `[`; returns the offset past the `]`.
fn scan_bracket(src: &str, open: usize) -> Result<usize, PathError> {
    let err = |offset: usize, message: &str| PathError {
        offset,
        message: message.to_string(),
    };
    let peek = |i: usize| src.get(i..).and_then(|rest| rest.chars().next());
    let mut i = open + 1;
    match peek(i) {
        Some(c) if c.is_ascii_digit() => {
            while peek(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
        Some(quote @ ('\'' | '"')) => {
            i += 1;
            let name_start = i;
            loop {
                match peek(i) {
                    None => return Err(err(open, "unterminated quoted name in path")),
                    Some('\\') => {
                        i += 1;
                        match peek(i) {
                            Some(c) => i += c.len_utf8(),
                            None => return Err(err(open, "unterminated quoted name in path")),
                        }
                    }
                    Some(c) if c == quote => break,
                    Some(c) => i += c.len_utf8(),
                }
            }
            if i == name_start {
                return Err(err(open, "empty quoted name in path"));
            }
            i += 1;
        }
        _ => {
            return Err(err(
                i,
                "expected an array index or a quoted field name after '[' (wildcards, slices and filters \
                 are not allowed in a reference path)",
            ));
        }
    }
    if peek(i) != Some(']') {
        return Err(err(i, "expected ']' in path"));
    }
    Ok(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_reference_paths() {
        for p in [
            "$",
            "$.a",
            "$.a.b",
            "$.a-b_c.d1",
            "$['x y']",
            "$[\"x y\"]",
            "$['it\\'s']",
            "$.a[0]",
            "$.a[10].b['c d'][2]",
            "$$",
            "$$.Execution.Input",
            "$$.Execution.Input.input-value",
            "$$.Map.Item.Index",
            "$guess",
            "$var.x",
            "$_v1.x[0]",
            "$.données",
        ] {
            assert!(is_valid_path(p), "{p} should be valid");
        }
    }

    #[test]
    fn rejects_non_reference_paths() {
        for p in [
            "",
            "a",
            "$.",
            "$..a",
            "$.a.",
            "$.a[*]",
            "$.a[]",
            "$.a[0:2]",
            "$.a[?(@.b)]",
            "$.a[-1]",
            "$['']",
            "$['x",
            "$[0",
            "$$Execution",
            "$.a b",
            "$.a.length()",
            "$1",
            " $.a",
        ] {
            assert!(!is_valid_path(p), "{p:?} should be invalid");
        }
    }

    #[test]
    fn scan_stops_at_the_end_of_the_path() {
        assert_eq!(scan("$.a == 1", 0), Ok(3));
        assert_eq!(scan("x $.a[0])", 2), Ok(8));
        assert_eq!(scan("$var.x&&", 0), Ok(6));
    }

    #[test]
    fn scan_reports_the_offset() {
        let e = scan("$.a.[0]", 0).unwrap_err();
        assert_eq!(e.offset, 4);
        let e = scan("$.a[x]", 0).unwrap_err();
        assert_eq!(e.offset, 4);
    }
}
