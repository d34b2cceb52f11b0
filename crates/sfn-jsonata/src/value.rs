//! JSONata values and scopes: what the evaluator and the built-in functions both work on, plus the
//! [`Host`] through which built-ins call back into the evaluator. Below both, so that neither imports
//! the other's module for them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use crate::parser::Node;
use crate::rng::Rng;

/// A JSONata evaluation error (AWS reports these as `States.QueryEvaluationError`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct JsonataError(pub String);

pub(super) type JResult<T> = Result<T, JsonataError>;

pub(super) fn err<T>(msg: impl Into<String>) -> JResult<T> {
    Err(JsonataError(msg.into()))
}

/// A function value.
#[derive(Debug)]
pub enum Func {
    /// A user lambda with its closure.
    Lambda {
        /// Parameter names.
        params: Rc<Vec<String>>,
        /// Body.
        body: Rc<Node>,
        /// Captured scope.
        env: Rc<Env>,
    },
    /// A built-in function by name.
    Builtin(String),
    /// A partial application: `None` marks the `?` slots.
    Partial(Rc<Func>, Vec<Option<JV>>),
}

impl Func {
    /// The number of declared parameters of a function (used by `$map` and friends to decide what to pass).
    pub(super) fn arity(&self) -> usize {
        match self {
            Func::Lambda { params, .. } => params.len(),
            Func::Builtin(_) => 1,
            Func::Partial(_, slots) => slots.iter().filter(|s| s.is_none()).count(),
        }
    }
}

/// A JSONata value: undefined, a JSON value, a sequence, or a function.
#[derive(Debug, Clone)]
pub enum JV {
    /// No value (a missing field).
    Undef,
    /// A JSON value.
    Val(Value),
    /// A sequence produced by path navigation (collapses when it has one item).
    Seq(Vec<Value>),
    /// A function.
    Fn(Rc<Func>),
}

impl JV {
    /// Collapses sequences: empty is undefined, a singleton is its item.
    pub fn collapse(self) -> JV {
        match self {
            JV::Seq(mut v) => match v.len() {
                0 => JV::Undef,
                1 => JV::Val(v.pop().unwrap_or(Value::Null)),
                _ => JV::Val(Value::Array(v)),
            },
            other => other,
        }
    }

    pub(super) fn into_value(self) -> Option<Value> {
        match self.collapse() {
            JV::Val(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn items(&self) -> Vec<Value> {
        match self {
            JV::Undef | JV::Fn(_) => vec![],
            JV::Val(Value::Array(a)) => a.clone(),
            JV::Val(v) => vec![v.clone()],
            JV::Seq(s) => s.clone(),
        }
    }

    pub(super) fn is_undef(&self) -> bool {
        matches!(self, JV::Undef) || matches!(self, JV::Seq(s) if s.is_empty())
    }
}

/// A variable scope.
#[derive(Debug, Default)]
pub struct Env {
    vars: RefCell<HashMap<String, JV>>,
    parent: Option<Rc<Env>>,
}

impl Env {
    /// A root scope holding `vars`.
    pub fn with_vars(vars: impl IntoIterator<Item = (String, Value)>) -> Rc<Env> {
        let env = Env::default();
        for (k, v) in vars {
            env.vars.borrow_mut().insert(k, JV::Val(v));
        }
        Rc::new(env)
    }

    pub(super) fn child(parent: &Rc<Env>) -> Rc<Env> {
        Rc::new(Env {
            vars: RefCell::new(HashMap::new()),
            parent: Some(parent.clone()),
        })
    }

    pub(super) fn get(&self, name: &str) -> Option<JV> {
        if let Some(v) = self.vars.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.get(name))
    }

    pub(super) fn set(&self, name: &str, v: JV) {
        self.vars.borrow_mut().insert(name.to_string(), v);
    }
}

impl JV {
    pub(super) fn items_for_step(&self) -> Vec<Value> {
        match self {
            JV::Undef | JV::Fn(_) => vec![],
            JV::Val(Value::Array(a)) => a.clone(),
            JV::Val(v) => vec![v.clone()],
            JV::Seq(s) => s.clone(),
        }
    }

    pub(super) fn items_or_self(&self) -> Vec<Value> {
        self.items_for_step()
    }
}

/// Converts an f64 result to a JSON number, integral values as integers.
pub fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// JSONata's boolean cast.
pub fn truthy(v: &JV) -> bool {
    match v {
        JV::Undef => false,
        JV::Fn(_) => false,
        JV::Seq(s) => match s.len() {
            0 => false,
            1 => value_truthy(&s[0]),
            _ => s.iter().any(value_truthy),
        },
        JV::Val(v) => value_truthy(v),
    }
}

fn value_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(value_truthy),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Structural equality with numbers compared by value.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => a == b,
    }
}

/// What a built-in function needs from the evaluator running it: calling a function value (for the
/// higher-order built-ins such as `$map`), the seeded generator and the virtual clock. A trait, so that the
/// built-ins do not import the evaluator that calls them.
pub trait Host {
    fn call(&mut self, f: &Rc<Func>, args: Vec<JV>, input: &JV) -> JResult<JV>;
    fn rng(&mut self) -> &mut Rng;
    fn now_ms(&self) -> i64;
}
