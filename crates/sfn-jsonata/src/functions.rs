//! JSONata built-in functions, plus the ones Step Functions adds (`$partition`, `$range`, `$hash`, `$random`,
//! `$uuid`, `$parse`; <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).

use std::rc::Rc;

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::rng::Rng;
use crate::value::{Func, Host, JResult, JV, JsonataError, deep_equal, num, truthy};

/// Every built-in name (without `$`).
pub const BUILTINS: &[&str] = &[
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "replace",
    "match",
    "base64encode",
    "base64decode",
    "encodeUrlComponent",
    "decodeUrlComponent",
    "encodeUrl",
    "decodeUrl",
    "number",
    "abs",
    "floor",
    "ceil",
    "round",
    "power",
    "sqrt",
    "sum",
    "max",
    "min",
    "average",
    "count",
    "boolean",
    "not",
    "exists",
    "append",
    "reverse",
    "distinct",
    "sort",
    "zip",
    "shuffle",
    "keys",
    "lookup",
    "spread",
    "merge",
    "each",
    "sift",
    "type",
    "error",
    "assert",
    "map",
    "filter",
    "reduce",
    "single",
    "now",
    "millis",
    "toMillis",
    "fromMillis",
    "formatBase",
    "partition",
    "range",
    "hash",
    "random",
    "uuid",
    "parse",
];

/// True for a built-in function name.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

fn err<T>(msg: impl Into<String>) -> JResult<T> {
    Err(JsonataError(msg.into()))
}

fn val(v: &JV) -> Option<Value> {
    match v.clone().collapse() {
        JV::Val(v) => Some(v),
        _ => None,
    }
}

fn arg(args: &[JV], i: usize) -> Option<Value> {
    args.get(i).and_then(val)
}

fn str_arg(name: &str, args: &[JV], i: usize) -> JResult<Option<String>> {
    match arg(args, i) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => err(format!(
            "T0410: argument {} of ${name} must be a string, found {other}",
            i + 1
        )),
    }
}

fn num_arg(name: &str, args: &[JV], i: usize) -> JResult<Option<f64>> {
    match arg(args, i) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => err(format!(
            "T0410: argument {} of ${name} must be a number, found {other}",
            i + 1
        )),
    }
}

fn array_arg(args: &[JV], i: usize) -> Vec<Value> {
    match args.get(i) {
        Some(v) => v.clone().collapse().items_for_step(),
        None => vec![],
    }
}

fn func_arg(name: &str, args: &[JV], i: usize) -> JResult<Rc<Func>> {
    match args.get(i) {
        Some(JV::Fn(f)) => Ok(f.clone()),
        _ => err(format!(
            "T0410: argument {} of ${name} must be a function",
            i + 1
        )),
    }
}

/// `$string` rendering: strings as they are, everything else as compact JSON.
pub fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i128),
            Some(f) => {
                // JSONata prints numbers with 15 significant digits (0.1 + 0.2 reads "0.3").
                let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
                format!("{rounded}")
            }
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn regex_of(s: &str) -> Option<regex::Regex> {
    let rest = s.strip_prefix('/')?;
    let end = rest.rfind('/')?;
    let (pat, flags) = (&rest[..end], &rest[end + 1..]);
    let mut prefix = String::new();
    if flags.contains('i') {
        prefix.push_str("(?i)");
    }
    if flags.contains('m') {
        prefix.push_str("(?m)");
    }
    regex::Regex::new(&format!("{prefix}{pat}")).ok()
}

/// Whether the argument node was a regex literal: regex literals evaluate to `/pattern/flags` strings.
fn pattern_arg(args: &[JV], i: usize) -> Option<Result<regex::Regex, String>> {
    match arg(args, i) {
        Some(Value::String(s)) if s.starts_with('/') && s.len() > 1 && s[1..].contains('/') => {
            Some(regex_of(&s).ok_or(s))
        }
        _ => None,
    }
}

fn ms_to_iso(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::new(),
    }
}

/// Calls the built-in `name`.
pub fn call_builtin(ev: &mut impl Host, name: &str, args: Vec<JV>, input: &JV) -> JResult<JV> {
    let some = |v: Value| Ok(JV::Val(v));
    // Functions whose single argument defaults to the context value.
    let args = if args.is_empty()
        && matches!(
            name,
            "string"
                | "length"
                | "uppercase"
                | "lowercase"
                | "trim"
                | "number"
                | "boolean"
                | "keys"
                | "base64encode"
                | "base64decode"
        ) {
        vec![input.clone()]
    } else {
        args
    };
    match name {
        "string" => match args.first().map(|a| a.clone().collapse()) {
            None | Some(JV::Undef) => Ok(JV::Undef),
            Some(JV::Fn(_)) => some(Value::String(String::new())),
            Some(v) => some(Value::String(
                val(&v).map(|v| stringify(&v)).unwrap_or_default(),
            )),
        },
        "length" => match str_arg(name, &args, 0)? {
            Some(s) => some(Value::from(s.chars().count())),
            None => Ok(JV::Undef),
        },
        "substring" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let chars: Vec<char> = s.chars().collect();
            let len = chars.len() as i64;
            let mut start = num_arg(name, &args, 1)?.unwrap_or(0.0) as i64;
            if start < 0 {
                start = (len + start).max(0);
            }
            let start = start.min(len);
            let end = match num_arg(name, &args, 2)? {
                Some(n) => (start + n.max(0.0) as i64).min(len),
                None => len,
            };
            some(Value::String(
                chars[start as usize..end as usize].iter().collect(),
            ))
        }
        "substringBefore" | "substringAfter" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let chars = str_arg(name, &args, 1)?.unwrap_or_default();
            some(Value::String(match s.find(&chars) {
                Some(i) if name == "substringBefore" => s[..i].to_string(),
                Some(i) => s[i + chars.len()..].to_string(),
                None => s,
            }))
        }
        "uppercase" => Ok(str_arg(name, &args, 0)?
            .map_or(JV::Undef, |s| JV::Val(Value::String(s.to_uppercase())))),
        "lowercase" => Ok(str_arg(name, &args, 0)?
            .map_or(JV::Undef, |s| JV::Val(Value::String(s.to_lowercase())))),
        "trim" => Ok(str_arg(name, &args, 0)?.map_or(JV::Undef, |s| {
            JV::Val(Value::String(
                s.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })),
        "pad" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let width = num_arg(name, &args, 1)?.unwrap_or(0.0) as i64;
            let pad = str_arg(name, &args, 2)?.unwrap_or_else(|| " ".into());
            let len = s.chars().count() as i64;
            let missing = (width.abs() - len).max(0) as usize;
            let fill: String = pad.chars().cycle().take(missing).collect();
            some(Value::String(if width < 0 {
                format!("{fill}{s}")
            } else {
                format!("{s}{fill}")
            }))
        }
        "contains" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            match pattern_arg(&args, 1) {
                Some(Ok(re)) => some(Value::Bool(re.is_match(&s))),
                Some(Err(p)) => err(format!("D1004: invalid regular expression {p}")),
                None => some(Value::Bool(
                    s.contains(&str_arg(name, &args, 1)?.unwrap_or_default()),
                )),
            }
        }
        "split" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let limit = num_arg(name, &args, 2)?.map(|n| n.max(0.0) as usize);
            let parts: Vec<String> = match pattern_arg(&args, 1) {
                Some(Ok(re)) => re.split(&s).map(str::to_string).collect(),
                Some(Err(p)) => return err(format!("D1004: invalid regular expression {p}")),
                None => {
                    let sep = str_arg(name, &args, 1)?.unwrap_or_default();
                    if sep.is_empty() {
                        s.chars().map(|c| c.to_string()).collect()
                    } else {
                        s.split(sep.as_str()).map(str::to_string).collect()
                    }
                }
            };
            let parts = parts.into_iter().take(limit.unwrap_or(usize::MAX));
            some(Value::Array(parts.map(Value::String).collect()))
        }
        "join" => {
            let items = array_arg(&args, 0);
            let sep = str_arg(name, &args, 1)?.unwrap_or_default();
            let mut strs = Vec::new();
            for i in items {
                match i {
                    Value::String(s) => strs.push(s),
                    other => {
                        return err(format!(
                            "T0412: $join expects an array of strings, found {other}"
                        ));
                    }
                }
            }
            some(Value::String(strs.join(&sep)))
        }
        "replace" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let repl = str_arg(name, &args, 2)?.unwrap_or_default();
            let limit = num_arg(name, &args, 3)?.map(|n| n.max(0.0) as usize);
            match pattern_arg(&args, 1) {
                Some(Ok(re)) => some(Value::String(
                    re.replacen(&s, limit.unwrap_or(0), repl.replace("$0", "${0}").as_str())
                        .to_string(),
                )),
                Some(Err(p)) => err(format!("D1004: invalid regular expression {p}")),
                None => {
                    let pat = str_arg(name, &args, 1)?.unwrap_or_default();
                    if pat.is_empty() {
                        return err("D3010: the pattern of $replace cannot be empty");
                    }
                    some(Value::String(match limit {
                        Some(n) => s.replacen(&pat, &repl, n),
                        None => s.replace(&pat, &repl),
                    }))
                }
            }
        }
        "match" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let re = match pattern_arg(&args, 1) {
                Some(Ok(re)) => re,
                _ => return err("T0410: argument 2 of $match must be a regular expression"),
            };
            let limit = num_arg(name, &args, 2)?.map_or(usize::MAX, |n| n.max(0.0) as usize);
            let matches: Vec<Value> = re
                .captures_iter(&s)
                .take(limit)
                .filter_map(|c| {
                    let m = c.get(0)?;
                    let mut o = Map::new();
                    o.insert("match".into(), Value::String(m.as_str().into()));
                    o.insert("index".into(), Value::from(s[..m.start()].chars().count()));
                    o.insert(
                        "groups".into(),
                        Value::Array(
                            c.iter()
                                .skip(1)
                                .map(|g| {
                                    Value::String(
                                        g.map(|g| g.as_str().to_string()).unwrap_or_default(),
                                    )
                                })
                                .collect(),
                        ),
                    );
                    Some(Value::Object(o))
                })
                .collect();
            Ok(JV::Seq(matches))
        }
        "base64encode" => Ok(str_arg(name, &args, 0)?.map_or(JV::Undef, |s| {
            JV::Val(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s),
            ))
        })),
        "base64decode" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| JsonataError(format!("D3137: invalid base64: {e}")))?;
            some(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        "encodeUrlComponent" | "encodeUrl" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
                .remove(b'-')
                .remove(b'_')
                .remove(b'.')
                .remove(b'!')
                .remove(b'~')
                .remove(b'*')
                .remove(b'\'')
                .remove(b'(')
                .remove(b')');
            const URL: &percent_encoding::AsciiSet = &COMPONENT
                .remove(b';')
                .remove(b',')
                .remove(b'/')
                .remove(b'?')
                .remove(b':')
                .remove(b'@')
                .remove(b'&')
                .remove(b'=')
                .remove(b'+')
                .remove(b'$')
                .remove(b'#');
            let set = if name == "encodeUrl" { URL } else { COMPONENT };
            some(Value::String(
                percent_encoding::utf8_percent_encode(&s, set).to_string(),
            ))
        }
        "decodeUrlComponent" | "decodeUrl" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            some(Value::String(
                percent_encoding::percent_decode_str(&s)
                    .decode_utf8_lossy()
                    .into_owned(),
            ))
        }
        "number" => match arg(&args, 0) {
            None => Ok(JV::Undef),
            Some(Value::Number(n)) => some(Value::Number(n)),
            Some(Value::Bool(b)) => some(Value::from(i64::from(b))),
            Some(Value::String(s)) => {
                let t = s.trim();
                let parsed = if let Some(h) = t.strip_prefix("0x") {
                    i64::from_str_radix(h, 16).ok().map(|i| i as f64)
                } else if let Some(b) = t.strip_prefix("0b") {
                    i64::from_str_radix(b, 2).ok().map(|i| i as f64)
                } else if let Some(o) = t.strip_prefix("0o") {
                    i64::from_str_radix(o, 8).ok().map(|i| i as f64)
                } else {
                    serde_json::from_str::<Value>(t)
                        .ok()
                        .and_then(|v| v.as_f64())
                };
                match parsed {
                    Some(f) => some(num(f)),
                    None => err(format!("D3030: unable to cast value to a number: \"{s}\"")),
                }
            }
            Some(other) => err(format!("D3030: unable to cast value to a number: {other}")),
        },
        "abs" | "floor" | "ceil" | "sqrt" => {
            let Some(n) = num_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let r = match name {
                "abs" => n.abs(),
                "floor" => n.floor(),
                "ceil" => n.ceil(),
                _ => {
                    if n < 0.0 {
                        return err(
                            "D3060: the sqrt function cannot be applied to a negative number",
                        );
                    }
                    n.sqrt()
                }
            };
            some(num(r))
        }
        "round" => {
            let Some(n) = num_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let precision = num_arg(name, &args, 1)?.unwrap_or(0.0) as i32;
            let factor = 10f64.powi(precision);
            let x = n * factor;
            // Round half to even, as JSONata does.
            let r = x.round();
            let r = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
                r - x.signum()
            } else {
                r
            };
            some(num(r / factor))
        }
        "power" => {
            let (Some(b), Some(e)) = (num_arg(name, &args, 0)?, num_arg(name, &args, 1)?) else {
                return Ok(JV::Undef);
            };
            let r = b.powf(e);
            if !r.is_finite() {
                return err(
                    "D3061: the power function has resulted in a value that cannot be represented",
                );
            }
            some(num(r))
        }
        "sum" | "max" | "min" | "average" => {
            if args.first().is_none_or(|a| a.is_undef()) {
                return Ok(JV::Undef);
            }
            let items = array_arg(&args, 0);
            let mut nums = Vec::new();
            for i in &items {
                match i.as_f64() {
                    Some(f) if i.is_number() => nums.push(f),
                    _ => {
                        return err(format!(
                            "T0412: ${name} expects an array of numbers, found {i}"
                        ));
                    }
                }
            }
            if nums.is_empty() {
                return Ok(if name == "sum" {
                    JV::Val(Value::from(0))
                } else {
                    JV::Undef
                });
            }
            let r = match name {
                "sum" => nums.iter().sum(),
                "max" => nums.iter().cloned().fold(f64::MIN, f64::max),
                "min" => nums.iter().cloned().fold(f64::MAX, f64::min),
                _ => nums.iter().sum::<f64>() / nums.len() as f64,
            };
            some(num(r))
        }
        "count" => some(Value::from(match args.first() {
            None => 0,
            Some(a) => a.clone().collapse().items_for_step().len(),
        })),
        "boolean" => match args.first() {
            None => Ok(JV::Undef),
            Some(a) if a.is_undef() => Ok(JV::Undef),
            Some(a) => some(Value::Bool(truthy(a))),
        },
        "not" => match args.first() {
            None => Ok(JV::Undef),
            Some(a) if a.is_undef() => Ok(JV::Undef),
            Some(a) => some(Value::Bool(!truthy(a))),
        },
        "exists" => some(Value::Bool(args.first().is_some_and(|a| !a.is_undef()))),
        "append" => {
            let (a, b) = (
                args.first().cloned().unwrap_or(JV::Undef),
                args.get(1).cloned().unwrap_or(JV::Undef),
            );
            if a.is_undef() {
                return Ok(b);
            }
            if b.is_undef() {
                return Ok(a);
            }
            let mut out = a.collapse().items_for_step();
            out.extend(b.collapse().items_for_step());
            some(Value::Array(out))
        }
        "reverse" => {
            if args.first().is_none_or(|a| a.is_undef()) {
                return Ok(JV::Undef);
            }
            let mut items = array_arg(&args, 0);
            items.reverse();
            some(Value::Array(items))
        }
        "distinct" => {
            let Some(v) = arg(&args, 0) else {
                return Ok(JV::Undef);
            };
            let Value::Array(items) = v else {
                return some(v);
            };
            let mut out: Vec<Value> = Vec::new();
            for i in items {
                if !out.iter().any(|o| deep_equal(o, &i)) {
                    out.push(i);
                }
            }
            some(Value::Array(out))
        }
        "shuffle" => {
            let mut items = array_arg(&args, 0);
            for i in (1..items.len()).rev() {
                let j = ev.rng().range_i64(0, i as i64 + 1) as usize;
                items.swap(i, j);
            }
            some(Value::Array(items))
        }
        "sort" => {
            if args.first().is_none_or(|a| a.is_undef()) {
                return Ok(JV::Undef);
            }
            let items = array_arg(&args, 0);
            match args.get(1) {
                Some(JV::Fn(f)) => {
                    // Insertion-based merge sort driven by the user comparator ("a should come after b").
                    let f = f.clone();
                    let mut out: Vec<Value> = Vec::with_capacity(items.len());
                    for item in items {
                        let mut pos = out.len();
                        while pos > 0 {
                            let after = ev.call(
                                &f,
                                vec![JV::Val(out[pos - 1].clone()), JV::Val(item.clone())],
                                input,
                            )?;
                            if truthy(&after) {
                                pos -= 1;
                            } else {
                                break;
                            }
                        }
                        out.insert(pos, item);
                    }
                    some(Value::Array(out))
                }
                _ => {
                    let all_num = items.iter().all(Value::is_number);
                    let all_str = items.iter().all(Value::is_string);
                    if !all_num && !all_str {
                        return err(
                            "D3070: $sort needs a comparator unless all values are numbers or all strings",
                        );
                    }
                    let mut items = items;
                    items.sort_by(|a, b| match (a, b) {
                        (Value::String(x), Value::String(y)) => x.cmp(y),
                        _ => a
                            .as_f64()
                            .partial_cmp(&b.as_f64())
                            .unwrap_or(std::cmp::Ordering::Equal),
                    });
                    some(Value::Array(items))
                }
            }
        }
        "zip" => {
            let arrays: Vec<Vec<Value>> = (0..args.len()).map(|i| array_arg(&args, i)).collect();
            let len = arrays.iter().map(Vec::len).min().unwrap_or(0);
            some(Value::Array(
                (0..len)
                    .map(|i| Value::Array(arrays.iter().map(|a| a[i].clone()).collect()))
                    .collect(),
            ))
        }
        "keys" => {
            let mut keys: Vec<Value> = Vec::new();
            for item in array_arg(&args, 0) {
                if let Value::Object(o) = item {
                    for k in o.keys() {
                        let k = Value::String(k.clone());
                        if !keys.contains(&k) {
                            keys.push(k);
                        }
                    }
                }
            }
            Ok(JV::Seq(keys))
        }
        "lookup" => {
            let key = str_arg(name, &args, 1)?.unwrap_or_default();
            let found: Vec<Value> = array_arg(&args, 0)
                .into_iter()
                .filter_map(|o| o.as_object().and_then(|o| o.get(&key)).cloned())
                .collect();
            Ok(JV::Seq(found))
        }
        "spread" => {
            let mut out = Vec::new();
            for item in array_arg(&args, 0) {
                match item {
                    Value::Object(o) => {
                        for (k, v) in o {
                            let mut m = Map::new();
                            m.insert(k, v);
                            out.push(Value::Object(m));
                        }
                    }
                    other => out.push(other),
                }
            }
            Ok(JV::Seq(out))
        }
        "merge" => {
            if args.first().is_none_or(|a| a.is_undef()) {
                return Ok(JV::Undef);
            }
            let mut out = Map::new();
            for item in array_arg(&args, 0) {
                match item {
                    Value::Object(o) => out.extend(o),
                    other => {
                        return err(format!(
                            "T0412: $merge expects an array of objects, found {other}"
                        ));
                    }
                }
            }
            some(Value::Object(out))
        }
        "each" | "sift" => {
            let Some(Value::Object(o)) = arg(&args, 0) else {
                return Ok(JV::Undef);
            };
            let f = func_arg(name, &args, 1)?;
            let arity = f.arity();
            let obj = Value::Object(o.clone());
            let mut each_out = Vec::new();
            let mut sift_out = Map::new();
            for (k, v) in o {
                let mut call_args = vec![JV::Val(v.clone())];
                if arity >= 2 {
                    call_args.push(JV::Val(Value::String(k.clone())));
                }
                if arity >= 3 {
                    call_args.push(JV::Val(obj.clone()));
                }
                let r = ev.call(&f, call_args, input)?;
                if name == "each" {
                    if let Some(v) = val(&r) {
                        each_out.push(v);
                    }
                } else if truthy(&r) {
                    sift_out.insert(k, v);
                }
            }
            if name == "each" {
                Ok(JV::Seq(each_out))
            } else if sift_out.is_empty() {
                Ok(JV::Undef)
            } else {
                some(Value::Object(sift_out))
            }
        }
        "type" => match args.first().map(|a| a.clone().collapse()) {
            None | Some(JV::Undef) => Ok(JV::Undef),
            Some(JV::Fn(_)) => some(Value::String("function".into())),
            Some(v) => some(Value::String(
                match val(&v) {
                    Some(Value::Null) => "null",
                    Some(Value::Bool(_)) => "boolean",
                    Some(Value::Number(_)) => "number",
                    Some(Value::String(_)) => "string",
                    Some(Value::Array(_)) => "array",
                    _ => "object",
                }
                .into(),
            )),
        },
        "error" => {
            err(str_arg(name, &args, 0)?.unwrap_or_else(|| "$error() function evaluated".into()))
        }
        "assert" => {
            if truthy(args.first().unwrap_or(&JV::Undef)) {
                Ok(JV::Undef)
            } else {
                err(str_arg(name, &args, 1)?.unwrap_or_else(|| "$assert() statement failed".into()))
            }
        }
        "map" | "filter" => {
            if args.first().is_none_or(|a| a.is_undef()) {
                return Ok(JV::Undef);
            }
            let items = array_arg(&args, 0);
            let f = func_arg(name, &args, 1)?;
            let arity = f.arity();
            let whole = Value::Array(items.clone());
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let mut call_args = vec![JV::Val(item.clone())];
                if arity >= 2 {
                    call_args.push(JV::Val(Value::from(i)));
                }
                if arity >= 3 {
                    call_args.push(JV::Val(whole.clone()));
                }
                let r = ev.call(&f, call_args, input)?;
                if name == "map" {
                    if let Some(v) = val(&r) {
                        out.push(v);
                    }
                } else if truthy(&r) {
                    out.push(item);
                }
            }
            Ok(JV::Seq(out))
        }
        "single" => {
            let items = array_arg(&args, 0);
            let f = match args.get(1) {
                Some(JV::Fn(f)) => Some(f.clone()),
                _ => None,
            };
            let mut found = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let keep = match &f {
                    Some(f) => {
                        let r = ev.call(
                            f,
                            vec![JV::Val(item.clone()), JV::Val(Value::from(i))],
                            input,
                        )?;
                        truthy(&r)
                    }
                    None => true,
                };
                if keep {
                    found.push(item);
                }
            }
            match found.len() {
                1 => some(found.remove(0)),
                0 => err(
                    "D3139: the $single() function expected exactly 1 matching result, found none",
                ),
                _ => err(
                    "D3138: the $single() function expected exactly 1 matching result, found more",
                ),
            }
        }
        "reduce" => {
            let items = array_arg(&args, 0);
            let f = func_arg(name, &args, 1)?;
            let mut iter = items.into_iter();
            let mut acc = match args.get(2) {
                Some(init) if !init.is_undef() => init.clone(),
                _ => match iter.next() {
                    Some(v) => JV::Val(v),
                    None => return Ok(JV::Undef),
                },
            };
            for item in iter {
                acc = ev.call(&f, vec![acc, JV::Val(item)], input)?.collapse();
            }
            Ok(acc)
        }
        "now" => some(Value::String(ms_to_iso(ev.now_ms()))),
        "millis" => some(Value::from(ev.now_ms())),
        "toMillis" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            match s.parse::<jiff::Timestamp>() {
                Ok(t) => some(Value::from(t.as_millisecond())),
                Err(e) => err(format!("D3110: cannot parse timestamp '{s}': {e}")),
            }
        }
        "fromMillis" => {
            let Some(n) = num_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            some(Value::String(ms_to_iso(n as i64)))
        }
        "formatBase" => {
            let Some(n) = num_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            let radix = num_arg(name, &args, 1)?.unwrap_or(10.0) as u32;
            if !(2..=36).contains(&radix) {
                return err("D3100: the radix of $formatBase must be between 2 and 36");
            }
            let mut v = n.round() as i64;
            let neg = v < 0;
            v = v.abs();
            let mut digits = Vec::new();
            loop {
                digits.push(std::char::from_digit((v % radix as i64) as u32, radix).unwrap_or('0'));
                v /= radix as i64;
                if v == 0 {
                    break;
                }
            }
            if neg {
                digits.push('-');
            }
            some(Value::String(digits.into_iter().rev().collect()))
        }
        // Step Functions additions.
        "partition" => {
            let items = match arg(&args, 0) {
                Some(Value::Array(a)) => a,
                other => {
                    return err(format!(
                        "$partition expects an array, found {}",
                        other.unwrap_or(Value::Null)
                    ));
                }
            };
            let size = num_arg(name, &args, 1)?.unwrap_or(0.0);
            if size < 1.0 || size.fract() != 0.0 {
                return err("$partition expects a positive integer chunk size");
            }
            some(Value::Array(
                items
                    .chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        // transforming-data.html: "$range - JSONata equivalent of States.ArrayRange": start, end and a
        // delta that "can be positive or negative", values running "until the end value is reached or
        // exceeded" (so the end is included when the delta lands on it). The same page: "Built-in JSONata
        // functions that require integer values as parameters will automatically round down any non-integer
        // numbers provided", so 1.7 reads as 1 and -1.5 as -2 ("round down" taken as floor; the page does not
        // say whether negative numbers round towards zero instead). From States.ArrayRange
        // (intrinsic-functions.html): the delta must not be zero and the array "can't contain more than 1000
        // items". Not documented, and kept as before: a start already past the end gives `[]` (as
        // States.ArrayRange does here), and a missing delta is 1 although the page lists three arguments.
        "range" => {
            let (Some(start), Some(end)) = (num_arg(name, &args, 0)?, num_arg(name, &args, 1)?)
            else {
                return err("$range expects numeric start and end");
            };
            let step = num_arg(name, &args, 2)?.unwrap_or(1.0);
            let [start, end, step] = [start, end, step].map(f64::floor);
            if step == 0.0 {
                return err("$range expects a non-zero step");
            }
            // Counted before building, so that a huge range fails at once instead of after 1000 pushes.
            let count = ((end - start) / step).floor() + 1.0;
            if count > 1000.0 {
                return err("$range cannot produce more than 1000 items");
            }
            let count = if count > 0.0 { count as usize } else { 0 };
            some(Value::Array(
                (0..count).map(|k| num(start + k as f64 * step)).collect(),
            ))
        }
        "hash" => {
            let Some(data) = arg(&args, 0) else {
                return Ok(JV::Undef);
            };
            let data = stringify(&data);
            let algo = str_arg(name, &args, 1)?.unwrap_or_else(|| "SHA-256".into());
            let digest = match algo.as_str() {
                "MD5" => hex::encode(md5::Md5::digest(data.as_bytes())),
                "SHA-1" => hex::encode(sha1::Sha1::digest(data.as_bytes())),
                "SHA-256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
                "SHA-384" => hex::encode(sha2::Sha384::digest(data.as_bytes())),
                "SHA-512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
                other => return err(format!("$hash does not support the algorithm '{other}'")),
            };
            some(Value::String(digest))
        }
        "random" => match num_arg(name, &args, 0)? {
            Some(seed) => some(num(Rng::new(seed as u64).next_f64())),
            None => some(num(ev.rng().next_f64())),
        },
        "uuid" => some(Value::String(ev.rng().uuid())),
        "parse" => {
            let Some(s) = str_arg(name, &args, 0)? else {
                return Ok(JV::Undef);
            };
            match serde_json::from_str::<Value>(&s) {
                Ok(v) => some(normalise_numbers(v)),
                Err(e) => err(format!("$parse could not parse '{s}': {e}")),
            }
        }
        _ => err(format!("T1006: ${name} is not a function")),
    }
}

/// JSONata numbers are doubles: `-0` and `1.0` read as integers.
fn normalise_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Number(n), num),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise_numbers).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, normalise_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}
