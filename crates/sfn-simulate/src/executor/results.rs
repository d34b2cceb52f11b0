//! Result processing shared by Task, Parallel and Map: what turns a state's raw result into its output
//! and variables, in either query language.

use serde_json::Value;

use super::{Machine, Ql, Res, St, Vars};
use crate::Failure;

impl Machine<'_> {
    /// Result processing shared by Task, Parallel and Map, in either query language: the JSONPath
    /// pipeline, or JSONata `Output` and `Assign` over `$states` with the result in it.
    pub(super) fn finish_result(
        &mut self,
        st: &St<'_>,
        input: &Value,
        result: Value,
        vars: &mut Vars,
    ) -> Res<Value> {
        match st.ql {
            Ql::JsonPath => Ok(self.finish_jsonpath(st, input, result, vars)?),
            Ql::Jsonata => {
                let states = self.states_var(st, input, &[("result", &result)]);
                Ok(self.jsonata_finish(
                    st,
                    &states,
                    result,
                    vars,
                    st.get("Assign"),
                    st.get("Output"),
                )?)
            }
        }
    }

    /// JSONPath result processing shared by Task, Parallel and Map: ResultSelector, Assign, ResultPath, OutputPath.
    fn finish_jsonpath(
        &mut self,
        st: &St<'_>,
        raw: &Value,
        result: Value,
        vars: &mut Vars,
    ) -> Result<Value, Failure> {
        let selected = match st.get("ResultSelector") {
            Some(sel) => {
                let ctx = st.ctx().clone();
                self.payload(st, sel, &result, &ctx, vars)?
            }
            None => result,
        };
        self.check_size(st, &selected)?;
        self.assign_jsonpath(st, st.get("Assign"), &selected, vars)?;
        let combined = self.result_path(st, raw, selected, st.get("ResultPath"))?;
        self.select_field(st, "OutputPath", &combined, vars)
    }
}
