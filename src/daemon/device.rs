//! This till's name in the order ids it makes: configured, or made once at random and kept in the
//! data directory.
//!
//! Two tills that share a name can make the same order id, and the gateway files a charge by order
//! id alone: a lost answer could then be "found" as the other till's charge. A till with no name
//! configured therefore gets one of its own at the first start, instead of a shared default.

use super::StartError;
use rand::Rng;
use std::io::Write;
use std::path::Path;

const FILE: &str = "device-id";
/// Letters and digits that cannot be mistaken for one another when read aloud or off a screen.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// The configured name, else the one kept in `data_dir`, else a new one (kept from now on).
pub fn device_id(configured: Option<&str>, data_dir: &Path) -> Result<String, StartError> {
    if let Some(id) = configured {
        return Ok(id.to_owned());
    }
    let path = data_dir.join(FILE);
    let shown = || path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim().to_owned();
            crate::order::OrderIdGenerator::new(&id).map_err(|e| StartError::DeviceIdFile {
                path: shown(),
                problem: format!("{e}; fix it, delete it for a new one, or set daemon.device_id"),
            })?;
            Ok(id)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut rng = rand::rng();
            let id: String = std::iter::once('T')
                .chain((0..9).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])))
                .collect();
            keep(data_dir, &id).map_err(|e| StartError::DeviceIdFile {
                path: shown(),
                problem: e.to_string(),
            })?;
            tracing::info!(device_id = %id, "made this till's device id");
            Ok(id)
        }
        Err(e) => Err(StartError::DeviceIdFile {
            path: shown(),
            problem: e.to_string(),
        }),
    }
}

/// Writes the name durably: a new file, synced, renamed into place, and the directory synced.
fn keep(data_dir: &Path, id: &str) -> std::io::Result<()> {
    let temporary = data_dir.join(format!("{FILE}.new"));
    let mut file = std::fs::File::create(&temporary)?;
    writeln!(file, "{id}")?;
    file.sync_all()?;
    std::fs::rename(&temporary, data_dir.join(FILE))?;
    std::fs::File::open(data_dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_till_keeps_the_name_it_was_given_at_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let first = device_id(None, dir.path()).unwrap();
        assert_eq!(first.len(), 10);
        crate::order::OrderIdGenerator::new(&first).unwrap();
        assert_eq!(device_id(None, dir.path()).unwrap(), first);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(device_id(None, other.path()).unwrap(), first);
        assert_eq!(device_id(Some("TILL1"), dir.path()).unwrap(), "TILL1");
    }

    #[test]
    fn a_damaged_name_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "till-1\n").unwrap();
        let err = device_id(None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("device-id") && err.contains("'-'"), "{err}");
    }
}
