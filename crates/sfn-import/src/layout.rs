//! The order of one scope's states in the typed list, and which Choice targets become inline chains.
//!
//! ASL is a graph (`States` keyed by name, `Next` pointers); the typed definition is an ordered list where a
//! state without `next` flows into the item after it. So each state is placed, where possible, right before
//! the state its `Next` names: the list is walked from `StartAt` along `Next`, a Choice continues with the
//! state its branches join (or its first target), and the other targets (more Choice rules, `Default`,
//! `Catch`) follow in the order they are met. States nothing reaches come last, in document order.
//!
//! A Choice target becomes an inline chain (`choices[].states`, `defaultStates`, the CDK's `afterwards()`)
//! when it is what the compiler would make of one: a run of states linked by `Next` that nothing else enters,
//! ending where the Choice's other branches end (the join, placed after the Choice) or in a terminal state.

use std::collections::{HashMap, HashSet, VecDeque};

use sfn_asl::model::{State, StateKind, States};

/// Which entry of a Choice an inline chain replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `choices[i]`.
    Rule(usize),
    /// `defaultStates`.
    Default,
}

/// One item of a typed state list.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub name: String,
    /// Choice only: the targets written inline, each a list of state names in order.
    pub chains: Vec<(Slot, Vec<String>)>,
    /// Choice only: where the inline chains flow when they end without a transition of their own.
    pub join: Option<String>,
}

impl Item {
    fn plain(name: &str) -> Self {
        Item {
            name: name.to_owned(),
            chains: Vec::new(),
            join: None,
        }
    }
}

/// A Choice's inline chains, each with the entry it replaces, and their join.
type Chains = (Vec<(Slot, Vec<String>)>, Option<String>);

/// Every transition out of a state, in the order a reader meets them: `Next`, Choice rules, `Default`,
/// `Catch`.
fn targets(s: &State) -> Vec<&str> {
    let mut out: Vec<&str> = s.next.iter().map(String::as_str).collect();
    if let StateKind::Choice(c) = &s.kind {
        out.extend(c.choices.iter().map(|b| b.next.as_str()));
        out.extend(c.default.as_deref());
    }
    out.extend(s.catch.iter().flatten().map(|c| c.next.as_str()));
    out
}

fn is_choice(s: &State) -> bool {
    matches!(s.kind, StateKind::Choice(_))
}

struct Planner<'a> {
    states: &'a States,
    /// How many transitions (and `StartAt`) enter each state.
    incoming: HashMap<&'a str, usize>,
    /// States written inside some Choice's inline chain.
    claimed: HashSet<String>,
}

impl<'a> Planner<'a> {
    /// The run of states from `start` that only its predecessor enters, and where it leads (`None` when it
    /// ends in a terminal state or `End`).
    fn chain_from(&self, start: &str, choice: &str) -> Option<(Vec<String>, Option<String>)> {
        let enterable = |name: &str, so_far: &[String]| {
            name != choice
                && self.incoming.get(name) == Some(&1)
                && !self.claimed.contains(name)
                && !so_far.iter().any(|n| n == name)
                && self.states.get(name).is_some_and(|s| !is_choice(s))
        };
        if !enterable(start, &[]) {
            return None;
        }
        let mut names = vec![start.to_owned()];
        let mut current = start;
        loop {
            let state = &self.states[current];
            if matches!(state.kind, StateKind::Succeed | StateKind::Fail(_)) {
                return Some((names, None));
            }
            match state.next.as_deref() {
                None => return Some((names, None)),
                Some(next) if enterable(next, &names) => {
                    names.push(next.to_owned());
                    current = next;
                }
                Some(next) => return Some((names, Some(next.to_owned()))),
            }
        }
    }

    /// The inline chains of the Choice `name` and their join, claiming their states.
    fn inline_chains(&mut self, name: &str, state: &State) -> Chains {
        let StateKind::Choice(c) = &state.kind else {
            return (Vec::new(), None);
        };
        let mut candidates = Vec::new();
        for (i, b) in c.choices.iter().enumerate() {
            if let Some(chain) = self.chain_from(&b.next, name) {
                candidates.push((Slot::Rule(i), chain));
            }
        }
        if let Some(d) = &c.default
            && let Some(chain) = self.chain_from(d, name)
        {
            candidates.push((Slot::Default, chain));
        }
        // The join is where most chains lead; a Choice none of whose chains join anything keeps its targets
        // as plain states (the Job Poller's shape).
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for (_, (_, exit)) in &candidates {
            if let Some(e) = exit.as_deref().filter(|e| *e != name) {
                match counts.iter_mut().find(|(n, _)| *n == e) {
                    Some((_, k)) => *k += 1,
                    None => counts.push((e, 1)),
                }
            }
        }
        let Some(join) = counts
            .iter()
            .fold(None::<(&str, usize)>, |best, &(n, k)| match best {
                Some((_, b)) if b >= k => best,
                _ => Some((n, k)),
            })
            .map(|(n, _)| n.to_owned())
        else {
            return (Vec::new(), None);
        };
        let chains: Vec<(Slot, Vec<String>)> = candidates
            .into_iter()
            .filter(|(_, (_, exit))| exit.is_none() || exit.as_deref() == Some(join.as_str()))
            .map(|(slot, (names, _))| (slot, names))
            .collect();
        for (_, names) in &chains {
            self.claimed.extend(names.iter().cloned());
        }
        (chains, Some(join))
    }
}

/// The typed list of one scope: items in order, Choices with their inline chains (when `inline`).
pub fn layout(states: &States, start_at: &str, inline: bool) -> Vec<Item> {
    let mut incoming: HashMap<&str, usize> = HashMap::new();
    *incoming.entry(start_at).or_default() += 1;
    for s in states.values() {
        for t in targets(s) {
            *incoming.entry(t).or_default() += 1;
        }
    }
    let mut planner = Planner {
        states,
        incoming,
        claimed: HashSet::new(),
    };
    let mut chains: HashMap<&str, Chains> = HashMap::new();
    if inline {
        for (name, s) in states {
            if is_choice(s) {
                let found = planner.inline_chains(name, s);
                if !found.0.is_empty() {
                    chains.insert(name.as_str(), found);
                }
            }
        }
    }
    let claimed = planner.claimed;

    let mut placed: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(states.len());
    let mut queue: VecDeque<&str> = VecDeque::from([start_at]);
    let mut leftovers = states.keys().map(String::as_str);
    loop {
        let root = match queue.pop_front() {
            Some(r) => r,
            None => match leftovers.next() {
                Some(r) => r,
                None => break,
            },
        };
        let mut current = Some(root);
        while let Some(name) = current {
            let Some(state) = states.get(name) else { break };
            if placed.contains(name) || claimed.contains(name) {
                break;
            }
            placed.insert(name);
            let mut item = Item::plain(name);
            for c in state.catch.iter().flatten() {
                queue.push_back(c.next.as_str());
            }
            current = state.next.as_deref();
            if let StateKind::Choice(c) = &state.kind {
                let mut rest: Vec<&str> = c.choices.iter().map(|b| b.next.as_str()).collect();
                rest.extend(c.default.as_deref());
                if let Some((inline_chains, join)) = chains.remove(name) {
                    // What the chains' own states lead to, other than the join, comes later.
                    for (_, names) in &inline_chains {
                        for n in names {
                            for t in targets(&states[n.as_str()]) {
                                if Some(t) != join.as_deref() && !names.iter().any(|m| m == t) {
                                    queue.push_back(t);
                                }
                            }
                        }
                    }
                    current = join
                        .as_deref()
                        .and_then(|j| states.get_key_value(j))
                        .map(|(k, _)| k.as_str());
                    item.chains = inline_chains;
                    item.join = join;
                } else {
                    current = None;
                }
                // The Choice's own targets follow it (the first one directly when nothing joins).
                let pending: Vec<&str> = rest
                    .into_iter()
                    .filter(|t| !placed.contains(t) && !claimed.contains(*t))
                    .collect();
                let mut pending = pending.into_iter();
                if current.is_none() {
                    current = pending.next();
                }
                for t in pending.rev() {
                    queue.push_front(t);
                }
            }
            out.push(item);
        }
    }
    out
}

/// The names of `chain` as plain items (chain members are never Choices).
pub fn chain_items(chain: &[String]) -> Vec<Item> {
    chain.iter().map(|n| Item::plain(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sfn_asl::model::Definition;

    fn names(items: &[Item]) -> Vec<&str> {
        items.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn the_job_poller_reads_in_chain_order() {
        let def = Definition::from_json(&json!({
            "StartAt": "Submit",
            "States": {
                "Final": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true},
                "Failed": {"Type": "Fail"},
                "Complete?": {"Type": "Choice", "Choices": [
                    {"Variable": "$.s", "StringEquals": "FAILED", "Next": "Failed"},
                    {"Variable": "$.s", "StringEquals": "OK", "Next": "Final"}], "Default": "Wait"},
                "Status": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "Complete?"},
                "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Status"},
                "Submit": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "Wait"}
            }
        }))
        .unwrap();
        let items = layout(&def.states, &def.start_at, true);
        assert_eq!(
            names(&items),
            ["Submit", "Wait", "Status", "Complete?", "Failed", "Final"]
        );
        assert!(
            items.iter().all(|i| i.chains.is_empty()),
            "nothing joins: no inline chains"
        );
    }

    #[test]
    fn branches_that_join_become_inline_chains() {
        let def = Definition::from_json(&json!({
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [
                    {"Variable": "$.a", "NumericEquals": 1, "Next": "A1"},
                    {"Variable": "$.a", "NumericEquals": 2, "Next": "Bad"}], "Default": "D"},
                "A1": {"Type": "Pass", "Next": "A2"},
                "A2": {"Type": "Pass", "Next": "Join"},
                "D": {"Type": "Pass", "Next": "Join"},
                "Bad": {"Type": "Fail"},
                "Join": {"Type": "Succeed"}
            }
        }))
        .unwrap();
        let items = layout(&def.states, &def.start_at, true);
        assert_eq!(names(&items), ["C", "Join"]);
        assert_eq!(items[0].join.as_deref(), Some("Join"));
        assert_eq!(
            items[0].chains,
            vec![
                (Slot::Rule(0), vec!["A1".to_owned(), "A2".to_owned()]),
                (Slot::Rule(1), vec!["Bad".to_owned()]),
                (Slot::Default, vec!["D".to_owned()]),
            ]
        );
        let flat = layout(&def.states, &def.start_at, false);
        assert_eq!(names(&flat), ["C", "A1", "A2", "Join", "Bad", "D"]);
    }
}
