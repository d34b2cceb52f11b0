//! JSONata lexer and Pratt parser producing the [`Node`] tree the evaluator walks. Operator precedences follow
//! the JSONata reference (<https://docs.jsonata.org/operators>).

use std::rc::Rc;

/// A parsed JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Number literal.
    Num(f64),
    /// String literal.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `/pattern/flags`.
    Regex(String, String),
    /// A field name step.
    Name(String),
    /// `$name`; the empty name is the context `$`, `"$"` is the root `$$`.
    Var(String),
    /// `*`.
    Wildcard,
    /// `**`.
    Descendants,
    /// `a.b.c`.
    Path(Vec<Node>),
    /// `-x`.
    Neg(Box<Node>),
    /// Binary operator.
    Bin(String, Box<Node>, Box<Node>),
    /// `[a, b, 1..3]`.
    Array(Vec<Node>),
    /// `a..b` (only inside array constructors).
    Range(Box<Node>, Box<Node>),
    /// `{k: v, ...}`.
    Object(Vec<(Node, Node)>),
    /// `expr{k: v}` grouping.
    Group(Box<Node>, Vec<(Node, Node)>),
    /// `expr[pred]`.
    Filter(Box<Node>, Box<Node>),
    /// `expr[]`.
    KeepArray(Box<Node>),
    /// `c ? a : b`.
    Cond(Box<Node>, Box<Node>, Option<Box<Node>>),
    /// `(a; b; c)`.
    Block(Vec<Node>),
    /// `$x := value`.
    Bind(String, Box<Node>),
    /// `f(args)`; `?` arguments make a partial application.
    Call(Box<Node>, Vec<Node>),
    /// `?` placeholder in a partial application.
    Placeholder,
    /// `function($a, $b) { body }`.
    Lambda(Rc<Vec<String>>, Rc<Node>),
    /// `x ~> f`.
    Apply(Box<Node>, Box<Node>),
    /// `expr^(<a, >b)`.
    Sort(Box<Node>, Vec<(bool, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Name(String),
    Var(String),
    Regex(String, String),
    Op(&'static str),
}

/// A JSONata syntax error: what is wrong and where, so that a validator can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {}: {message}", position + 1)]
pub struct ParseError {
    /// Where the problem was found: a 0-based offset in characters (not bytes) into the parsed text; the
    /// text's length when the expression ends too early.
    pub position: usize,
    /// What is wrong.
    pub message: String,
    /// The text uses JSONata syntax that this implementation does not support (parent `%`, focus `@` and
    /// index `#` bindings, the transform `| ... |`) rather than invalid syntax: AWS accepts such expressions,
    /// so a validator must not refuse them.
    pub unsupported: bool,
}

type PResult<T> = Result<T, ParseError>;

fn syntax<T>(position: usize, message: impl Into<String>) -> PResult<T> {
    Err(ParseError {
        position,
        message: message.into(),
        unsupported: false,
    })
}

/// Parses a JSONata expression.
pub fn parse(src: &str) -> Result<Node, ParseError> {
    let (toks, cols) = lex(src)?;
    let mut p = Parser {
        toks,
        cols,
        end: src.chars().count(),
        pos: 0,
        depth: 0,
    };
    let node = p.expr(0)?;
    if p.pos != p.toks.len() {
        return Err(p.error(format!(
            "unexpected token {:?} after the end of the expression",
            p.toks[p.pos]
        )));
    }
    Ok(node)
}

const OPS: &[&str] = &[
    "..", ":=", "!=", "<=", ">=", "~>", "?:", "??", "**", "(", ")", "[", "]", "{", "}", ",", ";",
    ":", "?", ".", "+", "-", "*", "/", "%", "=", "<", ">", "&", "^", "|", "@", "#",
];

/// Splits `src` into tokens, each with the character offset where it starts.
fn lex(src: &str) -> PResult<(Vec<Tok>, Vec<usize>)> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut cols = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Whatever token this iteration emits starts here; comments and spaces emit none.
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut j = i + 2;
            while j + 1 < chars.len() && !(chars[j] == '*' && chars[j + 1] == '/') {
                j += 1;
            }
            i = j + 2;
            continue;
        }
        // A slash starts a regex where an operand is expected.
        if c == '/' && regex_allowed(toks.last()) {
            let mut j = i + 1;
            let mut pat = String::new();
            while j < chars.len() && chars[j] != '/' {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    pat.push(chars[j]);
                    pat.push(chars[j + 1]);
                    j += 2;
                    continue;
                }
                pat.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return syntax(start, "unterminated regular expression");
            }
            j += 1;
            let mut flags = String::new();
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                flags.push(chars[j]);
                j += 1;
            }
            emit(&mut toks, &mut cols, start, Tok::Regex(pat, flags));
            i = j;
            continue;
        }
        if c == '"' || c == '\'' {
            let mut j = i + 1;
            let mut s = String::new();
            loop {
                let Some(&d) = chars.get(j) else {
                    return syntax(start, "unterminated string literal");
                };
                if d == c {
                    j += 1;
                    break;
                }
                if d == '\\' {
                    let Some(&e) = chars.get(j + 1) else {
                        return syntax(j, "unterminated escape");
                    };
                    j += 2;
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'u' => {
                            let Some(code) = chars
                                .get(j..j + 4)
                                .map(|h| h.iter().collect::<String>())
                                .and_then(|h| u32::from_str_radix(&h, 16).ok())
                            else {
                                return syntax(j - 2, "bad \\u escape");
                            };
                            s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            j += 4;
                        }
                        other => s.push(other),
                    }
                    continue;
                }
                s.push(d);
                j += 1;
            }
            emit(&mut toks, &mut cols, start, Tok::Str(s));
            i = j;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit()) {
                j += 1;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if matches!(chars.get(j), Some('e') | Some('E')) {
                let mut k = j + 1;
                if matches!(chars.get(k), Some('+') | Some('-')) {
                    k += 1;
                }
                if chars.get(k).is_some_and(|d| d.is_ascii_digit()) {
                    j = k;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                }
            }
            let text: String = chars[i..j].iter().collect();
            let Ok(n) = text.parse() else {
                return syntax(start, format!("bad number {text}"));
            };
            emit(&mut toks, &mut cols, start, Tok::Num(n));
            i = j;
            continue;
        }
        if c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '`' {
                j += 1;
            }
            if j >= chars.len() {
                return syntax(start, "unterminated backtick name");
            }
            emit(
                &mut toks,
                &mut cols,
                start,
                Tok::Name(chars[i + 1..j].iter().collect()),
            );
            i = j + 1;
            continue;
        }
        if c == '$' {
            let mut j = i + 1;
            if chars.get(j) == Some(&'$') {
                emit(&mut toks, &mut cols, start, Tok::Var("$".into()));
                i = j + 1;
                continue;
            }
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            emit(
                &mut toks,
                &mut cols,
                start,
                Tok::Var(chars[i + 1..j].iter().collect()),
            );
            i = j;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            emit(
                &mut toks,
                &mut cols,
                start,
                Tok::Name(chars[i..j].iter().collect()),
            );
            i = j;
            continue;
        }
        if c == 'λ' {
            emit(&mut toks, &mut cols, start, Tok::Name("function".into()));
            i += 1;
            continue;
        }
        let rest: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
            return syntax(i, format!("unexpected character '{c}'"));
        };
        emit(&mut toks, &mut cols, start, Tok::Op(op));
        i += op.chars().count();
    }
    Ok((toks, cols))
}

fn emit(toks: &mut Vec<Tok>, cols: &mut Vec<usize>, at: usize, tok: Tok) {
    toks.push(tok);
    cols.push(at);
}

fn regex_allowed(prev: Option<&Tok>) -> bool {
    match prev {
        None => true,
        Some(Tok::Op(op)) => !matches!(*op, ")" | "]" | "}"),
        Some(Tok::Name(n)) => matches!(n.as_str(), "and" | "or" | "in"),
        _ => false,
    }
}

struct Parser {
    toks: Vec<Tok>,
    /// The character offset of each token, for error positions.
    cols: Vec<usize>,
    /// The length of the text in characters: where "unexpected end" errors point.
    end: usize,
    pos: usize,
    depth: usize,
}

/// Nesting limit of the parser, so that hostile input cannot exhaust the stack.
const MAX_NESTING: usize = 64;

fn infix_bp(tok: &Tok) -> u8 {
    match tok {
        Tok::Op(op) => match *op {
            "." => 75,
            "[" | "(" => 80,
            "{" => 70,
            "^" => 80,
            "*" | "/" | "%" => 60,
            "+" | "-" | "&" => 50,
            "=" | "!=" | "<" | "<=" | ">" | ">=" | "~>" | "?:" | "??" => 40,
            "?" => 20,
            ":=" => 10,
            _ => 0,
        },
        Tok::Name(n) => match n.as_str() {
            "and" => 30,
            "or" => 25,
            "in" => 40,
            _ => 0,
        },
        _ => 0,
    }
}

impl Parser {
    /// The character offset of token `i` (the end of the text past the last token).
    fn col(&self, i: usize) -> usize {
        self.cols.get(i).copied().unwrap_or(self.end)
    }

    /// A syntax error at the current token.
    fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos, message)
    }

    /// A syntax error at token `i`.
    fn error_at(&self, i: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            position: self.col(i),
            message: message.into(),
            unsupported: false,
        }
    }

    /// Valid JSONata this implementation does not support, at token `i`.
    fn unsupported_at(&self, i: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            unsupported: true,
            ..self.error_at(i, message)
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn expect(&mut self, op: &str) -> PResult<()> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected '{op}', found {:?}", self.peek())))
        }
    }

    fn expr(&mut self, rbp: u8) -> PResult<Node> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error("the expression is nested too deeply"));
        }
        let r = self.expr_inner(rbp);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, rbp: u8) -> PResult<Node> {
        let mut left = self.nud()?;
        while let Some(tok) = self.peek() {
            // `step@$v` and `step#$i` are JSONata's focus and index bindings, which are not implemented.
            if matches!(tok, Tok::Op("@") | Tok::Op("#"))
                && matches!(self.toks.get(self.pos + 1), Some(Tok::Var(_)))
            {
                let what = if matches!(tok, Tok::Op("@")) {
                    "focus '@'"
                } else {
                    "index '#'"
                };
                return Err(self.unsupported_at(
                    self.pos,
                    format!("the {what} variable binding is not supported"),
                ));
            }
            let bp = infix_bp(tok);
            if bp <= rbp {
                break;
            }
            let tok = tok.clone();
            self.pos += 1;
            left = self.led(tok, left, bp)?;
        }
        Ok(left)
    }

    fn nud(&mut self) -> PResult<Node> {
        let at = self.pos;
        let tok = self
            .peek()
            .cloned()
            .ok_or_else(|| self.error("unexpected end of expression"))?;
        self.pos += 1;
        Ok(match tok {
            Tok::Num(n) => Node::Num(n),
            Tok::Str(s) => Node::Str(s),
            Tok::Regex(p, f) => Node::Regex(p, f),
            Tok::Var(v) => Node::Var(v),
            Tok::Name(n) => match n.as_str() {
                "true" => Node::Bool(true),
                "false" => Node::Bool(false),
                "null" => Node::Null,
                "function" if self.is_op("(") => {
                    self.pos += 1;
                    let mut params = Vec::new();
                    while !self.is_op(")") {
                        match self.peek().cloned() {
                            Some(Tok::Var(v)) => {
                                params.push(v);
                                self.pos += 1;
                            }
                            other => {
                                return Err(
                                    self.error(format!("expected a parameter, found {other:?}"))
                                );
                            }
                        }
                        if self.is_op(",") {
                            self.pos += 1;
                        }
                    }
                    self.pos += 1;
                    // An optional signature `<n-n:n>` is accepted and ignored.
                    if self.is_op("<") {
                        while !self.is_op("{") && self.peek().is_some() {
                            self.pos += 1;
                        }
                    }
                    self.expect("{")?;
                    let body = if self.is_op("}") {
                        Node::Block(vec![])
                    } else {
                        self.block_until("}")?
                    };
                    self.expect("}")?;
                    Node::Lambda(Rc::new(params), Rc::new(body))
                }
                _ => Node::Name(n),
            },
            Tok::Op(op) => match op {
                "-" => Node::Neg(Box::new(self.expr(70)?)),
                "*" => Node::Wildcard,
                "**" => Node::Descendants,
                "?" => Node::Placeholder,
                "(" => {
                    let n = if self.is_op(")") {
                        Node::Block(vec![])
                    } else {
                        self.block_until(")")?
                    };
                    self.expect(")")?;
                    match n {
                        Node::Block(_) => n,
                        other => Node::Block(vec![other]),
                    }
                }
                "[" => {
                    let mut items = Vec::new();
                    while !self.is_op("]") {
                        let item = self.expr(0)?;
                        if self.is_op("..") {
                            self.pos += 1;
                            let end = self.expr(0)?;
                            items.push(Node::Range(Box::new(item), Box::new(end)));
                        } else {
                            items.push(item);
                        }
                        if self.is_op(",") {
                            self.pos += 1;
                        } else if !self.is_op("]") {
                            return Err(self.error("expected ',' or ']' in array"));
                        }
                    }
                    self.pos += 1;
                    Node::Array(items)
                }
                "{" => Node::Object(self.pairs()?),
                // The parent operator `%` (as a step) and the transform `| ... |` are valid JSONata that
                // is not implemented: said so, so that the validator does not refuse them.
                "%" => {
                    return Err(self.unsupported_at(at, "the parent operator '%' is not supported"));
                }
                "|" => {
                    return Err(self.unsupported_at(at, "the transform '| ... |' is not supported"));
                }
                _ => return Err(self.error_at(at, format!("unexpected '{op}'"))),
            },
        })
    }

    fn block_until(&mut self, close: &str) -> PResult<Node> {
        let mut items = vec![self.expr(0)?];
        while self.is_op(";") {
            self.pos += 1;
            if self.is_op(close) {
                break;
            }
            items.push(self.expr(0)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Node::Null)
        } else {
            Node::Block(items)
        })
    }

    fn pairs(&mut self) -> PResult<Vec<(Node, Node)>> {
        let mut pairs = Vec::new();
        while !self.is_op("}") {
            let k = self.expr(0)?;
            self.expect(":")?;
            let v = self.expr(0)?;
            pairs.push((k, v));
            if self.is_op(",") {
                self.pos += 1;
            } else if !self.is_op("}") {
                return Err(self.error("expected ',' or '}' in object"));
            }
        }
        self.pos += 1;
        Ok(pairs)
    }

    fn led(&mut self, tok: Tok, left: Node, bp: u8) -> PResult<Node> {
        // The operator itself, already consumed.
        let at = self.pos - 1;
        match tok {
            Tok::Op(".") => {
                let right = self.expr(bp)?;
                let mut steps = match left {
                    Node::Path(s) => s,
                    other => vec![other],
                };
                match right {
                    Node::Path(s) => steps.extend(s),
                    other => steps.push(other),
                }
                Ok(Node::Path(steps))
            }
            Tok::Op("[") => {
                if self.is_op("]") {
                    self.pos += 1;
                    return Ok(Node::KeepArray(Box::new(left)));
                }
                let pred = self.expr(0)?;
                self.expect("]")?;
                // A predicate binds to the last step of a path.
                Ok(match left {
                    Node::Path(mut steps) => {
                        let last = steps.pop().unwrap_or(Node::Null);
                        steps.push(Node::Filter(Box::new(last), Box::new(pred)));
                        Node::Path(steps)
                    }
                    other => Node::Filter(Box::new(other), Box::new(pred)),
                })
            }
            Tok::Op("(") => {
                let mut args = Vec::new();
                while !self.is_op(")") {
                    args.push(self.expr(0)?);
                    if self.is_op(",") {
                        self.pos += 1;
                    } else if !self.is_op(")") {
                        return Err(self.error("expected ',' or ')' in arguments"));
                    }
                }
                self.pos += 1;
                Ok(Node::Call(Box::new(left), args))
            }
            Tok::Op("{") => Ok(Node::Group(Box::new(left), self.pairs()?)),
            Tok::Op("^") => {
                self.expect("(")?;
                let mut terms = Vec::new();
                loop {
                    let mut desc = false;
                    if self.is_op("<") {
                        self.pos += 1;
                    } else if self.is_op(">") {
                        self.pos += 1;
                        desc = true;
                    }
                    terms.push((desc, self.expr(0)?));
                    if self.is_op(",") {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                self.expect(")")?;
                Ok(Node::Sort(Box::new(left), terms))
            }
            Tok::Op("?") => {
                let then = self.expr(0)?;
                let otherwise = if self.is_op(":") {
                    self.pos += 1;
                    Some(Box::new(self.expr(0)?))
                } else {
                    None
                };
                Ok(Node::Cond(Box::new(left), Box::new(then), otherwise))
            }
            Tok::Op(":=") => {
                let Node::Var(name) = left else {
                    return Err(self.error_at(at, "the left side of ':=' must be a variable"));
                };
                Ok(Node::Bind(name, Box::new(self.expr(bp - 1)?)))
            }
            Tok::Op("~>") => Ok(Node::Apply(Box::new(left), Box::new(self.expr(bp)?))),
            Tok::Op(op) => Ok(Node::Bin(
                op.to_string(),
                Box::new(left),
                Box::new(self.expr(bp)?),
            )),
            Tok::Name(n) => Ok(Node::Bin(n, Box::new(left), Box::new(self.expr(bp)?))),
            other => Err(self.error_at(at, format!("unexpected {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_calls_and_operators() {
        assert!(matches!(parse("a.b.c").unwrap(), Node::Path(s) if s.len() == 3));
        assert!(matches!(parse("$sum(a) + 1").unwrap(), Node::Bin(op, _, _) if op == "+"));
        assert!(matches!(parse("$x := 1").unwrap(), Node::Bind(n, _) if n == "x"));
        assert!(matches!(
            parse("function($x){$x}").unwrap(),
            Node::Lambda(..)
        ));
        assert!(matches!(
            parse("$contains('a', /^a$/i)").unwrap(),
            Node::Call(..)
        ));
        assert!(matches!(parse("a ? b : c").unwrap(), Node::Cond(..)));
        assert!(
            matches!(parse("[1..3]").unwrap(), Node::Array(v) if matches!(v[0], Node::Range(..)))
        );
        assert!(parse("(1; 2").is_err());
        assert!(parse("1 +").is_err());
    }

    #[test]
    fn errors_say_where() {
        // `*` is a wildcard step, so `10 + *` parses and the stray `2` is the error, as in JSONata.
        let e = parse("10 + * 2").unwrap_err();
        assert_eq!((e.position, e.unsupported), (7, false), "{e}");
        assert_eq!(e.to_string(), format!("at column 8: {}", e.message));
        let e = parse("$sum($states.input.x").unwrap_err();
        assert_eq!(e.position, 20, "the end of the text: {e}");
        // Positions count characters, not bytes.
        assert_eq!(parse("'é' + ]").unwrap_err().position, 6);
        assert_eq!(parse("'abc").unwrap_err().position, 0);
        assert_eq!(parse("1 ! 2").unwrap_err().position, 2);
        assert_eq!(parse("$x := ").unwrap_err().position, 6);
    }

    #[test]
    fn valid_but_unimplemented_syntax_is_marked_unsupported() {
        for src in [
            "Account.Order.Product.{'n': %.OrderID}",
            "library.loans@$l.books@$b[$l.isbn=$b.isbn]",
            "items#$i[$i < 2]",
            "$ ~> |Account|{'x': 1}|",
        ] {
            let e = parse(src).unwrap_err();
            assert!(e.unsupported, "{src}: {e}");
        }
        for src in ["10 + * 2", "(1; 2", "a.b]", "1 +"] {
            assert!(!parse(src).unwrap_err().unsupported, "{src}");
        }
    }
}
