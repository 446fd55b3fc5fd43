//! The merchant's own layout settings (`receipts/layout.toml`).

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What the merchant may change on the printout: lines above and below the item detail, the
/// logo printed as the seller title when the gateway asks for an image title, and whether to
/// cut after each part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSettings {
    #[serde(default)]
    pub header: Vec<String>,
    #[serde(default)]
    pub footer: Vec<String>,
    /// A PNG or JPEG file, relative to the settings file; the cached copy of the title image.
    pub logo: Option<PathBuf>,
    #[serde(default)]
    pub cut: bool,
}

/// The settings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read layout settings {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("layout settings {path}: {detail}")]
    Parse { path: PathBuf, detail: String },
}

impl LayoutSettings {
    /// Reads the settings; a relative logo path is taken relative to the file.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut settings: LayoutSettings =
            toml::from_str(&text).map_err(|err| SettingsError::Parse {
                path: path.to_owned(),
                detail: err.to_string().trim_end().to_owned(),
            })?;
        if let (Some(logo), Some(dir)) = (&settings.logo, path.parent()) {
            settings.logo = Some(dir.join(logo));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_settings_load_and_typos_are_named() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("receipts/layout.toml");
        let settings = LayoutSettings::load(&path).unwrap();
        assert!(!settings.footer.is_empty());
        assert!(settings.logo.unwrap().exists());

        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("layout.toml");
        std::fs::write(&bad, "heder = [\"x\"]\n").unwrap();
        let err = LayoutSettings::load(&bad).unwrap_err().to_string();
        assert!(
            err.contains("heder") && err.contains("layout.toml"),
            "{err}"
        );
    }
}
