//! The Map state: reading the items, `ItemSelector`/`ItemsPath`, batching, running the iterations in
//! order and the tolerated failure count and percentage.

use serde_json::{Map, Value, json};

use super::expressions::jsonata_expr;
use super::paths::bracket_path;
use super::{Machine, Ql, Res, St, Stop, Vars, compact, is_terminal, json_type, states_of};
use crate::Failure;
use crate::SimulateError;

impl Machine<'_> {
    pub(super) fn map(&mut self, st: &St<'_>, input: &Value, vars: &mut Vars) -> Res<Value> {
        let processor = st
            .get("ItemProcessor")
            .or_else(|| st.get("Iterator"))
            .and_then(Value::as_object)
            .ok_or_else(|| st.invalid("ItemProcessor", "missing or not an object"))?;
        let (pstates, start) = states_of(processor, &st.name)?;
        let states = self.states_var_if_jsonata(st, input);
        let ctx = st.ctx().clone();
        // A Map with an ItemReader reads its items from the mock named after the Map state (the data an S3
        // read would return: an array of items, or CSV rows as objects).
        let reader_items = match st.get("ItemReader") {
            Some(_) => {
                let call = self.calls.entry(st.name.clone()).or_insert(0);
                let index = *call;
                *call += 1;
                let response = self
                    .mocks
                    .response(&st.name, index)
                    .cloned()
                    .ok_or_else(|| SimulateError::MissingMock {
                        state: st.name.clone(),
                    })?;
                if let Some(error) = response.error {
                    return Err(Failure {
                        error: Some(error),
                        cause: response.cause,
                    }
                    .into());
                }
                match response.return_value {
                    Some(Value::Array(a)) => Some(a),
                    other => {
                        return Err(st
                            .runtime(format!(
                                "The ItemReader mock must return an array of items, found {}",
                                compact(&other.unwrap_or(Value::Null))
                            ))
                            .into());
                    }
                }
            }
            None => None,
        };
        let (effective, items) = match st.ql {
            Ql::JsonPath if reader_items.is_some() => (
                self.input_path(st, input, vars)?,
                reader_items.clone().unwrap_or_default(),
            ),
            Ql::Jsonata if reader_items.is_some() => {
                (input.clone(), reader_items.clone().unwrap_or_default())
            }
            Ql::JsonPath => {
                let effective = self.input_path(st, input, vars)?;
                let items = match st.get("ItemsPath").and_then(Value::as_str) {
                    Some(p) => self
                        .lookup(p, &effective, &ctx, vars)
                        .map_err(|e| st.runtime(format!("Invalid ItemsPath: {e}")))?
                        .ok_or_else(|| {
                            st.runtime(format!(
                                "Invalid path '{p}' : No results for path: {}",
                                bracket_path(p)
                            ))
                        })?,
                    None => effective.clone(),
                };
                let Value::Array(items) = items else {
                    return Err(st
                        .runtime(format!(
                            "Map state input must be an array but was: {}",
                            compact(&items)
                        ))
                        .into());
                };
                (effective, items)
            }
            Ql::Jsonata => {
                let items = match st.get("Items") {
                    Some(t) => {
                        let v = self.jsonata_value(st, "Items", t, &states, vars)?;
                        match v {
                            Value::Array(a) => a,
                            other => {
                                let expr = jsonata_expr(t).unwrap_or_default();
                                return Err(st
                                    .query_error(format!(
                                        "The JSONata expression '{expr}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                                        json_type(&other),
                                        compact(&other)
                                    ))
                                    .into());
                            }
                        }
                    }
                    None => match input {
                        Value::Array(a) => a.clone(),
                        other => {
                            return Err(st
                                .query_error(format!(
                                    "Map state input must be an array but was: {}",
                                    compact(other)
                                ))
                                .into());
                        }
                    },
                };
                (input.clone(), items)
            }
        };
        // Concurrency does not change results in a sequential run, but AWS validates the fields.
        match st.ql {
            Ql::JsonPath => {
                if let Some(Value::String(p)) = st.get("MaxConcurrencyPath") {
                    let v = self
                        .lookup(p, &effective, &ctx, vars)
                        .ok()
                        .flatten()
                        .unwrap_or(Value::Null);
                    if v.as_u64().is_none() {
                        let shown = match &v {
                            Value::String(s) => s.clone(),
                            other => compact(other),
                        };
                        return Err(st
                            .runtime(format!(
                                "The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: {p}"
                            ))
                            .into());
                    }
                }
            }
            Ql::Jsonata => {
                for f in [
                    "MaxConcurrency",
                    "ToleratedFailureCount",
                    "ToleratedFailurePercentage",
                ] {
                    if let Some(t) = st.get(f)
                        && jsonata_expr(t).is_some()
                    {
                        self.jsonata_value(st, f, t, &states, vars)?;
                    }
                }
            }
        }
        let tolerated_count =
            self.tolerance(st, "ToleratedFailureCount", &effective, vars, &states)?;
        let tolerated_pct =
            self.tolerance(st, "ToleratedFailurePercentage", &effective, vars, &states)?;
        let items = match st.get("ItemBatcher").and_then(Value::as_object) {
            Some(b) => {
                let per = b
                    .get("MaxItemsPerBatch")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX)
                    .max(1) as usize;
                let batch_input = match b.get("BatchInput") {
                    Some(t) => match st.ql {
                        Ql::JsonPath => self.payload(st, t, &effective, &ctx, vars)?,
                        Ql::Jsonata => self.jsonata_value(st, "ItemBatcher", t, &states, vars)?,
                    },
                    None => Value::Null,
                };
                items
                    .chunks(per)
                    .map(|c| {
                        let mut o = Map::new();
                        if !batch_input.is_null() {
                            o.insert("BatchInput".into(), batch_input.clone());
                        }
                        o.insert("Items".into(), Value::Array(c.to_vec()));
                        Value::Object(o)
                    })
                    .collect()
            }
            None => items,
        };
        self.event(
            "MapStateStarted",
            Some((
                "mapStateStartedEventDetails",
                json!({"length": items.len()}),
            )),
        );
        let selector = st.get("ItemSelector").or_else(|| st.get("Parameters"));
        let mut results = Vec::with_capacity(items.len());
        let mut failures = 0usize;
        for (index, item) in items.iter().enumerate() {
            let mut item_ctx = ctx.clone();
            if let Some(o) = item_ctx.as_object_mut() {
                o.insert(
                    "Map".into(),
                    json!({"Item": {"Index": index, "Value": item}}),
                );
            }
            let item_st = st.with_ctx(item_ctx.clone());
            let item_input = match (selector, st.ql) {
                (Some(sel), Ql::JsonPath) => {
                    self.payload(&item_st, sel, &effective, &item_ctx, vars)?
                }
                (Some(sel), Ql::Jsonata) => {
                    let s = self.states_var(&item_st, input, &[]);
                    self.jsonata_value(&item_st, "ItemSelector", sel, &s, vars)?
                }
                (None, _) => item.clone(),
            };
            self.event(
                "MapIterationStarted",
                Some((
                    "mapIterationStartedEventDetails",
                    json!({"name": st.name, "index": index}),
                )),
            );
            let mut inner = vars.clone();
            match self.run_chain(pstates, &start, item_input, &mut inner) {
                Ok(out) => {
                    self.event(
                        "MapIterationSucceeded",
                        Some((
                            "mapIterationSucceededEventDetails",
                            json!({"name": st.name, "index": index}),
                        )),
                    );
                    results.push(out);
                }
                Err(Stop::Fail(f)) if is_terminal(&f) => return Err(Stop::Fail(f)),
                Err(Stop::Fail(f)) => {
                    self.event(
                        "MapIterationFailed",
                        Some((
                            "mapIterationFailedEventDetails",
                            json!({"name": st.name, "index": index}),
                        )),
                    );
                    if tolerated_count.is_none() && tolerated_pct.is_none() {
                        return Err(Stop::Fail(f));
                    }
                    failures += 1;
                    let over_count = tolerated_count.is_some_and(|c| failures as f64 > c);
                    let over_pct = tolerated_pct
                        .is_some_and(|p| failures as f64 * 100.0 / items.len().max(1) as f64 > p);
                    let over = match (tolerated_count, tolerated_pct) {
                        (Some(_), Some(_)) => over_count && over_pct,
                        _ => over_count || over_pct,
                    };
                    if over {
                        return Err(Failure::new(
                            "States.ExceedToleratedFailureThreshold",
                            format!(
                                "{}The specified tolerated failure threshold was exceeded",
                                st.prefix()
                            ),
                        )
                        .into());
                    }
                    let mut e = Map::new();
                    if let Some(x) = f.error {
                        e.insert("Error".into(), Value::String(x));
                    }
                    if let Some(x) = f.cause {
                        e.insert("Cause".into(), Value::String(x));
                    }
                    results.push(Value::Object(e));
                }
                Err(abort) => return Err(abort),
            }
        }
        self.event("MapStateSucceeded", None);
        // With a ResultWriter, AWS returns where the results were written instead of the results.
        let result = match st.get("ResultWriter").and_then(|w| w.get("Parameters")) {
            Some(p) => {
                let run = self.rng.uuid();
                let bucket = p.get("Bucket").cloned().unwrap_or(Value::Null);
                let prefix = p.get("Prefix").and_then(Value::as_str).unwrap_or_default();
                let sm = self.exec_ctx["StateMachine"]["Id"]
                    .as_str()
                    .unwrap_or_default()
                    .replace(":stateMachine:", ":mapRun:");
                json!({
                    "MapRunArn": format!("{sm}/{}:{run}", st.get("Label").and_then(Value::as_str).unwrap_or(&st.name)),
                    "ResultWriterDetails": {"Bucket": bucket, "Key": format!("{prefix}/{run}/manifest.json")},
                })
            }
            None => Value::Array(results),
        };
        self.finish_result(st, input, result, vars)
    }

    fn tolerance(
        &mut self,
        st: &St<'_>,
        field: &str,
        effective: &Value,
        vars: &Vars,
        states: &Value,
    ) -> Result<Option<f64>, Failure> {
        if let Some(v) = st.get(field) {
            let v = if st.ql == Ql::Jsonata && jsonata_expr(v).is_some() {
                self.jsonata_value(st, field, v, states, vars)?
            } else {
                v.clone()
            };
            return Ok(v.as_f64());
        }
        if let Some(Value::String(p)) = st.get(&format!("{field}Path")) {
            let v = self.lookup(p, effective, st.ctx(), vars).ok().flatten();
            return match v.as_ref().and_then(Value::as_f64) {
                Some(f) if f >= 0.0 => Ok(Some(f)),
                _ => Err(st.runtime(format!(
                    "The {field}Path field refers to value \"{}\" which is not a valid number: {p}",
                    v.map(|v| compact(&v)).unwrap_or_else(|| "null".into())
                ))),
            };
        }
        Ok(None)
    }
}
