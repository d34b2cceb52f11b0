//! Recursive-descent parser from tokens to a [`Rule`].
//!
//! Precedence, loosest first: `||`, `&&`, `!`; a comparison is an atom of the boolean grammar (paths are not
//! booleans), so `!$.a == 1` negates the whole comparison. A chain `a && b && c` becomes one `And` with three
//! children, while parentheses always make their own node, which is how the printer keeps nested `And`s apart.

use serde_json::Value;

use super::error::ConditionError;
use super::lexer::{Tok, Token, tokenize};
use super::rule::{
    CompareOp, Comparison, MAX_DEPTH, Operand, Rule, TypeTest, ValueKind, is_timestamp,
};

pub(crate) fn parse(src: &str) -> Result<Rule, ConditionError> {
    if src.trim().is_empty() {
        return Err(ConditionError::at(src, 0, "empty condition"));
    }
    let tokens = tokenize(src)?;
    let mut parser = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
    };
    let rule = parser.or()?;
    let next = parser.peek();
    if next.tok != Tok::Eof {
        let message = if matches!(next.tok, Tok::RParen) {
            "unmatched ')'".to_string()
        } else if let Some(hint) = word_hint(&next.tok) {
            hint
        } else {
            format!(
                "expected '&&', '||' or the end of the condition, found {}",
                next.tok.describe()
            )
        };
        return Err(parser.error_at(next.start, message));
    }
    Ok(rule)
}

/// Users coming from SQL or Python write `and`, `or`, `not`: point them at the operators.
fn word_hint(tok: &Tok) -> Option<String> {
    let Tok::Word(word) = tok else { return None };
    let symbol = match word.as_str() {
        "and" | "AND" => "&&",
        "or" | "OR" => "||",
        "not" | "NOT" => "!",
        _ => return None,
    };
    Some(format!("use '{symbol}' instead of '{word}'"))
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// One side of a comparison.
enum Term {
    /// A path, possibly wrapped in a type conversion such as `number($.a)`.
    Path {
        path: String,
        cast: Option<ValueKind>,
    },
    /// A literal with the kind it implies; timestamps are `timestamp("...")` strings.
    Literal { value: Value, kind: ValueKind },
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof and `pos` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].tok
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::Eof {
            self.pos += 1;
        }
        token
    }

    fn error_at(&self, byte_offset: usize, message: impl Into<String>) -> ConditionError {
        ConditionError::at(self.src, byte_offset, message)
    }

    fn enter(&mut self, at: usize) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                at,
                format!("condition nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn expect(&mut self, tok: Tok, context: &str) -> Result<Token, ConditionError> {
        let next = self.peek().clone();
        if next.tok == tok {
            Ok(self.advance())
        } else {
            Err(self.error_at(
                next.start,
                format!(
                    "expected '{}' {context}, found {}",
                    tok.symbol(),
                    next.tok.describe()
                ),
            ))
        }
    }

    /// A clearer message than "expected a condition" for `a &&` and `a ||` at the end of the input.
    fn operand_follows(&self, op: &Token) -> Result<(), ConditionError> {
        let next = self.peek();
        if matches!(
            next.tok,
            Tok::Eof | Tok::RParen | Tok::Comma | Tok::AndAnd | Tok::OrOr
        ) {
            return Err(self.error_at(
                next.start,
                format!(
                    "expected a condition after '{}', found {}",
                    op.tok.symbol(),
                    next.tok.describe()
                ),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Rule, ConditionError> {
        let mut rules = vec![self.and()?];
        while self.peek().tok == Tok::OrOr {
            let op = self.advance();
            self.operand_follows(&op)?;
            rules.push(self.and()?);
        }
        Ok(if rules.len() == 1 {
            rules.remove(0)
        } else {
            Rule::Or(rules)
        })
    }

    fn and(&mut self) -> Result<Rule, ConditionError> {
        let mut rules = vec![self.unary()?];
        while self.peek().tok == Tok::AndAnd {
            let op = self.advance();
            self.operand_follows(&op)?;
            rules.push(self.unary()?);
        }
        Ok(if rules.len() == 1 {
            rules.remove(0)
        } else {
            Rule::And(rules)
        })
    }

    fn unary(&mut self) -> Result<Rule, ConditionError> {
        let token = self.peek().clone();
        if token.tok != Tok::Bang {
            return self.primary();
        }
        self.advance();
        self.enter(token.start)?;
        let inner = self.unary()?;
        self.leave();
        Ok(Rule::Not(Box::new(inner)))
    }

    fn primary(&mut self) -> Result<Rule, ConditionError> {
        let token = self.peek().clone();
        match &token.tok {
            Tok::LParen => {
                self.advance();
                self.enter(token.start)?;
                let rule = self.or()?;
                self.leave();
                self.expect(Tok::RParen, "to close the '(' opened earlier")
                    .map_err(|e| {
                        if self.peek().tok == Tok::Eof {
                            self.error_at(token.start, "unclosed '('")
                        } else {
                            e
                        }
                    })?;
                Ok(rule)
            }
            Tok::Word(w) if (w == "all" || w == "any") && *self.peek_at(1) == Tok::LParen => {
                let is_all = w == "all";
                self.advance();
                self.advance();
                self.enter(token.start)?;
                let mut rules = Vec::new();
                if self.peek().tok == Tok::RParen {
                    return Err(self.error_at(
                        self.peek().start,
                        format!(
                            "{}(...) needs at least one condition",
                            if is_all { "all" } else { "any" }
                        ),
                    ));
                }
                loop {
                    rules.push(self.or()?);
                    if self.peek().tok == Tok::Comma {
                        self.advance();
                        continue;
                    }
                    break;
                }
                self.leave();
                self.expect(Tok::RParen, "or ',' in the list of conditions")?;
                Ok(if is_all {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                })
            }
            Tok::Eof => Err(self.error_at(token.start, "expected a condition, found end of input")),
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> Result<Rule, ConditionError> {
        let lhs_start = self.peek().start;
        let (path, cast) = match self.term()? {
            Term::Path { path, cast } => (path, cast),
            Term::Literal { .. } => {
                return Err(self.error_at(
                    lhs_start,
                    "the left side of a comparison must be a path such as $.x",
                ));
            }
        };
        let op_token = self.advance();
        let rule = match &op_token.tok {
            Tok::EqEq | Tok::NotEq | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge => {
                let rhs_start = self.peek().start;
                if self.peek().tok == Tok::Eof {
                    return Err(self.error_at(
                        rhs_start,
                        format!(
                            "expected a value after '{}', found end of input",
                            op_token.tok.symbol()
                        ),
                    ));
                }
                let rhs = self.term()?;
                self.combine(path, cast, lhs_start, &op_token, rhs, rhs_start)?
            }
            Tok::Word(w) if w == "like" => {
                if cast.is_some_and(|c| c != ValueKind::String) {
                    return Err(self.error_at(
                        lhs_start,
                        "'like' matches strings: remove the type conversion",
                    ));
                }
                let pattern = self.advance();
                match pattern.tok {
                    Tok::Str(pattern) => Rule::Matches {
                        variable: path,
                        pattern,
                    },
                    other => {
                        return Err(self.error_at(
                            pattern.start,
                            format!(
                                "expected a string pattern after 'like' (such as \"log-*.txt\"), found {}",
                                other.describe()
                            ),
                        ));
                    }
                }
            }
            Tok::Word(w) if w == "is" => {
                if cast.is_some() {
                    return Err(self.error_at(
                        lhs_start,
                        "'is' tests a plain path: remove the type conversion",
                    ));
                }
                let mut expected = true;
                if matches!(&self.peek().tok, Tok::Word(w) if w == "not") {
                    self.advance();
                    expected = false;
                }
                let name = self.advance();
                let test = match &name.tok {
                    Tok::Word(w) => TypeTest::ALL.into_iter().find(|t| t.keyword() == w),
                    _ => None,
                };
                let Some(test) = test else {
                    return Err(self.error_at(
                        name.start,
                        format!(
                            "expected null, present, string, number, boolean or timestamp after 'is{}', found {}",
                            if expected { "" } else { " not" },
                            name.tok.describe()
                        ),
                    ));
                };
                Rule::Test {
                    variable: path,
                    test,
                    expected,
                }
            }
            other => {
                let shown = match cast {
                    Some(kind) => format!("{}({path})", kind.keyword()),
                    None => path,
                };
                return Err(self.error_at(
                    op_token.start,
                    format!(
                        "expected a comparison after {shown} (==, !=, <, <=, >, >=, like or is), found {}",
                        other.describe()
                    ),
                ));
            }
        };
        let next = self.peek();
        if matches!(
            next.tok,
            Tok::EqEq | Tok::NotEq | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge
        ) || matches!(&next.tok, Tok::Word(w) if w == "like" || w == "is")
        {
            return Err(self.error_at(
                next.start,
                "comparisons cannot be chained: combine them with && or ||",
            ));
        }
        Ok(rule)
    }

    /// A path, a conversion `string($.a)` / `timestamp("...")`, or a literal.
    fn term(&mut self) -> Result<Term, ConditionError> {
        let token = self.advance();
        match token.tok {
            Tok::Path(path) => Ok(Term::Path { path, cast: None }),
            Tok::Str(s) => Ok(Term::Literal {
                value: Value::String(s),
                kind: ValueKind::String,
            }),
            Tok::Num(n) => Ok(Term::Literal {
                value: Value::Number(n),
                kind: ValueKind::Numeric,
            }),
            Tok::Word(w) if w == "true" || w == "false" => Ok(Term::Literal {
                value: Value::Bool(w == "true"),
                kind: ValueKind::Boolean,
            }),
            Tok::Word(w) if self.peek().tok == Tok::LParen => {
                let Some(kind) = ValueKind::ALL.into_iter().find(|k| k.keyword() == w) else {
                    return Err(self.error_at(
                        token.start,
                        format!(
                            "unknown function '{w}' (expected string, number, boolean, timestamp, all or any)"
                        ),
                    ));
                };
                self.advance();
                let arg = self.advance();
                let term = match arg.tok {
                    Tok::Path(path) => Term::Path {
                        path,
                        cast: Some(kind),
                    },
                    Tok::Str(s) if kind == ValueKind::Timestamp => {
                        if !is_timestamp(&s) {
                            return Err(self.error_at(
                                arg.start,
                                format!(
                                    "{} is not an RFC 3339 timestamp such as \"2016-03-14T01:59:00Z\"",
                                    Value::String(s)
                                ),
                            ));
                        }
                        Term::Literal {
                            value: Value::String(s),
                            kind: ValueKind::Timestamp,
                        }
                    }
                    other => {
                        let what = if kind == ValueKind::Timestamp {
                            "a path or a timestamp string"
                        } else {
                            "a path"
                        };
                        return Err(self.error_at(
                            arg.start,
                            format!("{w}(...) takes {what}, found {}", other.describe()),
                        ));
                    }
                };
                self.expect(Tok::RParen, &format!("to close {w}("))?;
                Ok(term)
            }
            Tok::Word(w) if w == "null" => Err(self.error_at(
                token.start,
                "null is tested with 'is null' or 'is not null', not compared",
            )),
            Tok::Eof => Err(self.error_at(token.start, "expected a path, found end of input")),
            ref other if word_hint(other).is_some() => {
                Err(self.error_at(token.start, word_hint(other).unwrap_or_default()))
            }
            other => Err(self.error_at(
                token.start,
                format!(
                    "expected a path (such as $.x) or a value, found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// Types a comparison from its two sides and builds the rule.
    fn combine(
        &self,
        variable: String,
        cast: Option<ValueKind>,
        lhs_start: usize,
        op_token: &Token,
        rhs: Term,
        rhs_start: usize,
    ) -> Result<Rule, ConditionError> {
        let (op, negate) = match op_token.tok {
            Tok::EqEq => (CompareOp::Equals, false),
            Tok::NotEq => (CompareOp::Equals, true),
            Tok::Lt => (CompareOp::LessThan, false),
            Tok::Le => (CompareOp::LessThanEquals, false),
            Tok::Gt => (CompareOp::GreaterThan, false),
            _ => (CompareOp::GreaterThanEquals, false),
        };
        let describe_kind = |kind: ValueKind| match kind {
            ValueKind::String => "a string",
            ValueKind::Numeric => "a number",
            ValueKind::Boolean => "a boolean",
            ValueKind::Timestamp => "a timestamp",
        };
        let (kind, operand) = match rhs {
            Term::Literal { value, kind } => {
                let kind = match cast {
                    None => kind,
                    Some(c) if c == kind => kind,
                    // `timestamp($.t) < "2016-..."` reads naturally; the string must be a timestamp.
                    Some(ValueKind::Timestamp) if kind == ValueKind::String => {
                        if !value.as_str().is_some_and(is_timestamp) {
                            return Err(self.error_at(
                                rhs_start,
                                format!(
                                    "{value} is not an RFC 3339 timestamp such as \"2016-03-14T01:59:00Z\""
                                ),
                            ));
                        }
                        ValueKind::Timestamp
                    }
                    Some(c) => {
                        return Err(self.error_at(
                            rhs_start,
                            format!(
                                "{}({variable}) is compared with {}: the types must match",
                                c.keyword(),
                                describe_kind(kind)
                            ),
                        ));
                    }
                };
                (kind, Operand::Literal(value))
            }
            Term::Path {
                path,
                cast: rhs_cast,
            } => {
                let kind = match (cast, rhs_cast) {
                    (Some(a), Some(b)) if a != b => {
                        return Err(self.error_at(
                            rhs_start,
                            format!(
                                "{}({variable}) is compared with {}({path}): the types must match",
                                a.keyword(),
                                b.keyword()
                            ),
                        ));
                    }
                    (Some(a), _) | (None, Some(a)) => a,
                    (None, None) => {
                        return Err(self.error_at(
                            lhs_start,
                            format!(
                                "comparing two paths needs a type: write string({variable}), number({variable}), \
                                 boolean({variable}) or timestamp({variable})"
                            ),
                        ));
                    }
                };
                (kind, Operand::Path(path))
            }
        };
        if !kind.supports(op) {
            return Err(self.error_at(
                op_token.start,
                format!(
                    "booleans can only be compared with == or !=, not '{}'",
                    op_token.tok.symbol()
                ),
            ));
        }
        let rule = Rule::Compare(Comparison {
            variable,
            kind,
            op,
            operand,
        });
        Ok(if negate {
            Rule::Not(Box::new(rule))
        } else {
            rule
        })
    }
}
