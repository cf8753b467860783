//! Shared test helpers: the `dhikra` binary with a temp config, and temp data folders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `data/` and `config/` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temp folder holding a config that points at `data_dir` and a fresh database.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(extra_config: &str) -> Self {
        Self::with_data(&root().join("data"), extra_config)
    }

    pub fn with_data(data_dir: &Path, extra_config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "data_dir = {:?}\ndatabase = {:?}\n{extra_config}\n",
            data_dir.display().to_string(),
            dir.path().join("dhikra.db").display().to_string()
        );
        std::fs::write(dir.path().join("dhikra.toml"), config).expect("write config");
        Self { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("dhikra.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("dhikra.db")
    }

    /// `dhikra --config <sandbox> args...` with no token and no DHIKRA_* from the outside.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dhikra"));
        cmd.arg("--config").arg(self.config()).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("DHIKRA_") || k.starts_with("TELOXIDE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUST_LOG", "warn");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run dhikra")
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A data folder with the given event files (name, contents).
pub fn data_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("events")).expect("events dir");
    for (name, text) in files {
        std::fs::write(dir.path().join("events").join(name), text).expect("write event");
    }
    dir
}

/// A valid event file with the given id, date and alias.
pub fn event_toml(id: &str, date: &str, alias: &str) -> String {
    format!(
        r#"id = "{id}"
kind = "battle"
title_ar = "معركة {alias}"
title_en = "Battle {id}"
aliases = ["{alias}"]
date = "{date}"
summary_ar = "نص عربي عن {alias}."
[[sources]]
title = "Reference"
url = "https://example.org/{id}"
"#
    )
}
