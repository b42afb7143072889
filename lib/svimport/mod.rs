//! svimport: converts supervisord configurations and Procfiles into svkit
//! service directories, with a report of what every setting became. See
//! svimport(1).
//!
//! One module per job: `ini` reads supervisord's INI dialect, `expand` its
//! `%(name)s` expansions, `shellwords` its two ways of splitting words,
//! `datatypes` its value types, `fnmatch` its `[include]` globs;
//! `supervisord` and `procfile` map a configuration to service
//! directories, written as `script`s quoted by `shquote`; `report` says
//! what became of each setting and `writer` puts the directories on disk.

pub mod datatypes;
pub mod expand;
pub mod fnmatch;
pub mod ini;
pub mod procfile;
pub mod program;
pub mod report;
pub mod script;
pub mod shellwords;
pub mod shquote;
pub mod supervisord;
pub mod writer;
