//! The flags through which the platform team sets the tenancy guardrails on generated IAM roles, shared by
//! `run` and `apply` so that a role created from files gets the same boundary, path, prefix and tags as
//! one created in the cluster.

use std::collections::BTreeMap;

use anyhow::Context;
use sfn_plan::Guardrails;

/// Cluster-wide rules for the IAM roles the operator generates (see docs/tenancy.md).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GuardrailArgs {
    /// Permissions boundary (IAM policy ARN) every generated role gets; a spec naming another one is refused.
    #[arg(
        long,
        env = "SFN_OPERATOR_ROLE_PERMISSIONS_BOUNDARY",
        value_name = "ARN"
    )]
    pub role_permissions_boundary: Option<String>,
    /// IAM path of generated roles and their managed policies (default /sfn-operator/).
    #[arg(long, env = "SFN_OPERATOR_ROLE_PATH", value_name = "PATH")]
    pub role_path: Option<String>,
    /// Prefix of every generated role name; a spec.roleArn naming a role without it is refused.
    #[arg(
        long,
        env = "SFN_OPERATOR_ROLE_NAME_PREFIX",
        value_name = "PREFIX",
        default_value = ""
    )]
    pub role_name_prefix: String,
    /// Tag every generated role gets, KEY=VALUE (repeatable, comma separated in the environment); a spec
    /// tag with the same key is refused.
    #[arg(
        long = "role-tag",
        env = "SFN_OPERATOR_ROLE_TAGS",
        value_name = "KEY=VALUE",
        value_delimiter = ','
    )]
    pub role_tags: Vec<String>,
}

impl GuardrailArgs {
    /// The guardrails, checked against IAM's rules so that a mistyped flag stops the process at start-up.
    pub fn guardrails(&self) -> anyhow::Result<Guardrails> {
        let mut role_tags = BTreeMap::new();
        for pair in &self.role_tags {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("--role-tag {pair:?}: expected KEY=VALUE"))?;
            if role_tags
                .insert(key.trim().to_owned(), value.trim().to_owned())
                .is_some()
            {
                anyhow::bail!("--role-tag: key {:?} is given twice", key.trim());
            }
        }
        let guardrails = Guardrails {
            permissions_boundary: self
                .role_permissions_boundary
                .clone()
                .filter(|b| !b.is_empty()),
            role_path: self.role_path.clone().filter(|p| !p.is_empty()),
            role_name_prefix: self.role_name_prefix.clone(),
            role_tags,
        };
        guardrails.validate()?;
        Ok(guardrails)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        g: GuardrailArgs,
    }

    fn parse(args: &[&str]) -> anyhow::Result<Guardrails> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))?;
        cli.g.guardrails()
    }

    #[test]
    fn flags_become_guardrails() {
        let g = parse(&[
            "--role-permissions-boundary",
            "arn:aws:iam::123456789012:policy/b",
            "--role-path",
            "/tenants/",
            "--role-name-prefix",
            "t-",
            "--role-tag",
            "cost-center=platform,owner-team=infra",
        ])
        .unwrap();
        assert_eq!(
            g.permissions_boundary.as_deref(),
            Some("arn:aws:iam::123456789012:policy/b")
        );
        assert_eq!(g.role_path(), "/tenants/");
        assert_eq!(g.role_name_prefix, "t-");
        assert_eq!(g.role_tags.len(), 2);
        assert_eq!(g.role_tags["owner-team"], "infra");
        // No flags: no guardrails (the operator's behaviour before guardrails existed).
        assert_eq!(parse(&[]).unwrap(), Guardrails::default());
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--role-tag", "novalue"]).is_err());
        assert!(parse(&["--role-tag", "a=1", "--role-tag", "a=2"]).is_err());
        assert!(parse(&["--role-path", "no-slashes"]).is_err());
        assert!(parse(&["--role-name-prefix", "has space"]).is_err());
    }
}
