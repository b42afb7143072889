//! `u`/`U` config lines: each selected line also goes out as one UDP
//! datagram (`[stamp][prefix]line[...]\n`, the line cut at `-l` bytes).

use std::net::{SocketAddrV4, UdpSocket};

pub struct Udp {
    sock: Option<UdpSocket>,
    pub addr: SocketAddrV4,
}

impl Udp {
    pub fn new(addr: SocketAddrV4) -> Self {
        let sock = UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok();
        Udp { sock, addr }
    }

    /// Sends one datagram; false when it could not be sent whole.
    pub fn send(&self, datagram: &[u8]) -> bool {
        match &self.sock {
            Some(s) => matches!(s.send_to(datagram, self.addr), Ok(n) if n == datagram.len()),
            None => false,
        }
    }
}
