//! Configuration: one TOML file, every setting overridable by a `POSD_*` environment variable.
//!
//! Errors name the setting (`gateway.agent_key`) and where it can be given, so an operator can fix a
//! till without reading the source.

use crate::envelope::AgentKey;
use crate::gateway::GatewayConfig;
use crate::order::Policy;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Where the configuration file is looked for when none is named.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/posd/posd.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub gateway: GatewaySettings,
    #[serde(default)]
    pub daemon: DaemonSettings,
    /// How orders are retried, reconciled and capped.
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub printer: PrinterSettings,
    #[serde(default)]
    pub scan: ScanSettings,
}

/// `[scan]`: where payment codes are read from, and when.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanSettings {
    /// `pushed` (frames from the POS app, the only choice on Android), `camera` (the profile's
    /// V4L2 camera; needs the `camera` feature) or `folder:PATH` (replay saved frames).
    pub source: String,
    /// When a charge comes without a payment code: `key` waits for the scan key, `auto` starts
    /// a scan at once, `none` waits for the POS app to send the code.
    pub on_charge: String,
    /// How long one scan may run.
    pub timeout_ms: u64,
    /// How long one frame may take to decode before the next is tried (default: 15 ms for live
    /// frames, 2000 ms for saved ones). Raise it on a slow device.
    pub frame_budget_ms: Option<u64>,
    /// Keep the last frames of every scan that read nothing in this folder (at most 5 a scan and
    /// 200 in all), so a field problem can be replayed with `folder:`. Off by default: the frames
    /// may show a customer's code, so the folder must stay on the device.
    pub save_failed_frames: Option<PathBuf>,
    /// `[scan.codes]`: what a payment code read from a frame looks like (`min_length`,
    /// `max_length`, and `wallets`, a list of `{wallet, pattern}` that replaces the built-in
    /// table when given).
    pub codes: crate::scan::CodeRulesConfig,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            source: "pushed".to_owned(),
            on_charge: "key".to_owned(),
            timeout_ms: 20_000,
            frame_budget_ms: None,
            save_failed_frames: None,
            codes: crate::scan::CodeRulesConfig::default(),
        }
    }
}
/// `[printer]`: which device profile the till is, and how its receipts look.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterSettings {
    /// A built-in profile (`sunmi-v2-pro`, `generic-58mm`, `generic-80mm`) or a profile file.
    pub profile: String,
    /// The printer's device or a file, instead of the one the profile names.
    pub device: Option<String>,
    /// The merchant's layout settings (`receipts/layout.toml`); built-in defaults when absent.
    pub layout: Option<PathBuf>,
    /// Also draw a PNG preview of every receipt under `<data_dir>/previews`.
    pub previews: bool,
    /// On the app printer link: how long the POS app has to report a leased job's result before
    /// the job is handed out again, marked `補印`.
    pub app_lease_secs: u64,
    /// What to do with an answer whose `invoice_print_device` is 0 (自行處理, the merchant
    /// handles printing): posd is that merchant's own system, so by default it prints as
    /// `invoice_print_type` says; `hold` prints only when a reprint is asked for.
    pub print_device_0: PrintDeviceZero,
}

/// `printer.print_device_0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintDeviceZero {
    #[default]
    Print,
    Hold,
}

impl std::str::FromStr for PrintDeviceZero {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "print" => Ok(PrintDeviceZero::Print),
            "hold" => Ok(PrintDeviceZero::Hold),
            other => Err(format!("{other:?} is not print or hold")),
        }
    }
}

impl std::fmt::Display for PrintDeviceZero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrintDeviceZero::Print => "print",
            PrintDeviceZero::Hold => "hold",
        })
    }
}

impl Default for PrinterSettings {
    fn default() -> Self {
        PrinterSettings {
            profile: "sunmi-v2-pro".to_owned(),
            device: None,
            layout: None,
            previews: false,
            app_lease_secs: 60,
            print_device_0: PrintDeviceZero::Print,
        }
    }
}

/// `[daemon]`: where the daemon keeps its data and listens, and who it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSettings {
    /// The order store. Default: `$STATE_DIRECTORY` under systemd, else `/var/lib/posd` with a
    /// configuration file, else `~/.local/state/posd`.
    pub data_dir: Option<PathBuf>,
    /// The local API's Unix socket. Default: `$RUNTIME_DIRECTORY/posd.sock` under systemd, else
    /// `/run/posd/posd.sock` with a configuration file, else `posd.sock` in the data directory.
    pub socket: Option<PathBuf>,
    /// The group given the socket (mode 0660), e.g. the POS app's group.
    pub socket_group: Option<String>,
    /// A loopback address for the API over TCP (bearer token required), e.g. `127.0.0.1:8790`.
    pub tcp_listen: Option<SocketAddr>,
    pub tcp_token: Option<String>,
    pub tcp_token_file: Option<PathBuf>,
    /// This till's name in generated order ids (letters, digits, `_`, `.`; at most 24). Unset, a
    /// random one is made at the first start and kept in the data directory (`device-id`), so two
    /// tills never share order ids by default.
    pub device_id: Option<String>,
    /// Final orders older than this many days are pruned (0 keeps them forever).
    pub retention_days: u32,
    /// New charges are refused while the disk holding the data directory has less than this many
    /// MiB free, so the orders already taken always have room to finish (0 turns it off).
    pub min_free_mb: u64,
    /// The order store checkpoints once this many seconds after its last write (sled made
    /// durable, the journal emptied), never again while nothing changes.
    pub checkpoint_idle_secs: u64,
    /// Open connections to the local API at once.
    pub max_connections: usize,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            data_dir: None,
            socket: None,
            socket_group: None,
            tcp_listen: None,
            tcp_token: None,
            tcp_token_file: None,
            device_id: None,
            retention_days: 90,
            min_free_mb: 32,
            checkpoint_idle_secs: 30,
            max_connections: 64,
        }
    }
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
    /// Run the gateway simulator inside the daemon instead of calling `url` (for demos and
    /// trials; the default when there is no configuration at all).
    pub simulator: bool,
    /// DNS servers (`ip:port`) to resolve the gateway's host name with, instead of the system's
    /// resolver: needed on Android, which has no `/etc/resolv.conf` for the static binary.
    pub dns_servers: Vec<SocketAddr>,
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
            simulator: false,
            dns_servers: Vec::new(),
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
            .field("simulator", &self.simulator)
            .field("dns_servers", &self.dns_servers)
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

fn parse<T: FromStr>(slot: &mut T, value: String) -> Result<(), String> {
    *slot = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a valid value"))?;
    Ok(())
}

fn parse_opt<T: FromStr>(slot: &mut Option<T>, value: String) -> Result<(), String> {
    *slot = Some(
        value
            .trim()
            .parse()
            .map_err(|_| format!("{value:?} is not a valid value"))?,
    );
    Ok(())
}

/// A comma-separated list, e.g. `8.8.8.8:53,1.1.1.1:53`.
fn list<T: FromStr>(slot: &mut Vec<T>, value: String) -> Result<(), String> {
    *slot = value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse()
                .map_err(|_| format!("{item:?} is not a valid value"))
        })
        .collect::<Result<_, _>>()?;
    Ok(())
}

fn flag(slot: &mut bool, value: String) -> Result<(), String> {
    *slot = match value.trim() {
        "1" | "true" | "yes" => true,
        "0" | "false" | "no" | "" => false,
        other => return Err(format!("{other:?} is not true or false")),
    };
    Ok(())
}

macro_rules! overrides {
    ($($env:literal => $key:literal : |$c:ident, $v:ident| $apply:expr;)+) => {
        const OVERRIDES: &[Override] = &[$(Override {
            env: $env,
            key: $key,
            apply: |$c, $v| $apply,
        },)+];
    };
}

overrides! {
    "POSD_GATEWAY_URL" => "gateway.url": |c, v| parse_opt(&mut c.gateway.url, v);
    "POSD_AGENT_UID" => "gateway.agent_uid": |c, v| parse_opt(&mut c.gateway.agent_uid, v);
    "POSD_AGENT_KEY" => "gateway.agent_key": |c, v| parse_opt(&mut c.gateway.agent_key, v);
    "POSD_AGENT_KEY_FILE" => "gateway.agent_key_file": |c, v| parse_opt(&mut c.gateway.agent_key_file, v);
    "POSD_STORE_UID" => "gateway.store_uid": |c, v| parse_opt(&mut c.gateway.store_uid, v);
    "POSD_CA_FILE" => "gateway.ca_file": |c, v| parse_opt(&mut c.gateway.ca_file, v);
    "POSD_GATEWAY_CONNECT_TIMEOUT_MS" => "gateway.connect_timeout_ms": |c, v| parse(&mut c.gateway.connect_timeout_ms, v);
    "POSD_GATEWAY_TIMEOUT_MS" => "gateway.timeout_ms": |c, v| parse(&mut c.gateway.timeout_ms, v);
    "POSD_USER_ID" => "gateway.user_id": |c, v| parse(&mut c.gateway.user_id, v);
    "POSD_GATEWAY_SIMULATOR" => "gateway.simulator": |c, v| flag(&mut c.gateway.simulator, v);
    "POSD_DNS_SERVERS" => "gateway.dns_servers": |c, v| list(&mut c.gateway.dns_servers, v);
    "POSD_DATA_DIR" => "daemon.data_dir": |c, v| parse_opt(&mut c.daemon.data_dir, v);
    "POSD_SOCKET" => "daemon.socket": |c, v| parse_opt(&mut c.daemon.socket, v);
    "POSD_SOCKET_GROUP" => "daemon.socket_group": |c, v| parse_opt(&mut c.daemon.socket_group, v);
    "POSD_TCP_LISTEN" => "daemon.tcp_listen": |c, v| parse_opt(&mut c.daemon.tcp_listen, v);
    "POSD_TCP_TOKEN" => "daemon.tcp_token": |c, v| parse_opt(&mut c.daemon.tcp_token, v);
    "POSD_TCP_TOKEN_FILE" => "daemon.tcp_token_file": |c, v| parse_opt(&mut c.daemon.tcp_token_file, v);
    "POSD_DEVICE_ID" => "daemon.device_id": |c, v| parse_opt(&mut c.daemon.device_id, v);
    "POSD_RETENTION_DAYS" => "daemon.retention_days": |c, v| parse(&mut c.daemon.retention_days, v);
    "POSD_MIN_FREE_MB" => "daemon.min_free_mb": |c, v| parse(&mut c.daemon.min_free_mb, v);
    "POSD_CHECKPOINT_IDLE_SECS" => "daemon.checkpoint_idle_secs": |c, v| parse(&mut c.daemon.checkpoint_idle_secs, v);
    "POSD_MAX_CONNECTIONS" => "daemon.max_connections": |c, v| parse(&mut c.daemon.max_connections, v);
    "POSD_PROFILE" => "printer.profile": |c, v| parse(&mut c.printer.profile, v);
    "POSD_PRINTER_DEVICE" => "printer.device": |c, v| parse_opt(&mut c.printer.device, v);
    "POSD_LAYOUT" => "printer.layout": |c, v| parse_opt(&mut c.printer.layout, v);
    "POSD_PREVIEWS" => "printer.previews": |c, v| flag(&mut c.printer.previews, v);
    "POSD_PRINTER_APP_LEASE_SECS" => "printer.app_lease_secs": |c, v| parse(&mut c.printer.app_lease_secs, v);
    "POSD_PRINT_DEVICE_0" => "printer.print_device_0": |c, v| parse(&mut c.printer.print_device_0, v);
    "POSD_SCAN_SOURCE" => "scan.source": |c, v| parse(&mut c.scan.source, v);
    "POSD_SCAN_ON_CHARGE" => "scan.on_charge": |c, v| parse(&mut c.scan.on_charge, v);
    "POSD_SCAN_TIMEOUT_MS" => "scan.timeout_ms": |c, v| parse(&mut c.scan.timeout_ms, v);
    "POSD_SCAN_FRAME_BUDGET_MS" => "scan.frame_budget_ms": |c, v| parse_opt(&mut c.scan.frame_budget_ms, v);
    "POSD_SCAN_SAVE_FAILED_FRAMES" => "scan.save_failed_frames": |c, v| parse_opt(&mut c.scan.save_failed_frames, v);
    "POSD_POLICY_BACKOFF_INITIAL_MS" => "policy.backoff_initial_ms": |c, v| parse(&mut c.policy.backoff_initial_ms, v);
    "POSD_POLICY_BACKOFF_MAX_MS" => "policy.backoff_max_ms": |c, v| parse(&mut c.policy.backoff_max_ms, v);
    "POSD_POLICY_PAYMENT_CODE_LIFETIME_SECS" => "policy.payment_code_lifetime_secs": |c, v| parse(&mut c.policy.payment_code_lifetime_secs, v);
    "POSD_POLICY_MAX_ATTEMPTS" => "policy.max_attempts": |c, v| parse(&mut c.policy.max_attempts, v);
    "POSD_POLICY_MAX_AGE_SECS" => "policy.max_age_secs": |c, v| parse(&mut c.policy.max_age_secs, v);
    "POSD_POLICY_RECONCILE_POLL_MS" => "policy.reconcile_poll_ms": |c, v| parse(&mut c.policy.reconcile_poll_ms, v);
    "POSD_POLICY_NOT_FOUND_SETTLE_SECS" => "policy.not_found_settle_secs": |c, v| parse(&mut c.policy.not_found_settle_secs, v);
    "POSD_POLICY_MAX_OPEN_ORDERS" => "policy.max_open_orders": |c, v| parse(&mut c.policy.max_open_orders, v);
    "POSD_POLICY_MAX_OPEN_AMOUNT" => "policy.max_open_amount": |c, v| parse(&mut c.policy.max_open_amount, v);
    "POSD_POLICY_MAX_REQUESTS_IN_FLIGHT" => "policy.max_requests_in_flight": |c, v| parse(&mut c.policy.max_requests_in_flight, v);
}

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
        config.key_from_credentials(&env);
        Ok(config)
    }

    /// Like [`Config::load`], but finds every problem instead of stopping at the first: each
    /// setting of the file is read on its own, then each override. The configuration holds the
    /// settings that were good.
    pub fn load_all(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> (Config, Vec<ConfigError>) {
        let mut problems = Vec::new();
        let mut config = match path {
            Some(path) => Config::parse_file_each(path, &mut problems),
            None => Config::default(),
        };
        for o in OVERRIDES {
            if let Some(value) = env(o.env)
                && let Err(problem) = (o.apply)(&mut config, value)
            {
                problems.push(ConfigError::Invalid {
                    key: o.key,
                    source_name: o.env.to_owned(),
                    problem,
                });
            }
        }
        config.key_from_credentials(&env);
        (config, problems)
    }

    /// systemd's credential `agent-key`, when no key is configured.
    fn key_from_credentials(&mut self, env: &impl Fn(&str) -> Option<String>) {
        if self.gateway.agent_key.is_none()
            && self.gateway.agent_key_file.is_none()
            && let Some(dir) = env("CREDENTIALS_DIRECTORY")
        {
            let credential = Path::new(&dir).join("agent-key");
            if credential.exists() {
                self.gateway.agent_key_file = Some(credential);
            }
        }
    }

    /// The file read setting by setting: serde stops at the first bad one, so each is tried
    /// alone, and the good ones make the configuration.
    fn parse_file_each(path: &Path, problems: &mut Vec<ConfigError>) -> Config {
        let shown = path.display().to_string();
        let table = match std::fs::read_to_string(path) {
            Ok(text) => match text.parse::<toml::Table>() {
                Ok(table) => table,
                Err(e) => {
                    problems.push(ConfigError::Parse {
                        path: shown,
                        detail: e.to_string(),
                    });
                    return Config::default();
                }
            },
            Err(source) => {
                problems.push(ConfigError::Read {
                    path: shown,
                    source,
                });
                return Config::default();
            }
        };
        let read = |table: toml::Table| Config::deserialize(toml::Value::Table(table));
        let mut good = toml::Table::new();
        for (section, value) in table {
            let settings = match value {
                toml::Value::Table(settings) => settings,
                other => {
                    let alone = toml::Table::from_iter([(section.clone(), other)]);
                    if let Err(e) = read(alone) {
                        problems.push(ConfigError::Parse {
                            path: shown.clone(),
                            detail: format!("{section}: {}", first_line(&e)),
                        });
                    }
                    continue;
                }
            };
            let mut kept = toml::Table::new();
            for (key, value) in settings {
                let one = toml::Table::from_iter([(key.clone(), value.clone())]);
                let alone = toml::Table::from_iter([(section.clone(), toml::Value::Table(one))]);
                match read(alone) {
                    Ok(_) => {
                        kept.insert(key, value);
                    }
                    Err(e) => problems.push(ConfigError::Parse {
                        path: shown.clone(),
                        detail: format!("{section}.{key}: {}", first_line(&e)),
                    }),
                }
            }
            good.insert(section, toml::Value::Table(kept));
        }
        read(good).unwrap_or_default()
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

/// serde's message without the lines toml adds to say where: the caller names the setting.
fn first_line(e: &toml::de::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

impl GatewaySettings {
    /// The settings checked and completed into what the client needs.
    pub fn resolve(&self) -> Result<GatewayConfig, ConfigError> {
        self.resolve_all()
            .map_err(|mut problems| problems.swap_remove(0))
    }

    /// [`GatewaySettings::resolve`], naming every problem (never none) when it fails.
    pub fn resolve_all(&self) -> Result<GatewayConfig, Vec<ConfigError>> {
        let mut problems = Vec::new();
        let url = match self.url.as_deref() {
            Some(url_text) => reqwest::Url::parse(url_text)
                .map_err(|e| ConfigError::Invalid {
                    key: "gateway.url",
                    source_name: url_text.to_owned(),
                    problem: e.to_string(),
                })
                .map_err(|e| problems.push(e))
                .ok(),
            None => {
                problems.push(ConfigError::Missing {
                    key: "gateway.url",
                    env: "POSD_GATEWAY_URL",
                });
                None
            }
        };
        let agent_uid = self.agent_uid.clone().or_else(|| {
            problems.push(ConfigError::Missing {
                key: "gateway.agent_uid",
                env: "POSD_AGENT_UID",
            });
            None
        });
        let store_uid = self.store_uid.clone().or_else(|| {
            problems.push(ConfigError::Missing {
                key: "gateway.store_uid",
                env: "POSD_STORE_UID",
            });
            None
        });
        let key = match (&self.agent_key, &self.agent_key_file) {
            (Some(key), _) => Ok((key.clone(), "gateway.agent_key".to_owned())),
            (None, Some(file)) => std::fs::read_to_string(file)
                .map(|text| {
                    // Editors and `echo` add a final newline that is not part of the key.
                    (
                        text.trim_end_matches(['\r', '\n']).to_owned(),
                        file.display().to_string(),
                    )
                })
                .map_err(|e| ConfigError::Invalid {
                    key: "gateway.agent_key_file",
                    source_name: file.display().to_string(),
                    problem: format!("cannot read it: {e}"),
                }),
            (None, None) => Err(ConfigError::Missing {
                key: "gateway.agent_key",
                env: "POSD_AGENT_KEY or POSD_AGENT_KEY_FILE",
            }),
        };
        let agent_key = key
            .and_then(|(key_text, key_source)| {
                AgentKey::new(&key_text).map_err(|e| ConfigError::Invalid {
                    key: "gateway.agent_key",
                    source_name: key_source,
                    problem: e.to_string(),
                })
            })
            .map_err(|e| problems.push(e))
            .ok();
        let (Some(url), Some(agent_uid), Some(store_uid), Some(agent_key)) =
            (url, agent_uid, store_uid, agent_key)
        else {
            return Err(problems);
        };
        Ok(GatewayConfig {
            url,
            agent_uid,
            agent_key,
            store_uid,
            ca_file: self.ca_file.clone(),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            timeout: Duration::from_millis(self.timeout_ms),
            dns_servers: self.dns_servers.clone(),
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
                ("POSD_DNS_SERVERS", "8.8.8.8:53, [2001:4860:4860::8888]:53"),
            ]),
        )
        .unwrap();
        let gateway = config.gateway.resolve().unwrap();
        assert_eq!(gateway.timeout, Duration::from_millis(1500));
        assert_eq!(gateway.dns_servers.len(), 2);
        let e = Config::load(None, env(&[("POSD_DNS_SERVERS", "8.8.8.8")])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("gateway.dns_servers (from POSD_DNS_SERVERS): \"8.8.8.8\"")
        );
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

    /// A deployment whose wallet's codes have another shape replaces the table in `[scan.codes]`.
    #[test]
    fn the_code_table_is_read_from_scan_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posd.toml");
        std::fs::write(
            &path,
            "[scan.codes]\nmin_length = 10\n\n[[scan.codes.wallets]]\nwallet = \"MyPay\"\n\
             pattern = \"MY[0-9A-Za-z]{8,24}\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), env(&[])).unwrap();
        let rules = crate::scan::CodeRules::from_config(&config.scan.codes).unwrap();
        let code = rules.check(b"MYab12cd34ef").unwrap();
        assert_eq!(code.wallet(), "MyPay");
        assert!(
            rules.check(b"221234567890ABCDEF").is_err(),
            "the table is replaced"
        );
        let defaults = crate::scan::CodeRules::from_config(&Config::default().scan.codes).unwrap();
        assert!(defaults.check(b"MYab12cd34ef").is_err());
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
