//! JSONPath data flow: path lookups, payload templates with `.$` keys and intrinsic functions,
//! `InputPath`, `ResultPath`, `OutputPath`, JSONPath `Assign`, and the payload size check that both
//! query languages apply to results.

use serde_json::{Map, Value, json};

use super::{MAX_PAYLOAD_BYTES, Machine, St, Vars, compact, size_of};
use crate::Failure;
use crate::intrinsics;
use crate::jsonpath::{self, Path, Root};

impl Machine<'_> {
    pub(super) fn lookup(
        &self,
        text: &str,
        input: &Value,
        ctx: &Value,
        vars: &Vars,
    ) -> Result<Option<Value>, String> {
        let path = Path::parse(text).map_err(|e| e.to_string())?;
        Ok(match &path.root {
            Root::Input => path.select(input),
            Root::Context => path.select(ctx),
            Root::Variable(name) => vars.get(name).and_then(|v| path.select(v)),
        })
    }

    /// Evaluates a payload template (`Parameters`, `ItemSelector`, `ResultSelector`, `Assign`): keys ending in
    /// `.$` take a path or intrinsic function.
    pub(super) fn payload(
        &mut self,
        st: &St<'_>,
        template: &Value,
        input: &Value,
        ctx: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        match template {
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    if let Some(name) = k.strip_suffix(".$") {
                        let Some(text) = v.as_str() else {
                            return Err(st.runtime(format!(
                                "The value of the field '{k}' must be a path or an intrinsic function, found {v}"
                            )));
                        };
                        let value = self.dynamic(st, k, text, input, ctx, vars)?;
                        out.insert(name.to_string(), value);
                    } else {
                        out.insert(k.clone(), self.payload(st, v, input, ctx, vars)?);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => a
                .iter()
                .map(|v| self.payload(st, v, input, ctx, vars))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// A path or intrinsic function given for `field`.
    pub(super) fn dynamic(
        &mut self,
        st: &St<'_>,
        field: &str,
        text: &str,
        input: &Value,
        ctx: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        if intrinsics::is_intrinsic(text) {
            let expr = intrinsics::parse(text).map_err(|e| {
                st.runtime(format!(
                    "The intrinsic function '{text}' given for the field '{field}' is invalid: {e}"
                ))
            })?;
            let resolve = |p: &Path| -> Result<Value, Failure> {
                let root = match &p.root {
                    Root::Input => Some(input),
                    Root::Context => Some(ctx),
                    Root::Variable(n) => vars.get(n),
                };
                root.and_then(|r| p.select(r)).ok_or_else(|| {
                    st.runtime(format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                        p.text(),
                        compact(input)
                    ))
                })
            };
            let mut rng = self.rng.clone();
            let r = intrinsics::eval(&expr, &resolve, &mut rng);
            self.rng = rng;
            return r.map_err(|f| {
                if f.error.as_deref() == Some("States.IntrinsicFailure") {
                    Failure {
                        error: f.error,
                        cause: f.cause.map(|c| format!("{}{c}", st.prefix())),
                    }
                } else {
                    f
                }
            });
        }
        if text.starts_with('$') {
            return match self.lookup(text, input, ctx, vars) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(st.runtime(format!(
                    "The JSONPath '{text}' specified for the field '{field}' could not be found in the input '{}'",
                    compact(input)
                ))),
                Err(e) => Err(st.runtime(format!("Invalid path for the field '{field}': {e}"))),
            };
        }
        Err(st.runtime(format!(
            "The value of the field '{field}' must be a path or an intrinsic function, found '{text}'"
        )))
    }

    /// `InputPath` (absent = `$`, null = `{}`).
    pub(super) fn input_path(
        &self,
        st: &St<'_>,
        input: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        self.select_field(st, "InputPath", input, vars)
    }

    pub(super) fn select_field(
        &self,
        st: &St<'_>,
        field: &str,
        value: &Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        match st.get(field) {
            None => Ok(value.clone()),
            Some(Value::Null) => Ok(json!({})),
            Some(Value::String(p)) => match self.lookup(p, value, st.ctx(), vars) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(st.runtime(format!(
                    "Invalid path '{p}' : No results for path: {}",
                    bracket_path(p)
                ))),
                Err(e) => Err(st.runtime(format!("Invalid {field}: {e}"))),
            },
            Some(other) => {
                Err(st.runtime(format!("{field} must be a string or null, found {other}")))
            }
        }
    }

    /// `ResultPath` (absent = `$`, null = discard the result).
    pub(super) fn result_path(
        &self,
        st: &St<'_>,
        raw: &Value,
        result: Value,
        field_value: Option<&Value>,
    ) -> Result<Value, Failure> {
        match field_value {
            None => Ok(result),
            Some(Value::Null) => Ok(raw.clone()),
            Some(Value::String(p)) => {
                let path =
                    Path::parse(p).map_err(|e| st.runtime(format!("Invalid ResultPath: {e}")))?;
                jsonpath::write_at(raw.clone(), &path, result).map_err(|e| {
                    st.runtime(format!(
                        "Unable to apply ResultPath '{p}' to input '{}': {}",
                        compact(raw),
                        e.reason
                    ))
                })
            }
            Some(other) => Err(st.runtime(format!(
                "ResultPath must be a string or null, found {other}"
            ))),
        }
    }

    pub(super) fn check_size(&self, st: &St<'_>, v: &Value) -> Result<(), Failure> {
        if size_of(v) > MAX_PAYLOAD_BYTES {
            return Err(Failure::new(
                "States.DataLimitExceeded",
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    st.name
                ),
            ));
        }
        Ok(())
    }

    /// JSONPath `Assign`: evaluated against `value` with the variables as they were before the state.
    pub(super) fn assign_jsonpath(
        &mut self,
        st: &St<'_>,
        assign: Option<&Value>,
        value: &Value,
        vars: &mut Vars,
    ) -> Result<(), Failure> {
        let Some(assign) = assign else { return Ok(()) };
        let evaluated = self.payload(st, assign, value, &st.ctx().clone(), vars)?;
        if let Value::Object(o) = evaluated {
            self.record_assigned(&o);
            self.pending.extend(o);
        }
        Ok(())
    }

    pub(super) fn record_assigned(&mut self, values: &Map<String, Value>) {
        if values.is_empty() {
            return;
        }
        let entry = self.assigned.get_or_insert_with(Map::new);
        for (k, v) in values {
            entry.insert(k.clone(), Value::String(compact(v)));
        }
    }
}

/// `$.a.b` rendered as `$['a']['b']`, the form AWS uses in path error messages.
pub(super) fn bracket_path(p: &str) -> String {
    let Some(rest) = p.strip_prefix('$') else {
        return p.to_string();
    };
    let mut out = String::from("$");
    for part in rest.split('.').filter(|s| !s.is_empty()) {
        out.push_str(&format!("['{part}']"));
    }
    out
}
