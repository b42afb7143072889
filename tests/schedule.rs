//! Cross-checks of the cron core against brute force: random expressions
//! built together with the value sets they must denote, the efficient
//! next-due search against a minute-by-minute scan (in UTC and across
//! daylight-saving changes, where the scan follows cron's own virtual-time
//! rule), and random input that must never panic. Pure: no processes.
//!
//! The seed is fixed so failures reproduce; `SVKIT_TEST_SEED=N` picks
//! another.

use svkit::schedule::civil::{days_from_civil, Minute, DAY_SECS};
use svkit::schedule::cron::{CronExpr, Field};
use svkit::schedule::next::next_after;
use svkit::schedule::posixtz::PosixTz;
use svkit::schedule::spec::Spec;
use svkit::schedule::zone::{Tzif, Zone};

/// xorshift64*: small, deterministic, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("SVKIT_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_cafe_f00d_u64);
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// A value as text: a number, or for months and weekdays sometimes a name
/// in random case.
fn value_text(rng: &mut Rng, field: Field, v: u32) -> String {
    let name = match field {
        Field::Month => Some(MONTHS[(v - 1) as usize]),
        Field::DayOfWeek if v < 7 => Some(DAYS[v as usize]),
        _ => None,
    };
    match name {
        Some(n) if rng.chance(40) => n
            .chars()
            .map(|c| {
                if rng.chance(50) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect(),
        _ if rng.chance(10) => format!("0{v}"),
        _ => v.to_string(),
    }
}

/// A random valid field: its text, the set it denotes (bit per value, 7
/// folded into 0 for weekdays), and whether it starts with `*`.
fn random_field(rng: &mut Rng, field: Field) -> (String, u64, bool) {
    let (lo, hi) = field.bounds();
    let items = if rng.chance(60) { 1 } else { rng.range(2, 4) };
    let mut parts = Vec::new();
    let mut set = 0u64;
    for _ in 0..items {
        let (text, from, to, step) = match rng.below(5) {
            0 => ("*".to_string(), lo, hi, 1),
            1 => {
                let s = rng.range(1, hi.max(2));
                (format!("*/{s}"), lo, hi, s)
            }
            2 => {
                let v = rng.range(lo, hi);
                (value_text(rng, field, v), v, v, 1)
            }
            3 => {
                let a = rng.range(lo, hi);
                let b = rng.range(a, hi);
                (
                    format!(
                        "{}-{}",
                        value_text(rng, field, a),
                        value_text(rng, field, b)
                    ),
                    a,
                    b,
                    1,
                )
            }
            _ => {
                let a = rng.range(lo, hi);
                let b = rng.range(a, hi);
                let s = rng.range(1, (hi - lo + 2).min(70));
                (
                    format!(
                        "{}-{}/{s}",
                        value_text(rng, field, a),
                        value_text(rng, field, b)
                    ),
                    a,
                    b,
                    s,
                )
            }
        };
        let mut v = from;
        while v <= to {
            set |= 1 << v;
            v += step;
        }
        parts.push(text);
    }
    if field == Field::DayOfWeek && set & (1 << 7) != 0 {
        set |= 1;
    }
    let star = parts[0].starts_with('*');
    (parts.join(","), set, star)
}

/// An expression and an independent matcher for it.
struct Model {
    text: String,
    sets: [u64; 5],
    stars: [bool; 5],
}

impl Model {
    fn random(rng: &mut Rng) -> Model {
        let mut text = Vec::new();
        let mut sets = [0; 5];
        let mut stars = [false; 5];
        for (i, f) in Field::ALL.into_iter().enumerate() {
            let (t, s, star) = random_field(rng, f);
            text.push(t);
            sets[i] = s;
            stars[i] = star;
        }
        let sep = if rng.chance(20) { "\t " } else { " " };
        Model {
            text: text.join(sep),
            sets,
            stars,
        }
    }

    fn matches(&self, m: &Minute) -> bool {
        let has = |i: usize, v: u8| self.sets[i] & (1 << v) != 0;
        let dom = has(2, m.day);
        let dow = has(4, m.weekday());
        let day = if self.stars[2] || self.stars[4] {
            dom && dow
        } else {
            dom || dow
        };
        has(0, m.minute) && has(1, m.hour) && has(3, m.month) && day
    }

    fn wildcard(&self) -> bool {
        self.stars[0] || self.stars[1]
    }
}

#[test]
fn random_expressions_denote_their_sets() {
    let mut rng = Rng::new();
    for _ in 0..2000 {
        let model = Model::random(&mut rng);
        let expr = CronExpr::parse(&model.text).unwrap_or_else(|e| panic!("{:?}: {e}", model.text));
        assert_eq!(expr.is_wildcard(), model.wildcard(), "{}", model.text);
        for _ in 0..200 {
            let idx =
                i64::from(rng.below(60 * 1440 * 366 * 30)) + days_from_civil(1990, 1, 1) * 1440;
            let m = Minute::from_index(idx);
            assert_eq!(expr.matches(&m), model.matches(&m), "{} at {m}", model.text);
        }
    }
}

/// The first minute after `t` that matches, scanning at most `limit`
/// minutes.
fn scan_utc(model: &Model, t: i64, limit: i64) -> Option<i64> {
    let first = t.div_euclid(60) + 1;
    (first..first + limit)
        .find(|&i| model.matches(&Minute::from_index(i)))
        .map(|i| i * 60)
}

#[test]
fn next_due_equals_a_minute_by_minute_scan_in_utc() {
    let mut rng = Rng::new();
    let limit = 40 * 1440;
    for _ in 0..300 {
        let model = Model::random(&mut rng);
        let expr = CronExpr::parse(&model.text).unwrap();
        let t = days_from_civil(2024, 1, 1) * DAY_SECS + i64::from(rng.below(4 * 365 * 86_400));
        let mut from = t;
        for _ in 0..3 {
            let fast = next_after(&expr, &Zone::Utc, from);
            match scan_utc(&model, from, limit) {
                Some(slow) => assert_eq!(fast, Some(slow), "{} after {from}", model.text),
                None => assert!(
                    fast.map_or(true, |f| f > from + limit * 60),
                    "{} after {from}",
                    model.text
                ),
            }
            match fast {
                Some(f) => from = f,
                None => break,
            }
        }
    }
}

/// Fires in (start, end] by cron's virtual-time rule, minute by minute of
/// real time: local minutes seen for the first time match normally; a
/// jump forward also fires a fixed-time job for any skipped matching
/// minute; local minutes seen again fire only wildcard jobs.
fn scan_zone(model: &Model, zone: &Zone, start: i64, end: i64) -> Vec<i64> {
    let local = |u: i64| (u + i64::from(zone.offset_at(u))).div_euclid(60);
    let mut high = local(start);
    let mut out = Vec::new();
    let mut u = start - start.rem_euclid(60) + 60;
    while u <= end {
        let l = local(u);
        let m = |i: i64| model.matches(&Minute::from_index(i));
        let fire = if l > high + 1 {
            m(l) || (!model.wildcard() && (high + 1..l).any(m))
        } else if l > high {
            m(l)
        } else {
            model.wildcard() && m(l)
        };
        if fire {
            out.push(u);
        }
        high = high.max(l);
        u += 60;
    }
    out
}

/// A random expression biased to fire around 01:00-04:00 local time.
fn dst_model(rng: &mut Rng) -> Model {
    loop {
        let mut model = Model::random(rng);
        let minute = if rng.chance(50) {
            "*/7".to_string()
        } else {
            rng.range(0, 59).to_string()
        };
        let hour = match rng.below(4) {
            0 => "*".to_string(),
            1 => "1-3".to_string(),
            2 => rng.range(1, 3).to_string(),
            _ => "*/2".to_string(),
        };
        let mut fields: Vec<String> = model.text.split_whitespace().map(str::to_string).collect();
        fields[0] = minute;
        fields[1] = hour;
        // Every day: the interesting part is the hour of the change.
        fields[2] = "*".into();
        fields[3] = "*".into();
        fields[4] = "*".into();
        model.text = fields.join(" ");
        let expr_sets = rebuild(&model.text);
        model.sets = expr_sets.0;
        model.stars = expr_sets.1;
        if model.sets[0] != 0 {
            return model;
        }
    }
}

/// Sets of a simple expression of `*`, `*/s`, `a-b` and single values.
fn rebuild(text: &str) -> ([u64; 5], [bool; 5]) {
    let mut sets = [0; 5];
    let mut stars = [false; 5];
    for (i, (word, f)) in text.split(' ').zip(Field::ALL).enumerate() {
        let (lo, hi) = f.bounds();
        stars[i] = word.starts_with('*');
        let (span, step) = match word.split_once('/') {
            Some((a, s)) => (a, s.parse().unwrap()),
            None => (word, 1),
        };
        let (a, b) = match span {
            "*" => (lo, hi),
            _ => match span.split_once('-') {
                Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                None => (span.parse().unwrap(), span.parse().unwrap()),
            },
        };
        let mut v = a;
        while v <= b {
            sets[i] |= 1 << v;
            v += step;
        }
        if i == 4 && sets[4] & (1 << 7) != 0 {
            sets[4] |= 1;
        }
    }
    (sets, stars)
}

fn fires(expr: &CronExpr, zone: &Zone, start: i64, end: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut t = start;
    while let Some(u) = next_after(expr, zone, t) {
        if u > end {
            break;
        }
        out.push(u);
        t = u;
    }
    out
}

#[test]
fn next_due_follows_crons_rule_across_daylight_saving_changes() {
    let zones = [
        // Central Europe, the United States, Sydney (south), Lord Howe
        // (30-minute change).
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "EST5EDT,M3.2.0,M11.1.0",
        "AEST-10AEDT,M10.1.0,M4.1.0/3",
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
    ];
    let mut rng = Rng::new();
    for tz in zones {
        let zone = Zone::Rule(PosixTz::parse(tz).unwrap());
        // Find this year's changes: where the offset differs a day later.
        let year = days_from_civil(2026, 1, 1) * DAY_SECS;
        let changes: Vec<i64> = (0..366)
            .map(|d| year + d * DAY_SECS)
            .filter(|&t| zone.offset_at(t) != zone.offset_at(t + DAY_SECS))
            .collect();
        assert_eq!(changes.len(), 2, "{tz}");
        for day in changes {
            for _ in 0..60 {
                let model = dst_model(&mut rng);
                let expr = CronExpr::parse(&model.text).unwrap();
                let start = day - 3600 + i64::from(rng.below(1800));
                let end = day + 2 * DAY_SECS;
                assert_eq!(
                    fires(&expr, &zone, start, end),
                    scan_zone(&model, &zone, start, end),
                    "{} in {tz} from {start}",
                    model.text
                );
            }
        }
    }
}

#[test]
fn system_zones_agree_with_their_rules_where_present() {
    // The TZif reader against the zone's own footer rule, for years the
    // file's table covers (fat files) or not (slim files).
    let dir = std::path::Path::new(svkit::schedule::zone::DEFAULT_TZDIR);
    for (name, rule) in [
        ("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"),
        ("America/New_York", "EST5EDT,M3.2.0,M11.1.0"),
        ("Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"),
    ] {
        if !dir.join(name).exists() {
            eprintln!("skipped {name}: no zone data in {}", dir.display());
            continue;
        }
        let file = Zone::from_tz(Some(name), dir).unwrap();
        let rule = Zone::Rule(PosixTz::parse(rule).unwrap());
        let from = days_from_civil(2008, 1, 1) * DAY_SECS;
        let to = days_from_civil(2060, 1, 1) * DAY_SECS;
        let mut t = from;
        while t < to {
            assert_eq!(file.offset_at(t), rule.offset_at(t), "{name} at {t}");
            t += 3 * 3600 + 17;
        }
    }
}

#[test]
fn random_text_never_panics() {
    let mut rng = Rng::new();
    let alphabet: Vec<char> = "0123456789*/,- \t\n@#abcdefjmnorstuvwyJMSKxX<>+:.é\u{0}"
        .chars()
        .collect();
    for _ in 0..50_000 {
        let len = rng.below(40) as usize;
        let s: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len() as u32) as usize])
            .collect();
        let _ = CronExpr::parse(&s);
        let _ = Spec::parse(&s);
        let _ = PosixTz::parse(&s);
        if let Ok(Spec::Cron(e)) = Spec::parse(&s) {
            let _ = next_after(&e, &Zone::Utc, 0);
        }
    }
    // Mutated real syntax: every field form with a character changed.
    for _ in 0..20_000 {
        let model = Model::random(&mut rng);
        let mut bytes = model.text.into_bytes();
        let i = rng.below(bytes.len() as u32) as usize;
        bytes[i] = alphabet[rng.below(alphabet.len() as u32) as usize] as u8;
        if let Ok(s) = String::from_utf8(bytes) {
            let _ = CronExpr::parse(&s);
        }
    }
}

#[test]
fn random_zone_files_never_panic() {
    let mut rng = Rng::new();
    let dir = std::path::Path::new(svkit::schedule::zone::DEFAULT_TZDIR);
    let seed = std::fs::read(dir.join("Europe/Berlin")).unwrap_or_else(|_| b"TZif2".to_vec());
    for _ in 0..5_000 {
        let mut b = seed.clone();
        for _ in 0..rng.range(1, 8) {
            let i = rng.below(b.len() as u32) as usize;
            b[i] = rng.next() as u8;
        }
        b.truncate(rng.below(b.len() as u32 + 1) as usize);
        if let Ok(z) = Tzif::parse(&b) {
            let _ = Zone::Tzif(z).offset_at(rng.next() as i64 >> 20);
        }
    }
}

/// The zone reader against glibc, the peer every program in a container
/// uses: `date +%z` for random instants 1900-2200 in zones with odd
/// histories (half-hour offsets, a skipped day, southern DST, LMT).
/// Needs the system's zone data and date(1); skips without them.
#[test]
fn zone_offsets_agree_with_glibc() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = std::path::Path::new(svkit::schedule::zone::DEFAULT_TZDIR);
    let mut rng = Rng::new();
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Pacific/Apia",
        "Europe/Dublin",
        "Africa/Casablanca",
    ];
    let mut checked = 0;
    for name in zones {
        if !dir.join(name).exists() {
            eprintln!("skipped {name}: no zone data");
            continue;
        }
        let zone = Zone::from_tz(Some(name), dir).unwrap();
        let from = days_from_civil(1900, 1, 1) * DAY_SECS;
        let span = (days_from_civil(2200, 1, 1) - days_from_civil(1900, 1, 1)) * DAY_SECS;
        let times: Vec<i64> = (0..400)
            .map(|_| from + (rng.next() % span as u64) as i64)
            .collect();
        let child = Command::new("date")
            .env("TZ", name)
            .args(["-f", "-", "+%z"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("skipped: no date(1)");
            return;
        };
        let input: String = times.iter().map(|t| format!("@{t}\n")).collect();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for (t, line) in times.iter().zip(text.lines()) {
            // +HHMM: glibc rounds LMT seconds away; compare minutes.
            let sign = if line.starts_with('-') { -1 } else { 1 };
            let hh: i32 = line[1..3].parse().unwrap();
            let mm: i32 = line[3..5].parse().unwrap();
            let glibc = sign * (hh * 60 + mm);
            let ours = zone.offset_at(*t);
            let ours_min = ours.signum() * (ours.abs() / 60);
            assert_eq!(ours_min, glibc, "{name} at @{t}");
            checked += 1;
        }
    }
    eprintln!("{checked} offsets agree with glibc");
}

/// The other issue-16 parsers on random text: never a panic, and what
/// they accept is well-formed.
#[test]
fn instances_and_signal_d_random_text_never_panics() {
    use svkit::instances::{self, Selector};
    use svkit::signal_route::{signal_from_name, Entry, Router, RtRange, Table};
    let rt = RtRange { min: 34, max: 64 };
    let mut rng = Rng::new();
    let alphabet: Vec<char> = "0123456789abcwxyz@*?.-_/# \n\tRTMINAXHUPUSR+é\u{0}"
        .chars()
        .collect();
    let text = |rng: &mut Rng, max: u32| -> String {
        let len = rng.below(max) as usize;
        (0..len)
            .map(|_| alphabet[rng.below(alphabet.len() as u32) as usize])
            .collect()
    };
    for _ in 0..20_000 {
        let s = text(&mut rng, 30);
        if let Ok(names) = instances::parse(&s) {
            assert!(names.len() <= instances::MAX_INSTANCES);
            for n in &names {
                assert!(instances::is_instance_name(n), "{n:?} from {s:?}");
            }
        }
        let sel = Selector::parse(&s);
        let name = text(&mut rng, 12);
        let _ = sel.matches(&name);
        if let Some(sig) = signal_from_name(&s, rt) {
            assert!((1..=64).contains(&sig));
        }
        let entries = vec![
            (text(&mut rng, 8), Entry::Plain(text(&mut rng, 40))),
            ("HUP".to_string(), Entry::Plain(s.clone())),
            ("USR1".to_string(), Entry::Executable),
        ];
        let (table, _) = Table::from_entries(std::path::Path::new("/sd"), entries, rt);
        let mut router = Router::new(table, rt);
        for sig in 1..=64 {
            let _ = router.route(sig, rng.below(2) == 0);
        }
    }
}
