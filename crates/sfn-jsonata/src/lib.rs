//! The JSONata query language of Step Functions (`{% ... %}` expressions): the parser, the evaluator and the
//! built-in functions, including the ones Step Functions adds (`$partition`, `$range`, `$hash`, `$random`,
//! `$uuid`, `$parse`).
//!
//! A crate of its own so that one parser serves both the validator (`sfn-asl` refuses a definition whose
//! expressions do not parse, as CreateStateMachine does) and the simulator (`sfn-simulate` evaluates them):
//! what validates is exactly what runs. [`timestamp`] holds the other reading both share, the strict RFC 3339
//! profile of timestamps. It is pure: no I/O, no clock (the caller passes the time) and no
//! ambient randomness (the caller passes a seeded [`rng::Rng`]).
//!
//! Written here rather than taken from a crate: the crate evaluated (`jsonata-rs` 0.3) lacks the functions
//! Step Functions adds and several core ones, and brings its own value type. This one works directly on
//! `serde_json::Value`, follows JSONata's sequence rules (singleton sequences collapse, path steps flatten
//! arrays) and reports errors as values, never panics. Coverage is listed in `docs/simulate.md`. Reference:
//! <https://docs.jsonata.org/>.

mod functions;
mod parser;
pub mod rng;
pub mod timestamp;
mod value;

use std::rc::Rc;

use serde_json::{Map, Value};

pub use parser::{Node, ParseError, parse};
pub use value::{Env, Func, JV, JsonataError, deep_equal, num, truthy};

use rng::Rng;
use value::{Host, JResult, err};

/// What the result of an expression is, as Step Functions distinguishes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A JSON value.
    Value(Value),
    /// Nothing (undefined).
    Undefined,
    /// A function, which cannot leave the expression.
    Function,
}

/// Evaluation context: the input (`$`), the scope and the seeded generator.
pub struct Evaluator<'a> {
    rng: &'a mut Rng,
    depth: usize,
    /// The virtual clock, in milliseconds since the epoch (`$now()`, `$millis()`).
    pub now_ms: i64,
}

const MAX_DEPTH: usize = 120;

impl<'a> Evaluator<'a> {
    /// An evaluator drawing randomness from `rng`.
    pub fn new(rng: &'a mut Rng, now_ms: i64) -> Self {
        Evaluator {
            rng,
            depth: 0,
            now_ms,
        }
    }

    /// Parses and evaluates `src` against `input` with the variables in `env`.
    pub fn evaluate(&mut self, src: &str, input: &Value, env: &Rc<Env>) -> JResult<Outcome> {
        // The bare message, without the position: an execution's cause quotes the whole expression already.
        let node = parse(src).map_err(|e| JsonataError(e.message))?;
        self.evaluate_node(&node, input, env)
    }

    /// Evaluates a parsed expression.
    pub fn evaluate_node(&mut self, node: &Node, input: &Value, env: &Rc<Env>) -> JResult<Outcome> {
        let scope = Env::child(env);
        scope.set("$", JV::Val(input.clone()));
        let r = self.eval(node, &JV::Val(input.clone()), &scope)?;
        Ok(match r.collapse() {
            JV::Undef => Outcome::Undefined,
            JV::Val(v) => Outcome::Value(v),
            JV::Fn(_) => Outcome::Function,
            JV::Seq(_) => Outcome::Undefined,
        })
    }

    fn eval(&mut self, node: &Node, input: &JV, env: &Rc<Env>) -> JResult<JV> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return err("U1001: stack overflow: the expression recurses too deeply");
        }
        let r = self.eval_inner(node, input, env);
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, node: &Node, input: &JV, env: &Rc<Env>) -> JResult<JV> {
        match node {
            Node::Num(n) => Ok(JV::Val(num(*n))),
            Node::Str(s) => Ok(JV::Val(Value::String(s.clone()))),
            Node::Bool(b) => Ok(JV::Val(Value::Bool(*b))),
            Node::Null => Ok(JV::Val(Value::Null)),
            Node::Regex(p, f) => Ok(JV::Val(Value::String(format!("/{p}/{f}")))),
            Node::Placeholder => err("a '?' placeholder is only allowed as a function argument"),
            Node::Name(_) | Node::Wildcard | Node::Descendants => {
                Ok(self.step(node, input.items_for_step(), env)?.collapse())
            }
            Node::Var(name) => Ok(match name.as_str() {
                "" => env.get("$").unwrap_or_else(|| input.clone()),
                _ => env.get(name).unwrap_or(JV::Undef),
            }),
            Node::Path(steps) => self.path(steps, input, env),
            Node::Neg(inner) => match self.eval(inner, input, env)?.into_value() {
                None => Ok(JV::Undef),
                Some(Value::Number(n)) => Ok(JV::Val(num(-n.as_f64().unwrap_or(0.0)))),
                Some(v) => err(format!("D1002: cannot negate a non-numeric value: {v}")),
            },
            Node::Bin(op, l, r) => self.binary(op, l, r, input, env),
            Node::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Node::Range(a, b) => {
                            let a = self.eval(a, input, env)?.into_value();
                            let b = self.eval(b, input, env)?.into_value();
                            let (Some(a), Some(b)) = (a, b) else { continue };
                            let (Some(a), Some(b)) = (int_of(&a), int_of(&b)) else {
                                return err("T2003: the range operator needs integer operands");
                            };
                            if b - a > 10_000_000 {
                                return err("D2014: the range is too large");
                            }
                            out.extend((a..=b).map(Value::from));
                        }
                        other => match self.eval(other, input, env)?.collapse() {
                            JV::Undef => {}
                            JV::Val(Value::Array(a)) if !matches!(other, Node::Array(_)) => {
                                out.extend(a)
                            }
                            JV::Val(v) => out.push(v),
                            JV::Fn(_) => out.push(Value::Null),
                            JV::Seq(s) => out.extend(s),
                        },
                    }
                }
                Ok(JV::Val(Value::Array(out)))
            }
            Node::Range(..) => err("the range operator is only allowed inside an array"),
            Node::Object(pairs) => self.object(pairs, &input.items_or_self(), env),
            Node::Group(base, pairs) => {
                let items = self.eval(base, input, env)?.items();
                self.object(pairs, &items, env)
            }
            Node::Filter(base, pred) => {
                let b = self.eval(base, input, env)?;
                Ok(self.filter(b, pred, env)?.collapse())
            }
            Node::KeepArray(base) => Ok(match self.eval(base, input, env)?.collapse() {
                JV::Val(Value::Array(a)) => JV::Val(Value::Array(a)),
                JV::Val(v) => JV::Val(Value::Array(vec![v])),
                other => other,
            }),
            Node::Cond(c, a, b) => {
                let cv = self.eval(c, input, env)?;
                if truthy(&cv) {
                    self.eval(a, input, env)
                } else if let Some(b) = b {
                    self.eval(b, input, env)
                } else {
                    Ok(JV::Undef)
                }
            }
            Node::Block(items) => {
                let scope = Env::child(env);
                let mut last = JV::Undef;
                for item in items {
                    last = self.eval(item, input, &scope)?;
                }
                Ok(last)
            }
            Node::Bind(name, value) => {
                let v = self.eval(value, input, env)?.collapse();
                env.set(name, v.clone());
                Ok(v)
            }
            Node::Lambda(params, body) => Ok(JV::Fn(Rc::new(Func::Lambda {
                params: params.clone(),
                body: body.clone(),
                env: env.clone(),
            }))),
            Node::Call(callee, args) => {
                let f = match &**callee {
                    Node::Var(name) => match env.get(name) {
                        Some(JV::Fn(f)) => f,
                        Some(_) => return err(format!("T1006: ${name} is not a function")),
                        None if functions::is_builtin(name) => Rc::new(Func::Builtin(name.clone())),
                        None => {
                            return err(format!(
                                "T1006: attempted to invoke a non-function: ${name} is not defined"
                            ));
                        }
                    },
                    other => match self.eval(other, input, env)? {
                        JV::Fn(f) => f,
                        _ => return err("T1006: attempted to invoke a non-function"),
                    },
                };
                let mut vals = Vec::with_capacity(args.len());
                let mut partial = false;
                for a in args {
                    if matches!(a, Node::Placeholder) {
                        partial = true;
                        vals.push(None);
                    } else {
                        vals.push(Some(self.eval(a, input, env)?.collapse()));
                    }
                }
                if partial {
                    return Ok(JV::Fn(Rc::new(Func::Partial(f, vals))));
                }
                let vals: Vec<JV> = vals.into_iter().map(|v| v.unwrap_or(JV::Undef)).collect();
                self.call(&f, vals, input)
            }
            Node::Apply(l, r) => {
                let lv = self.eval(l, input, env)?.collapse();
                match &**r {
                    Node::Call(callee, args) => {
                        let mut full = vec![Node::Placeholder];
                        full.extend(args.iter().cloned());
                        let f = self.eval(&Node::Call(callee.clone(), full), input, env)?;
                        match f {
                            JV::Fn(f) => self.call(&f, vec![lv], input),
                            _ => err("T2006: the right side of '~>' must be a function"),
                        }
                    }
                    other => match self.function_value(other, input, env)? {
                        Some(f) => self.call(&f, vec![lv], input),
                        None => err("T2006: the right side of '~>' must be a function"),
                    },
                }
            }
            Node::Sort(base, terms) => {
                let items = self.eval(base, input, env)?.items();
                let mut keyed = Vec::with_capacity(items.len());
                for item in items {
                    let mut keys = Vec::new();
                    for (_, t) in terms {
                        keys.push(self.eval(t, &JV::Val(item.clone()), env)?.into_value());
                    }
                    keyed.push((keys, item));
                }
                let mut failure = None;
                keyed.sort_by(|(a, _), (b, _)| {
                    for (i, (desc, _)) in terms.iter().enumerate() {
                        let o = match (&a[i], &b[i]) {
                            (Some(x), Some(y)) => compare_values(x, y).unwrap_or_else(|| {
                                failure =
                                    Some("T2008: sort keys must be all numbers or all strings");
                                std::cmp::Ordering::Equal
                            }),
                            (None, Some(_)) => std::cmp::Ordering::Greater,
                            (Some(_), None) => std::cmp::Ordering::Less,
                            (None, None) => std::cmp::Ordering::Equal,
                        };
                        let o = if *desc { o.reverse() } else { o };
                        if o.is_ne() {
                            return o;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
                if let Some(f) = failure {
                    return err(f);
                }
                Ok(JV::Seq(keyed.into_iter().map(|(_, v)| v).collect()))
            }
        }
    }

    fn function_value(
        &mut self,
        node: &Node,
        input: &JV,
        env: &Rc<Env>,
    ) -> JResult<Option<Rc<Func>>> {
        if let Node::Var(name) = node
            && env.get(name).is_none()
            && functions::is_builtin(name)
        {
            return Ok(Some(Rc::new(Func::Builtin(name.clone()))));
        }
        Ok(match self.eval(node, input, env)? {
            JV::Fn(f) => Some(f),
            _ => None,
        })
    }

    fn object(&mut self, pairs: &[(Node, Node)], items: &[Value], env: &Rc<Env>) -> JResult<JV> {
        let mut out = Map::new();
        // Grouping semantics: each key collects the items that produce it.
        let mut groups: Vec<(String, usize, Vec<Value>)> = Vec::new();
        let items: Vec<Value> = if items.is_empty() {
            vec![Value::Null]
        } else {
            items.to_vec()
        };
        for item in &items {
            for (idx, (k, _)) in pairs.iter().enumerate() {
                let key = self.eval(k, &JV::Val(item.clone()), env)?.into_value();
                match key {
                    Some(Value::String(s)) => {
                        if let Some(g) = groups.iter_mut().find(|g| g.0 == s) {
                            if g.1 != idx {
                                return err(format!(
                                    "D1009: multiple key definitions evaluate to same key: {s}"
                                ));
                            }
                            g.2.push(item.clone());
                        } else {
                            groups.push((s, idx, vec![item.clone()]));
                        }
                    }
                    None => {}
                    Some(other) => {
                        return err(format!("T1003: object keys must be strings, found {other}"));
                    }
                }
            }
        }
        for (key, idx, members) in groups {
            let ctx = if members.len() == 1 {
                JV::Val(members[0].clone())
            } else {
                JV::Val(Value::Array(members))
            };
            let v = self.eval(&pairs[idx].1, &ctx, env)?.collapse();
            match v {
                JV::Val(v) => {
                    out.insert(key, v);
                }
                JV::Fn(_) => {
                    out.insert(key, Value::String(String::new()));
                }
                _ => {}
            }
        }
        Ok(JV::Val(Value::Object(out)))
    }

    fn filter(&mut self, base: JV, pred: &Node, env: &Rc<Env>) -> JResult<JV> {
        let items = base.items();
        let len = items.len() as i64;
        // A numeric predicate that does not depend on the item is an index.
        if let Node::Num(n) = pred {
            let mut i = n.floor() as i64;
            if i < 0 {
                i += len;
            }
            return Ok(JV::Seq(
                usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .into_iter()
                    .collect(),
            ));
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let scope = Env::child(env);
            scope.set("$", JV::Val(item.clone()));
            let p = self.eval(pred, &JV::Val(item.clone()), &scope)?.collapse();
            let keep = match &p {
                JV::Val(Value::Number(n)) => {
                    let mut k = n.as_f64().unwrap_or(0.0).floor() as i64;
                    if k < 0 {
                        k += len;
                    }
                    k == i as i64
                }
                JV::Val(Value::Array(a)) if a.iter().all(Value::is_number) && !a.is_empty() => {
                    a.iter().any(|n| {
                        let mut k = n.as_f64().unwrap_or(0.0).floor() as i64;
                        if k < 0 {
                            k += len;
                        }
                        k == i as i64
                    })
                }
                other => truthy(other),
            };
            if keep {
                out.push(item.clone());
            }
        }
        Ok(JV::Seq(out))
    }

    fn path(&mut self, steps: &[Node], input: &JV, env: &Rc<Env>) -> JResult<JV> {
        let Some((first, rest)) = steps.split_first() else {
            return Ok(JV::Undef);
        };
        let mut current: JV = match first {
            Node::Name(_) | Node::Wildcard | Node::Descendants | Node::Filter(..) => {
                self.step(first, input.items_for_step(), env)?
            }
            _ => self.eval(first, input, env)?,
        };
        for step in rest {
            let items = current.items_for_step();
            if items.is_empty() {
                return Ok(JV::Undef);
            }
            current = self.step(step, items, env)?;
        }
        Ok(current.collapse())
    }

    /// Evaluates one path step against each item, flattening array results into one sequence (a lone
    /// array result stays an array, as in JSONata).
    fn step(&mut self, step: &Node, items: Vec<Value>, env: &Rc<Env>) -> JResult<JV> {
        let mut results: Vec<JV> = Vec::new();
        for item in items {
            let r = match step {
                Node::Name(name) => field_of(&item, name),
                Node::Wildcard => match &item {
                    Value::Object(o) => JV::Seq(
                        o.values()
                            .flat_map(|v| match v {
                                Value::Array(a) => a.clone(),
                                other => vec![other.clone()],
                            })
                            .collect(),
                    ),
                    _ => JV::Undef,
                },
                Node::Descendants => {
                    let mut acc = Vec::new();
                    descendants(&item, &mut acc);
                    JV::Seq(acc)
                }
                Node::Filter(base, pred) => {
                    let scope = Env::child(env);
                    scope.set("$", JV::Val(item.clone()));
                    let b = self.eval(base, &JV::Val(item.clone()), &scope)?;
                    self.filter(b, pred, env)?
                }
                other => {
                    let scope = Env::child(env);
                    scope.set("$", JV::Val(item.clone()));
                    self.eval(other, &JV::Val(item.clone()), &scope)?
                }
            };
            if !r.is_undef() && !matches!(r, JV::Fn(_)) {
                results.push(r);
            }
        }
        if results.len() == 1
            && let JV::Val(Value::Array(_)) = &results[0]
        {
            return Ok(results.pop().unwrap_or(JV::Undef));
        }
        let keep_arrays = matches!(step, Node::Array(_));
        let mut out = Vec::new();
        for r in results {
            match r {
                JV::Val(Value::Array(a)) if !keep_arrays => out.extend(a),
                JV::Val(v) => out.push(v),
                JV::Seq(s) => out.extend(s),
                JV::Undef | JV::Fn(_) => {}
            }
        }
        Ok(JV::Seq(out))
    }

    fn binary(&mut self, op: &str, l: &Node, r: &Node, input: &JV, env: &Rc<Env>) -> JResult<JV> {
        match op {
            "and" => {
                let a = self.eval(l, input, env)?;
                if !truthy(&a) {
                    return Ok(JV::Val(Value::Bool(false)));
                }
                let b = self.eval(r, input, env)?;
                return Ok(JV::Val(Value::Bool(truthy(&b))));
            }
            "or" => {
                let a = self.eval(l, input, env)?;
                if truthy(&a) {
                    return Ok(JV::Val(Value::Bool(true)));
                }
                let b = self.eval(r, input, env)?;
                return Ok(JV::Val(Value::Bool(truthy(&b))));
            }
            "?:" => {
                let a = self.eval(l, input, env)?;
                return if truthy(&a) {
                    Ok(a)
                } else {
                    self.eval(r, input, env)
                };
            }
            "??" => {
                let a = self.eval(l, input, env)?.collapse();
                return if a.is_undef() {
                    self.eval(r, input, env)
                } else {
                    Ok(a)
                };
            }
            _ => {}
        }
        let a = self.eval(l, input, env)?.collapse();
        let b = self.eval(r, input, env)?.collapse();
        let (av, bv) = (a.into_value(), b.into_value());
        match op {
            "+" | "-" | "*" | "/" | "%" => {
                let (Some(x), Some(y)) = (&av, &bv) else {
                    return Ok(JV::Undef);
                };
                let (Some(x), Some(y)) = (
                    x.as_f64().filter(|_| x.is_number()),
                    y.as_f64().filter(|_| y.is_number()),
                ) else {
                    return err(format!(
                        "T2001: the operands of '{op}' must be numbers, found {x} and {y}"
                    ));
                };
                let v = match op {
                    "+" => x + y,
                    "-" => x - y,
                    "*" => x * y,
                    "/" => x / y,
                    _ => x % y,
                };
                if !v.is_finite() {
                    return err(format!(
                        "D1001: the result of '{op}' is not a finite number"
                    ));
                }
                Ok(JV::Val(num(v)))
            }
            "&" => Ok(JV::Val(Value::String(format!(
                "{}{}",
                av.as_ref().map(functions::stringify).unwrap_or_default(),
                bv.as_ref().map(functions::stringify).unwrap_or_default()
            )))),
            "=" | "!=" => {
                let eq = match (&av, &bv) {
                    (Some(x), Some(y)) => deep_equal(x, y),
                    _ => return Ok(JV::Val(Value::Bool(false))),
                };
                Ok(JV::Val(Value::Bool(if op == "=" { eq } else { !eq })))
            }
            "<" | "<=" | ">" | ">=" => {
                let (Some(x), Some(y)) = (&av, &bv) else {
                    return Ok(JV::Val(Value::Bool(false)));
                };
                let Some(o) = compare_values(x, y) else {
                    return err(format!(
                        "T2010: the operands of '{op}' must be both numbers or both strings, found {x} and {y}"
                    ));
                };
                Ok(JV::Val(Value::Bool(match op {
                    "<" => o.is_lt(),
                    "<=" => o.is_le(),
                    ">" => o.is_gt(),
                    _ => o.is_ge(),
                })))
            }
            "in" => {
                let (Some(x), Some(y)) = (&av, &bv) else {
                    return Ok(JV::Val(Value::Bool(false)));
                };
                let found = match y {
                    Value::Array(a) => a.iter().any(|e| deep_equal(e, x)),
                    other => deep_equal(other, x),
                };
                Ok(JV::Val(Value::Bool(found)))
            }
            _ => err(format!("unsupported operator '{op}'")),
        }
    }

    /// Calls a function value with arguments.
    fn call(&mut self, f: &Rc<Func>, args: Vec<JV>, input: &JV) -> JResult<JV> {
        match &**f {
            Func::Lambda { params, body, env } => {
                let scope = Env::child(env);
                for (i, p) in params.iter().enumerate() {
                    scope.set(p, args.get(i).cloned().unwrap_or(JV::Undef));
                }
                self.eval(body, input, &scope)
            }
            Func::Builtin(name) => functions::call_builtin(self, name, args, input),
            Func::Partial(inner, slots) => {
                let mut supplied = args.into_iter();
                let full: Vec<JV> = slots
                    .iter()
                    .map(|s| match s {
                        Some(v) => v.clone(),
                        None => supplied.next().unwrap_or(JV::Undef),
                    })
                    .collect();
                self.call(inner, full, input)
            }
        }
    }
}

// The built-ins reach the evaluator only through `Host`, so `functions` does not import this module.
impl Host for Evaluator<'_> {
    fn call(&mut self, f: &Rc<Func>, args: Vec<JV>, input: &JV) -> JResult<JV> {
        Evaluator::call(self, f, args, input)
    }

    fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    fn now_ms(&self) -> i64 {
        self.now_ms
    }
}

/// A field of an object, mapped over (nested) arrays.
fn field_of(v: &Value, name: &str) -> JV {
    match v {
        Value::Object(o) => o.get(name).cloned().map(JV::Val).unwrap_or(JV::Undef),
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                match field_of(x, name) {
                    JV::Val(Value::Array(inner)) => out.extend(inner),
                    JV::Val(v) => out.push(v),
                    JV::Seq(s) => out.extend(s),
                    _ => {}
                }
            }
            JV::Seq(out)
        }
        _ => JV::Undef,
    }
}

fn descendants(v: &Value, acc: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| descendants(x, acc)),
        Value::Object(o) => {
            for x in o.values() {
                match x {
                    Value::Array(items) => {
                        for i in items {
                            acc.push(i.clone());
                            descendants(i, acc);
                        }
                    }
                    other => {
                        acc.push(other.clone());
                        descendants(other, acc);
                    }
                }
            }
        }
        _ => {}
    }
}

fn int_of(v: &Value) -> Option<i64> {
    v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)
}

fn compare_values(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
