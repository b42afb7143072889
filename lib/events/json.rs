//! The JSON form of an event (`svctl events --json`): one object per line,
//! with stable field names:
//!
//! | field | type | when |
//! |---|---|---|
//! | `seq` | number | always: the supervisor's event number |
//! | `time` | string | always: RFC 3339 UTC, milliseconds |
//! | `tai64n` | string | always: `@` + 24 hex digits, exact |
//! | `service` | string | always |
//! | `event` | string | always: the kind ([`super::Kind::word`]) |
//! | `pid` | number | started, up, ready, exited |
//! | `exit_code` | number | exited / failed oneshot, by exit |
//! | `exit_signal`, `exit_signal_name` | number, string | the same, by signal (`"SIGTERM"`) |
//! | `delay_ms` | number | restart-scheduled |
//! | `reason` | string | failed: `restart-limit` or `oneshot` |
//! | `failures`, `output` | number, string | unhealthy |
//! | `restarts` | number | always |
//!
//! Fields appear in this order; new fields may be added, none renamed.

use super::event::{fields, rfc3339, Event};

/// Appends `s` as a JSON string (quotes included) to `out`.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            // U+2028/2029 are valid JSON but end a line in JavaScript.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Event {
    /// One JSON object, no newline.
    pub fn json(&self) -> String {
        let mut s = String::with_capacity(192);
        s.push_str(&format!("{{\"seq\":{},\"time\":", self.seq));
        push_string(&mut s, &rfc3339(self.time));
        s.push_str(",\"tai64n\":");
        push_string(&mut s, &self.time.to_hex_label());
        s.push_str(",\"service\":");
        push_string(&mut s, &self.service);
        s.push_str(",\"event\":");
        push_string(&mut s, self.kind.word());
        for (key, value) in fields(self) {
            match key {
                "exit" => s.push_str(&format!(",\"exit_code\":{value}")),
                "signal" => {
                    s.push_str(&format!(",\"exit_signal\":{value},\"exit_signal_name\":"));
                    let name = value
                        .parse()
                        .map(crate::child::signal_name)
                        .unwrap_or_default();
                    push_string(&mut s, &name);
                }
                "reason" | "output" => {
                    s.push_str(&format!(",\"{key}\":"));
                    push_string(&mut s, &value);
                }
                // pid, delay_ms, failures, restarts: numbers.
                _ => s.push_str(&format!(",\"{key}\":{value}")),
            }
        }
        s.push('}');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::tests::{ev, every_kind};
    use super::super::event::{Ended, Kind};

    #[test]
    fn golden_objects() {
        let t = "\"time\":\"2026-11-21T23:18:17.545Z\",\"tai64n\":\"@400000006b0226c3207ca67f\"";
        assert_eq!(
            ev(Kind::Exited {
                pid: 123,
                how: Ended::Code(3)
            })
            .json(),
            format!("{{\"seq\":17,{t},\"service\":\"web\",\"event\":\"exited\",\"pid\":123,\"exit_code\":3,\"restarts\":2}}")
        );
        assert_eq!(
            ev(Kind::Exited {
                pid: 1,
                how: Ended::Signal(15)
            })
            .json(),
            format!("{{\"seq\":17,{t},\"service\":\"web\",\"event\":\"exited\",\"pid\":1,\"exit_signal\":15,\"exit_signal_name\":\"SIGTERM\",\"restarts\":2}}")
        );
        let mut e = ev(Kind::Unhealthy {
            failures: 3,
            output: "say \"hi\"\t\u{1}\\".into(),
        });
        e.service = "a\nb".into();
        assert_eq!(
            e.json(),
            format!("{{\"seq\":17,{t},\"service\":\"a\\nb\",\"event\":\"unhealthy\",\"failures\":3,\"output\":\"say \\\"hi\\\"\\t\\u0001\\\\\",\"restarts\":2}}")
        );
    }

    #[test]
    fn every_kind_is_an_object_on_one_line() {
        for k in every_kind() {
            let j = ev(k).json();
            assert!(
                j.starts_with('{') && j.ends_with('}') && !j.contains('\n'),
                "{j}"
            );
            assert_eq!(j.matches('"').count() % 2, 0, "{j}");
        }
    }
}
