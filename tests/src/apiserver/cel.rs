//! A small CEL (Common Expression Language) interpreter for CRD `x-kubernetes-validations` rules.
//!
//! It covers the subset validation rules are written in: literals, lists and maps, field selection, indexing,
//! `has()`, `size()`, arithmetic, comparison, `in`, `!`, `&&` / `||` (with CEL's error-absorbing semantics),
//! the ternary operator, the macros `all`, `exists`, `exists_one`, `map`, `filter`, and the string functions
//! `startsWith`, `endsWith`, `contains`, `matches`, `lowerAscii`, `upperAscii`, `trim`, `split`, `join`,
//! `indexOf`, plus `int()`, `uint()`, `double()`, `string()`, `type()`. Anything else fails to compile, so a CRD
//! carrying a rule this interpreter cannot evaluate is refused at install time instead of being skipped.
//! Reference: <https://kubernetes.io/docs/reference/using-api/cel/> and the CEL language definition
//! <https://github.com/google/cel-spec/blob/master/doc/langdef.md>.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Value),
    Ident(String),
    List(Vec<Expr>),
    MapLit(Vec<(Expr, Expr)>),
    Select(Box<Expr>, String),
    Has(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Unary(char, Box<Expr>),
    Binary(String, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A global function (`size(x)`) or a method (`x.size()`, target first in `args`).
    Call(String, Vec<Expr>),
    /// `target.macro(var, body)` or `target.map(var, filter, body)`.
    Macro(String, Box<Expr>, String, Vec<Expr>),
}

const METHODS: &[&str] = &[
    "size",
    "startsWith",
    "endsWith",
    "contains",
    "matches",
    "lowerAscii",
    "upperAscii",
    "trim",
    "split",
    "join",
    "indexOf",
];
const GLOBALS: &[&str] = &[
    "size", "int", "uint", "double", "string", "type", "matches", "bool",
];
const MACROS: &[&str] = &["all", "exists", "exists_one", "map", "filter"];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(Value),
    Str(String),
    Ident(String),
    Op(String),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            let mut is_float = false;
            if c == '0' && chars.get(i + 1).is_some_and(|x| *x == 'x' || *x == 'X') {
                i += 2;
                let hs = i;
                while i < chars.len() && chars[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let text: String = chars[hs..i].iter().collect();
                let n = i64::from_str_radix(&text, 16).map_err(|e| e.to_string())?;
                out.push(Tok::Num(Value::from(n)));
                continue;
            }
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(|x| x.is_ascii_digit()))
                    || chars[i] == 'e'
                    || chars[i] == 'E')
            {
                if !chars[i].is_ascii_digit() {
                    is_float = true;
                }
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if i < chars.len() && (chars[i] == 'u' || chars[i] == 'U') {
                i += 1;
                let n: u64 = text
                    .parse()
                    .map_err(|e| format!("bad number {text}: {e}"))?;
                out.push(Tok::Num(Value::from(n)));
            } else if is_float {
                let f: f64 = text
                    .parse()
                    .map_err(|e| format!("bad number {text}: {e}"))?;
                out.push(Tok::Num(
                    Number::from_f64(f).map(Value::Number).ok_or("bad float")?,
                ));
            } else {
                let n: i64 = text
                    .parse()
                    .map_err(|e| format!("bad number {text}: {e}"))?;
                out.push(Tok::Num(Value::from(n)));
            }
        } else if c == '"' || c == '\'' {
            let raw = i > 0 && (chars[i - 1] == 'r' || chars[i - 1] == 'R');
            let triple = chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
            let quote_len = if triple { 3 } else { 1 };
            i += quote_len;
            let mut s = String::new();
            loop {
                if i >= chars.len() {
                    return Err("unterminated string literal".into());
                }
                if chars[i] == c
                    && (!triple || (chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c)))
                {
                    i += quote_len;
                    break;
                }
                if chars[i] == '\\' && !raw {
                    i += 1;
                    let e = *chars.get(i).ok_or("unterminated escape")?;
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '\\' => '\\',
                        '"' => '"',
                        '\'' => '\'',
                        other => return Err(format!("unsupported escape \\{other}")),
                    });
                    i += 1;
                } else {
                    s.push(chars[i]);
                    i += 1;
                }
            }
            if raw {
                // The `r` prefix was lexed as an identifier: drop it.
                if let Some(Tok::Ident(id)) = out.last()
                    && (id == "r" || id == "R")
                {
                    out.pop();
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(&two.as_str()) {
                out.push(Tok::Op(two));
                i += 2;
            } else if "+-*/%<>!?:.,()[]{}".contains(c) {
                out.push(Tok::Op(c.to_string()));
                i += 1;
            } else {
                return Err(format!("unexpected character {c:?}"));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.peek_op(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), String> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(format!("expected '{op}' at token {}", self.pos + 1))
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let c = self.or()?;
        if self.eat_op("?") {
            let a = self.expr()?;
            self.expect_op(":")?;
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.eat_op("||") {
            let r = self.and()?;
            l = Expr::Binary("||".into(), Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.rel()?;
        while self.eat_op("&&") {
            let r = self.rel()?;
            l = Expr::Binary("&&".into(), Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn rel(&mut self) -> Result<Expr, String> {
        let mut l = self.add()?;
        loop {
            let op = match self.toks.get(self.pos) {
                Some(Tok::Op(o)) if ["==", "!=", "<", "<=", ">", ">="].contains(&o.as_str()) => {
                    o.clone()
                }
                Some(Tok::Ident(i)) if i == "in" => "in".to_string(),
                _ => break,
            };
            self.pos += 1;
            let r = self.add()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn add(&mut self) -> Result<Expr, String> {
        let mut l = self.mul()?;
        loop {
            let op = if self.eat_op("+") {
                "+"
            } else if self.eat_op("-") {
                "-"
            } else {
                break;
            };
            let r = self.mul()?;
            l = Expr::Binary(op.into(), Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn mul(&mut self) -> Result<Expr, String> {
        let mut l = self.unary()?;
        loop {
            let op = if self.eat_op("*") {
                "*"
            } else if self.eat_op("/") {
                "/"
            } else if self.eat_op("%") {
                "%"
            } else {
                break;
            };
            let r = self.unary()?;
            l = Expr::Binary(op.into(), Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_op("!") {
            return Ok(Expr::Unary('!', Box::new(self.unary()?)));
        }
        if self.eat_op("-") {
            return Ok(Expr::Unary('-', Box::new(self.unary()?)));
        }
        self.member()
    }

    fn args(&mut self, close: &str) -> Result<Vec<Expr>, String> {
        let mut args = Vec::new();
        if self.eat_op(close) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat_op(close) {
                return Ok(args);
            }
            self.expect_op(",")?;
            if self.eat_op(close) {
                return Ok(args);
            }
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.toks.get(self.pos) {
            Some(Tok::Ident(i)) => {
                self.pos += 1;
                Ok(i.clone())
            }
            other => Err(format!("expected an identifier, found {other:?}")),
        }
    }

    fn member(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            if self.eat_op(".") {
                let name = self.ident()?;
                if self.eat_op("(") {
                    let args = self.args(")")?;
                    if MACROS.contains(&name.as_str()) {
                        let var = match args.first() {
                            Some(Expr::Ident(v)) => v.clone(),
                            _ => {
                                return Err(format!(
                                    "{name}() needs a variable name as first argument"
                                ));
                            }
                        };
                        let valid = match name.as_str() {
                            "map" => args.len() == 2 || args.len() == 3,
                            _ => args.len() == 2,
                        };
                        if !valid {
                            return Err(format!("wrong number of arguments to {name}()"));
                        }
                        e = Expr::Macro(name, Box::new(e), var, args[1..].to_vec());
                    } else if METHODS.contains(&name.as_str()) {
                        let mut all = vec![e];
                        all.extend(args);
                        e = Expr::Call(name, all);
                    } else {
                        return Err(format!(
                            "function {name}() is not supported by the test API server's CEL interpreter"
                        ));
                    }
                } else {
                    e = Expr::Select(Box::new(e), name);
                }
            } else if self.eat_op("[") {
                let idx = self.expr()?;
                self.expect_op("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of expression")?;
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Lit(n)),
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Ident(i) => match i.as_str() {
                "true" => Ok(Expr::Lit(Value::Bool(true))),
                "false" => Ok(Expr::Lit(Value::Bool(false))),
                "null" => Ok(Expr::Lit(Value::Null)),
                "has" => {
                    self.expect_op("(")?;
                    let arg = self.expr()?;
                    self.expect_op(")")?;
                    match arg {
                        Expr::Select(target, field) => Ok(Expr::Has(target, field)),
                        _ => Err(
                            "has() needs a field selection argument, like has(self.field)".into(),
                        ),
                    }
                }
                _ if self.peek_op("(") => {
                    self.pos += 1;
                    let args = self.args(")")?;
                    if GLOBALS.contains(&i.as_str()) {
                        Ok(Expr::Call(i, args))
                    } else {
                        Err(format!(
                            "function {i}() is not supported by the test API server's CEL interpreter"
                        ))
                    }
                }
                _ => Ok(Expr::Ident(i)),
            },
            Tok::Op(o) if o == "(" => {
                let e = self.expr()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Op(o) if o == "[" => Ok(Expr::List(self.args("]")?)),
            Tok::Op(o) if o == "{" => {
                let mut entries = Vec::new();
                if !self.eat_op("}") {
                    loop {
                        let k = self.expr()?;
                        self.expect_op(":")?;
                        let v = self.expr()?;
                        entries.push((k, v));
                        if self.eat_op("}") {
                            break;
                        }
                        self.expect_op(",")?;
                    }
                }
                Ok(Expr::MapLit(entries))
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

/// Parses a rule; the error says what is not supported.
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected trailing input at token {}", p.pos + 1));
    }
    Ok(e)
}

/// Whether the expression mentions `oldSelf` (a transition rule, evaluated only on updates).
pub fn uses_old_self(e: &Expr) -> bool {
    match e {
        Expr::Ident(i) => i == "oldSelf",
        Expr::Lit(_) => false,
        Expr::List(xs) | Expr::Call(_, xs) => xs.iter().any(uses_old_self),
        Expr::MapLit(kv) => kv.iter().any(|(k, v)| uses_old_self(k) || uses_old_self(v)),
        Expr::Select(t, _) | Expr::Has(t, _) | Expr::Unary(_, t) => uses_old_self(t),
        Expr::Index(a, b) | Expr::Binary(_, a, b) => uses_old_self(a) || uses_old_self(b),
        Expr::Cond(a, b, c) => uses_old_self(a) || uses_old_self(b) || uses_old_self(c),
        Expr::Macro(_, t, _, xs) => uses_old_self(t) || xs.iter().any(uses_old_self),
    }
}

type Env = HashMap<String, Value>;

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn is_int(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a) == num(b),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn truthy(v: Result<Value, String>) -> Result<bool, String> {
    match v? {
        Value::Bool(b) => Ok(b),
        other => Err(format!("expected a bool, got {other}")),
    }
}

fn size_of(v: &Value) -> Result<Value, String> {
    Ok(Value::from(match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(m) => m.len(),
        other => return Err(format!("size() not defined for {other}")),
    } as i64))
}

fn map_key(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn arith(op: &str, a: &Value, b: &Value) -> Result<Value, String> {
    match (op, a, b) {
        ("+", Value::String(x), Value::String(y)) => return Ok(Value::String(format!("{x}{y}"))),
        ("+", Value::Array(x), Value::Array(y)) => {
            let mut v = x.clone();
            v.extend(y.iter().cloned());
            return Ok(Value::Array(v));
        }
        _ => {}
    }
    let (x, y) = match (num(a), num(b)) {
        (Some(x), Some(y)) => (x, y),
        _ => return Err(format!("no such overload: {a} {op} {b}")),
    };
    if is_int(a) && is_int(b) {
        let (x, y) = (x as i64, y as i64);
        let r = match op {
            "+" => x.checked_add(y),
            "-" => x.checked_sub(y),
            "*" => x.checked_mul(y),
            "/" => x.checked_div(y),
            "%" => x.checked_rem(y),
            _ => None,
        };
        return r
            .map(Value::from)
            .ok_or_else(|| format!("integer overflow or division by zero in {op}"));
    }
    let r = match op {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        "/" => x / y,
        _ => return Err(format!("no such overload: double {op} double")),
    };
    Number::from_f64(r)
        .map(Value::Number)
        .ok_or_else(|| "non-finite result".into())
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a)
            .zip(num(b))
            .and_then(|(x, y)| x.partial_cmp(&y))
            .ok_or_else(|| "cannot compare".into()),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        _ => Err(format!("no such overload: {a} compared to {b}")),
    }
}

fn string_arg(v: &Value, f: &str) -> Result<String, String> {
    v.as_str()
        .map(String::from)
        .ok_or_else(|| format!("{f}() expects a string, got {v}"))
}

/// Evaluates `e` with the given variables (`self`, `oldSelf`).
pub fn eval(e: &Expr, env: &Env) -> Result<Value, String> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Ident(i) => env
            .get(i)
            .cloned()
            .ok_or_else(|| format!("undeclared reference to '{i}'")),
        Expr::List(xs) => Ok(Value::Array(
            xs.iter().map(|x| eval(x, env)).collect::<Result<_, _>>()?,
        )),
        Expr::MapLit(kv) => {
            let mut m = Map::new();
            for (k, v) in kv {
                m.insert(map_key(&eval(k, env)?), eval(v, env)?);
            }
            Ok(Value::Object(m))
        }
        Expr::Select(t, f) => match eval(t, env)? {
            Value::Object(m) => m.get(f).cloned().ok_or_else(|| format!("no such key: {f}")),
            other => Err(format!("cannot select field '{f}' from {other}")),
        },
        Expr::Has(t, f) => match eval(t, env)? {
            Value::Object(m) => Ok(Value::Bool(m.contains_key(f))),
            Value::Null => Ok(Value::Bool(false)),
            other => Err(format!("has() cannot test field '{f}' of {other}")),
        },
        Expr::Index(t, i) => {
            let t = eval(t, env)?;
            let i = eval(i, env)?;
            match (&t, &i) {
                (Value::Array(a), _) if is_int(&i) => {
                    let idx = i.as_i64().unwrap_or(-1);
                    usize::try_from(idx)
                        .ok()
                        .and_then(|u| a.get(u))
                        .cloned()
                        .ok_or_else(|| format!("index out of range: {idx}"))
                }
                (Value::Object(m), _) => m
                    .get(&map_key(&i))
                    .cloned()
                    .ok_or_else(|| format!("no such key: {i}")),
                _ => Err(format!("cannot index {t} with {i}")),
            }
        }
        Expr::Unary('!', x) => Ok(Value::Bool(!truthy(eval(x, env))?)),
        Expr::Unary(_, x) => arith("-", &Value::from(0), &eval(x, env)?),
        Expr::Binary(op, a, b) if op == "&&" || op == "||" => {
            let stop = op == "||";
            let l = truthy(eval(a, env));
            if l == Ok(stop) {
                return Ok(Value::Bool(stop));
            }
            let r = truthy(eval(b, env));
            if r == Ok(stop) {
                return Ok(Value::Bool(stop));
            }
            l?;
            r?;
            Ok(Value::Bool(!stop))
        }
        Expr::Binary(op, a, b) => {
            let l = eval(a, env)?;
            let r = eval(b, env)?;
            match op.as_str() {
                "==" => Ok(Value::Bool(equal(&l, &r))),
                "!=" => Ok(Value::Bool(!equal(&l, &r))),
                "<" => Ok(Value::Bool(compare(&l, &r)?.is_lt())),
                "<=" => Ok(Value::Bool(compare(&l, &r)?.is_le())),
                ">" => Ok(Value::Bool(compare(&l, &r)?.is_gt())),
                ">=" => Ok(Value::Bool(compare(&l, &r)?.is_ge())),
                "in" => match &r {
                    Value::Array(xs) => Ok(Value::Bool(xs.iter().any(|x| equal(x, &l)))),
                    Value::Object(m) => Ok(Value::Bool(m.contains_key(&map_key(&l)))),
                    other => Err(format!("'in' not defined for {other}")),
                },
                _ => arith(op, &l, &r),
            }
        }
        Expr::Cond(c, a, b) => {
            if truthy(eval(c, env))? {
                eval(a, env)
            } else {
                eval(b, env)
            }
        }
        Expr::Macro(name, target, var, args) => {
            let items: Vec<Value> = match eval(target, env)? {
                Value::Array(a) => a,
                Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
                other => return Err(format!("{name}() not defined for {other}")),
            };
            let mut scoped = env.clone();
            let mut test = |x: &Value, body: &Expr| -> Result<Value, String> {
                scoped.insert(var.clone(), x.clone());
                eval(body, &scoped)
            };
            match name.as_str() {
                "all" | "exists" => {
                    let want = name == "exists";
                    let mut err = None;
                    for x in &items {
                        match truthy(test(x, &args[0])) {
                            Ok(b) if b == want => return Ok(Value::Bool(want)),
                            Ok(_) => {}
                            Err(e) => err = Some(e),
                        }
                    }
                    match err {
                        Some(e) => Err(e),
                        None => Ok(Value::Bool(!want)),
                    }
                }
                "exists_one" => {
                    let mut n = 0;
                    for x in &items {
                        if truthy(test(x, &args[0]))? {
                            n += 1;
                        }
                    }
                    Ok(Value::Bool(n == 1))
                }
                "filter" => {
                    let mut out = Vec::new();
                    for x in items {
                        if truthy(test(&x, &args[0]))? {
                            out.push(x);
                        }
                    }
                    Ok(Value::Array(out))
                }
                _ => {
                    let mut out = Vec::new();
                    for x in items {
                        if args.len() == 2 && !truthy(test(&x, &args[0]))? {
                            continue;
                        }
                        out.push(test(&x, args.last().ok_or("map() needs a body")?)?);
                    }
                    Ok(Value::Array(out))
                }
            }
        }
        Expr::Call(name, args) => {
            let vals: Vec<Value> = args
                .iter()
                .map(|a| eval(a, env))
                .collect::<Result<_, _>>()?;
            call(name, &vals)
        }
    }
}

fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let arg = |i: usize| {
        a.get(i)
            .ok_or_else(|| format!("{name}() is missing an argument"))
    };
    match name {
        "size" => size_of(arg(0)?),
        "startsWith" => Ok(Value::Bool(
            string_arg(arg(0)?, name)?.starts_with(&string_arg(arg(1)?, name)?),
        )),
        "endsWith" => Ok(Value::Bool(
            string_arg(arg(0)?, name)?.ends_with(&string_arg(arg(1)?, name)?),
        )),
        "contains" => Ok(Value::Bool(
            string_arg(arg(0)?, name)?.contains(&string_arg(arg(1)?, name)?),
        )),
        "matches" => {
            let re = regex::Regex::new(&string_arg(arg(1)?, name)?).map_err(|e| e.to_string())?;
            Ok(Value::Bool(re.is_match(&string_arg(arg(0)?, name)?)))
        }
        "lowerAscii" => Ok(Value::String(
            string_arg(arg(0)?, name)?.to_ascii_lowercase(),
        )),
        "upperAscii" => Ok(Value::String(
            string_arg(arg(0)?, name)?.to_ascii_uppercase(),
        )),
        "trim" => Ok(Value::String(string_arg(arg(0)?, name)?.trim().to_string())),
        "indexOf" => {
            let s = string_arg(arg(0)?, name)?;
            let sub = string_arg(arg(1)?, name)?;
            Ok(Value::from(
                s.find(&sub)
                    .map(|b| s[..b].chars().count() as i64)
                    .unwrap_or(-1),
            ))
        }
        "split" => {
            let s = string_arg(arg(0)?, name)?;
            let sep = string_arg(arg(1)?, name)?;
            Ok(Value::Array(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.into()))
                    .collect(),
            ))
        }
        "join" => {
            let list = arg(0)?.as_array().ok_or("join() expects a list")?;
            let sep = a.get(1).and_then(Value::as_str).unwrap_or("");
            let parts: Result<Vec<String>, String> =
                list.iter().map(|x| string_arg(x, name)).collect();
            Ok(Value::String(parts?.join(sep)))
        }
        "int" => match arg(0)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
                .map(Value::from)
                .ok_or_else(|| "int() overflow".into()),
            Value::String(s) => s.parse::<i64>().map(Value::from).map_err(|e| e.to_string()),
            other => Err(format!("int() not defined for {other}")),
        },
        "uint" => match arg(0)? {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.trunc() as u64))
                .map(Value::from)
                .ok_or_else(|| "uint() overflow".into()),
            Value::String(s) => s.parse::<u64>().map(Value::from).map_err(|e| e.to_string()),
            other => Err(format!("uint() not defined for {other}")),
        },
        "double" => {
            let f = match arg(0)? {
                Value::Number(n) => n.as_f64().unwrap_or(0.0),
                Value::String(s) => s.parse::<f64>().map_err(|e| e.to_string())?,
                other => return Err(format!("double() not defined for {other}")),
            };
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| "non-finite double".into())
        }
        "string" => Ok(Value::String(match arg(0)? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })),
        "bool" => match arg(0)? {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) => s
                .parse::<bool>()
                .map(Value::Bool)
                .map_err(|e| e.to_string()),
            other => Err(format!("bool() not defined for {other}")),
        },
        "type" => Ok(Value::String(
            match arg(0)? {
                Value::Null => "null_type",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_i64() => "int",
                Value::Number(n) if n.is_u64() => "uint",
                Value::Number(_) => "double",
                Value::String(_) => "string",
                Value::Array(_) => "list",
                Value::Object(_) => "map",
            }
            .into(),
        )),
        other => Err(format!("unknown function {other}()")),
    }
}

/// Evaluates a validation rule against `self` (and `oldSelf` for transition rules).
pub fn check(rule: &Expr, this: &Value, old: Option<&Value>) -> Result<bool, String> {
    let mut env = Env::new();
    env.insert("self".into(), this.clone());
    if let Some(o) = old {
        env.insert("oldSelf".into(), o.clone());
    }
    truthy(eval(rule, &env))
}

/// Evaluates a `messageExpression` to a string.
pub fn message(expr: &Expr, this: &Value, old: Option<&Value>) -> Result<String, String> {
    let mut env = Env::new();
    env.insert("self".into(), this.clone());
    if let Some(o) = old {
        env.insert("oldSelf".into(), o.clone());
    }
    match eval(expr, &env)? {
        Value::String(s) => Ok(s),
        other => Err(format!(
            "messageExpression must evaluate to a string, got {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(rule: &str, this: Value) -> Result<bool, String> {
        check(&parse(rule)?, &this, None)
    }

    #[test]
    fn evaluates_the_rule_forms_crds_use() {
        let obj = json!({"a": 1, "b": "x", "list": [1, 2, 3], "m": {"k": "v"}});
        assert_eq!(run("has(self.a) && !has(self.c)", obj.clone()), Ok(true));
        assert_eq!(run("has(self.a) != has(self.b)", obj.clone()), Ok(false));
        assert_eq!(
            run("[has(self.a), has(self.c)].exists_one(x, x)", obj.clone()),
            Ok(true)
        );
        assert_eq!(
            run("size(self.list) <= 3 && self.list.size() == 3", obj.clone()),
            Ok(true)
        );
        assert_eq!(run("self.list.all(x, x > 0)", obj.clone()), Ok(true));
        assert_eq!(
            run("self.a == 1 ? self.b == 'x' : false", obj.clone()),
            Ok(true)
        );
        assert_eq!(
            run("self.b in ['x', 'y'] && 'k' in self.m", obj.clone()),
            Ok(true)
        );
        assert_eq!(
            run(
                "self.b.startsWith(\"x\") && self.b.matches('^x$')",
                obj.clone()
            ),
            Ok(true)
        );
        assert_eq!(
            run("self.list.filter(x, x % 2 == 1).size() == 2", obj.clone()),
            Ok(true)
        );
        assert_eq!(
            run("self.list.map(x, x * 2)[2] == 6", obj.clone()),
            Ok(true)
        );
        // CEL's || absorbs an error on one side when the other side is true.
        assert_eq!(run("self.missing == 1 || true", obj.clone()), Ok(true));
        assert!(run("self.missing == 1", obj).is_err());
    }

    #[test]
    fn refuses_unknown_functions_at_parse_time() {
        let err = parse("self.x.quantity()").unwrap_err();
        assert!(err.contains("quantity"), "{err}");
        assert!(parse("self.a ==").is_err());
    }

    #[test]
    fn transition_rules_see_old_self() {
        let rule = parse("self == oldSelf").unwrap();
        assert!(uses_old_self(&rule));
        assert_eq!(check(&rule, &json!("A"), Some(&json!("A"))), Ok(true));
        assert_eq!(check(&rule, &json!("A"), Some(&json!("B"))), Ok(false));
    }
}
