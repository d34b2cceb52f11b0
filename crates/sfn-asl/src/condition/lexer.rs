//! Splits a condition into tokens, each remembering the byte span it came from so that errors point at a column.

use serde_json::Number;

use super::error::ConditionError;
use super::path;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Path(String),
    Str(String),
    Num(Number),
    /// A bare word: keywords (`is`, `not`, `like`, `true`, ...) and function names are told apart by the parser.
    Word(String),
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    LParen,
    RParen,
    Comma,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset of the first character.
    pub start: usize,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Path(p) => format!("path {p}"),
            Tok::Str(s) => format!("string {}", serde_json::Value::String(s.clone())),
            Tok::Num(n) => format!("number {n}"),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Eof => "end of input".to_string(),
            other => format!("'{}'", other.symbol()),
        }
    }

    pub fn symbol(&self) -> &'static str {
        match self {
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            _ => "",
        }
    }
}

/// Tokenizes the whole input; the last token is always [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ConditionError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = src[i..].chars().next() {
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let start = i;
        let next = src[i + c.len_utf8()..].chars().next();
        let (tok, end) = match (c, next) {
            ('$', _) => {
                let end =
                    path::scan(src, i).map_err(|e| ConditionError::at(src, e.offset, e.message))?;
                (Tok::Path(src[i..end].to_string()), end)
            }
            ('"', _) => lex_string(src, i)?,
            ('\'', _) => {
                return Err(ConditionError::at(
                    src,
                    i,
                    "strings are written in double quotes: \"...\"",
                ));
            }
            ('-', _) | ('0'..='9', _) => lex_number(src, i)?,
            ('=', Some('=')) => (Tok::EqEq, i + 2),
            ('!', Some('=')) => (Tok::NotEq, i + 2),
            ('<', Some('=')) => (Tok::Le, i + 2),
            ('>', Some('=')) => (Tok::Ge, i + 2),
            ('&', Some('&')) => (Tok::AndAnd, i + 2),
            ('|', Some('|')) => (Tok::OrOr, i + 2),
            ('<', _) => (Tok::Lt, i + 1),
            ('>', _) => (Tok::Gt, i + 1),
            ('!', _) => (Tok::Bang, i + 1),
            ('(', _) => (Tok::LParen, i + 1),
            (')', _) => (Tok::RParen, i + 1),
            (',', _) => (Tok::Comma, i + 1),
            ('=', _) => return Err(ConditionError::at(src, i, "use '==' to compare")),
            ('&', _) => return Err(ConditionError::at(src, i, "use '&&' for \"and\"")),
            ('|', _) => return Err(ConditionError::at(src, i, "use '||' for \"or\"")),
            ('{', Some('%')) => {
                return Err(ConditionError::at(
                    src,
                    i,
                    "a JSONata condition must be the whole condition: \"{% ... %}\"",
                ));
            }
            (c, _) if c.is_alphabetic() || c == '_' => {
                let end = src[i..]
                    .char_indices()
                    .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                    .map_or(src.len(), |(n, _)| i + n);
                (Tok::Word(src[i..end].to_string()), end)
            }
            (c, _) => {
                return Err(ConditionError::at(
                    src,
                    i,
                    format!("unexpected character {c:?}"),
                ));
            }
        };
        tokens.push(Token { tok, start });
        i = end;
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: src.len(),
    });
    Ok(tokens)
}

/// A JSON-style double-quoted string with JSON escapes.
fn lex_string(src: &str, open: usize) -> Result<(Tok, usize), ConditionError> {
    let mut out = String::new();
    let mut chars = src[open + 1..]
        .char_indices()
        .map(|(n, c)| (open + 1 + n, c));
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((Tok::Str(out), i + 1)),
            '\\' => {
                let Some((j, e)) = chars.next() else { break };
                let unescaped = match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let high = hex4(src, j + 1).ok_or_else(|| {
                            ConditionError::at(src, i, "invalid \\u escape: expected 4 hex digits")
                        })?;
                        // Skip the 4 hex digits.
                        for _ in 0..4 {
                            chars.next();
                        }
                        let code = if (0xD800..0xDC00).contains(&high) {
                            let low = (src.get(j + 5..j + 7) == Some("\\u"))
                                .then(|| hex4(src, j + 7))
                                .flatten()
                                .filter(|low| (0xDC00..0xE000).contains(low))
                                .ok_or_else(|| {
                                    ConditionError::at(
                                        src,
                                        i,
                                        "invalid \\u escape: unpaired surrogate",
                                    )
                                })?;
                            for _ in 0..6 {
                                chars.next();
                            }
                            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            high
                        };
                        char::from_u32(code).ok_or_else(|| {
                            ConditionError::at(src, i, "invalid \\u escape: unpaired surrogate")
                        })?
                    }
                    other => {
                        return Err(ConditionError::at(
                            src,
                            i,
                            format!(
                                "invalid escape '\\{other}' in string (use \\\\ for a backslash)"
                            ),
                        ));
                    }
                };
                out.push(unescaped);
            }
            c => out.push(c),
        }
    }
    Err(ConditionError::at(src, open, "unterminated string"))
}

fn hex4(src: &str, at: usize) -> Option<u32> {
    let digits = src.get(at..at + 4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), ConditionError> {
    let b = src.as_bytes();
    let mut i = start;
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    if b[i] == b'-' {
        i += 1;
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(ConditionError::at(
                src,
                start,
                "'-' must start a number such as -5 (there is no arithmetic)",
            ));
        }
    }
    i = digits(i);
    if b.get(i) == Some(&b'.') {
        let after = digits(i + 1);
        if after == i + 1 {
            return Err(ConditionError::at(
                src,
                i,
                "expected digits after the decimal point",
            ));
        }
        i = after;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let after = digits(j);
        if after == j {
            return Err(ConditionError::at(
                src,
                i,
                "expected digits in the exponent",
            ));
        }
        i = after;
    }
    if src[i..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Err(ConditionError::at(src, start, "invalid number"));
    }
    let text = &src[start..i];
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    if unsigned.len() > 1 && unsigned.starts_with('0') && unsigned.as_bytes()[1].is_ascii_digit() {
        return Err(ConditionError::at(
            src,
            start,
            format!("invalid number {text}: no leading zeros"),
        ));
    }
    to_number(text)
        .map(|number| (Tok::Num(number), i))
        .ok_or_else(|| ConditionError::at(src, start, format!("number {text} is out of range")))
}

/// Integers that fit stay integers; everything else becomes the nearest `f64`. Rust's float parser rounds
/// correctly, which serde_json's fast path does not always do: printing then parsing must give the same number.
fn to_number(text: &str) -> Option<Number> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(n) = text.parse::<i64>() {
            return Some(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return Some(n.into());
        }
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks(r#"$.a=="x"&&!($.b<=-1.5e3)||is,"#),
            vec![
                Tok::Path("$.a".into()),
                Tok::EqEq,
                Tok::Str("x".into()),
                Tok::AndAnd,
                Tok::Bang,
                Tok::LParen,
                Tok::Path("$.b".into()),
                Tok::Le,
                Tok::Num(serde_json::from_str("-1.5e3").unwrap()),
                Tok::RParen,
                Tok::OrOr,
                Tok::Word("is".into()),
                Tok::Comma,
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            toks(r#""a\"b\\c\/\n\t\u00e9\ud83d\ude00""#)[0],
            Tok::Str("a\"b\\c/\n\té😀".into())
        );
    }

    #[test]
    fn errors_point_at_columns() {
        let err = |s: &str| tokenize(s).unwrap_err();
        assert_eq!(err(r#"$.a == "abc"#).column, 8);
        assert_eq!(err(r#"$.a == "a\qb""#).column, 10);
        assert_eq!(err(r#"$.a == "\ud800""#).column, 9);
        assert_eq!(err("$.a = 1").column, 5);
        assert_eq!(err("$.a == 01").column, 8);
        assert_eq!(err("$.a == 1.").column, 9);
        assert_eq!(err("$.a == 1e999").column, 8);
        assert_eq!(err("$.a == 5x").column, 8);
        assert_eq!(err("é $.a == @").column, 10);
        assert_eq!(err("$.a.[0] == 1").column, 5);
    }
}
