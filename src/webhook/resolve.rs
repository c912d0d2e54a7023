//! The delivery worker's name resolution when private targets are refused: a host
//! name is resolved as usual and only its public addresses are kept, so a name that
//! points into the service's own network (or is made to later: DNS rebinding) is
//! never connected to. The address checked is the address connected to.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::target::is_private;

/// Resolves to public addresses only; a name with none fails the attempt, saying why.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            // The port is the URL's: the client replaces this one.
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public = public(all);
            if public.is_empty() {
                return Err(format!(
                    "{host} resolves only to private, loopback or link-local addresses, \
                     which this server does not send to"
                )
                .into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

fn public(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.into_iter().filter(|a| !is_private(a.ip())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_public_addresses() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(
            public(vec![a("10.0.0.7:0"), a("93.184.215.14:0"), a("[::1]:0")]),
            vec![a("93.184.215.14:0")]
        );
        assert!(public(vec![a("127.0.0.1:0"), a("192.168.1.2:0")]).is_empty());
    }

    #[tokio::test]
    async fn a_name_of_loopback_addresses_fails_to_resolve() {
        let name: Name = "localhost".parse().unwrap();
        let err = PublicOnly.resolve(name).await.err().expect("refused");
        assert!(err.to_string().contains("private"), "{err}");
    }
}
