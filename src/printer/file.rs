//! A printer behind a device node (`/dev/usb/lp0`) or a plain file (spooling, tests).

use super::{Link, PrintError};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub struct FileLink {
    file: File,
    path: PathBuf,
}

impl FileLink {
    /// Opens for appending, creating a plain file if there is none: a device node is used as
    /// it is, and a file collects jobs one after another.
    pub fn open(path: &Path) -> Result<Self, PrintError> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|source| PrintError::Io {
                link: path.display().to_string(),
                source,
            })?;
        Ok(FileLink {
            file,
            path: path.to_owned(),
        })
    }
}

impl Link for FileLink {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.flush()
    }

    /// A file does not answer; the profile of such a printer is one-way.
    fn ask(&mut self, _request: &[u8]) -> io::Result<u8> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a device file does not answer status requests (set printer.two_way = false)",
        ))
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}
