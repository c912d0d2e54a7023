//! Which URLs an endpoint may have: http or https, a host, no credentials in the URL
//! (they would be stored and shown in clear), at most 2 048 characters; and, where the
//! deployment asks for it (on by default), no private, loopback or link-local target,
//! so that a key allowed to add endpoints cannot make the service call into its own
//! network. A host name is checked again once resolved, at delivery (`resolve`).

use std::net::IpAddr;

/// The longest endpoint URL.
pub const URL_MAX: usize = 2048;

/// Why a URL cannot be an endpoint's, written for the client.
pub fn problem(url: &str, refuse_private: bool) -> Option<String> {
    if url.chars().count() > URL_MAX {
        return Some(format!("must be at most {URL_MAX} characters"));
    }
    if let Some(p) = crate::text::problem(url, URL_MAX) {
        return Some(p);
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return Some("must be an absolute http or https URL".into());
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some("must use http or https".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some(
            "must not carry credentials (the endpoint's secret signs each delivery)".into(),
        );
    }
    let Some(host) = parsed.host() else {
        return Some("must name a host".into());
    };
    if refuse_private {
        let private = match host {
            url::Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost")
            }
            url::Host::Ipv4(ip) => is_private(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => is_private(IpAddr::V6(ip)),
        };
        if private {
            return Some("must not be a private, loopback or link-local address".into());
        }
    }
    None
}

/// Whether an address is one a public endpoint never has: loopback, private,
/// link-local, unspecified, shared (100.64/10), multicast or broadcast, IPv4 mapped
/// into IPv6 included.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80 // link-local
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_public_http_and_https() {
        for url in [
            "https://hooks.example.com/shopscore",
            "http://203.0.113.9:8080/h?x=1",
        ] {
            assert_eq!(problem(url, true), None, "{url}");
        }
        // With the refusal off (tests, the demo), a local receiver is fine.
        assert_eq!(problem("http://127.0.0.1:9000/hook", false), None);
    }

    #[test]
    fn refuses_each_bad_url_with_a_reason() {
        let long = format!("https://example.com/{}", "a".repeat(URL_MAX));
        for url in [
            "ftp://example.com/x",
            "https://user:pw@example.com/x",
            "https://user@example.com/x",
            "example.com/x",
            "https://exa\0mple.com",
            long.as_str(),
            "http://127.0.0.1/x",
            "http://10.1.2.3/x",
            "http://192.168.0.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/x",
            "http://0.0.0.0/x",
            "http://[::1]/x",
            "http://[fd00::1]/x",
            "http://[fe80::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://localhost:8080/x",
            "http://api.localhost./x",
        ] {
            assert!(problem(url, true).is_some(), "{url}");
        }
    }
}
