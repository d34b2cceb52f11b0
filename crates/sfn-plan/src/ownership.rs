//! Who owns a live resource, and what to do when it is not us: refuse, or adopt it when the object asks.
//! Every planner checks ownership the same way before changing or deleting anything.

use std::collections::BTreeMap;

use sfn_api::naming;

use crate::error::PlanError;
use crate::model::Owner;

fn ownership_found(tags: &BTreeMap<String, String>) -> String {
    match (tags.get(naming::OWNER_TAG), tags.get(naming::OWNER_UID_TAG)) {
        (None, _) => "no owner tag".to_string(),
        (Some(o), Some(uid)) => format!("owned by {o} uid {uid}"),
        (Some(o), None) => format!("owned by {o}"),
    }
}

/// What to do about one existing resource's ownership.
pub(crate) enum Ownership {
    Ours,
    /// Not ours, but the object adopts it: tag it first.
    Adopt,
}

pub(crate) fn check_owner(
    owner: &Owner,
    adopt: bool,
    kind: &'static str,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Ownership, PlanError> {
    if owner.owns(tags) {
        Ok(Ownership::Ours)
    } else if adopt {
        Ok(Ownership::Adopt)
    } else {
        Err(PlanError::NotOwned {
            kind,
            name: name.to_string(),
            owner: owner.describe(),
            found: ownership_found(tags),
        })
    }
}
