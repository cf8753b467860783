//! Logs through tracing, human-readable by default and JSON with
//! `DHIKRA_LOG_FORMAT=json`; every line passes a writer that blanks out any
//! registered secret, so the bot token cannot reach a log even if a library
//! prints a request URL (`/bot<token>/…`) or a `Bot`'s `Debug`.

use std::io::{self, IsTerminal, Write};
use std::sync::RwLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret to blank out of every log line from now on.
pub fn register_secret(secret: &str) {
    if secret.len() < 8 {
        return; // Too short to be a token; blanking it would mangle ordinary text.
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
    }
}

/// `text` with every registered secret replaced by `[redacted]`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    secrets
        .iter()
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
}

/// Writes one formatted event to stderr after redaction.
pub struct Redacting;

impl Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = Redacting;
    fn make_writer(&'a self) -> Self::Writer {
        Redacting
    }
}

/// Sets up logging: `RUST_LOG` filters (default `info`), `DHIKRA_LOG_FORMAT=json` for JSON.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::stderr().is_terminal())
        .with_writer(Redacting);
    let json = std::env::var("DHIKRA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_blanked() {
        register_secret("AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao");
        let line = "GET http://x/bot535362388:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao/GetMe failed";
        assert_eq!(
            redact(line),
            "GET http://x/bot535362388:[redacted]/GetMe failed"
        );
        register_secret("short");
        assert_eq!(redact("a short text"), "a short text");
    }
}
