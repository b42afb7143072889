//! `svctl env [--sh|--json]`: print the environment svscan captured at
//! boot (`RUNDIR/env/`): `NAME=value` lines (as env(1)), shell `export`
//! lines (the same text as `RUNDIR/env.sh`), or one JSON object.

use super::json::Json;
use crate::container::envdump::{self, EnvMap};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    Sh,
    Json,
}

/// A usage complaint about the words after `env`.
#[derive(Debug, PartialEq, Eq)]
pub enum EnvUsage {
    Unknown(OsString),
    TooMany,
}

impl std::fmt::Display for EnvUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvUsage::Unknown(w) => write!(f, "env: unknown argument: {}", w.to_string_lossy()),
            EnvUsage::TooMany => f.write_str("env: too many arguments"),
        }
    }
}

impl std::error::Error for EnvUsage {}

/// Parses the words after `env`.
pub fn parse(args: &[OsString]) -> Result<Format, EnvUsage> {
    match args {
        [] => Ok(Format::Plain),
        [one] if one == "--sh" => Ok(Format::Sh),
        [one] if one == "--json" => Ok(Format::Json),
        [one] => Err(EnvUsage::Unknown(one.clone())),
        _ => Err(EnvUsage::TooMany),
    }
}

pub fn render(env: &EnvMap, format: Format) -> Vec<u8> {
    match format {
        Format::Plain => {
            let mut out = Vec::new();
            for (k, v) in env {
                out.extend_from_slice(k.as_bytes());
                out.push(b'=');
                out.extend_from_slice(v.as_bytes());
                out.push(b'\n');
            }
            out
        }
        Format::Sh => envdump::env_sh(env),
        Format::Json => {
            // Json::Obj takes static keys; variable names are not.
            let mut text = String::from("{");
            for (i, (k, v)) in env.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                Json::Str(k.to_string_lossy().into_owned()).write(&mut text);
                text.push(':');
                Json::Str(v.to_string_lossy().into_owned()).write(&mut text);
            }
            text.push_str("}\n");
            text.into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let mut env = EnvMap::new();
        env.insert("A".into(), "1".into());
        env.insert("B".into(), "it's \"x\"\n".into());
        assert_eq!(render(&env, Format::Plain), b"A=1\nB=it's \"x\"\n\n");
        assert_eq!(
            String::from_utf8(render(&env, Format::Json)).unwrap(),
            "{\"A\":\"1\",\"B\":\"it's \\\"x\\\"\\n\"}\n"
        );
        let sh = String::from_utf8(render(&env, Format::Sh)).unwrap();
        assert!(sh.contains("export A='1'"), "{sh}");
        assert_eq!(parse(&[]), Ok(Format::Plain));
        assert_eq!(parse(&["--sh".into()]), Ok(Format::Sh));
        assert_eq!(parse(&["-x".into()]), Err(EnvUsage::Unknown("-x".into())));
    }
}
