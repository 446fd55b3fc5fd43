//! A printer on the network, raw TCP (port 9100).

use super::{Link, PrintError, STATUS_TIMEOUT};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a printer may take no bytes at all before the job fails: one that stopped reading
/// (its paper ran out mid-job, it hangs) must not hold the printer thread forever. A printer
/// that is printing takes bytes as its buffer drains, within seconds.
const WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// Bytes handed to one write: a few milliseconds of printing.
const WRITE_CHUNK: usize = 4096;

pub struct TcpLink {
    stream: TcpStream,
    address: String,
}

impl TcpLink {
    pub fn connect(address: &str) -> Result<Self, PrintError> {
        let error = |source| PrintError::Io {
            link: format!("tcp {address}"),
            source,
        };
        let socket = address
            .to_socket_addrs()
            .map_err(error)?
            .next()
            .ok_or_else(|| {
                error(io::Error::new(
                    io::ErrorKind::NotFound,
                    "the address resolves to nothing",
                ))
            })?;
        let stream = TcpStream::connect_timeout(&socket, CONNECT_TIMEOUT).map_err(error)?;
        stream
            .set_read_timeout(Some(STATUS_TIMEOUT))
            .map_err(error)?;
        stream
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(error)?;
        stream.set_nodelay(true).map_err(error)?;
        Ok(TcpLink {
            stream,
            address: address.to_owned(),
        })
    }
}

impl TcpLink {
    /// Drops bytes already waiting (a printer that answers twice, or sends status of its own), so
    /// that the next byte read is the answer to the request about to be sent.
    fn discard_waiting(&mut self) -> io::Result<()> {
        self.stream.set_nonblocking(true)?;
        let mut waiting = [0u8; 256];
        let drained = loop {
            match self.stream.read(&mut waiting) {
                Ok(0) => {
                    break Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the printer closed the connection",
                    ));
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.stream.set_nonblocking(false)?;
        drained
    }
}

impl Link for TcpLink {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        // A little at a time: a write that times out after taking part of a large buffer returns
        // that part, so only a small write fails after WRITE_TIMEOUT without any progress.
        for chunk in bytes.chunks(WRITE_CHUNK) {
            self.stream.write_all(chunk).map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the printer took no bytes for {} s",
                        WRITE_TIMEOUT.as_secs()
                    ),
                ),
                _ => e,
            })?;
        }
        self.stream.flush()
    }

    fn ask(&mut self, request: &[u8]) -> io::Result<u8> {
        self.discard_waiting()?;
        self.send(request)?;
        let mut answer = [0u8; 1];
        self.stream.read_exact(&mut answer)?;
        Ok(answer[0])
    }

    fn describe(&self) -> String {
        format!("tcp {}", self.address)
    }
}
