//! IAM statements and policy documents: the grant model used while deriving, the merge that turns grants
//! into few, sorted statements, and the split into documents that respect IAM's size quotas.
//!
//! Determinism matters more than elegance here: the controller compares the rendered documents with what IAM
//! returns on every resync, so the same grants must always render to byte-identical JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Policy language version used for every document we write.
pub const POLICY_VERSION: &str = "2012-10-17";

/// IAM's quota for the inline policies of a role, counted without white space. The quota applies to the SUM of all
/// inline policies of one role, not to each one ("IAM and AWS STS quotas", IAM User Guide).
pub const INLINE_ROLE_POLICY_LIMIT: usize = 10_240;

/// IAM's quota for one customer managed policy, counted without white space ("IAM and AWS STS quotas").
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// `Allow` or `Deny`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A condition block: operator (`StringEquals`) → condition key (`iam:PassedToService`) → values.
/// BTreeMaps so that rendering is ordered without a sort step.
pub type Condition = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// One IAM policy statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default)]
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// Kept as JSON so that user supplied `extraStatements` conditions survive verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

impl Statement {
    /// An `Allow` statement without condition.
    pub fn allow<A, R>(actions: A, resources: R) -> Self
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        Statement {
            sid: None,
            effect: Effect::Allow,
            actions: actions.into_iter().map(Into::into).collect(),
            resources: resources.into_iter().map(Into::into).collect(),
            condition: None,
        }
    }

    /// The statement as IAM policy JSON. A single action or resource is written as a string (the shorter form,
    /// which also keeps documents further from the size quota).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(sid) = &self.sid {
            m.insert("Sid".into(), Value::String(sid.clone()));
        }
        m.insert("Effect".into(), Value::String(self.effect.as_str().into()));
        m.insert("Action".into(), one_or_many(&self.actions));
        m.insert("Resource".into(), one_or_many(&self.resources));
        if let Some(c) = &self.condition {
            m.insert("Condition".into(), c.clone());
        }
        Value::Object(m)
    }

    /// Whether some action of this statement is or contains a wildcard.
    pub fn has_action_wildcard(&self) -> bool {
        self.actions
            .iter()
            .any(|a| a.contains('*') || a.contains('?'))
    }

    /// Whether the statement applies to every resource.
    pub fn is_on_all_resources(&self) -> bool {
        self.resources.iter().any(|r| r == "*")
    }
}

fn one_or_many(items: &[String]) -> Value {
    if items.len() == 1 {
        Value::String(items[0].clone())
    } else {
        Value::Array(items.iter().cloned().map(Value::String).collect())
    }
}

/// Renders a [`Condition`] as the JSON IAM expects (single values as strings).
pub fn condition_json(c: &Condition) -> Value {
    let mut ops = Map::new();
    for (op, keys) in c {
        let mut km = Map::new();
        for (k, vals) in keys {
            km.insert(k.clone(), one_or_many(vals));
        }
        ops.insert(op.clone(), Value::Object(km));
    }
    Value::Object(ops)
}

/// One permission found while walking the definition, before merging: a set of actions on a set of resources,
/// optionally conditioned, and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub actions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    pub condition: Condition,
    pub reason: String,
}

impl Grant {
    pub fn new<A, R>(actions: A, resources: R, reason: impl Into<String>) -> Self
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        Grant {
            actions: actions.into_iter().map(Into::into).collect(),
            resources: resources.into_iter().map(Into::into).collect(),
            condition: Condition::new(),
            reason: reason.into(),
        }
    }

    /// Adds `operator: {key: values}` to the condition.
    pub fn when(mut self, operator: &str, key: &str, values: &[&str]) -> Self {
        self.condition
            .entry(operator.to_string())
            .or_default()
            .insert(
                key.to_string(),
                values.iter().map(|v| v.to_string()).collect(),
            );
        self
    }
}

/// A merged statement with the reasons of every grant folded into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Merged {
    pub statement: Statement,
    pub reasons: Vec<String>,
}

/// Merges grants into as few statements as keeps them exact.
///
/// Two passes, both keyed on the condition so that a conditioned grant never leaks its actions to an
/// unconditioned resource: first every (action) collects all its resources, then actions with the same resource
/// set are folded into one statement. The result grants exactly the union of the (action, resource) pairs.
pub(crate) fn merge(grants: &[Grant]) -> Vec<Merged> {
    // (condition, action) -> (resources, reasons), then (condition, resources) -> (actions, reasons).
    type Sets = (BTreeSet<String>, BTreeSet<String>);
    type PerAction = BTreeMap<(String, String), Sets>;
    let mut per_action: PerAction = BTreeMap::new();
    let mut conditions: BTreeMap<String, Condition> = BTreeMap::new();
    for g in grants {
        if g.actions.is_empty() || g.resources.is_empty() {
            continue;
        }
        let ckey = serde_json::to_string(&condition_json(&g.condition)).unwrap_or_default();
        conditions
            .entry(ckey.clone())
            .or_insert_with(|| g.condition.clone());
        for a in &g.actions {
            let e = per_action.entry((ckey.clone(), a.clone())).or_default();
            e.0.extend(g.resources.iter().cloned());
            e.1.insert(g.reason.clone());
        }
    }
    // A resource matched by a wildcard resource of the same action adds nothing (`function:f` next to
    // `function:*`, anything next to `*`), and would only make statements harder to read and to merge.
    for (resources, _) in per_action.values_mut() {
        let wild: Vec<String> = resources
            .iter()
            .filter(|r| r.contains('*') || r.contains('?'))
            .cloned()
            .collect();
        resources.retain(|r| !wild.iter().any(|w| w != r && glob(w, r)));
    }
    // (condition, resources) -> (actions, reasons)
    let mut per_resources: BTreeMap<(String, Vec<String>), Sets> = BTreeMap::new();
    for ((ckey, action), (resources, reasons)) in per_action {
        let e = per_resources
            .entry((ckey, resources.into_iter().collect()))
            .or_default();
        e.0.insert(action);
        e.1.extend(reasons);
    }
    let mut out: Vec<Merged> = per_resources
        .into_iter()
        .map(|((ckey, resources), (actions, reasons))| {
            let cond = conditions.get(&ckey).filter(|c| !c.is_empty());
            Merged {
                statement: Statement {
                    sid: None,
                    effect: Effect::Allow,
                    actions: actions.into_iter().collect(),
                    resources,
                    condition: cond.map(condition_json),
                },
                reasons: reasons.into_iter().collect(),
            }
        })
        .collect();
    // Statements read best grouped by service: order by first action, then resources, then condition.
    out.sort_by(|a, b| {
        let ka = (
            &a.statement.actions,
            &a.statement.resources,
            a.statement.condition.as_ref().map(|c| c.to_string()),
        );
        let kb = (
            &b.statement.actions,
            &b.statement.resources,
            b.statement.condition.as_ref().map(|c| c.to_string()),
        );
        ka.cmp(&kb)
    });
    out
}

/// IAM wildcard match of `text` against `pattern` (`*` any run of characters, `?` one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A policy document holding `statements`.
pub fn document(statements: &[&Statement]) -> Value {
    json!({
        "Version": POLICY_VERSION,
        "Statement": statements.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
    })
}

/// The size IAM charges a document against its quotas: characters of the minified JSON, white space excluded.
/// White space inside strings is excluded too, which IAM does as well; counting it would only be conservative.
pub fn policy_size(doc: &Value) -> usize {
    let text = serde_json::to_string(doc).unwrap_or_default();
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Splits statements, in order, into documents of at most `limit` characters each. A single statement larger than
/// the limit still gets a document of its own (IAM will reject it, and the caller reports it), so no statement is
/// ever dropped silently.
pub fn split(statements: &[Statement], limit: usize) -> Vec<Value> {
    let overhead = policy_size(&document(&[]));
    let pieces: Vec<Statement> = statements
        .iter()
        .flat_map(|s| split_statement(s, limit.saturating_sub(overhead)))
        .collect();
    let mut docs = Vec::new();
    let mut current: Vec<&Statement> = Vec::new();
    let mut size = overhead;
    for s in &pieces {
        // One comma between statements.
        let sz = policy_size(&s.to_json()) + usize::from(!current.is_empty());
        if !current.is_empty() && size + sz > limit {
            docs.push(document(&current));
            current.clear();
            size = overhead;
        }
        size += policy_size(&s.to_json()) + usize::from(!current.is_empty());
        current.push(s);
    }
    if !current.is_empty() || docs.is_empty() {
        docs.push(document(&current));
    }
    docs
}

/// A statement too large for one document becomes several with the same actions and condition over consecutive
/// runs of its resources (the union grants exactly the same).
fn split_statement(s: &Statement, budget: usize) -> Vec<Statement> {
    if policy_size(&s.to_json()) <= budget || s.resources.len() < 2 {
        return vec![s.clone()];
    }
    let mut empty = s.clone();
    empty.resources = Vec::new();
    let base = policy_size(&empty.to_json());
    let mut out = Vec::new();
    let mut chunk: Vec<String> = Vec::new();
    let mut size = base;
    for r in &s.resources {
        // The resource string, its quotes and a comma.
        let add = r.chars().filter(|c| !c.is_whitespace()).count() + 3;
        if !chunk.is_empty() && size + add > budget {
            out.push(Statement {
                resources: std::mem::take(&mut chunk),
                ..s.clone()
            });
            size = base;
        }
        size += add;
        chunk.push(r.clone());
    }
    if !chunk.is_empty() {
        out.push(Statement {
            resources: chunk,
            ..s.clone()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_folds_actions_with_same_resources_and_keeps_conditions_apart() {
        let grants = vec![
            Grant::new(
                ["sns:Publish"],
                ["arn:aws:sns:us-east-1:1:t"],
                "state A: sns:publish",
            ),
            Grant::new(
                ["lambda:InvokeFunction"],
                ["f", "f:*"],
                "state B: lambda:invoke",
            ),
            Grant::new(
                ["lambda:InvokeFunction"],
                ["g", "g:*"],
                "state C: lambda:invoke",
            ),
            Grant::new(["iam:PassRole"], ["r"], "state D").when(
                "StringEquals",
                "iam:PassedToService",
                &["ecs-tasks.amazonaws.com"],
            ),
            Grant::new(["iam:PassRole"], ["q"], "state E"),
        ];
        let merged = merge(&grants);
        let rendered: Vec<Value> = merged.iter().map(|m| m.statement.to_json()).collect();
        assert_eq!(
            rendered,
            vec![
                json!({"Effect":"Allow","Action":"iam:PassRole","Resource":"q"}),
                json!({"Effect":"Allow","Action":"iam:PassRole","Resource":"r",
                       "Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}),
                json!({"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":["f","f:*","g","g:*"]}),
                json!({"Effect":"Allow","Action":"sns:Publish","Resource":"arn:aws:sns:us-east-1:1:t"}),
            ]
        );
        assert_eq!(
            merged[2].reasons,
            vec!["state B: lambda:invoke", "state C: lambda:invoke"]
        );
    }

    #[test]
    fn merge_is_independent_of_grant_order() {
        let a = Grant::new(["s3:GetObject", "s3:PutObject"], ["b/*"], "x");
        let b = Grant::new(["s3:ListBucket"], ["b"], "y");
        let c = Grant::new(["s3:GetObject"], ["c/*"], "z");
        let one = merge(&[a.clone(), b.clone(), c.clone()]);
        let two = merge(&[c, b, a]);
        assert_eq!(one, two);
    }

    #[test]
    fn resources_covered_by_a_wildcard_of_the_same_action_are_dropped() {
        let grants = vec![
            Grant::new(
                ["lambda:InvokeFunction"],
                ["arn:x:function:f", "arn:x:function:f:*"],
                "a",
            ),
            Grant::new(["lambda:InvokeFunction"], ["arn:x:function:*"], "b"),
            Grant::new(["ecs:DescribeTasks"], ["*", "arn:x:task/c/*"], "c"),
        ];
        let merged = merge(&grants);
        assert_eq!(merged[0].statement.resources, vec!["*"]);
        assert_eq!(merged[1].statement.resources, vec!["arn:x:function:*"]);
        assert_eq!(merged[1].reasons, vec!["a", "b"]);
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob("*", "anything"));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/x"));
        assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::c/k"));
        assert!(glob("secret:n-??????", "secret:n-abcdef"));
        assert!(!glob("secret:n-??????", "secret:n-abc"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }

    #[test]
    fn size_ignores_white_space() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(
            policy_size(&doc),
            r#"{"Version":"2012-10-17","Statement":[]}"#.len()
        );
    }

    #[test]
    fn split_respects_the_limit_and_keeps_every_statement() {
        let statements: Vec<Statement> = (0..200)
            .map(|i| {
                Statement::allow(
                    ["lambda:InvokeFunction"],
                    [format!(
                        "arn:aws:lambda:us-east-1:123456789012:function:fn-{i:04}"
                    )],
                )
            })
            .collect();
        let docs = split(&statements, 2_000);
        assert!(docs.len() > 1);
        let mut count = 0;
        for d in &docs {
            assert!(policy_size(d) <= 2_000, "{}", policy_size(d));
            count += d["Statement"].as_array().unwrap().len();
        }
        assert_eq!(count, 200);
        let one = Statement::allow(
            ["lambda:InvokeFunction"],
            (0..200).map(|i| format!("arn:aws:lambda:us-east-1:123456789012:function:fn-{i:04}")),
        );
        let docs = split(std::slice::from_ref(&one), 2_000);
        assert!(docs.len() > 1);
        let mut resources = Vec::new();
        for d in &docs {
            assert!(policy_size(d) <= 2_000, "{}", policy_size(d));
            for st in d["Statement"].as_array().unwrap() {
                resources.extend(
                    st["Resource"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string()),
                );
            }
        }
        assert_eq!(resources, one.resources);
    }
}
