//! Drawings of a state machine: the typed [`Definition`] turned into a [`Graph`] of nodes, clusters and edges,
//! and that graph written as Mermaid ([`mermaid`]) or Graphviz DOT ([`dot`]).
//!
//! Everything here is deterministic: nodes are numbered and listed in the order the definition lists its
//! states (depth first into Parallel branches and Map processors), so the same definition always prints the
//! same bytes and a drawing kept in a README diffs cleanly.
//!
//! Node identifiers are generated (`s0`, `s1`, ...) rather than taken from state names: names may hold any
//! character, and both formats restrict bare identifiers. Names only ever appear as escaped labels.

use indexmap::IndexMap;

use crate::model::{ChoiceTest, Definition, Scope, State, StateKind, States};

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Task,
    Pass,
    Wait,
    /// A Choice state: a decision.
    Choice,
    /// A Parallel or Map state, whose scopes are drawn as clusters next to it.
    Container,
    Succeed,
    Fail,
    /// The start marker of the machine.
    Start,
    /// Where a scope ends (`End: true`).
    End,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub shape: Shape,
}

/// A node, or a cluster holding more of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Node(Node),
    Cluster(Cluster),
}

/// A Parallel branch or a Map item processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub id: String,
    pub label: String,
    pub items: Vec<Item>,
}

/// How an edge is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeStyle {
    /// `Next`, a Choice rule, `Default`, or the way to an end marker.
    Solid,
    /// A `Catch`.
    Dashed,
    /// A `Retry` (a self-loop) or a Parallel/Map state entering one of its scopes.
    Dotted,
}

/// One edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
    pub style: EdgeStyle,
}

/// A whole drawing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    pub items: Vec<Item>,
    pub edges: Vec<Edge>,
}

impl Graph {
    /// Every node, clusters included, in drawing order.
    pub fn nodes(&self) -> Vec<&Node> {
        fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Node>) {
            for item in items {
                match item {
                    Item::Node(n) => out.push(n),
                    Item::Cluster(c) => walk(&c.items, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }
}

/// Builds the drawing of a definition.
pub fn build(definition: &Definition) -> Graph {
    let mut builder = Builder::default();
    let mut items = vec![Item::Node(Node {
        id: "start".into(),
        label: "Start".into(),
        shape: Shape::Start,
    })];
    let start = builder.scope(&definition.states, &mut items);
    if let Some(first) = start.get(&definition.start_at) {
        // The start edge goes first so that layouts put the start marker on top.
        builder.edges.insert(
            0,
            Edge {
                from: "start".into(),
                to: first.clone(),
                label: None,
                style: EdgeStyle::Solid,
            },
        );
    }
    Graph {
        items,
        edges: builder.edges,
    }
}

#[derive(Default)]
struct Builder {
    next_state: usize,
    next_end: usize,
    next_cluster: usize,
    edges: Vec<Edge>,
}

impl Builder {
    /// Adds the states of one scope to `items` and their edges to `self.edges`; returns the ids of the
    /// scope's states by name, which is where `Next` and `StartAt` of this scope point.
    fn scope(&mut self, states: &States, items: &mut Vec<Item>) -> IndexMap<String, String> {
        let ids: IndexMap<String, String> = states
            .keys()
            .map(|name| {
                let id = format!("s{}", self.next_state);
                self.next_state += 1;
                (name.clone(), id)
            })
            .collect();
        // One end marker per scope, created only if some state ends there.
        let mut end_id: Option<String> = None;
        for (name, state) in states {
            let id = &ids[name];
            items.push(Item::Node(Node {
                id: id.clone(),
                label: name.clone(),
                shape: shape(state),
            }));
            self.retries(id, state);
            match &state.kind {
                StateKind::Parallel(p) => {
                    for (i, branch) in p.branches.iter().enumerate() {
                        self.nested(id, &format!("{name} branch {}", i + 1), branch, items);
                    }
                }
                StateKind::Map(m) => {
                    self.nested(id, &format!("{name} items"), &m.processor, items);
                }
                StateKind::Choice(choice) => {
                    for branch in &choice.choices {
                        let label = match &branch.test {
                            ChoiceTest::Condition(c) => c.clone(),
                            ChoiceTest::Rule(rule) => crate::condition::print(&rule.to_json())
                                // A rule the printer cannot read still deserves an edge; its ASL is the
                                // most faithful label left.
                                .unwrap_or_else(|_| rule.to_json().to_string()),
                        };
                        self.edge_to(id, &ids, &branch.next, Some(label), EdgeStyle::Solid);
                    }
                    if let Some(default) = &choice.default {
                        self.edge_to(id, &ids, default, Some("Default".into()), EdgeStyle::Solid);
                    }
                }
                _ => {}
            }
            if let Some(next) = &state.next {
                self.edge_to(id, &ids, next, None, EdgeStyle::Solid);
            }
            for catcher in state.catch.iter().flatten() {
                let label = catcher.error_equals.join(", ");
                self.edge_to(id, &ids, &catcher.next, Some(label), EdgeStyle::Dashed);
            }
            if state.end == Some(true) {
                let end = end_id
                    .get_or_insert_with(|| {
                        let e = format!("e{}", self.next_end);
                        self.next_end += 1;
                        e
                    })
                    .clone();
                self.edges.push(Edge {
                    from: id.clone(),
                    to: end,
                    label: None,
                    style: EdgeStyle::Solid,
                });
            }
        }
        if let Some(end) = end_id {
            items.push(Item::Node(Node {
                id: end,
                label: "End".into(),
                shape: Shape::End,
            }));
        }
        ids
    }

    /// A Parallel branch or Map processor: a cluster after its state, entered by a dotted edge.
    fn nested(&mut self, owner: &str, label: &str, scope: &Scope, items: &mut Vec<Item>) {
        let id = format!("c{}", self.next_cluster);
        self.next_cluster += 1;
        let mut inner = Vec::new();
        // The entering edge is listed before the scope's own edges, in the order a reader follows them.
        let at = self.edges.len();
        let ids = self.scope(&scope.states, &mut inner);
        if let Some(first) = ids.get(&scope.start_at) {
            self.edges.insert(
                at,
                Edge {
                    from: owner.to_string(),
                    to: first.clone(),
                    label: None,
                    style: EdgeStyle::Dotted,
                },
            );
        }
        items.push(Item::Cluster(Cluster {
            id,
            label: label.to_string(),
            items: inner,
        }));
    }

    /// An edge to a state of the same scope; a target the scope lacks (the validator reports it) is skipped
    /// rather than drawn to nowhere.
    fn edge_to(
        &mut self,
        from: &str,
        ids: &IndexMap<String, String>,
        target: &str,
        label: Option<String>,
        style: EdgeStyle,
    ) {
        if let Some(to) = ids.get(target) {
            self.edges.push(Edge {
                from: from.to_string(),
                to: to.clone(),
                label,
                style,
            });
        }
    }

    /// One self-loop per retrier: its errors and how many attempts it makes (3 when unset, as in AWS).
    fn retries(&mut self, id: &str, state: &State) {
        for retrier in state.retry.iter().flatten() {
            let attempts = retrier
                .max_attempts
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_else(|| "3".into());
            self.edges.push(Edge {
                from: id.to_string(),
                to: id.to_string(),
                label: Some(format!(
                    "retry {} x{attempts}",
                    retrier.error_equals.join(", ")
                )),
                style: EdgeStyle::Dotted,
            });
        }
    }
}

fn shape(state: &State) -> Shape {
    match &state.kind {
        StateKind::Task(_) => Shape::Task,
        StateKind::Pass(_) => Shape::Pass,
        StateKind::Wait(_) => Shape::Wait,
        StateKind::Choice(_) => Shape::Choice,
        StateKind::Parallel(_) | StateKind::Map(_) => Shape::Container,
        StateKind::Succeed => Shape::Succeed,
        StateKind::Fail(_) => Shape::Fail,
    }
}

/// The definition as a Mermaid flowchart.
pub fn mermaid(definition: &Definition) -> String {
    let graph = build(definition);
    let mut out = String::from("flowchart TD\n");
    fn write_items(out: &mut String, items: &[Item], depth: usize) {
        let pad = "    ".repeat(depth);
        for item in items {
            match item {
                Item::Node(n) => {
                    let label = mermaid_text(&n.label);
                    let (open, close) = match n.shape {
                        Shape::Task => ("[\"", "\"]"),
                        Shape::Pass => ("(\"", "\")"),
                        Shape::Wait => ("{{\"", "\"}}"),
                        Shape::Choice => ("{\"", "\"}"),
                        Shape::Container => ("[[\"", "\"]]"),
                        Shape::Succeed => ("([\"", "\"])"),
                        Shape::Fail => ("(((\"", "\")))"),
                        Shape::Start | Shape::End => ("((\"", "\"))"),
                    };
                    out.push_str(&format!("{pad}{}{open}{label}{close}\n", n.id));
                }
                Item::Cluster(c) => {
                    out.push_str(&format!(
                        "{pad}subgraph {}[\"{}\"]\n",
                        c.id,
                        mermaid_text(&c.label)
                    ));
                    write_items(out, &c.items, depth + 1);
                    out.push_str(&format!("{pad}end\n"));
                }
            }
        }
    }
    write_items(&mut out, &graph.items, 1);
    for e in &graph.edges {
        let line = match (e.style, &e.label) {
            (EdgeStyle::Solid, None) => format!("{} --> {}", e.from, e.to),
            (EdgeStyle::Solid, Some(l)) => {
                format!("{} -- \"{}\" --> {}", e.from, mermaid_text(l), e.to)
            }
            (_, None) => format!("{} -.-> {}", e.from, e.to),
            (_, Some(l)) => format!("{} -. \"{}\" .-> {}", e.from, mermaid_text(l), e.to),
        };
        out.push_str(&format!("    {line}\n"));
    }
    out
}

/// Text for a quoted Mermaid label. Mermaid has no backslash escapes: a quote, and the characters that would
/// otherwise be read as markup or as the start of an entity, are written as its `#name;` entity codes.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The definition as a Graphviz `digraph`.
pub fn dot(definition: &Definition) -> String {
    let graph = build(definition);
    let mut out = String::from("digraph {\n    node [fontname=\"Helvetica\"];\n");
    fn write_items(out: &mut String, items: &[Item], depth: usize) {
        let pad = "    ".repeat(depth);
        for item in items {
            match item {
                Item::Node(n) => {
                    let attrs = match n.shape {
                        Shape::Task => "shape=box",
                        Shape::Pass => "shape=box, style=rounded",
                        Shape::Wait => "shape=hexagon",
                        Shape::Choice => "shape=diamond",
                        Shape::Container => "shape=box, peripheries=2",
                        Shape::Succeed => "shape=doublecircle",
                        Shape::Fail => "shape=doublecircle, color=red",
                        Shape::Start | Shape::End => "shape=circle",
                    };
                    out.push_str(&format!(
                        "{pad}{} [label={}, {attrs}];\n",
                        n.id,
                        dot_text(&n.label)
                    ));
                }
                Item::Cluster(c) => {
                    // The `cluster_` prefix is what makes Graphviz draw a subgraph as a box.
                    out.push_str(&format!("{pad}subgraph cluster_{} {{\n", c.id));
                    out.push_str(&format!("{pad}    label={};\n", dot_text(&c.label)));
                    write_items(out, &c.items, depth + 1);
                    out.push_str(&format!("{pad}}}\n"));
                }
            }
        }
    }
    write_items(&mut out, &graph.items, 1);
    for e in &graph.edges {
        let mut attrs = Vec::new();
        if let Some(l) = &e.label {
            attrs.push(format!("label={}", dot_text(l)));
        }
        match e.style {
            EdgeStyle::Solid => {}
            EdgeStyle::Dashed => attrs.push("style=dashed".into()),
            EdgeStyle::Dotted => attrs.push("style=dotted".into()),
        }
        if attrs.is_empty() {
            out.push_str(&format!("    {} -> {};\n", e.from, e.to));
        } else {
            out.push_str(&format!(
                "    {} -> {} [{}];\n",
                e.from,
                e.to,
                attrs.join(", ")
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// A quoted DOT string: backslashes and quotes escaped, line breaks as `\n`.
fn dot_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(asl: serde_json::Value) -> Definition {
        Definition::from_json(&asl).expect("valid ASL")
    }

    #[test]
    fn labels_with_quotes_and_markup_are_escaped_in_both_formats() {
        let d = definition(json!({
            "StartAt": "Say \"hi\" <b>#1</b> \\ & more",
            "States": {"Say \"hi\" <b>#1</b> \\ & more": {"Type": "Succeed"}}
        }));
        let m = mermaid(&d);
        assert!(
            m.contains(r#"s0(["Say #quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt; \ #amp; more"])"#),
            "{m}"
        );
        let g = dot(&d);
        assert!(
            g.contains(r#"s0 [label="Say \"hi\" <b>#1</b> \\ & more", shape=doublecircle];"#),
            "{g}"
        );
    }

    #[test]
    fn nested_scopes_are_clusters_and_end_in_their_own_marker() {
        let d = definition(json!({
            "StartAt": "P",
            "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {
                    "StartAt": "T", "States": {"T": {"Type": "Pass", "End": true}}}}}}
            ]}}
        }));
        let g = build(&d);
        let Item::Cluster(branch) = &g.items[2] else {
            panic!("{g:?}")
        };
        assert_eq!(branch.label, "P branch 1");
        assert!(
            branch
                .items
                .iter()
                .any(|i| matches!(i, Item::Cluster(c) if c.label == "M items")),
            "{branch:?}"
        );
        assert_eq!(
            g.nodes().iter().filter(|n| n.shape == Shape::End).count(),
            3
        );
        assert_eq!(mermaid(&d), mermaid(&d), "deterministic");
    }
}
