//! JSONata data flow: the `$states` variable, evaluating `{% ... %}` expressions anywhere in a field's
//! value, JSONata `Assign` and `Output`.

use std::rc::Rc;

use serde_json::{Map, Value};

use super::{Machine, Ql, St, Vars};
use crate::Failure;
use crate::jsonata::{Env, Evaluator, Outcome};

impl Machine<'_> {
    pub(super) fn states_var(&self, st: &St<'_>, input: &Value, extra: &[(&str, &Value)]) -> Value {
        let mut o = Map::new();
        o.insert("input".into(), input.clone());
        o.insert("context".into(), st.ctx().clone());
        for (k, v) in extra {
            o.insert((*k).to_string(), (*v).clone());
        }
        Value::Object(o)
    }

    /// `$states` for JSONata states; JSONPath states never read it, so they skip building it.
    pub(super) fn states_var_if_jsonata(&self, st: &St<'_>, input: &Value) -> Value {
        match st.ql {
            Ql::Jsonata => self.states_var(st, input, &[]),
            Ql::JsonPath => Value::Null,
        }
    }

    fn jsonata_env(&self, states: &Value, vars: &Vars) -> Rc<Env> {
        let mut all: Vec<(String, Value)> =
            vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.push(("states".into(), states.clone()));
        Env::with_vars(all)
    }

    /// Evaluates a JSONata template value: `{% %}` strings anywhere inside are expressions.
    pub(super) fn jsonata_value(
        &mut self,
        st: &St<'_>,
        field: &str,
        template: &Value,
        states: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        let env = self.jsonata_env(states, vars);
        self.jsonata_walk(st, field, template, states, &env, true)
            .map(|v| v.unwrap_or(Value::Null))
    }

    fn jsonata_walk(
        &mut self,
        st: &St<'_>,
        field: &str,
        template: &Value,
        states: &Value,
        env: &Rc<Env>,
        _top: bool,
    ) -> Result<Option<Value>, Failure> {
        if let Some(expr) = jsonata_expr(template) {
            let input = states.get("input").cloned().unwrap_or(Value::Null);
            let mut rng = self.rng.clone();
            let mut ev = Evaluator::new(&mut rng, self.clock);
            let r = ev.evaluate(expr, &input, env);
            self.rng = rng;
            let r = match r {
                Ok(Outcome::Value(v)) => Ok(Some(v)),
                Ok(Outcome::Undefined) => Err(st.query_error(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
                ))),
                Ok(Outcome::Function) => Err(st.query_error(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' returned an unsupported result type."
                ))),
                Err(e) => Err(st.query_error(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {e}"
                ))),
            };
            if r.is_err() {
                self.eval_location = Some(field.to_string());
            }
            return r;
        }
        // Nested expressions are named by their path in the field ("Output/result"), as AWS names them.
        match template {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    let path = format!("{field}/{k}");
                    if let Some(v) = self.jsonata_walk(st, &path, v, states, env, false)? {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(a) => {
                let mut out = Vec::new();
                for (i, v) in a.iter().enumerate() {
                    let path = format!("{field}/{i}");
                    out.push(
                        self.jsonata_walk(st, &path, v, states, env, false)?
                            .unwrap_or(Value::Null),
                    );
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn assign_jsonata(
        &mut self,
        st: &St<'_>,
        assign: Option<&Value>,
        states: &Value,
        vars: &mut Vars,
    ) -> Result<(), Failure> {
        let Some(assign) = assign else { return Ok(()) };
        let Some(obj) = assign.as_object() else {
            return Err(st.runtime("Assign must be an object"));
        };
        let mut updates = Vec::new();
        for (k, v) in obj {
            let value = self.jsonata_value(st, &format!("Assign/{k}"), v, states, vars)?;
            updates.push((k.clone(), value));
        }
        self.record_assigned(&updates.iter().cloned().collect());
        self.pending.extend(updates);
        Ok(())
    }

    /// JSONata `Output` (default: `default`) plus `Assign`, both seeing the same `$states`.
    pub(super) fn jsonata_finish(
        &mut self,
        st: &St<'_>,
        states: &Value,
        default: Value,
        vars: &mut Vars,
        assign: Option<&Value>,
        output: Option<&Value>,
    ) -> Result<Value, Failure> {
        let out = match output {
            Some(o) => self.jsonata_value(st, "Output", o, states, vars)?,
            None => default,
        };
        self.assign_jsonata(st, assign, states, vars)?;
        Ok(out)
    }
}

pub(super) fn jsonata_expr(v: &Value) -> Option<&str> {
    // Only a string that starts with `{%` and ends with `%}` is an expression; surrounding spaces make it text.
    let s = v.as_str()?;
    (s.starts_with("{%") && s.ends_with("%}") && s.len() >= 4).then(|| s[2..s.len() - 2].trim())
}
