//! Configuration: one TOML file, every setting overridable by a `POSD_*` environment variable.
//!
//! Errors name the setting (`gateway.agent_key`) and where it can be given, so an operator can fix a
//! till without reading the source.

use crate::envelope::AgentKey;
use crate::gateway::GatewayConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the configuration file is looked for when none is named.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/posd/posd.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub gateway: GatewaySettings,
}

/// `[gateway]`: where the agent API is and who we are to it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    pub url: Option<String>,
    pub agent_uid: Option<String>,
    /// The 32-character agent key; prefer `agent_key_file` or systemd credentials in production.
    pub agent_key: Option<String>,
    pub agent_key_file: Option<PathBuf>,
    pub store_uid: Option<String>,
    /// An extra CA certificate (PEM) to trust, for the simulator or a private test gateway.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    /// The consumer account (`user_id`) charges are filed under when the POS app gives none.
    pub user_id: String,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            url: None,
            agent_uid: None,
            agent_key: None,
            agent_key_file: None,
            store_uid: None,
            ca_file: None,
            connect_timeout_ms: 5_000,
            timeout_ms: 20_000,
            user_id: "pos".to_owned(),
        }
    }
}

impl std::fmt::Debug for GatewaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewaySettings")
            .field("url", &self.url)
            .field("agent_uid", &self.agent_uid)
            .field("agent_key", &self.agent_key.as_ref().map(|_| "<redacted>"))
            .field("agent_key_file", &self.agent_key_file)
            .field("store_uid", &self.store_uid)
            .field("ca_file", &self.ca_file)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("timeout_ms", &self.timeout_ms)
            .field("user_id", &self.user_id)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {detail}")]
    Parse { path: String, detail: String },
    #[error("{key} is not set (set it in the configuration file, or with {env})")]
    Missing {
        key: &'static str,
        env: &'static str,
    },
    #[error("{key} (from {source_name}): {problem}")]
    Invalid {
        key: &'static str,
        source_name: String,
        problem: String,
    },
}

/// An environment variable and the setting it overrides.
struct Override {
    env: &'static str,
    key: &'static str,
    apply: fn(&mut Config, String) -> Result<(), String>,
}

fn millis(value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number of milliseconds"))
}

const OVERRIDES: &[Override] = &[
    Override {
        env: "POSD_GATEWAY_URL",
        key: "gateway.url",
        apply: |c, v| {
            c.gateway.url = Some(v);
            Ok(())
        },
    },
    Override {
        env: "POSD_AGENT_UID",
        key: "gateway.agent_uid",
        apply: |c, v| {
            c.gateway.agent_uid = Some(v);
            Ok(())
        },
    },
    Override {
        env: "POSD_AGENT_KEY",
        key: "gateway.agent_key",
        apply: |c, v| {
            c.gateway.agent_key = Some(v);
            Ok(())
        },
    },
    Override {
        env: "POSD_AGENT_KEY_FILE",
        key: "gateway.agent_key_file",
        apply: |c, v| {
            c.gateway.agent_key_file = Some(v.into());
            Ok(())
        },
    },
    Override {
        env: "POSD_STORE_UID",
        key: "gateway.store_uid",
        apply: |c, v| {
            c.gateway.store_uid = Some(v);
            Ok(())
        },
    },
    Override {
        env: "POSD_CA_FILE",
        key: "gateway.ca_file",
        apply: |c, v| {
            c.gateway.ca_file = Some(v.into());
            Ok(())
        },
    },
    Override {
        env: "POSD_GATEWAY_CONNECT_TIMEOUT_MS",
        key: "gateway.connect_timeout_ms",
        apply: |c, v| {
            c.gateway.connect_timeout_ms = millis(&v)?;
            Ok(())
        },
    },
    Override {
        env: "POSD_GATEWAY_TIMEOUT_MS",
        key: "gateway.timeout_ms",
        apply: |c, v| {
            c.gateway.timeout_ms = millis(&v)?;
            Ok(())
        },
    },
    Override {
        env: "POSD_USER_ID",
        key: "gateway.user_id",
        apply: |c, v| {
            c.gateway.user_id = v;
            Ok(())
        },
    },
];

impl Config {
    /// Reads `path` (or nothing, when `None`), then applies the environment through `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(path) => Config::parse_file(path)?,
            None => Config::default(),
        };
        for o in OVERRIDES {
            if let Some(value) = env(o.env) {
                (o.apply)(&mut config, value).map_err(|problem| ConfigError::Invalid {
                    key: o.key,
                    source_name: o.env.to_owned(),
                    problem,
                })?;
            }
        }
        if config.gateway.agent_key.is_none()
            && config.gateway.agent_key_file.is_none()
            && let Some(dir) = env("CREDENTIALS_DIRECTORY")
        {
            let credential = Path::new(&dir).join("agent-key");
            if credential.exists() {
                config.gateway.agent_key_file = Some(credential);
            }
        }
        Ok(config)
    }

    /// The environment variables that override settings, with the settings they set.
    pub fn overrides() -> impl Iterator<Item = (&'static str, &'static str)> {
        OVERRIDES.iter().map(|o| (o.env, o.key))
    }

    fn parse_file(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: shown,
            detail: e.to_string(),
        })
    }
}

impl GatewaySettings {
    /// The settings checked and completed into what the client needs.
    pub fn resolve(&self) -> Result<GatewayConfig, ConfigError> {
        let url_text = self.url.as_deref().ok_or(ConfigError::Missing {
            key: "gateway.url",
            env: "POSD_GATEWAY_URL",
        })?;
        let url = reqwest::Url::parse(url_text).map_err(|e| ConfigError::Invalid {
            key: "gateway.url",
            source_name: url_text.to_owned(),
            problem: e.to_string(),
        })?;
        let agent_uid = self.agent_uid.clone().ok_or(ConfigError::Missing {
            key: "gateway.agent_uid",
            env: "POSD_AGENT_UID",
        })?;
        let store_uid = self.store_uid.clone().ok_or(ConfigError::Missing {
            key: "gateway.store_uid",
            env: "POSD_STORE_UID",
        })?;
        let (key_text, key_source) = match (&self.agent_key, &self.agent_key_file) {
            (Some(key), _) => (key.clone(), "gateway.agent_key".to_owned()),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file).map_err(|e| ConfigError::Invalid {
                    key: "gateway.agent_key_file",
                    source_name: file.display().to_string(),
                    problem: format!("cannot read it: {e}"),
                })?;
                // Editors and `echo` add a final newline that is not part of the key.
                (
                    text.trim_end_matches(['\r', '\n']).to_owned(),
                    file.display().to_string(),
                )
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    key: "gateway.agent_key",
                    env: "POSD_AGENT_KEY or POSD_AGENT_KEY_FILE",
                });
            }
        };
        let agent_key = AgentKey::new(&key_text).map_err(|e| ConfigError::Invalid {
            key: "gateway.agent_key",
            source_name: key_source,
            problem: e.to_string(),
        })?;
        Ok(GatewayConfig {
            url,
            agent_uid,
            agent_key,
            store_uid,
            ca_file: self.ca_file.clone(),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            timeout: Duration::from_millis(self.timeout_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn environment_completes_the_gateway() {
        let config = Config::load(
            None,
            env(&[
                ("POSD_GATEWAY_URL", "https://pay.usecase.cc/api/agent"),
                ("POSD_AGENT_UID", "518169081001"),
                ("POSD_AGENT_KEY", "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG"),
                ("POSD_STORE_UID", "289151880002"),
                ("POSD_GATEWAY_TIMEOUT_MS", "1500"),
            ]),
        )
        .unwrap();
        let gateway = config.gateway.resolve().unwrap();
        assert_eq!(gateway.timeout, Duration::from_millis(1500));
        assert!(!format!("{gateway:?}").contains("2MrhtRYe"), "key redacted");
    }

    #[test]
    fn errors_name_the_setting() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(
            config.gateway.resolve().unwrap_err().to_string(),
            "gateway.url is not set (set it in the configuration file, or with POSD_GATEWAY_URL)"
        );
        let e = Config::load(None, env(&[("POSD_GATEWAY_TIMEOUT_MS", "soon")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("gateway.timeout_ms (from POSD_GATEWAY_TIMEOUT_MS)")
        );
        let e = Config::load(
            None,
            env(&[
                ("POSD_GATEWAY_URL", "https://x/api/agent"),
                ("POSD_AGENT_UID", "1"),
                ("POSD_STORE_UID", "2"),
                ("POSD_AGENT_KEY", "short"),
            ]),
        )
        .unwrap()
        .gateway
        .resolve()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "gateway.agent_key (from gateway.agent_key): the agent key must be exactly 32 bytes, got 5"
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posd.toml");
        std::fs::write(&path, "[gateway]\nurll = \"https://x\"\n").unwrap();
        let e = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(e.contains("unknown field `urll`"), "{e}");
    }

    #[test]
    fn key_file_and_systemd_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("agent-key"),
            "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG\n",
        )
        .unwrap();
        let config = Config::load(
            None,
            env(&[
                ("POSD_GATEWAY_URL", "https://x/api/agent"),
                ("POSD_AGENT_UID", "1"),
                ("POSD_STORE_UID", "2"),
                ("CREDENTIALS_DIRECTORY", dir.path().to_str().unwrap()),
            ]),
        )
        .unwrap();
        config.gateway.resolve().unwrap();
    }
}
