//! supervisord's `%(name)s` expansions: Python's `str % dict`, which is
//! what supervisord's `expand()` does to every value it reads.
//!
//! A conversion is `%(name)` followed by optional flags (`-0+ #`), width,
//! `.precision`, an ignored length modifier (`h`, `l`, `L`) and a type;
//! `%%` is a literal `%`. The types supported are the ones a config file
//! can sensibly use: `s`, `r`, `a` (text), `d`, `i`, `u` (decimal), `x`,
//! `X`, `o` (hex, octal). A name that is not defined, a `%` without a
//! name, or a type given the wrong kind of value is an error, as it is for
//! supervisord, which refuses to start on such a config.

use std::fmt;

/// A value an expansion can take: supervisord's names are strings
/// (`here`, `program_name`, `ENV_X`) or integers (`process_num`,
/// `numprocs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(String),
    Int(i64),
}

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `%(name)` names nothing defined.
    Unknown(String),
    /// Malformed format (Python's "badly formatted").
    Bad(String),
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::Unknown(n) => write!(f, "%({n}) cannot be expanded: no such name"),
            ExpandError::Bad(why) => write!(f, "badly formatted: {why}"),
        }
    }
}

/// One `%(name)...` conversion, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    /// Everything after `%(name)`: flags, width, precision and type, e.g.
    /// `02d`.
    pub format: String,
}

/// Expands `s`, asking `lookup` for each name. `lookup` may also return a
/// marker text instead of formatting (see `supervisord.rs`, instances):
/// `Resolved::Text` is inserted as is.
pub fn expand(
    s: &str,
    lookup: &mut dyn FnMut(&Spec) -> Option<Resolved>,
) -> Result<String, ExpandError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.get(i) {
            None => return Err(ExpandError::Bad("incomplete format at the end".into())),
            Some('%') => {
                out.push('%');
                i += 1;
                continue;
            }
            Some('(') => {}
            Some(_) => {
                return Err(ExpandError::Bad(
                    "a % conversion without a (name); write %% for a percent sign".into(),
                ))
            }
        }
        // %(name): Python allows nested parentheses in the name.
        i += 1;
        let mut depth = 1;
        let start = i;
        while i < chars.len() {
            match chars[i] {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if i >= chars.len() {
            return Err(ExpandError::Bad("incomplete format key".into()));
        }
        let name: String = chars[start..i].iter().collect();
        i += 1;
        let fstart = i;
        while i < chars.len() && "-+ #0".contains(chars[i]) {
            i += 1;
        }
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
        while i < chars.len() && "hlL".contains(chars[i]) {
            i += 1;
        }
        let Some(&conv) = chars.get(i) else {
            return Err(ExpandError::Bad("incomplete format".into()));
        };
        i += 1;
        let format: String = chars[fstart..i].iter().collect();
        let spec = Spec { name, format };
        match lookup(&spec) {
            None => return Err(ExpandError::Unknown(spec.name)),
            Some(Resolved::Text(t)) => out.push_str(&t),
            Some(Resolved::Value(v)) => out.push_str(&format_one(&spec.format, conv, &v)?),
        }
    }
    Ok(out)
}

/// What a lookup gives for one conversion.
pub enum Resolved {
    /// Format this value with the conversion's flags.
    Value(Val),
    /// Insert this text unformatted.
    Text(String),
}

/// Expands with a fixed table (the common case).
pub fn expand_with(s: &str, table: &dyn Fn(&str) -> Option<Val>) -> Result<String, ExpandError> {
    expand(s, &mut |spec| table(&spec.name).map(Resolved::Value))
}

/// Formats one value the way Python's `%` does for the conversion
/// `format` (flags, width, precision, then the type character `conv`).
pub fn format_one(format: &str, conv: char, v: &Val) -> Result<String, ExpandError> {
    let mut chars = format.chars().peekable();
    let (mut left, mut zero, mut plus, mut space, mut alt) = (false, false, false, false, false);
    while let Some(&c) = chars.peek() {
        match c {
            '-' => left = true,
            '0' => zero = true,
            '+' => plus = true,
            ' ' => space = true,
            '#' => alt = true,
            _ => break,
        }
        chars.next();
    }
    let mut width = String::new();
    while let Some(&c) = chars.peek() {
        if !c.is_ascii_digit() {
            break;
        }
        width.push(c);
        chars.next();
    }
    let mut precision: Option<usize> = None;
    if chars.peek() == Some(&'.') {
        chars.next();
        let mut p = String::new();
        while let Some(&c) = chars.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            p.push(c);
            chars.next();
        }
        precision = Some(p.parse().unwrap_or(0));
    }
    let width: usize = width.parse().unwrap_or(0);
    let body = match conv {
        's' | 'r' | 'a' => {
            let text = match (v, conv) {
                (Val::Str(s), 's') => s.clone(),
                (Val::Str(s), _) => python_repr(s),
                (Val::Int(n), _) => n.to_string(),
            };
            let text = match precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            };
            return Ok(pad(&text, width, left, ' '));
        }
        'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
            let Val::Int(n) = v else {
                return Err(ExpandError::Bad(format!(
                    "%{conv} format: a number is required, not text"
                )));
            };
            let digits = match conv {
                'x' => format!("{:x}", n.unsigned_abs()),
                'X' => format!("{:X}", n.unsigned_abs()),
                'o' => format!("{:o}", n.unsigned_abs()),
                _ => n.unsigned_abs().to_string(),
            };
            let digits = match precision {
                Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
                _ => digits,
            };
            let sign = if *n < 0 {
                "-"
            } else if plus {
                "+"
            } else if space {
                " "
            } else {
                ""
            };
            let prefix = match (alt, conv) {
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                (true, 'o') => "0o",
                _ => "",
            };
            (format!("{sign}{prefix}"), digits)
        }
        other => {
            return Err(ExpandError::Bad(format!(
                "unsupported format character {other:?}"
            )))
        }
    };
    let (head, digits) = body;
    let len = head.chars().count() + digits.len();
    if left || width <= len {
        return Ok(pad(&format!("{head}{digits}"), width, true, ' '));
    }
    if zero {
        return Ok(format!("{head}{}{digits}", "0".repeat(width - len)));
    }
    Ok(pad(&format!("{head}{digits}"), width, false, ' '))
}

fn pad(s: &str, width: usize, left: bool, fill: char) -> String {
    let n = s.chars().count();
    if n >= width {
        return s.to_string();
    }
    let fill: String = std::iter::repeat(fill).take(width - n).collect();
    if left {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// Python's `repr()` of a str, for `%(x)r` (close enough: quotes chosen
/// as Python does, backslash escapes for the usual characters).
fn python_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Option<Val> {
        match name {
            "program_name" => Some(Val::Str("web".into())),
            "process_num" => Some(Val::Int(7)),
            "neg" => Some(Val::Int(-5)),
            "here" => Some(Val::Str("/etc/sv".into())),
            "ENV_HOME" => Some(Val::Str("/root".into())),
            _ => None,
        }
    }

    fn ex(s: &str) -> Result<String, ExpandError> {
        expand_with(s, &table)
    }

    #[test]
    fn python_percent_formatting() {
        // Expected values are what CPython 3 gives for `s % d`.
        assert_eq!(ex("%(program_name)s_%(process_num)02d").unwrap(), "web_07");
        assert_eq!(ex("%(process_num)d").unwrap(), "7");
        assert_eq!(ex("%(process_num)s").unwrap(), "7");
        assert_eq!(ex("%(process_num)3d|").unwrap(), "  7|");
        assert_eq!(ex("%(process_num)-3d|").unwrap(), "7  |");
        assert_eq!(ex("%(process_num)+d").unwrap(), "+7");
        assert_eq!(ex("%(process_num).3d").unwrap(), "007");
        assert_eq!(ex("%(process_num)#x %(process_num)o").unwrap(), "0x7 7");
        assert_eq!(ex("%(neg)04d").unwrap(), "-005");
        assert_eq!(ex("%(program_name)5s|").unwrap(), "  web|");
        assert_eq!(ex("%(program_name)-5s|").unwrap(), "web  |");
        assert_eq!(ex("%(program_name).2s").unwrap(), "we");
        assert_eq!(ex("%(program_name)r").unwrap(), "'web'");
        assert_eq!(ex("%(here)s/x %(ENV_HOME)s").unwrap(), "/etc/sv/x /root");
        assert_eq!(ex("100%% sure").unwrap(), "100% sure");
        assert_eq!(ex("%%(here)s").unwrap(), "%(here)s");
        assert_eq!(ex("%(process_num)ld").unwrap(), "7");
    }

    #[test]
    fn errors_like_python() {
        assert_eq!(
            ex("%(ENV_NOPE)s").unwrap_err(),
            ExpandError::Unknown("ENV_NOPE".into())
        );
        assert!(matches!(ex("50%").unwrap_err(), ExpandError::Bad(_)));
        assert!(matches!(ex("%s").unwrap_err(), ExpandError::Bad(_)));
        assert!(matches!(ex("%(here").unwrap_err(), ExpandError::Bad(_)));
        assert!(matches!(ex("%(here)").unwrap_err(), ExpandError::Bad(_)));
        assert!(matches!(ex("%(here)d").unwrap_err(), ExpandError::Bad(_)));
        assert!(matches!(ex("%(here)q").unwrap_err(), ExpandError::Bad(_)));
    }
}
