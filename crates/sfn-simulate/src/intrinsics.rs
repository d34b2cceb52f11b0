//! Intrinsic functions of the JSONPath query language (`States.Format`, `States.Array`, ...): a parser for the
//! call syntax and their evaluation. Failures use AWS's error name `States.IntrinsicFailure` so a `Catch` can
//! handle them as on AWS. Function list and semantics:
//! <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>.

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::Failure;
use super::jsonpath::Path;
use super::rng::Rng;

/// A parsed intrinsic expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal argument.
    Literal(Value),
    /// A path argument (`$.x`, `$$.Execution.Id`, `$var`).
    Path(Path),
    /// A nested call.
    Call(String, Vec<Expr>),
}

/// True when a string looks like an intrinsic call (`States.Name(`).
pub fn is_intrinsic(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("States.") && t.contains('(')
}

/// Parses `States.Name(arg, ...)`.
pub fn parse(text: &str) -> Result<Expr, String> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut p = Parser {
        chars: &chars,
        pos: 0,
        depth: 0,
    };
    let e = p.call()?;
    p.ws();
    if p.pos != chars.len() {
        return Err(format!(
            "unexpected text after the closing parenthesis at position {}",
            p.pos
        ));
    }
    Ok(e)
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
    fn call(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err("intrinsic functions are nested too deeply".into());
        }
        let r = self.call_inner();
        self.depth -= 1;
        r
    }

    fn call_inner(&mut self) -> Result<Expr, String> {
        self.ws();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        if !name.starts_with("States.") {
            return Err(format!("'{name}' is not an intrinsic function"));
        }
        self.ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(Expr::Call(name, args));
        }
        loop {
            args.push(self.arg()?);
            self.ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(Expr::Call(name, args));
                }
                _ => return Err(format!("expected ',' or ')' in the arguments of {name}")),
            }
        }
    }

    fn arg(&mut self) -> Result<Expr, String> {
        self.ws();
        match self.peek() {
            Some('\'') => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') => {
                            self.pos += 1;
                            match self.peek() {
                                Some(c) => {
                                    // `\{` and `\}` must survive until States.Format sees them.
                                    if c == '{' || c == '}' {
                                        s.push('\\');
                                    }
                                    s.push(c);
                                    self.pos += 1;
                                }
                                None => return Err("unterminated escape".into()),
                            }
                        }
                        Some('\'') => {
                            self.pos += 1;
                            return Ok(Expr::Literal(Value::String(s)));
                        }
                        Some(c) => {
                            s.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some('$') => {
                let start = self.pos;
                let mut depth = 0i32;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    if let Some(q) = quote {
                        if c == q {
                            quote = None;
                        }
                    } else {
                        match c {
                            '\'' | '"' => quote = Some(c),
                            '[' | '(' => depth += 1,
                            ']' => depth -= 1,
                            ')' if depth == 0 => break,
                            ')' => depth -= 1,
                            ',' if depth == 0 => break,
                            _ => {}
                        }
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Path::parse(text.trim())
                    .map(Expr::Path)
                    .map_err(|e| e.to_string())
            }
            Some('S') => self.call(),
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != ',' && c != ')') {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                let text = text.trim();
                serde_json::from_str::<Value>(text)
                    .ok()
                    .filter(|v| !v.is_object() && !v.is_array() && !v.is_string())
                    .map(Expr::Literal)
                    .ok_or_else(|| format!("invalid argument '{text}'"))
            }
        }
    }
}

fn fail(cause: String) -> Failure {
    Failure::new("States.IntrinsicFailure", cause)
}

/// Evaluates a parsed intrinsic; `resolve` reads paths (and reports a missing path as AWS does).
pub fn eval(
    expr: &Expr,
    resolve: &dyn Fn(&Path) -> Result<Value, Failure>,
    rng: &mut Rng,
) -> Result<Value, Failure> {
    match expr {
        Expr::Literal(v) => Ok(v.clone()),
        Expr::Path(p) => resolve(p),
        Expr::Call(name, args) => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, resolve, rng)?);
            }
            call(name, vals, rng)
        }
    }
}

fn want_args(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), Failure> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(fail(format!(
            "The function {name} expects {expected} argument(s) but received {}",
            args.len()
        )));
    }
    Ok(())
}

fn as_int(name: &str, v: &Value) -> Result<i64, Failure> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| fail(format!("The function {name} expects an integer, found {v}"))),
        _ => Err(fail(format!(
            "The function {name} expects an integer, found {v}"
        ))),
    }
}

fn as_array<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, Failure> {
    v.as_array()
        .ok_or_else(|| fail(format!("The function {name} expects an array, found {v}")))
}

fn as_str<'a>(name: &str, v: &'a Value) -> Result<&'a str, Failure> {
    v.as_str()
        .ok_or_else(|| fail(format!("The function {name} expects a string, found {v}")))
}

/// Renders a value the way `States.Format` does (Java-style maps and lists for structured values).
pub fn format_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(format_arg).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{k}={}", format_arg(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn call(name: &str, args: Vec<Value>, rng: &mut Rng) -> Result<Value, Failure> {
    let short = name.trim_start_matches("States.");
    match short {
        "Format" => {
            if args.is_empty() {
                return Err(fail(format!(
                    "The function {name} expects at least 1 argument"
                )));
            }
            let template = as_str(name, &args[0])?;
            let mut out = String::new();
            let mut rest = args[1..].iter();
            let mut chars = template.chars().peekable();
            let mut used = 0;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            out.push(n);
                        }
                    }
                    '{' if chars.peek() == Some(&'}') => {
                        chars.next();
                        let arg = rest.next().ok_or_else(|| {
                            fail(format!(
                                "The function {name} has more placeholders than arguments"
                            ))
                        })?;
                        used += 1;
                        out.push_str(&format_arg(arg));
                    }
                    _ => out.push(c),
                }
            }
            if used != args.len() - 1 {
                return Err(fail(format!(
                    "The function {name} received {} argument(s) for {used} placeholder(s)",
                    args.len() - 1
                )));
            }
            Ok(Value::String(out))
        }
        "StringToJson" => {
            want_args(name, &args, 1, 1)?;
            let s = as_str(name, &args[0])?;
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(s)
                .map_err(|e| fail(format!("The function {name} could not parse '{s}': {e}")))
        }
        "JsonToString" => {
            want_args(name, &args, 1, 1)?;
            Ok(Value::String(args[0].to_string()))
        }
        "Array" => Ok(Value::Array(args)),
        "ArrayPartition" => {
            want_args(name, &args, 2, 2)?;
            let arr = as_array(name, &args[0])?;
            let size = as_int(name, &args[1])?;
            if size <= 0 {
                return Err(fail(format!(
                    "The function {name} expects a positive chunk size, found {size}"
                )));
            }
            Ok(Value::Array(
                arr.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "ArrayContains" => {
            want_args(name, &args, 2, 2)?;
            Ok(Value::Bool(as_array(name, &args[0])?.contains(&args[1])))
        }
        "ArrayRange" => {
            want_args(name, &args, 3, 3)?;
            let (start, end, step) = (
                as_int(name, &args[0])?,
                as_int(name, &args[1])?,
                as_int(name, &args[2])?,
            );
            if step == 0 {
                return Err(fail(format!("The function {name} expects a non-zero step")));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                out.push(Value::from(i));
                if out.len() > 1000 {
                    return Err(fail(format!(
                        "The function {name} cannot produce more than 1000 items"
                    )));
                }
                i += step;
            }
            Ok(Value::Array(out))
        }
        "ArrayGetItem" => {
            want_args(name, &args, 2, 2)?;
            let arr = as_array(name, &args[0])?;
            let idx = as_int(name, &args[1])?;
            usize::try_from(idx)
                .ok()
                .and_then(|i| arr.get(i))
                .cloned()
                .ok_or_else(|| fail(format!("The index {idx} is out of bounds in {name}")))
        }
        "ArrayLength" => {
            want_args(name, &args, 1, 1)?;
            Ok(Value::from(as_array(name, &args[0])?.len()))
        }
        "ArrayUnique" => {
            want_args(name, &args, 1, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in as_array(name, &args[0])? {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "Base64Encode" => {
            want_args(name, &args, 1, 1)?;
            let s = as_str(name, &args[0])?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        "Base64Decode" => {
            want_args(name, &args, 1, 1)?;
            let s = as_str(name, &args[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| fail(format!("The function {name} could not decode '{s}': {e}")))?;
            String::from_utf8(bytes).map(Value::String).map_err(|_| {
                fail(format!(
                    "The function {name} decoded bytes that are not UTF-8"
                ))
            })
        }
        "Hash" => {
            want_args(name, &args, 2, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let algo = as_str(name, &args[1])?;
            let digest = match algo {
                "MD5" => hex::encode(md5::Md5::digest(data.as_bytes())),
                "SHA-1" => hex::encode(sha1::Sha1::digest(data.as_bytes())),
                "SHA-256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
                "SHA-384" => hex::encode(sha2::Sha384::digest(data.as_bytes())),
                "SHA-512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
                other => {
                    return Err(fail(format!(
                        "The function {name} does not support the algorithm '{other}' \
                         (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
                    )));
                }
            };
            Ok(Value::String(digest))
        }
        "JsonMerge" => {
            want_args(name, &args, 3, 3)?;
            let (Some(a), Some(b)) = (args[0].as_object(), args[1].as_object()) else {
                return Err(fail(format!("The function {name} expects two objects")));
            };
            if args[2] != Value::Bool(false) {
                return Err(fail(format!(
                    "The function {name} supports only shallow merges: the third argument must be false"
                )));
            }
            let mut out: Map<String, Value> = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        "MathRandom" => {
            want_args(name, &args, 2, 3)?;
            let start = as_number(name, &args[0])?.floor() as i64;
            let end = as_number(name, &args[1])?.floor() as i64;
            if end <= start {
                return Err(fail(format!(
                    "The function {name} expects the end to be greater than the start"
                )));
            }
            let value = match args.get(2) {
                Some(seed) => {
                    let mut seeded = Rng::new(as_int(name, seed)? as u64);
                    seeded.range_i64(start, end)
                }
                None => rng.range_i64(start, end),
            };
            Ok(Value::from(value))
        }
        "MathAdd" => {
            want_args(name, &args, 2, 2)?;
            // AWS adds integers: each fractional argument is rounded half up first, like Java's Math.round
            // (1.49 + 1.5 = 3, -1.49 + -1.5 = -2 in recorded executions).
            let a = (as_number(name, &args[0])? + 0.5).floor();
            let b = (as_number(name, &args[1])? + 0.5).floor();
            if a.abs() > i64::MAX as f64 || b.abs() > i64::MAX as f64 {
                return Err(fail(format!(
                    "The function {name} received a number out of range"
                )));
            }
            Ok(Value::from((a as i64).saturating_add(b as i64)))
        }
        "StringSplit" => {
            want_args(name, &args, 2, 2)?;
            let s = as_str(name, &args[0])?;
            let delims: Vec<char> = as_str(name, &args[1])?.chars().collect();
            Ok(Value::Array(
                s.split(|c| delims.contains(&c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ))
        }
        "UUID" => {
            want_args(name, &args, 0, 0)?;
            Ok(Value::String(rng.uuid()))
        }
        _ => Err(fail(format!("The function {name} is not supported"))),
    }
}

fn as_number(name: &str, v: &Value) -> Result<f64, Failure> {
    v.as_f64()
        .ok_or_else(|| fail(format!("The function {name} expects a number, found {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(text: &str, input: Value) -> Result<Value, Failure> {
        let expr = parse(text).map_err(|e| Failure::new("States.Runtime", e))?;
        let resolve = |p: &Path| {
            p.select(&input)
                .ok_or_else(|| Failure::new("States.Runtime", "missing"))
        };
        eval(&expr, &resolve, &mut Rng::new(7))
    }

    #[test]
    fn format_and_nested_calls() {
        assert_eq!(
            run("States.Format('a {} b {}', $.x, 'y')", json!({"x": 1})).unwrap(),
            json!("a 1 b y")
        );
        assert_eq!(
            run(
                "States.Format('{}', $.o)",
                json!({"o": {"a": 1, "b": [1, 2]}})
            )
            .unwrap(),
            json!("{a=1, b=[1, 2]}")
        );
        assert_eq!(
            run(
                "States.ArrayGetItem(States.StringSplit('a-b-c', '-'), 2)",
                json!({})
            )
            .unwrap(),
            json!("c")
        );
        assert_eq!(
            run("States.Format('esc \\{\\} {}', 'x')", json!({})).unwrap(),
            json!("esc {} x")
        );
    }

    #[test]
    fn arrays_hashes_and_math() {
        assert_eq!(
            run(
                "States.ArrayPartition(States.Array(1,2,3,4,5), 2)",
                json!({})
            )
            .unwrap(),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run("States.Hash('input data', 'MD5')", json!({})).unwrap(),
            json!("812f45842bc6d66ee14572ce20db8e86")
        );
        assert_eq!(
            run("States.Hash('abc', 'SHA-1')", json!({})).unwrap(),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(run("States.MathAdd(-9, 3)", json!({})).unwrap(), json!(-6));
        assert_eq!(
            run("States.MathAdd(1.49, 1.5)", json!({})).unwrap(),
            json!(3)
        );
        assert_eq!(
            run("States.MathAdd(1.5, 1.51)", json!({})).unwrap(),
            json!(4)
        );
        assert_eq!(
            run("States.MathAdd(-1.49, -1.5)", json!({})).unwrap(),
            json!(-2)
        );
        assert_eq!(
            run("States.ArrayUnique(States.Array(1, 1, 2))", json!({})).unwrap(),
            json!([1, 2])
        );
        let r = run("States.MathRandom(1, 5)", json!({})).unwrap();
        assert!((1..5).contains(&r.as_i64().unwrap()));
        assert_eq!(
            run("States.Base64Decode(States.Base64Encode('hi'))", json!({})).unwrap(),
            json!("hi")
        );
    }

    #[test]
    fn failures_are_intrinsic_failures() {
        let e = run("States.ArrayGetItem(States.Array(1), 5)", json!({})).unwrap_err();
        assert_eq!(e.error.as_deref(), Some("States.IntrinsicFailure"));
        assert!(run("States.Nope(1)", json!({})).is_err());
        assert!(parse("States.Format('x'").is_err());
    }
}
