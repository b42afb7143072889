//! An INI reader that reads a file the way supervisord 4 does: Python 3's
//! `RawConfigParser` with supervisord's settings (`inline_comment_prefixes
//! = (';', '#')`, `strict = False`), so a file means here exactly what it
//! meant to supervisord. The rules, per physical line:
//!
//! - `;` or `#` starts a comment when it is the first character of the
//!   line or follows a whitespace character (`a;b` and `a#b` are values,
//!   `a ;b` is `a`); a line whose stripped text starts with `;` or `#` is
//!   a comment whatever its indentation.
//! - What is left is stripped. A line indented deeper than the line that
//!   began the current key continues that key's value (joined with `\n`);
//!   an empty line inside a value is kept, trailing empty lines are not.
//! - `[name]` starts a section: the name runs to the last `]` on the line.
//!   A section seen again (in the same or a later file) is merged into the
//!   first, and a key seen again replaces the earlier value.
//! - `key = value` or `key: value`: the key ends at the first `=` or `:`,
//!   is stripped and lower-cased (keys are case-insensitive, section names
//!   are not).
//! - `[DEFAULT]` holds fallbacks that every section sees.
//! - Anything else, a key before any section, or an empty key is an error:
//!   supervisord refuses such a file.
//!
//! Every key keeps the file and line it came from, for the report.

use std::fmt;
use std::path::{Path, PathBuf};

/// One `key = value`, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub file: PathBuf,
    pub line: usize,
}

/// A section and its keys in first-seen order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// Where the section header was first seen.
    pub file: PathBuf,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    /// The value of `key` (lower case), if the section sets it.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A parsed file set: the sections in first-seen order, and `[DEFAULT]`.
#[derive(Debug, Clone, Default)]
pub struct Ini {
    pub sections: Vec<Section>,
    pub defaults: Vec<Entry>,
}

/// A line supervisord could not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    pub file: PathBuf,
    pub line: usize,
    pub why: String,
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.why)
    }
}

/// Where the values of the key being read go (section index, or the
/// defaults), and which entry.
#[derive(Clone, Copy)]
enum Target {
    Section(usize),
    Defaults,
}

impl Ini {
    /// The section called exactly `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// `key` in `section`, else in `[DEFAULT]` (RawConfigParser's `get`).
    pub fn lookup<'a>(&'a self, section: &'a Section, key: &str) -> Option<&'a Entry> {
        section
            .get(key)
            .or_else(|| self.defaults.iter().find(|e| e.key == key))
    }

    /// Reads one file's text into this set (`file` names it in messages
    /// and entries). On error nothing of the file is kept.
    pub fn read_str(&mut self, text: &str, file: &Path) -> Result<(), IniError> {
        let mut work = self.clone();
        work.read_into(text, file)?;
        *self = work;
        Ok(())
    }

    fn read_into(&mut self, text: &str, file: &Path) -> Result<(), IniError> {
        // Python reads text files with universal newlines.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let err = |line: usize, why: &str| IniError {
            file: file.to_path_buf(),
            line,
            why: why.to_string(),
        };
        let mut cur: Option<Target> = None;
        // The key being read: its target, its index there, its value lines.
        let mut key: Option<(Target, usize)> = None;
        let mut pending: Vec<String> = Vec::new();
        let mut indent_level = 0usize;
        let mut first_error: Option<IniError> = None;

        for (idx, line) in text.split('\n').enumerate() {
            let lineno = idx + 1;
            let comment_start = comment_start(line);
            let value = match comment_start {
                Some(n) => &line[..n],
                None => line,
            }
            .trim();
            if value.is_empty() {
                // empty_lines_in_values: an empty line (not a comment)
                // inside a value is part of it.
                if comment_start.is_none() && key.is_some() {
                    pending.push(String::new());
                }
                continue;
            }
            let cur_indent = line
                .char_indices()
                .find(|(_, c)| !c.is_whitespace())
                .map_or(0, |(i, _)| i);
            if cur.is_some() && key.is_some() && cur_indent > indent_level {
                pending.push(value.to_string());
                continue;
            }
            indent_level = cur_indent;
            // Section header: `[` then at least one character then the
            // last `]` of the line (Python's greedy `\[(?P<header>.+)\]`).
            if let Some(name) = header(value) {
                self.flush(&mut key, &mut pending);
                if name == "DEFAULT" {
                    cur = Some(Target::Defaults);
                } else if let Some(i) = self.sections.iter().position(|s| s.name == name) {
                    cur = Some(Target::Section(i));
                } else {
                    self.sections.push(Section {
                        name: name.to_string(),
                        file: file.to_path_buf(),
                        line: lineno,
                        entries: Vec::new(),
                    });
                    cur = Some(Target::Section(self.sections.len() - 1));
                }
                continue;
            }
            let Some(target) = cur else {
                return Err(err(lineno, "file contains no section headers"));
            };
            let Some(pos) = value.find(['=', ':']) else {
                first_error.get_or_insert_with(|| {
                    err(
                        lineno,
                        &format!("not a section, a key or a comment: {value}"),
                    )
                });
                key = None;
                continue;
            };
            let name = value[..pos].trim_end().to_lowercase();
            if name.is_empty() {
                first_error.get_or_insert_with(|| err(lineno, "a value without a key"));
                key = None;
                continue;
            }
            self.flush(&mut key, &mut pending);
            let entry = Entry {
                key: name,
                value: String::new(),
                file: file.to_path_buf(),
                line: lineno,
            };
            let list = self.entries_mut(target);
            let at = match list.iter().position(|e| e.key == entry.key) {
                Some(i) => {
                    // strict=False: the later value replaces the earlier
                    // one, and so does its origin.
                    list[i] = entry;
                    i
                }
                None => {
                    list.push(entry);
                    list.len() - 1
                }
            };
            pending.push(value[pos + 1..].trim().to_string());
            key = Some((target, at));
        }
        self.flush(&mut key, &mut pending);
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn entries_mut(&mut self, t: Target) -> &mut Vec<Entry> {
        match t {
            Target::Section(i) => &mut self.sections[i].entries,
            Target::Defaults => &mut self.defaults,
        }
    }

    /// Stores the lines read for the current key (Python joins them with
    /// newlines and strips the end).
    fn flush(&mut self, key: &mut Option<(Target, usize)>, pending: &mut Vec<String>) {
        if let Some((t, i)) = key.take() {
            let joined = pending.join("\n");
            self.entries_mut(t)[i].value = joined.trim_end().to_string();
        }
        pending.clear();
    }
}

/// Byte offset where a comment starts on `line`, if one does.
fn comment_start(line: &str) -> Option<usize> {
    if line.trim_start().starts_with([';', '#']) {
        return Some(0);
    }
    let mut prev_ws = true; // index 0 counts as "preceded by whitespace"
    for (i, c) in line.char_indices() {
        if (c == ';' || c == '#') && prev_ws {
            return Some(i);
        }
        prev_ws = c.is_whitespace();
    }
    None
}

fn header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Ini {
        let mut ini = Ini::default();
        ini.read_str(text, Path::new("t.conf")).unwrap();
        ini
    }

    fn val(ini: &Ini, sect: &str, key: &str) -> String {
        let s = ini.section(sect).unwrap();
        ini.lookup(s, key).unwrap().value.clone()
    }

    #[test]
    fn comments_follow_supervisord_4() {
        let ini = parse(
            "; top comment\n# another\n[program:a]\ncommand=x ;comment\n\
             b = keep;this\nc = keep#this\nd = cut #here\ne=#x\n   ; indented comment\n\
             f = a\t;tab before\n",
        );
        assert_eq!(val(&ini, "program:a", "command"), "x");
        assert_eq!(val(&ini, "program:a", "b"), "keep;this");
        assert_eq!(val(&ini, "program:a", "c"), "keep#this");
        assert_eq!(val(&ini, "program:a", "d"), "cut");
        assert_eq!(val(&ini, "program:a", "e"), "#x");
        assert_eq!(val(&ini, "program:a", "f"), "a");
    }

    #[test]
    fn continuation_lines_and_blank_lines() {
        let ini = parse(
            "[program:a]\nenvironment = A=1,\n    B=2,\n\n\tC=3\nnext=1\n  more\n\n\nlast=z\n",
        );
        assert_eq!(val(&ini, "program:a", "environment"), "A=1,\nB=2,\n\nC=3");
        assert_eq!(val(&ini, "program:a", "next"), "1\nmore");
        assert_eq!(val(&ini, "program:a", "last"), "z");
        let e = ini.section("program:a").unwrap().get("next").unwrap();
        assert_eq!(e.line, 6);
    }

    #[test]
    fn keys_case_delimiters_duplicates_and_defaults() {
        let ini = parse(
            "[DEFAULT]\nstartsecs=5\n[program:a]\nCommand: run it\nuser = a\nuser = b\n\
             url = http://x:1/y\n[program:a]\nnumprocs=2\n[Program:A]\nx=1\n",
        );
        assert_eq!(val(&ini, "program:a", "command"), "run it");
        assert_eq!(val(&ini, "program:a", "user"), "b");
        assert_eq!(val(&ini, "program:a", "url"), "http://x:1/y");
        assert_eq!(val(&ini, "program:a", "numprocs"), "2");
        assert_eq!(val(&ini, "program:a", "startsecs"), "5");
        // Section names are case-sensitive.
        assert!(ini.section("Program:A").is_some());
        assert_eq!(ini.sections.len(), 2);
        let s = ini.section("program:a").unwrap();
        assert_eq!(s.get("user").unwrap().line, 6);
    }

    #[test]
    fn headers() {
        let ini = parse("[a]b]\nx=1\n[c] trailing\ny=2\n");
        assert!(ini.section("a]b").is_some());
        assert!(ini.section("c").is_some());
    }

    #[test]
    fn errors() {
        let mut ini = Ini::default();
        let e = ini.read_str("x=1\n", Path::new("f")).unwrap_err();
        assert_eq!(e.line, 1);
        let e = ini
            .read_str("[a]\nok=1\nnot a key\n", Path::new("f"))
            .unwrap_err();
        assert_eq!((e.line, e.why.contains("not a section")), (3, true));
        assert!(ini.sections.is_empty(), "nothing kept from a bad file");
        let e = ini.read_str("[a]\n=v\n", Path::new("f")).unwrap_err();
        assert_eq!(e.line, 2);
        let e = ini.read_str("[]\n", Path::new("f")).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn crlf_files() {
        let ini = parse("[a]\r\nx = 1 \r\n  y\r\n");
        assert_eq!(val(&ini, "a", "x"), "1\ny");
    }
}
