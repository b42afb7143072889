//! The scripts svimport writes: `run`, `finish` and `log/run`, POSIX sh
//! that busybox sh runs too, every value quoted by `shquote`.
//!
//! `run` does, in this order (supervisord's child does the same before its
//! execve): output redirections, `cd`, `umask`, environment (`export`
//! lines; a name sh cannot export goes through `env NAME=value`), then
//! `exec` of the command, through `chpst -u USER` when a user is set. The
//! command's argv is written word by word, quoted, exactly as supervisord
//! would have passed it to execve.
//!
//! A template (numprocs > 1) starts with the instance mapping: a `case` on
//! `$SVKIT_INSTANCE` that sets one variable per way the config formats
//! `%(process_num)` (`process_num` for `%(process_num)d`,
//! `process_num_02d` for `%(process_num)02d`, ...), so every instance gets
//! exactly the strings supervisord computed for it, padded or not.

use super::shquote::{quote, Word};

/// The `case "$SVKIT_INSTANCE"` block of a template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceMap {
    /// Variable names, in column order.
    pub vars: Vec<String>,
    /// One row per instance: its name and the variables' values.
    pub rows: Vec<(String, Vec<String>)>,
}

impl InstanceMap {
    pub fn render(&self) -> String {
        let mut s = String::from(
            "# supervisord's %(process_num) for this instance (see the instances file)\n\
             case \"${SVKIT_INSTANCE-}\" in\n",
        );
        for (name, values) in &self.rows {
            let sets: Vec<String> = self
                .vars
                .iter()
                .zip(values)
                .map(|(k, v)| format!("{k}={}", quote(v)))
                .collect();
            s.push_str(&format!("  {}) {} ;;\n", quote(name), sets.join(" ")));
        }
        s.push_str(
            "  *) echo \"$0: unknown instance: ${SVKIT_INSTANCE-}\" >&2; exit 111 ;;\nesac\n",
        );
        s
    }

    /// The value of `var` for instance row `row`.
    pub fn value(&self, row: usize, var: &str) -> String {
        let col = self.vars.iter().position(|v| v == var);
        match (col, self.rows.get(row)) {
            (Some(c), Some((_, vals))) => vals.get(c).cloned().unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// Who the command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    Name(String),
    /// A numeric uid: supervisord takes the group from the passwd entry,
    /// so `run` looks it up there at start.
    Uid(u32),
}

/// Everything `run` is made of.
#[derive(Debug, Clone, Default)]
pub struct RunScript {
    /// Comment lines saying where it came from.
    pub origin: Vec<String>,
    pub instances: Option<InstanceMap>,
    /// Redirections, e.g. `exec 2>&1`, each with a comment.
    pub stdio: Vec<String>,
    pub directory: Option<Word>,
    pub umask: Option<u32>,
    pub env: Vec<(String, Word)>,
    pub user: Option<User>,
    pub argv: Vec<Word>,
}

impl RunScript {
    pub fn render(&self) -> String {
        let mut s = String::from("#!/bin/sh\n");
        for o in &self.origin {
            s.push_str(&format!("# {o}\n"));
        }
        if let Some(m) = &self.instances {
            s.push_str(&m.render());
        }
        for l in &self.stdio {
            s.push_str(l);
            s.push('\n');
        }
        if let Some(d) = &self.directory {
            s.push_str(&format!("cd {} || exit 111\n", d.render()));
        }
        if let Some(u) = self.umask {
            s.push_str(&format!("umask {u:04o}\n"));
        }
        let mut via_env = Vec::new();
        for (k, v) in &self.env {
            if super::shquote::is_shell_name(k) {
                s.push_str(&format!("export {k}={}\n", v.render()));
            } else {
                via_env.push(format!("{}{}", quote(&format!("{k}=")), v.render()));
            }
        }
        let mut cmd = vec!["exec".to_string()];
        if !via_env.is_empty() {
            cmd.push("env".into());
            cmd.extend(via_env);
        }
        match &self.user {
            Some(User::Name(n)) => {
                cmd.push("chpst".into());
                cmd.push("-u".into());
                cmd.push(quote(n));
            }
            Some(User::Uid(uid)) => {
                s.push_str(&format!(
                    "# user={uid}: the group is the one /etc/passwd gives uid {uid}, as for supervisord\n\
                     gid=\n\
                     while IFS=: read -r _ _ u g _; do\n  \
                     if [ \"$u\" = {uid} ]; then gid=$g; break; fi\n\
                     done < /etc/passwd\n\
                     [ -n \"$gid\" ] || {{ echo \"$0: uid {uid} is not in /etc/passwd\" >&2; exit 111; }}\n"
                ));
                cmd.push("chpst".into());
                cmd.push("-u".into());
                cmd.push(format!(":{uid}:\"$gid\""));
            }
            None => {}
        }
        cmd.extend(self.argv.iter().map(Word::render));
        s.push_str(&cmd.join(" "));
        s.push('\n');
        s
    }
}

/// `finish` for "stay down after an exit with one of `codes`" (empty:
/// after every exit). Exit 125 from finish tells supervise not to restart.
pub fn finish_script(origin: &[String], codes: Option<&[u8]>) -> String {
    let mut s = String::from("#!/bin/sh\n");
    for o in origin {
        s.push_str(&format!("# {o}\n"));
    }
    s.push_str(
        "# supervise runs ./finish CODE SIGNAL after each exit of run (CODE -1 after a signal);\n\
         # exit 125 means: do not restart, the service stays down.\n",
    );
    match codes {
        None => s.push_str("exit 125\n"),
        Some([]) => s.push_str("exit 0\n"),
        Some(list) => {
            let alts: Vec<String> = list.iter().map(|c| c.to_string()).collect();
            s.push_str(&format!(
                "case \"$1\" in\n  {}) exit 125 ;;\nesac\nexit 0\n",
                alts.join("|")
            ));
        }
    }
    s
}

/// `log/run`: svlog into `dir` (created at start), with `config` lines
/// written into it first, so the limits always match this script.
pub fn log_run(
    origin: &[String],
    instances: Option<&InstanceMap>,
    dir: &Word,
    config: &[String],
) -> String {
    let mut s = String::from("#!/bin/sh\n");
    for o in origin {
        s.push_str(&format!("# {o}\n"));
    }
    if let Some(m) = instances {
        s.push_str(&m.render());
    }
    s.push_str(&format!("dir={}\n", dir.render()));
    s.push_str("mkdir -p \"$dir\" || exit 111\n");
    s.push_str("# svlog's limits: s = bytes per file, n = rotated files kept\n");
    let lines: Vec<String> = config.iter().map(|l| quote(l)).collect();
    s.push_str(&format!(
        "printf '%s\\n' {} > \"$dir/config\" || exit 111\n",
        lines.join(" ")
    ));
    s.push_str("exec svlog -tt \"$dir\"\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::shquote::Seg;
    use super::*;
    use std::process::Command;

    fn sh(script: &str, env: &[(&str, &str)]) -> (i32, String, String) {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into(),
            String::from_utf8_lossy(&o.stderr).into(),
        )
    }

    #[test]
    fn run_script_execs_argv_exactly() {
        let r = RunScript {
            origin: vec!["test".into()],
            stdio: vec!["exec 2>&1".into()],
            directory: Some(Word::lit("/")),
            umask: Some(0o027),
            env: vec![
                ("A".into(), Word::lit("it's $HOME")),
                ("B.C".into(), Word::lit("dotted")),
            ],
            argv: ["sh", "-c", "umask; pwd; echo \"$A|$0\"", "x y"]
                .iter()
                .map(|s| Word::lit(s))
                .collect(),
            ..Default::default()
        };
        let text = r.render();
        assert!(text.contains("exec env B.C=dotted sh -c"), "{text}");
        let (code, out, _) = sh(&text, &[]);
        assert_eq!(code, 0, "{text}");
        assert_eq!(out, "0027\n/\nit's $HOME|x y\n");
        // A name sh cannot export reaches the program through env(1)
        // (a shell in between would drop it, as dash does).
        let r = RunScript {
            env: vec![("B.C".into(), Word::lit("dotted"))],
            argv: vec![Word::lit("env")],
            ..Default::default()
        };
        assert!(sh(&r.render(), &[]).1.contains("B.C=dotted\n"));
    }

    #[test]
    fn instance_mapping_sets_variables_or_refuses() {
        let m = InstanceMap {
            vars: vec!["process_num".into(), "process_num_02d".into()],
            rows: vec![
                ("00".into(), vec!["0".into(), "00".into()]),
                ("01".into(), vec!["1".into(), "01".into()]),
            ],
        };
        let r = RunScript {
            instances: Some(m.clone()),
            argv: vec![
                Word::lit("echo"),
                Word(vec![
                    Seg::Lit("--id=".into()),
                    Seg::Var("process_num".into()),
                ]),
                Word(vec![Seg::Var("process_num_02d".into())]),
            ],
            ..Default::default()
        };
        let text = r.render();
        assert_eq!(sh(&text, &[("SVKIT_INSTANCE", "01")]).1, "--id=1 01\n");
        let (code, _, err) = sh(&text, &[("SVKIT_INSTANCE", "07")]);
        assert_eq!(code, 111);
        assert!(err.contains("unknown instance: 07"), "{err}");
        assert_eq!(m.value(1, "process_num_02d"), "01");
    }

    #[test]
    fn finish_scripts() {
        let f = finish_script(&[], Some(&[0, 2]));
        assert_eq!(sh(&format!("set -- 0 0\n{f}"), &[]).0, 125);
        assert_eq!(sh(&format!("set -- 2 0\n{f}"), &[]).0, 125);
        assert_eq!(sh(&format!("set -- 1 0\n{f}"), &[]).0, 0);
        assert_eq!(sh(&format!("set -- -1 9\n{f}"), &[]).0, 0);
        let f = finish_script(&[], None);
        assert_eq!(sh(&format!("set -- 1 0\n{f}"), &[]).0, 125);
        let f = finish_script(&[], Some(&[]));
        assert_eq!(sh(&format!("set -- 0 0\n{f}"), &[]).0, 0);
    }

    #[test]
    fn log_run_writes_a_config_svlog_reads() {
        let text = log_run(
            &[],
            None,
            &Word::lit("/var/log/x"),
            &["s1024".into(), "n3".into()],
        );
        assert!(
            text.contains("printf '%s\\n' s1024 n3 > \"$dir/config\""),
            "{text}"
        );
        let (cfg, bad) = crate::svlog::config::parse(b"s1024\nn3\n");
        assert!(bad.is_empty());
        assert_eq!((cfg.size_max, cfg.keep_max), (1024, 3));
    }
}
