//! The JSONPath dialect of Amazon States Language: paths over the state input (`$`), the context object
//! (`$$`) and workflow variables (`$name`), with the operators Step Functions accepts (child, index, wildcard,
//! slice, union, recursive descent and `?()` filters).
//!
//! Step Functions distinguishes *reference paths* (single value, used by `InputPath`, `ResultPath`, choice
//! `Variable`, ...) from general paths whose indefinite operators return an array. Both are handled here;
//! the executor decides which it needs. See
//! <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>.

use serde_json::{Map, Value};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// `$`: the state input (or the value the path is applied to).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// One step of a parsed path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<UnionItem>),
    Descend(Box<Segment>),
    Filter(Box<FilterExpr>),
}

#[derive(Debug, Clone, PartialEq)]
enum UnionItem {
    Name(String),
    Index(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum FilterExpr {
    Or(Box<FilterExpr>, Box<FilterExpr>),
    And(Box<FilterExpr>, Box<FilterExpr>),
    Not(Box<FilterExpr>),
    Cmp(Operand, CmpOp, Operand),
    Exists(Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum CmpOp {
    /// `=~ /regex/flags`.
    Matches,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(Vec<Segment>),
    Root(Vec<Segment>),
    Literal(Value),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Where evaluation starts.
    pub root: Root,
    segments: Vec<Segment>,
    text: String,
}

/// Why a path could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid JSONPath '{path}': {reason}")]
pub struct PathSyntaxError {
    /// The path as written.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Path {
    /// Parses a path such as `$.a.b[0]`, `$$.Execution.Id` or `$var.field`.
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let err = |reason: &str| PathSyntaxError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim();
        let chars: Vec<char> = trimmed.chars().collect();
        if chars.first() != Some(&'$') {
            return Err(err("a path must start with '$'"));
        }
        let mut pos = 1;
        let root = if chars.get(1) == Some(&'$') {
            pos = 2;
            Root::Context
        } else if chars.get(1).is_some_and(|c| is_ident_char(*c)) {
            let start = pos;
            while pos < chars.len() && is_ident_char(chars[pos]) {
                pos += 1;
            }
            Root::Variable(chars[start..pos].iter().collect())
        } else {
            Root::Input
        };
        let mut parser = SegParser {
            chars: &chars,
            pos,
            depth: 0,
        };
        let segments = parser.segments().map_err(|r| err(&r))?;
        if parser.pos != chars.len() {
            return Err(err(&format!(
                "unexpected character at position {}",
                parser.pos
            )));
        }
        Ok(Path {
            root,
            segments,
            text: trimmed.to_string(),
        })
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the path can only ever select one value (no wildcard, slice, union, descent or filter).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)))
    }

    /// The plain field/index steps of a definite path, for writing into a value (`ResultPath`).
    pub fn steps(&self) -> Option<Vec<Step>> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Child(n) => Some(Step::Field(n.clone())),
                Segment::Index(i) => Some(Step::Index(*i)),
                _ => None,
            })
            .collect()
    }

    /// Selects from `root_value`. A definite path gives `Some(value)` or `None` when absent; an indefinite path
    /// always gives `Some(array of matches)`.
    pub fn select(&self, root_value: &Value) -> Option<Value> {
        let matches = eval_segments(&self.segments, root_value, root_value);
        if self.is_definite() {
            matches.into_iter().next()
        } else {
            Some(Value::Array(matches))
        }
    }
}

/// One step of a definite path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An object member.
    Field(String),
    /// An array element (negative counts from the end).
    Index(i64),
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

struct SegParser<'a> {
    chars: &'a [char],
    pos: usize,
    depth: usize,
}

impl SegParser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn segments(&mut self) -> Result<Vec<Segment>, String> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    if self.chars.get(self.pos + 1) == Some(&'.') {
                        self.pos += 2;
                        let inner = if self.peek() == Some('[') {
                            self.bracket()?
                        } else if self.peek() == Some('*') {
                            self.pos += 1;
                            Segment::Wildcard
                        } else {
                            Segment::Child(self.name()?)
                        };
                        out.push(Segment::Descend(Box::new(inner)));
                    } else {
                        self.pos += 1;
                        if self.peek() == Some('*') {
                            self.pos += 1;
                            out.push(Segment::Wildcard);
                        } else if self.peek() == Some('[') {
                            // `$.[0]` and `$.[?(...)]`: a dot before brackets is accepted.
                            out.push(self.bracket()?);
                        } else {
                            out.push(Segment::Child(self.name()?));
                        }
                    }
                }
                Some('[') => out.push(self.bracket()?),
                _ => return Ok(out),
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '.' || c == '[' || c == ']' || c.is_whitespace() || c == ')' || c == ',' {
                break;
            }
            // Comparison operators end a name inside filters.
            if matches!(c, '=' | '!' | '<' | '>' | '&' | '|') {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err("expected a field name".into());
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    /// A quoted name or string literal, `'...'` or `"..."`. Step Functions paths follow the JsonPath ABNF
    /// (amazon-states-language-paths.html), whose string literals (RFC 9535, section 2.3.1.1) take the JSON
    /// escapes `\b \f \n \r \t \/ \\ \uXXXX` (surrogate pairs included) plus the escaped quote, so
    /// `$['a\'b']` names the field `a'b` and `$["x\"y"]` the field `x"y`. Any other escaped character stands
    /// for itself, as it did before escapes were decoded (the ABNF refuses it; being lenient keeps paths that
    /// ran before running).
    fn quoted(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or("expected a quote")?;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some('\\') => {
                    self.pos += 1;
                    let Some(c) = self.peek() else {
                        return Err("unterminated string".into());
                    };
                    self.pos += 1;
                    match c {
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'u' => s.push(self.unicode_escape()?),
                        other => s.push(other),
                    }
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// The `XXXX` of a `\uXXXX` escape (the `\u` already read), joining a UTF-16 surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            let pair = self.chars.get(self.pos..self.pos + 2) == Some(&['\\', 'u'][..]);
            if !pair {
                return Err(
                    "a \\u escape of a high surrogate must be followed by a low one".into(),
                );
            }
            self.pos += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(
                    "a \\u escape of a high surrogate must be followed by a low one".into(),
                );
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| format!("\\u escape {code:04X} is not a character"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let text: String = self
            .chars
            .get(self.pos..self.pos + 4)
            .map(|h| h.iter().collect())
            .unwrap_or_default();
        let code = u32::from_str_radix(&text, 16)
            .ok()
            .filter(|_| text.len() == 4 && text.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| format!("expected four hex digits after \\u, found '{text}'"))?;
        self.pos += 4;
        Ok(code)
    }

    fn int(&mut self) -> Result<i64, String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse::<i64>()
            .map_err(|_| format!("expected an integer, found '{text}'"))
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        self.pos += 1; // '['
        self.skip_ws();
        let seg = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some('?') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() != Some('(') {
                    return Err("expected '(' after '?'".into());
                }
                self.pos += 1;
                let expr = self.filter_or()?;
                self.skip_ws();
                if self.peek() != Some(')') {
                    return Err("expected ')' closing the filter".into());
                }
                self.pos += 1;
                Segment::Filter(Box::new(expr))
            }
            Some('\'') | Some('"') => {
                let mut items = vec![UnionItem::Name(self.quoted()?)];
                self.skip_ws();
                while self.peek() == Some(',') {
                    self.pos += 1;
                    self.skip_ws();
                    items.push(UnionItem::Name(self.quoted()?));
                    self.skip_ws();
                }
                if items.len() == 1 {
                    match items.pop() {
                        Some(UnionItem::Name(n)) => Segment::Child(n),
                        _ => unreachable!("one name was pushed"),
                    }
                } else {
                    Segment::Union(items)
                }
            }
            _ => {
                let start = if self.peek() == Some(':') {
                    None
                } else {
                    Some(self.int()?)
                };
                self.skip_ws();
                match self.peek() {
                    Some(':') => {
                        self.pos += 1;
                        self.skip_ws();
                        let end = if matches!(self.peek(), Some(']') | Some(':')) {
                            None
                        } else {
                            Some(self.int()?)
                        };
                        self.skip_ws();
                        let step = if self.peek() == Some(':') {
                            self.pos += 1;
                            self.skip_ws();
                            if self.peek() == Some(']') {
                                None
                            } else {
                                Some(self.int()?)
                            }
                        } else {
                            None
                        };
                        Segment::Slice(start, end, step)
                    }
                    Some(',') => {
                        let mut items = vec![UnionItem::Index(start.unwrap_or(0))];
                        while self.peek() == Some(',') {
                            self.pos += 1;
                            items.push(UnionItem::Index(self.int()?));
                            self.skip_ws();
                        }
                        Segment::Union(items)
                    }
                    _ => Segment::Index(start.ok_or("expected an index")?),
                }
            }
        };
        self.skip_ws();
        if self.peek() != Some(']') {
            return Err("expected ']'".into());
        }
        self.pos += 1;
        Ok(seg)
    }

    fn filter_or(&mut self) -> Result<FilterExpr, String> {
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('|') && self.chars.get(self.pos + 1) == Some(&'|') {
                self.pos += 2;
                let right = self.filter_and()?;
                left = FilterExpr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_and(&mut self) -> Result<FilterExpr, String> {
        let mut left = self.filter_unary()?;
        loop {
            self.skip_ws();
            if self.peek() == Some('&') && self.chars.get(self.pos + 1) == Some(&'&') {
                self.pos += 2;
                let right = self.filter_unary()?;
                left = FilterExpr::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_unary(&mut self) -> Result<FilterExpr, String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err("the filter is nested too deeply".into());
        }
        let r = self.filter_unary_inner();
        self.depth -= 1;
        r
    }

    fn filter_unary_inner(&mut self) -> Result<FilterExpr, String> {
        self.skip_ws();
        if self.peek() == Some('!') && self.chars.get(self.pos + 1) != Some(&'=') {
            self.pos += 1;
            return Ok(FilterExpr::Not(Box::new(self.filter_unary()?)));
        }
        if self.peek() == Some('(') {
            self.pos += 1;
            let e = self.filter_or()?;
            self.skip_ws();
            if self.peek() != Some(')') {
                return Err("expected ')'".into());
            }
            self.pos += 1;
            return Ok(e);
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = match (self.peek(), self.chars.get(self.pos + 1)) {
            (Some('='), Some('~')) => Some((CmpOp::Matches, 2)),
            (Some('='), Some('=')) => Some((CmpOp::Eq, 2)),
            (Some('!'), Some('=')) => Some((CmpOp::Ne, 2)),
            (Some('<'), Some('=')) => Some((CmpOp::Le, 2)),
            (Some('>'), Some('=')) => Some((CmpOp::Ge, 2)),
            (Some('<'), _) => Some((CmpOp::Lt, 1)),
            (Some('>'), _) => Some((CmpOp::Gt, 1)),
            _ => None,
        };
        match op {
            Some((op, len)) => {
                self.pos += len;
                let right = self.operand()?;
                Ok(FilterExpr::Cmp(left, op, right))
            }
            None => Ok(FilterExpr::Exists(left)),
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                Ok(Operand::Current(self.segments()?))
            }
            Some('$') => {
                self.pos += 1;
                Ok(Operand::Root(self.segments()?))
            }
            Some('\'') | Some('"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some('/') => {
                // A regular expression literal, kept as `/pattern/flags` text for `=~`.
                let start = self.pos;
                self.pos += 1;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '\\' {
                        self.pos += 1;
                    } else if c == '/' {
                        break;
                    }
                }
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.pos += 1;
                }
                let end = self.pos.min(self.chars.len());
                Ok(Operand::Literal(Value::String(
                    self.chars[start..end].iter().collect(),
                )))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Value>(&text)
                    .map(Operand::Literal)
                    .map_err(|_| format!("invalid number '{text}'"))
            }
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    "null" => Ok(Operand::Literal(Value::Null)),
                    _ => Err(format!("unexpected '{word}' in filter")),
                }
            }
        }
    }
}

fn eval_segments(segments: &[Segment], value: &Value, root: &Value) -> Vec<Value> {
    let mut current = vec![value.clone()];
    for seg in segments {
        let mut next = Vec::new();
        for v in &current {
            apply_segment(seg, v, root, &mut next);
        }
        current = next;
    }
    current
}

fn index_of(len: usize, i: i64) -> Option<usize> {
    let len = len as i64;
    let idx = if i < 0 { len + i } else { i };
    (0..len).contains(&idx).then_some(idx as usize)
}

fn apply_segment(seg: &Segment, v: &Value, root: &Value, out: &mut Vec<Value>) {
    match seg {
        Segment::Child(name) => {
            if let Some(x) = v.as_object().and_then(|o| o.get(name)) {
                out.push(x.clone());
            }
        }
        Segment::Index(i) => {
            if let Some(a) = v.as_array()
                && let Some(idx) = index_of(a.len(), *i)
            {
                out.push(a[idx].clone());
            }
        }
        Segment::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter().cloned()),
            Value::Object(o) => out.extend(o.values().cloned()),
            _ => {}
        },
        Segment::Slice(start, end, step) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let step = step.unwrap_or(1);
                if step <= 0 {
                    return;
                }
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = start.map_or(0, norm);
                let e = end.map_or(len, norm);
                let mut i = s;
                while i < e {
                    out.push(a[i as usize].clone());
                    i += step;
                }
            }
        }
        Segment::Union(items) => {
            for item in items {
                match item {
                    UnionItem::Name(n) => {
                        if let Some(x) = v.as_object().and_then(|o| o.get(n)) {
                            out.push(x.clone());
                        }
                    }
                    UnionItem::Index(i) => {
                        if let Some(a) = v.as_array()
                            && let Some(idx) = index_of(a.len(), *i)
                        {
                            out.push(a[idx].clone());
                        }
                    }
                }
            }
        }
        Segment::Descend(inner) => {
            apply_segment(inner, v, root, out);
            match v {
                Value::Array(a) => a.iter().for_each(|x| apply_segment(seg, x, root, out)),
                Value::Object(o) => o.values().for_each(|x| apply_segment(seg, x, root, out)),
                _ => {}
            }
        }
        Segment::Filter(expr) => {
            let candidates: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => o.values().collect(),
                _ => Vec::new(),
            };
            for c in candidates {
                if filter_matches(expr, c, root) {
                    out.push(c.clone());
                }
            }
        }
    }
}

fn operand_value(op: &Operand, current: &Value, root: &Value) -> Option<Value> {
    match op {
        Operand::Current(segs) => eval_segments(segs, current, root).into_iter().next(),
        Operand::Root(segs) => eval_segments(segs, root, root).into_iter().next(),
        Operand::Literal(v) => Some(v.clone()),
    }
}

fn filter_matches(expr: &FilterExpr, current: &Value, root: &Value) -> bool {
    match expr {
        FilterExpr::Or(a, b) => {
            filter_matches(a, current, root) || filter_matches(b, current, root)
        }
        FilterExpr::And(a, b) => {
            filter_matches(a, current, root) && filter_matches(b, current, root)
        }
        FilterExpr::Not(a) => !filter_matches(a, current, root),
        FilterExpr::Exists(op) => operand_value(op, current, root).is_some(),
        FilterExpr::Cmp(l, op, r) => {
            let (Some(l), Some(r)) = (
                operand_value(l, current, root),
                operand_value(r, current, root),
            ) else {
                return false;
            };
            let ord = match (&l, &r) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            match op {
                CmpOp::Matches => match (l.as_str(), r.as_str()) {
                    (Some(text), Some(re)) => regex_literal(re).is_some_and(|re| re.is_match(text)),
                    _ => false,
                },
                CmpOp::Eq => ord.map_or(l == r, |o| o.is_eq()),
                CmpOp::Ne => ord.map_or(l != r, |o| o.is_ne()),
                CmpOp::Lt => ord.is_some_and(|o| o.is_lt()),
                CmpOp::Le => ord.is_some_and(|o| o.is_le()),
                CmpOp::Gt => ord.is_some_and(|o| o.is_gt()),
                CmpOp::Ge => ord.is_some_and(|o| o.is_ge()),
            }
        }
    }
}

/// Compiles a `/pattern/flags` literal (`i` and `m` flags honoured).
fn regex_literal(text: &str) -> Option<regex::Regex> {
    let rest = text.strip_prefix('/')?;
    let end = rest.rfind('/')?;
    let (pattern, flags) = (&rest[..end], &rest[end + 1..]);
    let mut prefix = String::new();
    for f in flags.chars().filter(|f| matches!(f, 'i' | 'm' | 's')) {
        prefix.push_str(&format!("(?{f})"));
    }
    regex::Regex::new(&format!("{prefix}{pattern}")).ok()
}

/// Why a value could not be written at a path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot write at '{path}': {reason}")]
pub struct WriteError {
    /// The path.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Writes `value` into `target` at the definite path `path` (the `ResultPath` rule: missing objects are
/// created, existing fields replaced).
pub fn write_at(target: Value, path: &Path, value: Value) -> Result<Value, WriteError> {
    let err = |reason: &str| WriteError {
        path: path.text().to_string(),
        reason: reason.to_string(),
    };
    if path.root != Root::Input {
        return Err(err("only '$' paths can be written"));
    }
    let steps = path
        .steps()
        .ok_or_else(|| err("the path must be a reference path"))?;
    if steps.is_empty() {
        return Ok(value);
    }
    let mut target = target;
    write_steps(&mut target, &steps, value).map_err(|r| err(&r))?;
    Ok(target)
}

fn write_steps(target: &mut Value, steps: &[Step], value: Value) -> Result<(), String> {
    let Some((first, rest)) = steps.split_first() else {
        *target = value;
        return Ok(());
    };
    match first {
        Step::Field(name) => {
            if !target.is_object() {
                if target.is_null() {
                    *target = Value::Object(Map::new());
                } else {
                    return Err(format!(
                        "the field '{name}' cannot be set on a non-object value"
                    ));
                }
            }
            let obj = target.as_object_mut().ok_or("not an object")?;
            let slot = obj.entry(name.clone()).or_insert(Value::Null);
            if rest.is_empty() {
                *slot = value;
                Ok(())
            } else {
                write_steps(slot, rest, value)
            }
        }
        Step::Index(i) => {
            let arr = target
                .as_array_mut()
                .ok_or_else(|| format!("index [{i}] applied to a non-array value"))?;
            let idx = index_of(arr.len(), *i).ok_or_else(|| format!("index [{i}] out of range"))?;
            write_steps(&mut arr[idx], rest, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, v: &Value) -> Option<Value> {
        Path::parse(p).unwrap().select(v)
    }

    #[test]
    fn definite_paths_select_one_value() {
        let v = json!({"a": {"b": [1, 2, {"c": "x"}]}, "d-e": 1});
        assert_eq!(sel("$.a.b[2].c", &v), Some(json!("x")));
        assert_eq!(sel("$['a']['b'][-1]", &v), Some(json!({"c": "x"})));
        assert_eq!(sel("$.d-e", &v), Some(json!(1)));
        assert_eq!(sel("$.missing", &v), None);
        assert_eq!(sel("$", &v), Some(v.clone()));
    }

    #[test]
    fn indefinite_paths_return_arrays() {
        let v = json!({"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}, {"id": 3}]});
        assert_eq!(sel("$.items[*].id", &v), Some(json!([1, 2, 3])));
        assert_eq!(sel("$.items[1:].id", &v), Some(json!([2, 3])));
        assert_eq!(sel("$..id", &v), Some(json!([1, 2, 3])));
        assert_eq!(sel("$.items[?(@.id > 1)].id", &v), Some(json!([2, 3])));
        assert_eq!(
            sel("$.items[?(@.ok == true && @.id < 5)].id", &v),
            Some(json!([1]))
        );
        assert_eq!(sel("$.items[?(@.ok)].id", &v), Some(json!([1, 2])));
        assert_eq!(sel("$.nothing[*]", &v), Some(json!([])));
        let years = json!([{"year": 1997, "name": "a"}, {"year": 1999, "name": "b"}]);
        assert_eq!(sel("$.[?(@.year < 1999)].name", &years), Some(json!(["a"])));
        assert_eq!(
            sel("$[?(@.year <= 1999)].year", &years),
            Some(json!([1997, 1999]))
        );
        let named = json!({"users": [{"name": "Anna"}, {"name": "bob"}]});
        assert_eq!(
            sel("$.users[?(@.name =~ /^a.*/i)].name", &named),
            Some(json!(["Anna"]))
        );
    }

    #[test]
    fn roots_are_recognised() {
        assert_eq!(Path::parse("$$.Execution.Id").unwrap().root, Root::Context);
        assert_eq!(
            Path::parse("$myVar.x").unwrap().root,
            Root::Variable("myVar".into())
        );
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
    }

    #[test]
    fn write_creates_missing_objects() {
        let p = Path::parse("$.a.b").unwrap();
        assert_eq!(
            write_at(json!({"x": 1}), &p, json!(2)).unwrap(),
            json!({"x": 1, "a": {"b": 2}})
        );
        assert!(write_at(json!({"a": 1}), &p, json!(2)).is_err());
    }
}
