//! The two ways supervisord splits text into words, both Python's `shlex`:
//!
//! - [`split_posix`] is `shlex.split(command)` (POSIX mode, whitespace
//!   split, no comments): how supervisord turns `command=` into the argv it
//!   passes to execve(2). No shell is involved: `|`, `>` or `$X` stay
//!   literal words.
//! - [`tokens_classic`] is `shlex.shlex(value)` in its default non-POSIX
//!   mode with `/.+-():` added to the word characters and `#` starting a
//!   comment: how `dict_of_key_value_pairs` lexes `environment=`. Quotes
//!   stay part of the token there (the caller strips them), and every
//!   other punctuation character is a token of its own.
//!
//! Both are state machines written after CPython's `shlex.read_token`, so
//! that odd inputs give what supervisord would get, not what a shell would.

use std::fmt;

/// Why a text could not be split (CPython's messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShlexError {
    NoClosingQuotation,
    NoEscapedCharacter,
}

impl fmt::Display for ShlexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShlexError::NoClosingQuotation => f.write_str("no closing quotation"),
            ShlexError::NoEscapedCharacter => f.write_str("no escaped character"),
        }
    }
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `shlex.split(s)`: POSIX rules. Outside quotes a backslash takes the next
/// character literally; inside double quotes it escapes only `"` and `\`
/// (otherwise both characters are kept); nothing escapes inside single
/// quotes; `''` is an empty word.
pub fn split_posix(s: &str) -> Result<Vec<String>, ShlexError> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Space,
        Word,
        Quote(char),
        Escape(char), // the state to return to: Word or Quote('"')
    }
    let mut out = Vec::new();
    let mut token = String::new();
    let mut quoted = false;
    let mut st = St::Space;
    for c in s.chars() {
        match st {
            St::Space => {
                if is_ws(c) {
                    continue;
                } else if c == '\\' {
                    st = St::Escape('a');
                } else if c == '\'' || c == '"' {
                    st = St::Quote(c);
                } else {
                    token.push(c);
                    st = St::Word;
                }
            }
            St::Word => {
                if is_ws(c) {
                    out.push(std::mem::take(&mut token));
                    quoted = false;
                    st = St::Space;
                } else if c == '\'' || c == '"' {
                    st = St::Quote(c);
                } else if c == '\\' {
                    st = St::Escape('a');
                } else {
                    token.push(c);
                }
            }
            St::Quote(q) => {
                quoted = true;
                if c == q {
                    st = St::Word;
                } else if c == '\\' && q == '"' {
                    st = St::Escape('"');
                } else {
                    token.push(c);
                }
            }
            St::Escape(back) => {
                // In POSIX shells only the quote itself or the escape
                // character may be escaped within quotes.
                if back == '"' && c != '\\' && c != '"' {
                    token.push('\\');
                }
                token.push(c);
                st = if back == '"' {
                    St::Quote('"')
                } else {
                    St::Word
                };
            }
        }
    }
    match st {
        St::Quote(_) => return Err(ShlexError::NoClosingQuotation),
        St::Escape(_) => return Err(ShlexError::NoEscapedCharacter),
        St::Word => out.push(token),
        St::Space => {
            if quoted {
                out.push(token);
            }
        }
    }
    Ok(out)
}

/// Word characters of `dict_of_key_value_pairs`' lexer.
fn is_classic_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_/.+-():".contains(c)
}

/// `list(shlex.shlex(s))` with `wordchars += '/.+-():'` (non-POSIX mode).
///
/// A word is a run of word characters (a quote inside it is just kept); a
/// token that starts with a quote runs to the matching quote, both quotes
/// included; `#` outside quotes skips to the end of the line (and, inside
/// a word, the word goes on after it, as in CPython); any other character
/// is a token by itself. Iteration stops at the first empty token, which
/// in this mode only the end of input gives.
pub fn tokens_classic(s: &str) -> Result<Vec<String>, ShlexError> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Space,
        Word,
        Quote(char),
    }
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let mut token = String::new();
    let mut st = St::Space;
    let skip_line = |i: &mut usize| {
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
        if *i < chars.len() {
            *i += 1;
        }
    };
    loop {
        let c = chars.get(i).copied();
        i += 1;
        match st {
            St::Space => match c {
                None => break,
                Some(c) if is_ws(c) => continue,
                Some('#') => skip_line(&mut i),
                Some(c) if is_classic_word(c) => {
                    token.push(c);
                    st = St::Word;
                }
                Some(c) if c == '\'' || c == '"' => {
                    token.push(c);
                    st = St::Quote(c);
                }
                Some(c) => out.push(c.to_string()),
            },
            St::Quote(q) => match c {
                None => return Err(ShlexError::NoClosingQuotation),
                Some(c) => {
                    token.push(c);
                    if c == q {
                        out.push(std::mem::take(&mut token));
                        st = St::Space;
                    }
                }
            },
            St::Word => match c {
                None => {
                    out.push(std::mem::take(&mut token));
                    break;
                }
                Some(c) if is_ws(c) => {
                    out.push(std::mem::take(&mut token));
                    st = St::Space;
                }
                Some('#') => skip_line(&mut i),
                Some(c) if is_classic_word(c) || c == '\'' || c == '"' => token.push(c),
                Some(_) => {
                    // Pushed back: the character starts the next token.
                    i -= 1;
                    out.push(std::mem::take(&mut token));
                    st = St::Space;
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn posix_split_like_python() {
        // Expected values are what CPython 3's shlex.split returns.
        assert_eq!(split_posix("a b  c").unwrap(), v(&["a", "b", "c"]));
        assert_eq!(split_posix("  ").unwrap(), v(&[]));
        assert_eq!(split_posix("''").unwrap(), v(&[""]));
        assert_eq!(split_posix("a '' b").unwrap(), v(&["a", "", "b"]));
        assert_eq!(
            split_posix("sh -c 'echo \"hi there\"; exit 3'").unwrap(),
            v(&["sh", "-c", "echo \"hi there\"; exit 3"])
        );
        assert_eq!(split_posix(r#""a\"b""#).unwrap(), v(&["a\"b"]));
        assert_eq!(split_posix(r#""a\nb""#).unwrap(), v(&["a\\nb"]));
        assert_eq!(split_posix(r#""a\\b""#).unwrap(), v(&["a\\b"]));
        assert_eq!(split_posix(r"a\ b").unwrap(), v(&["a b"]));
        assert_eq!(split_posix(r"'a\b'").unwrap(), v(&["a\\b"]));
        assert_eq!(split_posix("x\"y z\"w").unwrap(), v(&["xy zw"]));
        assert_eq!(split_posix("a|b >c #d").unwrap(), v(&["a|b", ">c", "#d"]));
        assert_eq!(split_posix("a\nb\tc").unwrap(), v(&["a", "b", "c"]));
        assert_eq!(split_posix("'it'\\''s'").unwrap(), v(&["it's"]));
        assert_eq!(
            split_posix("'abc").unwrap_err(),
            ShlexError::NoClosingQuotation
        );
        assert_eq!(
            split_posix("abc\\").unwrap_err(),
            ShlexError::NoEscapedCharacter
        );
    }

    #[test]
    fn classic_tokens_like_python() {
        // Expected values are what CPython 3's shlex.shlex returns with
        // wordchars += '/.+-():'.
        assert_eq!(
            tokens_classic("A=1,B=\"two, three\"").unwrap(),
            v(&["A", "=", "1", ",", "B", "=", "\"two, three\""])
        );
        assert_eq!(
            tokens_classic("P=/usr/bin:/bin").unwrap(),
            v(&["P", "=", "/usr/bin:/bin"])
        );
        assert_eq!(tokens_classic("a$b").unwrap(), v(&["a", "$", "b"]));
        assert_eq!(tokens_classic("a\"b c\"").unwrap(), v(&["a\"b", "c\""]));
        assert_eq!(tokens_classic("x # gone\ny").unwrap(), v(&["x", "y"]));
        assert_eq!(tokens_classic("ab#c\nd").unwrap(), v(&["abd"]));
        assert_eq!(tokens_classic("'q' r").unwrap(), v(&["'q'", "r"]));
        assert_eq!(
            tokens_classic("'open").unwrap_err(),
            ShlexError::NoClosingQuotation
        );
        assert_eq!(tokens_classic("").unwrap(), v(&[]));
    }
}
