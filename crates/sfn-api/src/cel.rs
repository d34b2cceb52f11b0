//! The CEL rules the three CRDs carry, as text. Kept apart from the Rust checks in [`crate::rules`] so
//! that the CRD types can name a rule in their schema attributes (`x-kubernetes-validations`) without
//! depending on the checks, which depend on the types; [`crate::rules`] re-exports everything here.

/// CEL: exactly one service block in a TaskIntegration.
pub const ONE_SERVICE_BLOCK_RULE: &str = "[has(self.lambda), has(self.sns), has(self.sqs), has(self.ecs), has(self.batch), has(self.glue), has(self.sagemakerTraining), has(self.sagemakerTransform), has(self.dynamodb), has(self.eventbridge), has(self.http), has(self.stepFunctions), has(self.activity), has(self.awsSdk)].exists_one(x, x)";

/// CEL: a stepFunctions block names an alias only together with a StateMachine object; an ARN carries its
/// own qualifier.
pub const ALIAS_NEEDS_REF_RULE: &str = "!has(self.alias) || has(self.stateMachineRef)";

/// CEL rules on every typed state (`definition.states[*]`, `fragments[*].states[*]`).
pub const STATE_RULES: &[&str] = &[
    "!(has(self.integration) && has(self.resource))",
    "!(has(self.next) && has(self.end) && self.end)",
    "self.type != 'Fragment' || (has(self.fragment) && has(self.prefix))",
    "self.type != 'Choice' || has(self.choices)",
    "self.type != 'Parallel' || has(self.branches)",
    "self.type != 'Map' || has(self.itemProcessor)",
    "!(has(self.default) && has(self.defaultStates))",
];

/// CEL rules on every Choice rule of a typed state.
pub const CHOICE_RULES: &[&str] = &[
    "has(self.condition) != has(self.rule)",
    "has(self.next) != has(self.states)",
];

/// Every CEL rule of the three CRDs as (kind, schema path, rule). The schema test compares this list with
/// the generated CRDs, so a rule added in only one place fails the tests.
pub fn cel_rules() -> Vec<(&'static str, String, &'static str)> {
    let mut rules: Vec<(&'static str, String, &'static str)> = vec![
        (
            "StateMachine",
            ".spec".into(),
            "has(self.definition) != has(self.definitionJson)",
        ),
        (
            "StateMachine",
            ".spec".into(),
            "!(has(self.roleArn) && has(self.role))",
        ),
        ("StateMachine", ".spec.type".into(), "self == oldSelf"),
        (
            "StateMachine",
            ".spec.logging".into(),
            "!has(self.logGroupArn) || !(has(self.retentionInDays) || has(self.kmsKeyId))",
        ),
        ("TaskIntegration", ".spec".into(), ONE_SERVICE_BLOCK_RULE),
        (
            "TaskIntegration",
            ".spec.stepFunctions".into(),
            "has(self.stateMachineRef) != has(self.stateMachineArn)",
        ),
        (
            "TaskIntegration",
            ".spec.stepFunctions".into(),
            ALIAS_NEEDS_REF_RULE,
        ),
        (
            "TaskIntegration",
            ".spec.activity".into(),
            "has(self.activityRef) != has(self.activityArn)",
        ),
    ];
    for states in [".spec.definition.states[*]", ".spec.fragments[*].states[*]"] {
        for rule in STATE_RULES {
            rules.push(("StateMachine", states.to_string(), rule));
        }
        for rule in CHOICE_RULES {
            rules.push(("StateMachine", format!("{states}.choices[*]"), rule));
        }
    }
    rules
}
