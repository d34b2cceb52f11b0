//! The cross-field rules of the three kinds, in two equivalent forms: the CEL expressions the CRDs carry
//! (enforced by the API server at `kubectl apply`), and Rust checks with the same meaning, used by the
//! controller and the offline commands (which never see an API server) and by the tests.
//!
//! Keeping both forms together is what stops them drifting: the schema test asserts that the CRDs carry
//! exactly the rules of [`cel_rules`], and each rule has a Rust check with a good and a bad case. The CEL
//! texts themselves live in [`crate::cel`] and are re-exported here, because the CRD types name them in
//! their schema attributes and must not depend on the checks, which depend on the types.
//!
//! We do not embed a CEL interpreter: the expressions are simple `has()` / `==` forms, and an
//! interpreter would be a large dependency for six one-liners.

pub use crate::cel::{
    ALIAS_NEEDS_REF_RULE, CHOICE_RULES, ONE_SERVICE_BLOCK_RULE, STATE_RULES, cel_rules,
};
pub use crate::field_error::FieldError;

use super::definition::{State, StateType};
use super::state_machine::StateMachineSpec;
use super::task_integration::TaskIntegrationSpec;

/// The checks the StateMachine CRD's CEL rules make (creation rules; `type` immutability is a transition
/// rule the controller cannot see). Top-level and fragment states are checked; nested state lists are
/// opaque in the schema and checked by the compiler instead.
pub fn validate_state_machine(spec: &StateMachineSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match (&spec.definition, &spec.definition_json) {
        (Some(_), Some(_)) => errors.push(FieldError::new(
            "spec",
            "exactly one of definition and definitionJson must be set, both are",
        )),
        (None, None) => errors.push(FieldError::new(
            "spec",
            "exactly one of definition and definitionJson must be set, neither is",
        )),
        _ => {}
    }
    if spec.role_arn.is_some() && spec.role.is_some() {
        errors.push(FieldError::new(
            "spec",
            "roleArn (an existing role) and role (settings of the created role) are mutually exclusive",
        ));
    }
    if let Some(logging) = &spec.logging
        && logging.log_group_arn.is_some()
        && (logging.retention_in_days.is_some() || logging.kms_key_id.is_some())
    {
        errors.push(FieldError::new(
            "spec.logging",
            "retentionInDays and kmsKeyId configure the log group the operator creates; leave them out with logGroupArn",
        ));
    }
    if let Some(definition) = &spec.definition {
        for (i, state) in definition.states.iter().enumerate() {
            validate_state(state, &format!("spec.definition.states[{i}]"), &mut errors);
        }
    }
    for (f, fragment) in spec.fragments.iter().enumerate() {
        for (i, state) in fragment.states.iter().enumerate() {
            validate_state(
                state,
                &format!("spec.fragments[{f}].states[{i}]"),
                &mut errors,
            );
        }
    }
    errors
}

/// The transition rule of the StateMachine CRD (`type` is immutable: AWS cannot change the type of an
/// existing state machine). `None` on either side means the default, STANDARD, as the CRD defaults it.
pub fn validate_state_machine_update(
    old: &StateMachineSpec,
    new: &StateMachineSpec,
) -> Vec<FieldError> {
    if old.workflow_type() == new.workflow_type() {
        return Vec::new();
    }
    vec![FieldError::new(
        "spec.type",
        format!(
            "type is immutable (was {}, now {}); create a new object instead",
            old.workflow_type().as_str(),
            new.workflow_type().as_str()
        ),
    )]
}

/// The per-state CEL rules, applied to one state at `path`.
pub fn validate_state(state: &State, path: &str, errors: &mut Vec<FieldError>) {
    let named = |msg: &str| format!("state {:?}: {msg}", state.name);
    if state.integration.is_some() && state.resource.is_some() {
        errors.push(FieldError::new(
            path,
            named("a state sets at most one of integration and resource"),
        ));
    }
    if state.next.is_some() && state.end == Some(true) {
        errors.push(FieldError::new(
            path,
            named("a state cannot set both next and end: true"),
        ));
    }
    let missing = match state.type_ {
        StateType::Fragment if state.fragment.is_none() => Some("fragment"),
        StateType::Fragment if state.prefix.is_none() => Some("prefix"),
        StateType::Choice if state.choices.is_empty() => Some("choices"),
        StateType::Parallel if state.branches.is_empty() => Some("branches"),
        StateType::Map if state.item_processor.is_none() => Some("itemProcessor"),
        _ => None,
    };
    if let Some(field) = missing {
        errors.push(FieldError::new(
            format!("{path}.{field}"),
            named(&format!("a {} state needs {field}", state.type_)),
        ));
    }
    if state.default.is_some() && !state.default_states.is_empty() {
        errors.push(FieldError::new(
            path,
            named("a Choice sets at most one of default and defaultStates"),
        ));
    }
    for (c, choice) in state.choices.iter().enumerate() {
        let at = format!("{path}.choices[{c}]");
        if choice.condition.is_some() == choice.rule.is_some() {
            errors.push(FieldError::new(
                &at,
                named("a choice sets exactly one of condition and rule"),
            ));
        }
        if choice.next.is_some() != choice.states.is_empty() {
            errors.push(FieldError::new(
                &at,
                named("a choice sets exactly one of next and states"),
            ));
        }
    }
}

/// The checks the TaskIntegration CRD's CEL rules make.
pub fn validate_task_integration(spec: &TaskIntegrationSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let services = spec.services();
    if services.len() != 1 {
        let set: Vec<&str> = services.iter().map(|s| s.field_name()).collect();
        errors.push(FieldError::new(
            "spec",
            if set.is_empty() {
                "exactly one service block must be set, none is".to_string()
            } else {
                format!(
                    "exactly one service block must be set, found {}",
                    set.join(", ")
                )
            },
        ));
    }
    if let Some(sf) = &spec.step_functions
        && sf.state_machine_ref.is_some() == sf.state_machine_arn.is_some()
    {
        errors.push(FieldError::new(
            "spec.stepFunctions",
            "exactly one of stateMachineRef and stateMachineArn must be set",
        ));
    }
    if let Some(sf) = &spec.step_functions
        && sf.alias.is_some()
        && sf.state_machine_ref.is_none()
    {
        errors.push(FieldError::new(
            "spec.stepFunctions.alias",
            "alias is used with stateMachineRef; with stateMachineArn, give the alias ARN \
             (arn:...:stateMachine:NAME:ALIAS)",
        ));
    }
    if let Some(activity) = &spec.activity
        && activity.activity_ref.is_some() == activity.activity_arn.is_some()
    {
        errors.push(FieldError::new(
            "spec.activity",
            "exactly one of activityRef and activityArn must be set",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkflowType;

    #[test]
    fn type_changes_are_refused_and_default_is_standard() {
        let standard = StateMachineSpec::default();
        let explicit = StateMachineSpec {
            type_: Some(WorkflowType::Standard),
            ..Default::default()
        };
        let express = StateMachineSpec {
            type_: Some(WorkflowType::Express),
            ..Default::default()
        };
        assert!(validate_state_machine_update(&standard, &explicit).is_empty());
        let errors = validate_state_machine_update(&standard, &express);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "spec.type");
        assert!(errors[0].message.contains("was STANDARD, now EXPRESS"));
    }

    #[test]
    fn an_alias_goes_with_a_state_machine_ref_only() {
        use crate::task_integration::{ObjectRef, StepFunctionsIntegration};
        let spec = |by_ref: bool| TaskIntegrationSpec {
            step_functions: Some(StepFunctionsIntegration {
                state_machine_ref: by_ref.then(|| ObjectRef {
                    name: "child".into(),
                    namespace: None,
                }),
                state_machine_arn: (!by_ref)
                    .then(|| "arn:aws:states:us-east-1:123456789012:stateMachine:child".into()),
                alias: Some("live".into()),
            }),
            ..Default::default()
        };
        assert!(validate_task_integration(&spec(true)).is_empty());
        let errors = validate_task_integration(&spec(false));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "spec.stepFunctions.alias");
        assert!(errors[0].message.contains(":stateMachine:NAME:ALIAS"));
    }
}
