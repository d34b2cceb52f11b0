//! Import: existing Amazon States Language (a file, or the definition of a live state machine) into a typed
//! StateMachine manifest and the TaskIntegrations its Task states call. Pure: the live definition is read
//! by the caller (`sfn-operator import --arn`, through `sfn-aws`) and handed over as a [`LiveMachine`].
//!
//! The import is checked, not trusted: the typed manifest is compiled back with the compiler the operator
//! runs and compared with the input as a document (keys in any order, numbers by value). When it differs,
//! the import tries again with less (no inline Choice chains, then no TaskIntegrations), and as a last
//! resort writes the definition to `definitionJson` with a note saying why. So an imported manifest always
//! deploys the same ASL as the machine it came from.
//!
//! Layout: [`layout`] orders each scope's states and finds inline chains, [`typed`] converts states,
//! [`integration`] turns Task resources into TaskIntegrations (the inverse of `sfn_asl::integration`),
//! [`compare`] compares documents; this file drives them and builds the Kubernetes objects.

pub mod compare;
pub mod integration;
pub mod layout;
pub mod typed;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

use sfn_api::{self as api, ObjectMeta, StateMachine, StateMachineSpec, TaskIntegration};
use sfn_asl::integration::MapResolver;
use sfn_asl::model::{Definition, StateKind};
use sfn_asl::{Diagnostic, compile_state_machine};

pub use compare::{first_difference, same_document};
pub use typed::Note;
use typed::{Mode, Untypable};

/// Why an input could not be imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("{source_name} is not JSON (line {line}, column {column}): {message}")]
    NotJson {
        source_name: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{source_name} is a Kubernetes manifest (kind {kind}), not an ASL definition: import reads the ASL JSON of a state machine"
    )]
    Manifest { source_name: String, kind: String },
    #[error("{source_name} is not a valid ASL definition:\n{}", lines(diagnostics))]
    NotAsl {
        source_name: String,
        diagnostics: Vec<Diagnostic>,
    },
}

fn lines(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the caller chooses about the objects written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `metadata.name` of the StateMachine. Default: from the file name or the live machine's name.
    pub name: Option<String>,
    /// `metadata.namespace` of every object; left out when `None`.
    pub namespace: Option<String>,
    /// Live machines only: add the adoption annotation so the operator takes the existing machine over.
    pub adopt: bool,
}

/// A live state machine as `DescribeStateMachine` (and `ListTagsForResource`) returned it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveMachine {
    pub arn: String,
    pub name: String,
    pub machine_type: api::WorkflowType,
    /// The ASL text.
    pub definition: String,
    pub role_arn: String,
    pub logging: Option<api::LoggingSpec>,
    pub tracing: bool,
    pub encryption: Option<api::EncryptionSpec>,
    pub tags: BTreeMap<String, String>,
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub state_machine: StateMachine,
    /// Deduplicated, sorted by name.
    pub task_integrations: Vec<TaskIntegration>,
    pub summary: Summary,
}

/// What was imported, for the person who runs the import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Where the definition came from (file name or ARN).
    pub source: String,
    /// `namespace/name` (or `name`) of the StateMachine written.
    pub object: String,
    /// Every state, nested ones included.
    pub states: usize,
    /// State count per ASL type.
    pub by_type: BTreeMap<String, usize>,
    /// Names of the TaskIntegrations written.
    pub integrations: Vec<String>,
    /// Task states that name a TaskIntegration / keep a raw `resource`.
    pub tasks_typed: usize,
    pub tasks_raw: usize,
    /// Choice rules written as conditions / kept as `rule` objects.
    pub conditions: usize,
    pub raw_rules: usize,
    /// Choice targets written as inline chains.
    pub inline_chains: usize,
    /// Why the definition went to `definitionJson`, when it did.
    pub fallback: Option<String>,
    pub notes: Vec<Note>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let types: Vec<String> = self
            .by_type
            .iter()
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        writeln!(
            f,
            "imported {} as StateMachine {}: {} ({})",
            self.source,
            self.object,
            count(self.states, "state"),
            types.join(", ")
        )?;
        match &self.fallback {
            Some(why) => writeln!(
                f,
                "  fallback: the definition is kept as definitionJson: {why}"
            )?,
            None => {
                writeln!(
                    f,
                    "  {}{}; Task states: {} naming one, {} with a raw resource",
                    count(self.integrations.len(), "TaskIntegration"),
                    if self.integrations.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", self.integrations.join(", "))
                    },
                    self.tasks_typed,
                    self.tasks_raw
                )?;
                writeln!(
                    f,
                    "  Choice rules: {} as conditions, {} as rule objects; {}",
                    self.conditions,
                    self.raw_rules,
                    count(self.inline_chains, "inline chain")
                )?;
            }
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}

/// `1 state`, `2 states`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Imports the ASL text of a file; `source_name` names it in messages and gives the default object name.
pub fn import_text(
    text: &str,
    source_name: &str,
    options: &Options,
) -> Result<Imported, ImportError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ImportError::NotJson {
        source_name: source_name.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let stem = std::path::Path::new(source_name)
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.trim_end_matches(".json").trim_end_matches(".asl"))
        .unwrap_or(source_name);
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| integration::object_name(stem));
    import_value(&value, source_name, &name, options)
}

/// Imports a live machine: its definition, plus what makes the manifest describe the machine as it runs
/// (its AWS name, type, role, logging, tracing, encryption and tags) and, with `adopt`, the annotation that
/// lets the operator take it over in place.
pub fn import_live(live: &LiveMachine, options: &Options) -> Result<Imported, ImportError> {
    let imported = import_text(
        &live.definition,
        &live.arn,
        &Options {
            name: Some(
                options
                    .name
                    .clone()
                    .unwrap_or_else(|| integration::object_name(&live.name)),
            ),
            ..options.clone()
        },
    )?;
    let mut imported = imported;
    let spec = &mut imported.state_machine.spec;
    spec.name = Some(live.name.clone());
    spec.type_ = Some(live.machine_type);
    spec.role_arn = Some(live.role_arn.clone());
    spec.logging = live
        .logging
        .clone()
        .filter(|l| l.level != api::LogLevel::Off);
    spec.tracing = live.tracing.then_some(api::TracingSpec { enabled: true });
    spec.encryption = live.encryption.clone();
    spec.tags = live
        .tags
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !k.starts_with("sfn.operator.dev/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let summary = &mut imported.summary;
    summary.notes.push(Note {
        state: None,
        message: format!(
            "spec.name {:?} and spec.roleArn keep the live machine's name and role, so applying the manifest updates it in place",
            live.name
        ),
    });
    if options.adopt {
        imported
            .state_machine
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(api::ADOPT_ANNOTATION.to_owned(), "true".to_owned());
        imported.state_machine.spec.deletion_policy = Some(api::DeletionPolicy::Retain);
        summary.notes.push(Note {
            state: None,
            message: format!(
                "annotated {}: \"true\" so the operator adopts the existing machine; deletionPolicy Retain keeps it in AWS if the object is deleted",
                api::ADOPT_ANNOTATION
            ),
        });
    }
    Ok(imported)
}

/// Imports a parsed ASL document as the StateMachine `name`.
pub fn import_value(
    value: &Value,
    source_name: &str,
    name: &str,
    options: &Options,
) -> Result<Imported, ImportError> {
    if let Some(kind) = value.get("kind").and_then(Value::as_str)
        && value.get("apiVersion").is_some()
    {
        return Err(ImportError::Manifest {
            source_name: source_name.to_owned(),
            kind: kind.to_owned(),
        });
    }
    let not_asl = |diagnostics| ImportError::NotAsl {
        source_name: source_name.to_owned(),
        diagnostics,
    };
    let def = Definition::from_json(value).map_err(not_asl)?;
    let (errors, warnings) = sfn_asl::diagnostic::partition(sfn_asl::check(&def));
    if !errors.is_empty() {
        return Err(not_asl(errors));
    }
    let timeout = match &def.timeout_seconds {
        None => Ok(None),
        Some(n) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| Untypable {
                state: None,
                reason: format!("TimeoutSeconds {n} is not a whole number the typed field takes"),
            }),
    };

    let mut summary = Summary {
        source: source_name.to_owned(),
        object: match &options.namespace {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_owned(),
        },
        ..Summary::default()
    };
    for (_, s) in def.all_states() {
        summary.states += 1;
        *summary.by_type.entry(s.type_name().to_owned()).or_default() += 1;
    }

    let mut spec = StateMachineSpec::default();
    let mut integrations = BTreeMap::new();
    let mut gave_up = Vec::new();
    let attempt = timeout.and_then(|timeout| {
        let modes = [
            (
                Mode {
                    inline: true,
                    integrations: true,
                },
                "inline Choice chains",
            ),
            (
                Mode {
                    inline: false,
                    integrations: true,
                },
                "TaskIntegrations",
            ),
            (
                Mode {
                    inline: false,
                    integrations: false,
                },
                "the typed form",
            ),
        ];
        for (mode, what) in modes {
            let (typed, converted) = typed::definition(&def, mode)?;
            let candidate = StateMachineSpec {
                timeout_seconds: timeout,
                definition: Some(typed),
                ..StateMachineSpec::default()
            };
            match compiles_back(&candidate, &converted.integrations, value) {
                Ok(()) => return Ok((candidate, converted)),
                Err(why) => gave_up.push(format!("{what} would change the definition: {why}")),
            }
        }
        Err(Untypable {
            state: None,
            reason: gave_up.last().cloned().unwrap_or_default(),
        })
    });
    match attempt {
        Ok((candidate, converted)) => {
            // Only the reasons of the modes that were given up before the one that worked.
            for why in gave_up {
                summary.notes.push(Note {
                    state: None,
                    message: format!("not used: {why}"),
                });
            }
            spec = candidate;
            summary.tasks_typed = converted.tasks_typed;
            summary.tasks_raw = converted.tasks_raw;
            summary.conditions = converted.conditions;
            summary.raw_rules = converted.raw_rules;
            summary.inline_chains = converted.inline_chains;
            summary.notes.extend(converted.notes);
            integrations = converted.integrations;
        }
        Err(why) => {
            spec.definition_json =
                Some(serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
            summary.tasks_raw = def
                .all_states()
                .iter()
                .filter(|(_, s)| matches!(s.kind, StateKind::Task(_)))
                .count();
            summary.fallback = Some(why.to_string());
        }
    }
    for w in warnings {
        summary.notes.push(Note {
            state: w.state.clone(),
            message: format!("warning from the validator: {}", w.coded()),
        });
    }
    summary.integrations = integrations.keys().cloned().collect();

    let meta = |object_name: &str| ObjectMeta {
        name: Some(object_name.to_owned()),
        namespace: options.namespace.clone(),
        ..ObjectMeta::default()
    };
    let mut state_machine = StateMachine::new(name, spec);
    state_machine.metadata = meta(name);
    let task_integrations = integrations
        .into_iter()
        .map(|(n, s)| {
            let mut ti = TaskIntegration::new(&n, s);
            ti.metadata = meta(&n);
            ti
        })
        .collect();
    Ok(Imported {
        state_machine,
        task_integrations,
        summary,
    })
}

/// Compiles `spec` with `integrations` and compares the ASL with `original`.
fn compiles_back(
    spec: &StateMachineSpec,
    integrations: &BTreeMap<String, api::TaskIntegrationSpec>,
    original: &Value,
) -> Result<(), String> {
    let resolver = MapResolver {
        task_integrations: integrations.clone(),
        ..MapResolver::default()
    };
    let compiled = compile_state_machine(spec, &resolver).map_err(|e| {
        format!(
            "it does not compile: {}",
            e.messages().first().cloned().unwrap_or_default()
        )
    })?;
    match first_difference(&compiled.json, original) {
        None => Ok(()),
        Some(pointer) => Err(format!("the compiled ASL differs at {pointer}")),
    }
}

impl Imported {
    /// The objects as JSON values: the TaskIntegrations first (the StateMachine refers to them), then the
    /// StateMachine, each with `apiVersion` and `kind`.
    pub fn objects(&self) -> Vec<Value> {
        let mut out: Vec<Value> = self
            .task_integrations
            .iter()
            .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
            .collect();
        out.push(serde_json::to_value(&self.state_machine).unwrap_or(Value::Null));
        for o in &mut out {
            strip_empty(o);
        }
        out
    }

    /// A multi-document YAML stream, as `kubectl apply -f` reads it.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        let mut out = String::new();
        for (i, object) in self.objects().iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(&serde_saphyr::to_string(object)?);
        }
        Ok(out)
    }

    /// A Kubernetes `List` of the objects, as `kubectl apply -f` reads it.
    pub fn to_json(&self) -> String {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": self.objects()});
        serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
    }
}

/// Drops the empty `status` and `metadata` fields the Kubernetes types serialise, which a manifest to apply
/// does not carry.
fn strip_empty(object: &mut Value) {
    if let Value::Object(m) = object
        && m.get("status")
            .is_some_and(|s| s.is_null() || s == &json!({}))
    {
        m.remove("status");
    }
}
