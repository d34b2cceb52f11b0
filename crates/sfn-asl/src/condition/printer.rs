//! Renders a [`Rule`] as an expression with the fewest parentheses that still parse back to the same rule.
//!
//! `Not` of an equality prints as `!=`; nested `And` inside `And` (and `Or` inside `Or`) keeps its parentheses
//! because the parser flattens unparenthesised chains; single-child `And`/`Or`, which ASL accepts, print as
//! `all(...)`/`any(...)` since `&&` needs two sides.

use std::fmt::{self, Display, Write};

use serde_json::Value;

use super::rule::{CompareOp, Comparison, Operand, Rule, ValueKind};

impl Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_rule(f, self, Context::Top)
    }
}

/// Where a rule is printed, which decides whether it needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// The whole condition or a function argument.
    Top,
    /// A child of an `||` chain.
    InOr,
    /// A child of an `&&` chain.
    InAnd,
    /// The operand of `!`.
    InNot,
}

fn write_rule(out: &mut impl Write, rule: &Rule, ctx: Context) -> fmt::Result {
    let parens = match rule {
        Rule::And(rules) | Rule::Or(rules) if rules.len() == 1 => false,
        Rule::Or(_) => ctx != Context::Top,
        Rule::And(_) => matches!(ctx, Context::InAnd | Context::InNot),
        Rule::Not(inner) => ctx == Context::InNot && prints_as_not_equals(inner),
        Rule::Compare(_) | Rule::Matches { .. } | Rule::Test { .. } => ctx == Context::InNot,
    };
    if parens {
        out.write_char('(')?;
    }
    match rule {
        Rule::And(rules) | Rule::Or(rules) if rules.len() == 1 => {
            out.write_str(if matches!(rule, Rule::And(_)) {
                "all("
            } else {
                "any("
            })?;
            write_rule(out, &rules[0], Context::Top)?;
            out.write_char(')')?;
        }
        Rule::And(rules) => write_chain(out, rules, " && ", Context::InAnd)?,
        Rule::Or(rules) => write_chain(out, rules, " || ", Context::InOr)?,
        Rule::Not(inner) => match inner.as_ref() {
            Rule::Compare(c) if c.op == CompareOp::Equals => write_comparison(out, c, "!=")?,
            inner => {
                out.write_char('!')?;
                write_rule(out, inner, Context::InNot)?;
            }
        },
        Rule::Compare(c) => write_comparison(out, c, symbol(c.op))?,
        Rule::Matches { variable, pattern } => {
            write!(out, "{variable} like ")?;
            write_string(out, pattern)?;
        }
        Rule::Test {
            variable,
            test,
            expected,
        } => {
            let not = if *expected { "" } else { "not " };
            write!(out, "{variable} is {not}{}", test.keyword())?;
        }
    }
    if parens {
        out.write_char(')')?;
    }
    Ok(())
}

fn prints_as_not_equals(inner: &Rule) -> bool {
    matches!(inner, Rule::Compare(c) if c.op == CompareOp::Equals)
}

fn write_chain(out: &mut impl Write, rules: &[Rule], sep: &str, ctx: Context) -> fmt::Result {
    for (i, rule) in rules.iter().enumerate() {
        if i > 0 {
            out.write_str(sep)?;
        }
        write_rule(out, rule, ctx)?;
    }
    Ok(())
}

fn write_comparison(out: &mut impl Write, c: &Comparison, op: &str) -> fmt::Result {
    match &c.operand {
        Operand::Literal(value) => {
            write!(out, "{} {op} ", c.variable)?;
            match (c.kind, value) {
                (ValueKind::Timestamp, Value::String(s)) => {
                    out.write_str("timestamp(")?;
                    write_string(out, s)?;
                    out.write_char(')')
                }
                (_, Value::String(s)) => write_string(out, s),
                (_, other) => write!(out, "{other}"),
            }
        }
        Operand::Path(path) => write!(out, "{}({}) {op} {path}", c.kind.keyword(), c.variable),
    }
}

fn write_string(out: &mut impl Write, s: &str) -> fmt::Result {
    // JSON string syntax is exactly the string literal syntax of the language.
    write!(out, "{}", Value::String(s.to_string()))
}

fn symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Equals => "==",
        CompareOp::LessThan => "<",
        CompareOp::GreaterThan => ">",
        CompareOp::LessThanEquals => "<=",
        CompareOp::GreaterThanEquals => ">=",
    }
}
