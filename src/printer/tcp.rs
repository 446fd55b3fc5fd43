//! A printer on the network, raw TCP (port 9100).

use super::{Link, PrintError, STATUS_TIMEOUT};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

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
        stream.set_nodelay(true).map_err(error)?;
        Ok(TcpLink {
            stream,
            address: address.to_owned(),
        })
    }
}

impl Link for TcpLink {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    fn ask(&mut self, request: &[u8]) -> io::Result<u8> {
        self.send(request)?;
        let mut answer = [0u8; 1];
        self.stream.read_exact(&mut answer)?;
        Ok(answer[0])
    }

    fn describe(&self) -> String {
        format!("tcp {}", self.address)
    }
}
