//! A oneshot's `up` and `down` files, and how each is run.
//!
//! In s6-rc these files are execline scripts, lexed by `execlineb` at
//! compile time. svkit has no compile step, so it decides per file, once,
//! when the tree is read:
//! 1. the file is executable: run it directly (its own `#!` line decides);
//! 2. else, `execlineb` is installed: run `execlineb -P FILE`;
//! 3. else the common case is accepted without execline: one command line
//!    of words separated by blanks or newlines, `"double-quoted strings"`
//!    (with `\"`, `\\`, `\n` and `\t`), `#` comments to the end of the line
//!    (a `#` that starts a word). A file with no words does nothing and
//!    succeeds (s6-rc's empty script).
//!
//! Anything else in case 3 (an execline block `{ ... }`, a shell operator
//! such as `|`, `;`, `&&`, `>` or `$(`, an unterminated string, a stray
//! backslash) is refused with one error naming the file: running it as
//! argv would silently do something other than what the author meant.

use std::fmt;
use std::path::{Path, PathBuf};

/// How a oneshot's `up` or `down` is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Script {
    /// No file, or a file with no words: the transition does nothing and
    /// succeeds at once.
    Empty,
    /// An executable file, run as itself.
    Executable(PathBuf),
    /// A non-executable file run as `execlineb -P FILE`.
    Execline { execlineb: PathBuf, file: PathBuf },
    /// One command line, lexed here (no execline installed).
    Argv(Vec<String>),
}

impl Script {
    /// The argv to execute, or `None` for [`Script::Empty`].
    pub fn argv(&self) -> Option<Vec<String>> {
        match self {
            Script::Empty => None,
            Script::Executable(p) => Some(vec![p.display().to_string()]),
            Script::Execline { execlineb, file } => Some(vec![
                execlineb.display().to_string(),
                "-P".to_string(),
                file.display().to_string(),
            ]),
            Script::Argv(words) => Some(words.clone()),
        }
    }
}

/// Why a command line was refused (case 3 above).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexError {
    UnterminatedString,
    /// An escape other than `\"`, `\\`, `\n`, `\t` inside a string, or a
    /// backslash outside one.
    Backslash,
    /// An execline block (`{` or `}` as a word).
    Block,
    /// A shell operator: the file was written for a shell.
    ShellOperator(String),
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexError::UnterminatedString => write!(f, "unterminated double-quoted string"),
            LexError::Backslash => write!(f, "unsupported backslash escape"),
            LexError::Block => write!(
                f,
                "execline block ({{ }}) needs execlineb, which is not installed"
            ),
            LexError::ShellOperator(op) => write!(
                f,
                "shell operator {op:?}: not one command line (make the file executable with a #! line)"
            ),
        }
    }
}

/// Splits `text` into one command line's words (case 3 above).
pub fn lex(text: &str) -> Result<Vec<String>, LexError> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        // Skip blanks between words.
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        if first == '#' {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        let mut word = String::new();
        // Whether any part of the word was quoted: `""` is an empty word,
        // and quoted operators are plain text.
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c.is_ascii_whitespace() {
                break;
            }
            chars.next();
            match c {
                '"' => {
                    quoted = true;
                    lex_string(&mut chars, &mut word)?;
                }
                '\\' => return Err(LexError::Backslash),
                '|' | ';' | '&' | '<' | '>' | '`' => {
                    return Err(LexError::ShellOperator(c.to_string()))
                }
                '$' if chars.peek() == Some(&'(') => {
                    return Err(LexError::ShellOperator("$(".to_string()))
                }
                _ => word.push(c),
            }
        }
        if !quoted && (word == "{" || word == "}") {
            return Err(LexError::Block);
        }
        words.push(word);
    }
}

fn lex_string(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    word: &mut String,
) -> Result<(), LexError> {
    loop {
        match chars.next() {
            None => return Err(LexError::UnterminatedString),
            Some('"') => return Ok(()),
            Some('\\') => match chars.next() {
                Some('"') => word.push('"'),
                Some('\\') => word.push('\\'),
                Some('n') => word.push('\n'),
                Some('t') => word.push('\t'),
                None => return Err(LexError::UnterminatedString),
                Some(_) => return Err(LexError::Backslash),
            },
            Some(c) => word.push(c),
        }
    }
}

/// Why a script file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptError {
    /// It exists but could not be read (or is not a regular file).
    Unreadable { file: PathBuf, why: String },
    /// Not executable, no execlineb, and not one command line.
    Refused { file: PathBuf, why: LexError },
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::Unreadable { file, why } => {
                write!(f, "{}: unable to read: {why}", file.display())
            }
            ScriptError::Refused { file, why } => write!(f, "{}: {why}", file.display()),
        }
    }
}

/// Decides how `file` is run (the three rules in the module text).
/// `execlineb` is where execlineb was found, if it was. A missing file
/// is [`Script::Empty`] (s6-rc: a missing `down` is the empty script;
/// the caller refuses a missing `up`).
pub fn resolve(file: &Path, execlineb: Option<&Path>) -> Result<Script, ScriptError> {
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Script::Empty),
        Err(e) => return Err(unreadable(file, &e)),
    };
    if !meta.is_file() {
        return Err(ScriptError::Unreadable {
            file: file.to_path_buf(),
            why: "not a regular file".to_string(),
        });
    }
    if is_executable(&meta) {
        return Ok(Script::Executable(file.to_path_buf()));
    }
    let text = std::fs::read(file).map_err(|e| unreadable(file, &e))?;
    let text = String::from_utf8_lossy(&text);
    // An empty script does nothing under every rule; no process for it.
    if matches!(lex(&text), Ok(ref w) if w.is_empty()) {
        return Ok(Script::Empty);
    }
    if let Some(el) = execlineb {
        return Ok(Script::Execline {
            execlineb: el.to_path_buf(),
            file: file.to_path_buf(),
        });
    }
    match lex(&text) {
        Ok(words) => Ok(Script::Argv(words)),
        Err(why) => Err(ScriptError::Refused {
            file: file.to_path_buf(),
            why,
        }),
    }
}

fn unreadable(file: &Path, e: &std::io::Error) -> ScriptError {
    ScriptError::Unreadable {
        file: file.to_path_buf(),
        why: e.to_string(),
    }
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

/// The first `execlineb` in the colon-separated `path` list (`$PATH`),
/// if any.
pub fn find_execlineb(path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("execlineb"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && is_executable(&m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        lex(s).unwrap()
    }

    #[test]
    fn one_line_of_words() {
        assert_eq!(
            words("/etc/s6-overlay/scripts/migrate\n"),
            ["/etc/s6-overlay/scripts/migrate"]
        );
        assert_eq!(words("  echo   a\tb\n c "), ["echo", "a", "b", "c"]);
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            words(r#"sh -c "echo \"hi\" > /x""#),
            ["sh", "-c", r#"echo "hi" > /x"#]
        );
        assert_eq!(words(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(words(r#"printf "a\tb\n" """#), ["printf", "a\tb\n", ""]);
        assert_eq!(words(r#"x "{" "|""#), ["x", "{", "|"]);
    }

    #[test]
    fn comments_and_empty() {
        assert!(words("").is_empty());
        assert!(words("\n\n  # nothing here\n").is_empty());
        assert_eq!(
            words("#!/command/execlineb -P\n# why\nfoo bar # trailing\nbaz\n"),
            ["foo", "bar", "baz"]
        );
        // A '#' inside a word is text.
        assert_eq!(words("echo a#b"), ["echo", "a#b"]);
    }

    #[test]
    fn refused_forms() {
        assert_eq!(lex("foreground { echo hi } echo"), Err(LexError::Block));
        assert_eq!(lex("a | b"), Err(LexError::ShellOperator("|".into())));
        assert_eq!(lex("a; b"), Err(LexError::ShellOperator(";".into())));
        assert_eq!(lex("a && b"), Err(LexError::ShellOperator("&".into())));
        assert_eq!(lex("echo > f"), Err(LexError::ShellOperator(">".into())));
        assert_eq!(
            lex("echo $(date)"),
            Err(LexError::ShellOperator("$(".into()))
        );
        assert_eq!(lex("echo \"abc"), Err(LexError::UnterminatedString));
        assert_eq!(lex("echo a\\ b"), Err(LexError::Backslash));
        assert_eq!(lex(r#"echo "\q""#), Err(LexError::Backslash));
        // Not an operator: a plain '$' is text, as in execline.
        assert_eq!(words("echo $HOME"), ["echo", "$HOME"]);
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        for s in [
            "\"", "\\", "\"\\", "#", "{", "}", "$", "$(", "\u{0}", "é\"é",
        ] {
            let _ = lex(s);
        }
    }
}
