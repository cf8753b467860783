//! The bot token: read from the environment, a file or systemd's credential, and
//! kept in a type whose `Debug` and `Display` never show it. Its secret part is
//! registered with the log redactor the moment it is parsed.

use std::fmt;
use std::path::Path;

use crate::config::ConfigError;

/// The bot token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(raw: &str) -> Result<Self, ConfigError> {
        let raw = raw.trim();
        let (id, secret) = raw.split_once(':').ok_or(ConfigError::BadToken(
            "is not of the form <bot id>:<secret>",
        ))?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || secret.is_empty() {
            return Err(ConfigError::BadToken(
                "is not of the form <bot id>:<secret>",
            ));
        }
        if !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::BadToken("has characters a token never has"));
        }
        crate::logging::register_secret(secret);
        Ok(Self(raw.to_owned()))
    }

    pub fn from_sources(
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        if let Some(t) = env("TELOXIDE_TOKEN").filter(|t| !t.trim().is_empty()) {
            return Self::new(&t);
        }
        let file = file
            .map(Path::to_owned)
            .or_else(|| env("CREDENTIALS_DIRECTORY").map(|d| Path::new(&d).join("telegram-token")));
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
                    file: path.clone(),
                    reason: e.to_string(),
                })?;
                Self::new(&text)
            }
            None => Err(ConfigError::NoToken),
        }
    }

    /// The token itself, for handing to teloxide and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
