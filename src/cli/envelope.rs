//! `posd envelope open`: decrypt one sealed field of captured agent API traffic.
//!
//! When an exchange with the gateway goes wrong, the request and answer bodies in a packet
//! capture or a proxy log are sealed (`service`, `encry_data`). This reads one such value on
//! stdin and prints the JSON inside, with the same code the daemon uses, so what is printed is
//! exactly what the daemon would have seen.

use super::Exit;
use crate::envelope::{self, AgentKey};
use std::io::Read;

/// The agent key comes only from the environment: on a command line it would be visible to every
/// user of the machine in the process list.
const KEY_VARIABLE: &str = "POSD_AGENT_KEY";

#[derive(clap::Subcommand)]
pub enum Command {
    /// Read a sealed field on stdin and print the decrypted JSON (the key is taken from
    /// $POSD_AGENT_KEY).
    ///
    /// Exit status: 0 printed, 1 the text does not open with this key, 2 no usable key or input.
    Open(OpenArgs),
}

#[derive(clap::Args)]
pub struct OpenArgs {
    /// The field the text came from (`service`, `encry_data`), named in error messages.
    #[arg(long, default_value = "encry_data")]
    field: String,
}

pub fn run(command: Command) -> Exit {
    let Command::Open(args) = command;
    let key = match std::env::var(KEY_VARIABLE) {
        Ok(text) => match AgentKey::new(&text) {
            Ok(key) => key,
            Err(e) => {
                eprintln!("posd: {KEY_VARIABLE}: {e}");
                return Exit::Usage;
            }
        },
        Err(_) => {
            eprintln!("posd: {KEY_VARIABLE} is not set (the agent key opens the envelope)");
            return Exit::Usage;
        }
    };
    let mut sealed = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut sealed) {
        eprintln!("posd: cannot read the sealed text on stdin: {e}");
        return Exit::Usage;
    }
    if sealed.trim().is_empty() {
        eprintln!(
            "posd: stdin is empty; pipe in the sealed {} value",
            args.field
        );
        return Exit::Usage;
    }
    match open_to_json_text(&key, &args.field, &sealed) {
        Ok(text) => {
            outln!("{text}");
            Exit::Ok
        }
        Err(e) => {
            eprintln!("posd: {e}");
            Exit::Failed
        }
    }
}

/// The decrypted text, exactly as the sender serialised it, once it is known to be JSON.
fn open_to_json_text(
    key: &AgentKey,
    field: &str,
    sealed: &str,
) -> Result<String, envelope::OpenError> {
    envelope::open_json::<serde::de::IgnoredAny>(key, field, sealed)?;
    let plaintext = envelope::open(key, field, sealed)?;
    Ok(String::from_utf8(plaintext).expect("open_json checked the text is UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AgentKey {
        AgentKey::new("2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG").unwrap()
    }

    #[test]
    fn prints_the_plaintext_byte_for_byte() {
        let plaintext = r#"{"cmd":"api\/transaction","name":"\u73cd"}"#;
        let sealed = envelope::seal(&key(), plaintext.as_bytes());
        assert_eq!(
            open_to_json_text(&key(), "encry_data", &format!("{sealed}\n")).unwrap(),
            plaintext
        );
    }

    #[test]
    fn names_the_field_when_the_text_is_not_json() {
        let sealed = envelope::seal(&key(), b"code=250");
        let error = open_to_json_text(&key(), "service", &sealed).unwrap_err();
        assert!(error.to_string().starts_with("service: "), "{error}");
        assert!(matches!(error, envelope::OpenError::NotJson { .. }));
    }
}
