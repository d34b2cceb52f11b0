//! A tiny evaluator for the subset of CEL the operator's CRD rules use: `self` field selection, `has()`,
//! `!`, `&&`, `||`, `==`, `!=`, the ternary, string/int/bool literals, list literals, `size()` and the
//! `exists_one` / `exists` / `all` macros. Enough to run the exact rule strings of the generated CRDs
//! against manifests in tests; anything outside the subset is a parse error, so a new rule form cannot
//! be silently treated as passing.

use serde_json::Value;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Op(&'static str),
}

fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token::Int(text.parse().map_err(|e| format!("{e}"))?));
            continue;
        }
        if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                s.push(chars[i]);
                i += 1;
            }
            if i == chars.len() {
                return Err("unterminated string".into());
            }
            i += 1;
            out.push(Token::Str(s));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            "&&" => Some("&&"),
            "||" => Some("||"),
            "==" => Some("=="),
            "!=" => Some("!="),
            _ => None,
        };
        if let Some(op) = op {
            out.push(Token::Op(op));
            i += 2;
            continue;
        }
        let op = match c {
            '!' => "!",
            '.' => ".",
            '(' => "(",
            ')' => ")",
            '[' => "[",
            ']' => "]",
            ',' => ",",
            '?' => "?",
            ':' => ":",
            _ => return Err(format!("unsupported character {c:?}")),
        };
        out.push(Token::Op(op));
        i += 1;
    }
    Ok(out)
}

#[derive(Clone, Debug)]
pub enum Expr {
    Lit(Value),
    Var(String),
    Select(Box<Expr>, String),
    Has(Box<Expr>, String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Eq(Box<Expr>, Box<Expr>, bool),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Size(Box<Expr>),
    Macro(Box<Expr>, String, String, Box<Expr>),
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn eat(&mut self, op: &'static str) -> bool {
        if self.peek() == Some(&Token::Op(op)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, op: &'static str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected {op} at token {}", self.pos))
        }
    }
    fn ident(&mut self) -> Result<String, String> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Ident(name)) => {
                self.pos += 1;
                Ok(name)
            }
            other => Err(format!("expected identifier, got {other:?}")),
        }
    }
    fn expr(&mut self) -> Result<Expr, String> {
        let cond = self.or()?;
        if self.eat("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(cond), Box::new(a), Box::new(b)));
        }
        Ok(cond)
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.eq()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.eq()?));
        }
        Ok(left)
    }
    fn eq(&mut self) -> Result<Expr, String> {
        let left = self.unary()?;
        if self.eat("==") {
            return Ok(Expr::Eq(Box::new(left), Box::new(self.unary()?), true));
        }
        if self.eat("!=") {
            return Ok(Expr::Eq(Box::new(left), Box::new(self.unary()?), false));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.postfix()
    }
    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        while self.eat(".") {
            let name = self.ident()?;
            if self.eat("(") {
                match name.as_str() {
                    "size" => {
                        self.expect(")")?;
                        e = Expr::Size(Box::new(e));
                    }
                    "exists_one" | "exists" | "all" => {
                        let var = self.ident()?;
                        self.expect(",")?;
                        let body = self.expr()?;
                        self.expect(")")?;
                        e = Expr::Macro(Box::new(e), name, var, Box::new(body));
                    }
                    other => return Err(format!("unsupported function {other}")),
                }
            } else {
                e = Expr::Select(Box::new(e), name);
            }
        }
        Ok(e)
    }
    fn primary(&mut self) -> Result<Expr, String> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Str(s)) => {
                self.pos += 1;
                Ok(Expr::Lit(Value::String(s)))
            }
            Some(Token::Int(n)) => {
                self.pos += 1;
                Ok(Expr::Lit(Value::from(n)))
            }
            Some(Token::Ident(name)) => {
                self.pos += 1;
                match name.as_str() {
                    "true" => Ok(Expr::Lit(Value::Bool(true))),
                    "false" => Ok(Expr::Lit(Value::Bool(false))),
                    "null" => Ok(Expr::Lit(Value::Null)),
                    "has" => {
                        self.expect("(")?;
                        let inner = self.postfix()?;
                        self.expect(")")?;
                        match inner {
                            Expr::Select(target, field) => Ok(Expr::Has(target, field)),
                            _ => Err("has() needs a field selection".into()),
                        }
                    }
                    _ => Ok(Expr::Var(name)),
                }
            }
            Some(Token::Op("(")) => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Token::Op("[")) => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.expr()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Expr::List(items))
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

/// Parses a rule; errors for anything outside the supported subset.
pub fn parse(rule: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        tokens: tokenize(rule)?,
        pos: 0,
    };
    let e = parser.expr()?;
    if parser.pos != parser.tokens.len() {
        return Err(format!("trailing tokens in {rule:?}"));
    }
    Ok(e)
}

/// Whether the rule mentions `oldSelf` (a transition rule, not evaluated on create).
pub fn is_transition_rule(rule: &str) -> bool {
    rule.contains("oldSelf")
}

fn eval(e: &Expr, env: &HashMap<String, Value>) -> Result<Value, String> {
    Ok(match e {
        Expr::Lit(v) => v.clone(),
        Expr::Var(name) => env
            .get(name)
            .cloned()
            .ok_or(format!("unknown variable {name}"))?,
        Expr::Select(target, field) => match eval(target, env)? {
            Value::Object(map) => map
                .get(field)
                .cloned()
                .ok_or(format!("no such key: {field}"))?,
            other => return Err(format!("cannot select {field} from {other}")),
        },
        Expr::Has(target, field) => match eval(target, env)? {
            Value::Object(map) => Value::Bool(map.contains_key(field)),
            other => return Err(format!("has() on {other}")),
        },
        Expr::Not(inner) => Value::Bool(!truth(&eval(inner, env)?)?),
        Expr::And(a, b) => Value::Bool(truth(&eval(a, env)?)? && truth(&eval(b, env)?)?),
        Expr::Or(a, b) => Value::Bool(truth(&eval(a, env)?)? || truth(&eval(b, env)?)?),
        Expr::Eq(a, b, equal) => Value::Bool((eval(a, env)? == eval(b, env)?) == *equal),
        Expr::Cond(c, a, b) => {
            if truth(&eval(c, env)?)? {
                eval(a, env)?
            } else {
                eval(b, env)?
            }
        }
        Expr::List(items) => Value::Array(
            items
                .iter()
                .map(|i| eval(i, env))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Size(inner) => match eval(inner, env)? {
            Value::Array(a) => Value::from(a.len()),
            Value::String(s) => Value::from(s.chars().count()),
            Value::Object(m) => Value::from(m.len()),
            other => return Err(format!("size() of {other}")),
        },
        Expr::Macro(target, name, var, body) => {
            let Value::Array(items) = eval(target, env)? else {
                return Err(format!("{name} on a non-list"));
            };
            let mut hits = 0;
            for item in items {
                let mut scope = env.clone();
                scope.insert(var.clone(), item);
                if truth(&eval(body, &scope)?)? {
                    hits += 1;
                }
            }
            let n = match eval(target, env)? {
                Value::Array(a) => a.len(),
                _ => 0,
            };
            Value::Bool(match name.as_str() {
                "exists_one" => hits == 1,
                "exists" => hits > 0,
                _ => hits == n,
            })
        }
    })
}

fn truth(v: &Value) -> Result<bool, String> {
    v.as_bool().ok_or(format!("expected a bool, got {v}"))
}

/// Evaluates a (non-transition) rule with `self` bound to `value`.
pub fn holds(rule: &str, value: &Value) -> Result<bool, String> {
    let expr = parse(rule)?;
    let mut env = HashMap::new();
    env.insert("self".to_string(), value.clone());
    truth(&eval(&expr, &env)?)
}
