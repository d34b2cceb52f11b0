//! The RFC 3339 profile Step Functions requires of timestamps (Wait's `Timestamp`, the `Timestamp*` comparison
//! operators). Here because both the validator (`sfn-asl`, for literal timestamps) and the simulator
//! (`sfn-simulate`, for values read at run time) must apply exactly the same rules, and this is the crate both
//! already build on.

/// Parses a timestamp strictly, as Step Functions reads Wait's `Timestamp` and the `Timestamp*` comparisons:
/// "Timestamps must conform to the RFC3339 profile of ISO 8601, with the further restrictions that an
/// uppercase T must separate the date and time portions, and an uppercase Z must denote that a numeric time
/// zone offset is not present" (<https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html>). So
/// this refuses a lowercase `t` or `z`, a space separator, missing seconds, a missing offset, an offset
/// without its colon, and any date or time that does not exist (February 30th, hour 24).
pub fn parse_rfc3339(s: &str) -> Option<jiff::Timestamp> {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    // date-time = full-date "T" partial-time time-offset (RFC 3339 section 5.6), fixed up to the seconds.
    let fixed = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !fixed {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_ok = match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let (h, m) = (
                [*h1, *h2].iter().all(u8::is_ascii_digit),
                [*m1, *m2].iter().all(u8::is_ascii_digit),
            );
            h && m && (h1 - b'0') * 10 + (h2 - b'0') <= 23 && (m1 - b'0') * 10 + (m2 - b'0') <= 59
        }
        _ => false,
    };
    if !offset_ok {
        return None;
    }
    // jiff checks that the date and time exist; it reads at most nanoseconds, so longer fractions (which RFC
    // 3339 allows) are cut to nine digits first.
    let text = if i > 29 {
        format!("{}{}", &s[..29], &s[i..])
    } else {
        s.to_string()
    };
    text.parse::<jiff::Timestamp>().ok()
}
