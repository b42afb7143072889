//! svimport: write svkit service directories from a supervisord
//! configuration or a Procfile, and report what every setting became.
//! See svimport(1).
//!
//! This file is the command line and the exit codes only; the conversion
//! is in `svkit::svimport`.

use clap::{Arg, ArgAction, ArgMatches, Command};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use svkit::msg;
use svkit::svimport::{procfile, supervisord, writer};

const PROG: &str = "svimport";

fn common(cmd: Command) -> Command {
    cmd.arg(
        Arg::new("output")
            .short('o')
            .long("output")
            .value_name("DIR")
            .value_parser(clap::value_parser!(PathBuf))
            .help("Write the service directories into DIR (default: the current directory)"),
    )
    .arg(
        Arg::new("force")
            .long("force")
            .action(ArgAction::SetTrue)
            .help("Replace service directories that already exist"),
    )
    .arg(
        Arg::new("dry-run")
            .short('n')
            .long("dry-run")
            .action(ArgAction::SetTrue)
            .help("Write nothing; print the report and the files it would write"),
    )
}

fn cli() -> Command {
    Command::new(PROG)
        .version(env!("CARGO_PKG_VERSION"))
        .about("Convert a supervisord configuration or a Procfile into svkit service directories")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(common(
            Command::new("supervisord")
                .about("Convert supervisord configuration files (with their [include]s)")
                .arg(
                    Arg::new("files")
                        .value_name("FILE")
                        .required(true)
                        .num_args(1..)
                        .value_parser(clap::value_parser!(PathBuf)),
                ),
        ))
        .subcommand(common(
            Command::new("procfile")
                .about("Convert a Procfile, with PORT set the way foreman sets it")
                .arg(
                    Arg::new("port-base")
                        .short('p')
                        .long("port-base")
                        .value_name("PORT")
                        .value_parser(clap::value_parser!(u16))
                        .help("PORT of the first process type (default 5000, as foreman's -p)"),
                )
                .arg(
                    Arg::new("file")
                        .value_name("FILE")
                        .required(true)
                        .value_parser(clap::value_parser!(PathBuf)),
                ),
        ))
}

fn main() -> ExitCode {
    let m = match cli().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind::*;
            return match e.kind() {
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    ExitCode::from(if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
                        100
                    } else {
                        0
                    })
                }
                _ => {
                    let text = e.render().to_string();
                    // clap's message up to its blank line, on one line.
                    let what: Vec<&str> = text
                        .lines()
                        .take_while(|l| !l.trim().is_empty())
                        .map(str::trim)
                        .collect();
                    let what = what.join(" ");
                    let what = what.trim_start_matches("error: ");
                    msg::fatal_line(PROG, format_args!("usage: {what}"));
                    let _ = writeln!(
                        std::io::stderr(),
                        "usage: svimport supervisord [-o DIR] [--force] [--dry-run] FILE...\n       svimport procfile [-o DIR] [--force] [--dry-run] [--port-base PORT] FILE"
                    );
                    ExitCode::from(100)
                }
            };
        }
    };
    let (dirs, report, sub) = match m.subcommand() {
        Some(("supervisord", sm)) => {
            let files: Vec<PathBuf> = sm
                .get_many::<PathBuf>("files")
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let opts = supervisord::Options {
                env: std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                    .collect::<BTreeMap<_, _>>(),
                host_node_name: nix::unistd::gethostname()
                    .ok()
                    .and_then(|h| h.into_string().ok())
                    .unwrap_or_default(),
            };
            match supervisord::convert(&files, &opts) {
                Ok(c) => (c.dirs, c.report, sm),
                Err(e) => return fail_input(&e, matches!(e, supervisord::Error::Read { .. })),
            }
        }
        Some(("procfile", sm)) => {
            let Some(file) = sm.get_one::<PathBuf>("file") else {
                return ExitCode::from(100);
            };
            let base = sm
                .get_one::<u16>("port-base")
                .map_or(procfile::DEFAULT_PORT_BASE, |p| u32::from(*p));
            match procfile::convert(file, base) {
                Ok((d, r)) => (d, r, sm),
                Err(e) => return fail_input(&e, matches!(e, procfile::Error::Read { .. })),
            }
        }
        _ => return ExitCode::from(100),
    };
    write(&dirs, &report, sub)
}

/// Bad input exits 100 (the input is unusable, as a usage error), a file
/// that cannot be read 111.
fn fail_input(e: &dyn std::fmt::Display, system: bool) -> ExitCode {
    msg::fatal_line(PROG, e);
    ExitCode::from(if system { 111 } else { 100 })
}

fn write(
    dirs: &[writer::ServiceDir],
    report: &svkit::svimport::report::Report,
    m: &ArgMatches,
) -> ExitCode {
    let out = m
        .get_one::<PathBuf>("output")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let force = m.get_flag("force");
    let dry = m.get_flag("dry-run");
    let mut stdout = std::io::stdout().lock();
    if dry {
        let _ = write!(stdout, "{}", report.render());
        let _ = writeln!(
            stdout,
            "svimport: dry run: would write into {}:",
            out.display()
        );
        let _ = write!(stdout, "{}", writer::listing(dirs));
        return ExitCode::SUCCESS;
    }
    if let Err(e) = writer::write_all(&out, dirs, force) {
        drop(stdout);
        msg::fatal_line(PROG, &e);
        return ExitCode::from(111);
    }
    let _ = write!(stdout, "{}", report.render());
    let names: Vec<&str> = dirs.iter().map(|d| d.name.as_str()).collect();
    let _ = writeln!(
        stdout,
        "svimport: wrote {} into {}: {}; {} settings without an equivalent, {} approximated",
        if names.len() == 1 {
            "1 directory".to_string()
        } else {
            format!("{} directories", names.len())
        },
        out.display(),
        names.join(" "),
        report.count(svkit::svimport::report::Status::NoEquivalent),
        report.count(svkit::svimport::report::Status::Approximated),
    );
    ExitCode::SUCCESS
}
