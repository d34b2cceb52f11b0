//! The Parallel state: each branch runs to completion in order, on its own copy of the variables; the
//! first failure fails the state.

use serde_json::Value;

use super::{Machine, Ql, Res, St, Vars, states_of};

impl Machine<'_> {
    pub(super) fn parallel(&mut self, st: &St<'_>, input: &Value, vars: &mut Vars) -> Res<Value> {
        let branches = st
            .get("Branches")
            .and_then(Value::as_array)
            .ok_or_else(|| st.invalid("Branches", "missing or not an array"))?;
        let states = self.states_var_if_jsonata(st, input);
        let branch_input = match st.ql {
            Ql::JsonPath => {
                let effective = self.input_path(st, input, vars)?;
                match st.get("Parameters") {
                    Some(p) => {
                        let ctx = st.ctx().clone();
                        self.payload(st, p, &effective, &ctx, vars)?
                    }
                    None => effective,
                }
            }
            Ql::Jsonata => match st.get("Arguments") {
                Some(a) => self.jsonata_value(st, "Arguments", a, &states, vars)?,
                None => input.clone(),
            },
        };
        self.event("ParallelStateStarted", None);
        let mut results = Vec::with_capacity(branches.len());
        for (i, b) in branches.iter().enumerate() {
            let b = b
                .as_object()
                .ok_or_else(|| st.invalid("Branches", format!("branch {i} is not an object")))?;
            let (bstates, start) = states_of(b, &st.name)?;
            let mut inner = vars.clone();
            results.push(self.run_chain(bstates, &start, branch_input.clone(), &mut inner)?);
        }
        self.event("ParallelStateSucceeded", None);
        let result = Value::Array(results);
        self.finish_result(st, input, result, vars)
    }
}
