//! `shopscore healthcheck`: is the server on this host ready? A container's health check
//! runs it (slim images have no curl), so it speaks just enough HTTP/1.1 by hand: one
//! `GET /readyz`, and ready means the status line says 200.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where to reach a server listening on `listen`: an unspecified address (0.0.0.0, ::)
/// is reached on loopback.
pub fn target(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    }
}

/// Whether `GET /readyz` answers 200 within `timeout`.
pub async fn ready(listen: SocketAddr, timeout: Duration) -> bool {
    let addr = target(listen);
    let ask = async {
        let mut s = TcpStream::connect(addr).await?;
        let req = format!("GET /readyz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await?;
        std::io::Result::Ok(&head == b"HTTP/1.1 200")
    };
    matches!(tokio::time::timeout(timeout, ask).await, Ok(Ok(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_mean_loopback() {
        let t = |s: &str| target(s.parse().unwrap()).to_string();
        assert_eq!(t("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(t("[::]:9000"), "[::1]:9000");
        assert_eq!(t("10.1.2.3:80"), "10.1.2.3:80");
    }

    #[tokio::test]
    async fn nothing_listening_is_not_ready() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        assert!(!ready(addr, Duration::from_secs(1)).await);
    }
}
