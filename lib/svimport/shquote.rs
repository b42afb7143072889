//! Quoting for the POSIX sh scripts svimport writes (`run`, `finish`,
//! `log/run`). Every value that came from a configuration file goes
//! through here, so no value can ever be read by the shell as code.
//!
//! The rule is the one that works in every POSIX shell, busybox's and
//! dash's included: a word made only of characters that are never special
//! stays as it is; anything else is put in single quotes, inside which
//! nothing is special, and a single quote itself is written `'\''` (close,
//! escaped quote, reopen). Newlines, `$`, backquotes and backslashes need
//! no further care inside single quotes.
//!
//! A [`Word`] mixes such literal text with shell variables (the instance
//! mapping of `%(process_num)d`, a uid's group looked up at run time): the
//! variables are written `"${name}"`, so they expand without being split
//! or globbed.

/// Characters that mean nothing to sh anywhere in a word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c)
}

/// `s` as one shell word with exactly `s` as its value.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(is_plain) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Is `name` a name sh accepts in `export NAME=...` (and `${NAME}`)?
pub fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// One piece of a word: literal text, or the value of a shell variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Lit(String),
    Var(String),
}

/// A shell word built from literal text and variables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word(pub Vec<Seg>);

impl Word {
    pub fn lit(s: &str) -> Self {
        Word(vec![Seg::Lit(s.to_string())])
    }

    /// Does the word use any variable (does it differ between instances)?
    pub fn has_vars(&self) -> bool {
        self.0.iter().any(|s| matches!(s, Seg::Var(_)))
    }

    /// The word for sh: literal runs quoted by [`quote`], variables as
    /// `"${name}"`. Adjacent pieces concatenate, as words do in sh.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut any = false;
        for seg in &self.0 {
            match seg {
                Seg::Lit(s) if s.is_empty() => {}
                Seg::Lit(s) => {
                    out.push_str(&quote(s));
                    any = true;
                }
                Seg::Var(v) => {
                    out.push_str("\"${");
                    out.push_str(v);
                    out.push_str("}\"");
                    any = true;
                }
            }
        }
        if !any {
            out.push_str("''");
        }
        out
    }

    /// The value the word has once the variables are given `value`.
    pub fn resolve(&self, value: &dyn Fn(&str) -> String) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Seg::Lit(l) => l.clone(),
                Seg::Var(v) => value(v),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What `sh` makes of `word`: printed by printf, one argument.
    fn through_sh(words: &[String]) -> Vec<String> {
        let script = format!(
            "for a in {}; do printf '%s\\0' \"$a\"; done",
            words.join(" ")
        );
        let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(out.status.success(), "{script}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut v: Vec<String> = text.split('\0').map(str::to_string).collect();
        v.pop();
        v
    }

    const NASTY: &[&str] = &[
        "",
        " ",
        "plain",
        "it's",
        "'",
        "''",
        "\"",
        "a b\tc",
        "line1\nline2",
        "$HOME",
        "${HOME}",
        "$(echo pwned)",
        "`echo pwned`",
        "\\",
        "back\\slash\\",
        "*",
        "?",
        "[a-z]",
        "~root",
        "a;b|c&d",
        "<in >out 2>&1",
        "#not a comment",
        "-n",
        "--",
        "!",
        "{a,b}",
        "é ü ∞ 漢字",
        "'\"'\"'",
        "trailing space ",
        "x=y",
    ];

    #[test]
    fn quote_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(quote("web"), "web");
        assert_eq!(quote("/usr/bin/x"), "/usr/bin/x");
        assert_eq!(quote("--port=80"), "--port=80");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$x"), "'$x'");
    }

    #[test]
    fn nasty_strings_survive_a_real_shell() {
        let words: Vec<String> = NASTY.iter().map(|s| quote(s)).collect();
        let back = through_sh(&words);
        let want: Vec<String> = NASTY.iter().map(|s| s.to_string()).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn words_with_variables_expand_without_splitting() {
        let w = Word(vec![
            Seg::Lit("worker-".into()),
            Seg::Var("n".into()),
            Seg::Lit(" 'x' $y".into()),
        ]);
        let script = format!("n='1 *'; printf '%s\\0' {}", w.render());
        let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "worker-1 * 'x' $y\0"
        );
        assert_eq!(Word::default().render(), "''");
        assert_eq!(w.resolve(&|_| "7".into()), "worker-7 'x' $y");
    }

    #[test]
    fn shell_names() {
        assert!(is_shell_name("PATH"));
        assert!(is_shell_name("_x1"));
        assert!(!is_shell_name("1x"));
        assert!(!is_shell_name("A.B"));
        assert!(!is_shell_name(""));
        assert!(!is_shell_name("A-B"));
    }
}
