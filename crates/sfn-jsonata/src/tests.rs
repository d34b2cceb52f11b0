//! Unit tests of the JSONata evaluator: one assertion per feature row of the coverage table in
//! `docs/simulate.md`.

use serde_json::{Value, json};

use super::*;

fn eval_with(src: &str, input: Value, vars: Value) -> Result<Outcome, JsonataError> {
    let mut rng = Rng::new(1);
    let env = Env::with_vars(vars.as_object().cloned().unwrap_or_default());
    Evaluator::new(&mut rng, 1_704_067_200_000).evaluate(src, &input, &env)
}

fn ev(src: &str, input: Value) -> Value {
    match eval_with(src, input, json!({})) {
        Ok(Outcome::Value(v)) => v,
        other => panic!("{src}: {other:?}"),
    }
}

#[test]
fn literals_and_arithmetic() {
    assert_eq!(ev("1 + 2 * 3", json!({})), json!(7));
    assert_eq!(ev("(1 + 2) * 3", json!({})), json!(9));
    assert_eq!(ev("7 % 4 - -1", json!({})), json!(4));
    assert_eq!(ev("10 / 4", json!({})), json!(2.5));
    assert_eq!(ev("'a' & 1 & true", json!({})), json!("a1true"));
    assert_eq!(ev("null", json!({})), json!(null));
    assert_eq!(ev("[1, 'two', 3]", json!({})), json!([1, "two", 3]));
    assert_eq!(ev("{'foo': 'bar'}", json!({})), json!({"foo": "bar"}));
}

#[test]
fn paths_and_sequences() {
    let input = json!({"a": {"b": [{"c": 1}, {"c": 2}], "one": [5]}, "items": [1, 2, 3]});
    assert_eq!(ev("a.b.c", input.clone()), json!([1, 2]));
    assert_eq!(ev("a.one", input.clone()), json!([5]));
    assert_eq!(ev("a.b[0].c", input.clone()), json!(1));
    assert_eq!(ev("a.b[-1].c", input.clone()), json!(2));
    assert_eq!(ev("a.b[c > 1].c", input.clone()), json!(2));
    assert_eq!(ev("items[$ > 1]", input.clone()), json!([2, 3]));
    assert_eq!(ev("a.*", input.clone()), json!([{"c": 1}, {"c": 2}, 5]));
    assert_eq!(ev("**.c", input.clone()), json!([1, 2]));
    assert_eq!(ev("$count(items)", input.clone()), json!(3));
    assert!(matches!(
        eval_with("nope.nothing", input, json!({})),
        Ok(Outcome::Undefined)
    ));
}

#[test]
fn comparisons_logic_conditionals() {
    assert_eq!(ev("1 < 2 and 'a' = 'a'", json!({})), json!(true));
    assert_eq!(ev("false or 0", json!({})), json!(false));
    assert_eq!(ev("3 in [1, 2, 3]", json!({})), json!(true));
    assert_eq!(ev("x > 1 ? 'big' : 'small'", json!({"x": 5})), json!("big"));
    assert_eq!(ev("missing ?: 'fallback'", json!({})), json!("fallback"));
    assert_eq!(ev("missing ?? 'default'", json!({})), json!("default"));
    assert!(eval_with("1 < 'a'", json!({}), json!({})).is_err());
    assert!(eval_with("'a' + 1", json!({}), json!({})).is_err());
}

#[test]
fn variables_blocks_lambdas() {
    assert_eq!(ev("($x := 2; $y := 3; $x * $y)", json!({})), json!(6));
    assert_eq!(
        ev("($f := function($a, $b) { $a + $b }; $f(2, 5))", json!({})),
        json!(7)
    );
    assert_eq!(
        ev("[1, 2, 3] ~> $map(function($v) { $v * 10 })", json!({})),
        json!([10, 20, 30])
    );
    assert_eq!(
        ev("$map([1, 2], function($v, $i) { $i })", json!({})),
        json!([0, 1])
    );
    assert_eq!(
        ev(
            "$filter([1, 2, 3, 4], function($v) { $v % 2 = 0 })",
            json!({})
        ),
        json!([2, 4])
    );
    assert_eq!(
        ev(
            "$reduce([1, 2, 3], function($a, $b) { $a + $b })",
            json!({})
        ),
        json!(6)
    );
    assert_eq!(ev("($inc := $sum(?, 1); $inc([2]))", json!({})), json!(2));
    assert_eq!(ev("[1..4]", json!({})), json!([1, 2, 3, 4]));
    assert!(matches!(
        eval_with("function($x){$x}", json!({}), json!({})),
        Ok(Outcome::Function)
    ));
    assert_eq!(
        eval_with("$v.field", json!({}), json!({"v": {"field": 9}})).unwrap(),
        Outcome::Value(json!(9))
    );
}

#[test]
fn string_functions() {
    assert_eq!(
        ev("$uppercase('ab') & $lowercase('CD')", json!({})),
        json!("ABcd")
    );
    assert_eq!(ev("$substring('hello', 1, 3)", json!({})), json!("ell"));
    assert_eq!(
        ev(
            "$substringBefore('a-b', '-') & $substringAfter('a-b', '-')",
            json!({})
        ),
        json!("ab")
    );
    assert_eq!(
        ev("$split('a,b,c', ',')", json!({})),
        json!(["a", "b", "c"])
    );
    assert_eq!(ev("$join(['a', 'b'], '+')", json!({})), json!("a+b"));
    assert_eq!(ev("$trim('  a   b ')", json!({})), json!("a b"));
    assert_eq!(ev("$length('héllo')", json!({})), json!(5));
    assert_eq!(ev("$replace('aaa', 'a', 'b', 2)", json!({})), json!("bba"));
    assert_eq!(
        ev("$contains('hello$world', /^hello\\$/)", json!({})),
        json!(true)
    );
    assert_eq!(ev("$contains('abc', 'bc')", json!({})), json!(true));
    assert_eq!(ev("$string({'a': 1})", json!({})), json!("{\"a\":1}"));
    assert_eq!(ev("$pad('7', -3, '0')", json!({})), json!("007"));
    assert_eq!(
        ev("$base64decode($base64encode('hi'))", json!({})),
        json!("hi")
    );
    assert_eq!(
        ev("$match('a1b22', /[0-9]+/).match", json!({})),
        json!(["1", "22"])
    );
}

#[test]
fn numeric_aggregate_object_functions() {
    assert_eq!(
        ev("$sum([1, 2, 3]) + $max([4, 9]) + $min([2, 3])", json!({})),
        json!(17)
    );
    assert_eq!(ev("$average([1, 2])", json!({})), json!(1.5));
    assert_eq!(
        ev(
            "$round(2.5) + $floor(1.7) + $ceil(1.2) + $abs(-1)",
            json!({})
        ),
        json!(6)
    );
    assert_eq!(ev("$power(2, 10)", json!({})), json!(1024));
    assert_eq!(ev("$number('2') + $number(true)", json!({})), json!(3));
    assert_eq!(ev("$keys({'a': 1, 'b': 2})", json!({})), json!(["a", "b"]));
    assert_eq!(
        ev("$merge([{'a': 1}, {'b': 2}])", json!({})),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(ev("$lookup({'a': 1}, 'a')", json!({})), json!(1));
    assert_eq!(
        ev("$type([]) & $type(1) & $type('s')", json!({})),
        json!("arraynumberstring")
    );
    assert_eq!(ev("$exists(nothing)", json!({})), json!(false));
    assert_eq!(ev("$append([1], 2)", json!({})), json!([1, 2]));
    assert_eq!(ev("$reverse([1, 2])", json!({})), json!([2, 1]));
    assert_eq!(ev("$distinct([1, 1, 2])", json!({})), json!([1, 2]));
    assert_eq!(ev("$sort([3, 1, 2])", json!({})), json!([1, 2, 3]));
    assert_eq!(
        ev("$zip([1, 2], [3, 4])", json!({})),
        json!([[1, 3], [2, 4]])
    );
    assert_eq!(
        ev("$each({'a': 1}, function($v, $k) { $k & $v })", json!({})),
        json!("a1")
    );
    assert_eq!(
        ev(
            "$sift({'a': 1, 'b': 2}, function($v) { $v > 1 })",
            json!({})
        ),
        json!({"b": 2})
    );
    assert_eq!(
        ev("items^(>v).v", json!({"items": [{"v": 1}, {"v": 3}]})),
        json!([3, 1])
    );
    assert_eq!(
        ev("$fromMillis(0)", json!({})),
        json!("1970-01-01T00:00:00.000Z")
    );
    assert_eq!(
        ev("$toMillis('1970-01-01T00:00:01Z')", json!({})),
        json!(1000)
    );
}

#[test]
fn step_functions_additions() {
    assert_eq!(
        ev("$partition([1, 2, 3], 2)", json!({})),
        json!([[1, 2], [3]])
    );
    assert_eq!(ev("$range(0, 9, 3)", json!({})), json!([0, 3, 6, 9]));
    assert_eq!(
        ev("$hash('input data', 'MD5')", json!({})),
        json!("812f45842bc6d66ee14572ce20db8e86")
    );
    assert_eq!(ev("$parse('{\"a\": [1]}')", json!({})), json!({"a": [1]}));
    assert_eq!(ev("$parse('-0')", json!({})), json!(0));
    let r = ev("$random()", json!({}));
    assert!((0.0..1.0).contains(&r.as_f64().unwrap()));
    assert_eq!(ev("$string($uuid()) ~> $length()", json!({})), json!(36));
}

#[test]
fn errors_do_not_panic() {
    for src in [
        "$undefinedFn()",
        "(",
        "[1,",
        "$x :=",
        "{'a' 1}",
        "1..2",
        "$sum('a')",
        "$single([1, 2])",
    ] {
        assert!(eval_with(src, json!({}), json!({})).is_err(), "{src}");
    }
}
