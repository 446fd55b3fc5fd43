//! A printer on a serial device: a UART, or a Bluetooth SPP printer bound to `/dev/rfcommN`.

use super::{Link, PrintError, STATUS_TIMEOUT};
use serialport::{ClearBuffer, SerialPort, TTYPort};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub struct SerialLink {
    port: TTYPort,
    path: PathBuf,
}

impl SerialLink {
    pub fn open(path: &Path, baud: u32) -> Result<Self, PrintError> {
        let port = serialport::new(path.to_string_lossy(), baud)
            .timeout(STATUS_TIMEOUT)
            .open_native()
            .map_err(|err| PrintError::Io {
                link: path.display().to_string(),
                source: err.into(),
            })?;
        Ok(SerialLink {
            port,
            path: path.to_owned(),
        })
    }
}

impl Link for SerialLink {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn ask(&mut self, request: &[u8]) -> io::Result<u8> {
        // A stale byte (an answer that came after an earlier timeout) would be taken for this one.
        self.port.clear(ClearBuffer::Input)?;
        self.send(request)?;
        let mut answer = [0u8; 1];
        self.port.read_exact(&mut answer)?;
        Ok(answer[0])
    }

    fn describe(&self) -> String {
        format!("serial {}", self.path.display())
    }
}
