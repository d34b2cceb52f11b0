//! Syntax of the strings ASL interprets: JSONPath (`$.a.b[0]`), reference paths (a JSONPath that selects a
//! single node), the context object (`$$.Execution.Id`), variables (`$name.field`), intrinsic functions
//! (`States.Format('{}', $.x)`) with their arity, escapes and the types of literal arguments, and JSONata
//! `{% ... %}` delimiters. Paths follow Jayway JsonPath, which Step Functions evaluates them with.
//!
//! Reference: <https://states-language.net/spec.html#path> and
//! <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>.

/// What a well-formed path selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathInfo {
    /// `$$...`: reads the context object.
    pub context: bool,
    /// `$name...`: reads a variable.
    pub variable: bool,
    /// Selects at most one node (no wildcard, slice, union, filter or deep scan).
    pub definite: bool,
}

/// Checks JSONPath syntax as Step Functions accepts it.
pub fn check_path(p: &str) -> Result<PathInfo, String> {
    let b = p.as_bytes();
    if b.first() != Some(&b'$') {
        return Err(format!("{p:?} is not a path: it must start with '$'"));
    }
    let mut info = PathInfo {
        context: false,
        variable: false,
        definite: true,
    };
    let mut i = 1;
    if b.get(1) == Some(&b'$') {
        info.context = true;
        i = 2;
    } else if b
        .get(1)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        info.variable = true;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
    }
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                if b.get(i) == Some(&b'.') {
                    info.definite = false;
                    i += 1;
                }
                if b.get(i) == Some(&b'*') {
                    info.definite = false;
                    i += 1;
                    continue;
                }
                // Jayway JsonPath, which Step Functions evaluates, reads `$.[0]` as `$[0]` and `$.x.['a']` as
                // `$.x['a']`: a dot before a bracket is allowed and changes nothing.
                if b.get(i) == Some(&b'[') {
                    continue;
                }
                let start = i;
                while i < b.len() && !matches!(b[i], b'.' | b'[') {
                    if matches!(b[i], b']' | b'(' | b')') {
                        return Err(format!(
                            "{p:?}: unexpected {:?} at column {}",
                            b[i] as char,
                            i + 1
                        ));
                    }
                    i += 1;
                }
                if i == start {
                    return Err(format!("{p:?}: empty field name at column {}", i + 1));
                }
            }
            b'[' => {
                let close = find_bracket_end(b, i)
                    .ok_or_else(|| format!("{p:?}: '[' at column {} is never closed", i + 1))?;
                let inner = &p[i + 1..close];
                check_bracket(p, inner, i, &mut info)?;
                i = close + 1;
            }
            c => {
                return Err(format!(
                    "{p:?}: unexpected {:?} at column {} (expected '.' or '[')",
                    c as char,
                    i + 1
                ));
            }
        }
    }
    Ok(info)
}

fn find_bracket_end(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                b'\'' | b'"' => quote = Some(c),
                b'[' => depth += 1,
                b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn check_bracket(p: &str, inner: &str, at: usize, info: &mut PathInfo) -> Result<(), String> {
    let t = inner.trim();
    let bad = || format!("{p:?}: invalid subscript [{inner}] at column {}", at + 1);
    if t.is_empty() {
        return Err(bad());
    }
    if t == "*" {
        info.definite = false;
        return Ok(());
    }
    if t.starts_with("?(") || t.starts_with('(') {
        if !t.ends_with(')') {
            return Err(bad());
        }
        info.definite = false;
        return Ok(());
    }
    // One quoted name: the first closing quote is the last character (`['a','b']` is a union, not a name).
    if let Some(q) = t.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = &t.as_bytes()[1..];
        let mut k = 0;
        let mut close = None;
        while k < body.len() {
            match body[k] {
                b'\\' => k += 1,
                c if c == q as u8 => {
                    close = Some(k);
                    break;
                }
                _ => {}
            }
            k += 1;
        }
        if close.is_some_and(|c| c + 2 == t.len()) {
            return Ok(());
        }
    }
    let is_int = |s: &str| {
        let s = s.trim();
        let s = s.strip_prefix('-').unwrap_or(s);
        !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
    };
    if is_int(t) {
        return Ok(());
    }
    if t.contains(':') {
        let parts: Vec<&str> = t.split(':').collect();
        if parts.len() <= 3 && parts.iter().all(|s| s.trim().is_empty() || is_int(s)) {
            info.definite = false;
            return Ok(());
        }
        return Err(bad());
    }
    if t.contains(',') {
        let ok = t.split(',').all(|s| {
            let s = s.trim();
            is_int(s) || (s.len() >= 2 && s.starts_with('\'') && s.ends_with('\''))
        });
        if ok {
            info.definite = false;
            return Ok(());
        }
    }
    Err(bad())
}

/// A reference path: a path that selects a single node, as `ResultPath`, `Variable`, `...Path` fields need.
pub fn check_reference_path(p: &str) -> Result<PathInfo, String> {
    let info = check_path(p)?;
    if !info.definite {
        return Err(format!(
            "{p:?} is not a reference path: it must select a single node (no '*', '..', slices, unions or filters)"
        ));
    }
    Ok(info)
}

/// Arity of each intrinsic function: (name, minimum, maximum).
pub const INTRINSICS: &[(&str, usize, usize)] = &[
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// The type an intrinsic function expects of an argument, as far as a literal can be judged when the definition
/// is created (a path or a nested call is only known at run time).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Any,
    String,
    Number,
    Boolean,
}

/// Argument types per function, from the parameter descriptions of the intrinsic functions page. Only the type
/// of a literal is checked; whether a number must also be an integer (`States.MathAdd`, `States.ArrayRange`) is
/// not stated as a create-time check there, so it is left to run time.
fn wanted(name: &str, i: usize) -> Want {
    use Want::*;
    let table: &[Want] = match name {
        "States.Format" => &[String],
        "States.StringToJson" | "States.Base64Encode" | "States.Base64Decode" => &[String],
        "States.StringSplit" => &[String, String],
        "States.ArrayPartition" | "States.ArrayGetItem" => &[Any, Number],
        "States.ArrayRange" => &[Number, Number, Number],
        "States.MathRandom" => &[Number, Number, Number],
        "States.MathAdd" => &[Number, Number],
        "States.Hash" => &[Any, String],
        "States.JsonMerge" => &[Any, Any, Boolean],
        _ => &[],
    };
    table.get(i).copied().unwrap_or(Any)
}

/// What an argument was written as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arg {
    String,
    Number,
    Boolean,
    Null,
    /// A path or a nested call: typed at run time.
    Computed,
}

/// Whether a `.$` value is an intrinsic function call rather than a path. Step Functions does not skip
/// white space before the function name (CreateStateMachine refuses `" States.Array(1)"`), so neither do we:
/// such a value is checked, and refused, as a path.
pub fn is_intrinsic(s: &str) -> bool {
    s.starts_with("States.")
}

/// Checks an intrinsic function call: known name, arity, argument syntax (string literals in single quotes,
/// numbers, booleans, null, paths, nested calls).
pub fn check_intrinsic(s: &str) -> Result<(), String> {
    let mut p = Intr {
        s: s.as_bytes(),
        src: s,
        i: 0,
    };
    // No `p.ws()` here: a leading space is refused (see `is_intrinsic`).
    p.call()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "{s:?}: unexpected text after the function call at column {}",
            p.i + 1
        ));
    }
    Ok(())
}

struct Intr<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Intr<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn err(&self, msg: &str) -> String {
        format!("{:?}: {msg} at column {}", self.src, self.i + 1)
    }

    fn call(&mut self) -> Result<(), String> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'.')
        {
            self.i += 1;
        }
        let name = &self.src[start..self.i];
        let Some(&(_, min, max)) = INTRINSICS.iter().find(|(n, _, _)| *n == name) else {
            return Err(format!(
                "{:?}: unknown intrinsic function {name:?}",
                self.src
            ));
        };
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(self.err("expected '('"));
        }
        self.i += 1;
        self.ws();
        let mut n = 0usize;
        if self.s.get(self.i) == Some(&b')') {
            self.i += 1;
        } else {
            loop {
                let at = self.i;
                let got = self.arg()?;
                let want = wanted(name, n);
                let fits = match (want, got) {
                    (Want::Any, _) | (_, Arg::Computed) => true,
                    (Want::String, a) => a == Arg::String,
                    (Want::Number, a) => a == Arg::Number,
                    (Want::Boolean, a) => a == Arg::Boolean,
                };
                if !fits {
                    let want = match want {
                        Want::String => "a string",
                        Want::Number => "a number",
                        _ => "a boolean",
                    };
                    return Err(format!(
                        "{:?}: argument {} of {name} must be {want} at column {}",
                        self.src,
                        n + 1,
                        at + 1
                    ));
                }
                n += 1;
                self.ws();
                match self.s.get(self.i) {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                    }
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(self.err("expected ',' or ')'")),
                }
            }
        }
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(format!(
                "{:?}: {name} takes {want} argument(s), found {n}",
                self.src
            ));
        }
        Ok(())
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.s.get(self.i) {
            Some(b'\'') => {
                self.i += 1;
                loop {
                    match self.s.get(self.i) {
                        None => return Err(self.err("unterminated string literal")),
                        // Inside '...' only the reserved characters are escaped: \' \{ \} \\ (intrinsic
                        // functions page, "Reserved characters in intrinsic functions"); AWS refuses any other
                        // escape, `\"` included.
                        Some(b'\\') => match self.s.get(self.i + 1) {
                            Some(b'\'' | b'{' | b'}' | b'\\') => self.i += 2,
                            Some(_) => {
                                self.i += 1;
                                return Err(self.err(
                                    "invalid escape in a string literal (only \\', \\{, \\} and \\\\ are allowed)",
                                ));
                            }
                            None => return Err(self.err("unterminated string literal")),
                        },
                        Some(b'\'') => {
                            self.i += 1;
                            return Ok(Arg::String);
                        }
                        Some(_) => self.i += 1,
                    }
                }
            }
            Some(b'$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote = false;
                while self.i < self.s.len() {
                    let c = self.s[self.i];
                    if quote {
                        if c == b'\'' {
                            quote = false;
                        }
                    } else {
                        match c {
                            b'\'' => quote = true,
                            b'[' | b'(' => depth += 1,
                            b']' => depth -= 1,
                            b')' if depth == 0 => break,
                            b')' => depth -= 1,
                            b',' if depth == 0 => break,
                            _ => {}
                        }
                    }
                    self.i += 1;
                }
                let path = self.src[start..self.i].trim_end();
                check_path(path).map(|_| Arg::Computed)
            }
            Some(b'S') => self.call().map(|_| Arg::Computed),
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_digit()
                        || matches!(self.s[self.i], b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    self.i += 1;
                }
                self.src[start..self.i]
                    .parse::<f64>()
                    .map(|_| Arg::Number)
                    .map_err(|_| self.err("invalid number"))
            }
            _ => {
                for (lit, kind) in [
                    ("true", Arg::Boolean),
                    ("false", Arg::Boolean),
                    ("null", Arg::Null),
                ] {
                    if self.src[self.i..].starts_with(lit) {
                        self.i += lit.len();
                        return Ok(kind);
                    }
                }
                Err(self.err("expected an argument (a 'string', number, boolean, null, path or intrinsic function)"))
            }
        }
    }
}

/// Whether `s` is written as a JSONata expression (`{% ... %}`).
pub fn is_jsonata(s: &str) -> bool {
    s.starts_with("{%")
}

/// Checks a JSONata field value: a string that opens with `{%` is an expression and must close with `%}` at
/// the very end, not be empty, and parse as JSONata (CreateStateMachine refuses a definition whose expressions
/// do not). Any other string is a literal, even one containing `{%` further in (AWS accepts `" {% x %} "` as
/// plain text). The parser is the simulator's (`sfn-jsonata`), so what validates is what the simulator runs;
/// syntax it does not implement (parent `%`, `@`/`#` bindings, transforms) is valid JSONata and accepted.
pub fn check_jsonata(s: &str) -> Result<(), String> {
    let t = s;
    if !t.starts_with("{%") {
        return Ok(());
    }
    if !t.ends_with("%}") || t.len() < 4 {
        return Err(format!("{s:?}: a JSONata expression must end with '%}}'"));
    }
    let inner = &t[2..t.len() - 2];
    let expr = inner.trim();
    if expr.is_empty() {
        return Err(format!("{s:?}: empty JSONata expression"));
    }
    match sfn_jsonata::parse(expr) {
        Err(e) if !e.unsupported => {
            // Columns count characters of the whole field value, so that they point into what was written.
            let lead = inner.chars().count() - inner.trim_start().chars().count();
            Err(format!(
                "{s:?}: JSONata syntax error at column {}: {}",
                2 + lead + e.position + 1,
                e.message
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in [
            "$",
            "$.a",
            "$.a.b[0]",
            "$['a b'].c",
            "$$.Execution.Id",
            "$$",
            "$var.x",
            "$.a[-1]",
            "$.[0]",
            "$.[0].body",
            "$.x.[0]",
            "$.['a']",
        ] {
            let i = check_path(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(i.definite, "{ok}");
        }
        // Jayway's dot before a bracket keeps a filter, wildcard or union indefinite.
        for indefinite in [
            "$.[?(@.age > 18)]",
            "$.[*].['a','b']",
            "$.x.[*]",
            "$['a','b']",
        ] {
            let i = check_path(indefinite).unwrap_or_else(|e| panic!("{indefinite}: {e}"));
            assert!(!i.definite, "{indefinite}");
        }
        for indefinite in [
            "$.a[*]",
            "$..a",
            "$.a[0:2]",
            "$.a[0,1]",
            "$.a[?(@.x > 1)]",
            "$.*",
        ] {
            assert!(!check_path(indefinite).unwrap().definite, "{indefinite}");
            assert!(check_reference_path(indefinite).is_err(), "{indefinite}");
        }
        for bad in ["a.b", "", "$.", "$.a[", "$.a[]", "$a b", "$.a]"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(check_path("$$.Execution.Id").unwrap().context);
        assert!(check_path("$x.y").unwrap().variable);
    }

    #[test]
    fn intrinsics() {
        for ok in [
            "States.Format('Hello {}', $.name)",
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
            "States.UUID()",
            "States.Array()",
            "States.MathRandom(1, 10)",
            "States.Format('it\\'s {}', $.a[0])",
            "States.JsonMerge($.a, $.b, false)",
        ] {
            check_intrinsic(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let e = check_intrinsic("States.MathAdd(1)").unwrap_err();
        assert!(e.contains("takes 2 argument(s), found 1"), "{e}");
        assert!(
            check_intrinsic("States.Nope(1)")
                .unwrap_err()
                .contains("unknown")
        );
        assert!(check_intrinsic("States.Format('x'").is_err());
        for bad in [
            "States.MathAdd(1, '-1')",
            "States.MathAdd(true, 1)",
            "States.ArrayRange(1, '5', 1)",
            "States.StringSplit($.a, 1)",
            "States.JsonMerge($.a, $.b, 'false')",
            "States.Format('say \\\"hi\\\"')",
            " States.Array('x', $.y)",
        ] {
            assert!(check_intrinsic(bad).is_err(), "{bad}");
        }
        for ok in [
            "States.MathAdd($.n, -1)",
            "States.Format('a \\{ b \\} c \\\\ d \\' e')",
            "States.Array($.[0], $.x.[0].y)",
        ] {
            check_intrinsic(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(check_intrinsic("States.UUID() x").is_err());
    }

    #[test]
    fn jsonata_delimiters() {
        assert!(check_jsonata("{% $states.input %}").is_ok());
        assert!(check_jsonata("plain").is_ok());
        assert!(check_jsonata("{% $x").is_err());
        assert!(check_jsonata(" {% $x %} ").is_ok(), "literal text");
        assert!(check_jsonata("{%  %}").is_err());
    }

    #[test]
    fn jsonata_syntax_errors_are_refused_with_their_position() {
        let e = check_jsonata("{% $sum($states.input.x %}").unwrap_err();
        assert!(
            e.starts_with(r#""{% $sum($states.input.x %}": JSONata syntax error at column 24: "#),
            "{e}"
        );
        let e = check_jsonata("{% 10 + * 2 %}").unwrap_err();
        assert!(
            e.starts_with(r#""{% 10 + * 2 %}": JSONata syntax error at column 11: "#),
            "{e}"
        );
        for bad in [
            "{% (1; 2 %}",
            "{% a.b] %}",
            "{% 'unterminated %}",
            "{% $x := %}",
        ] {
            assert!(check_jsonata(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn valid_jsonata_is_accepted() {
        // Expressions from `examples/jsonata.yaml`, plus valid syntax the evaluator does not implement.
        for ok in [
            "{% $states.input.orderId %}",
            "{% $sum($states.input.lines.amount) %}",
            "{% $states.result.Payload.score %}",
            "{% $states.input %}",
            "{% $score > 80 %}",
            "{% $score * 2 %}",
            "{% $states.input.priority = 'high' or $states.input.total > 1000 %}",
            "{% $string($states.input.total) & ' EUR' %}",
            "{% Account.Order.{'id': %.OrderID} %}",
            "{% $ ~> |Account|{'x': 1}| %}",
        ] {
            check_jsonata(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }
}
