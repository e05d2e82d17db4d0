//! `server_path`: the `host[:port]` address of a remote link.

use std::fmt;
use std::net::Ipv6Addr;

/// 4D Server's default application port.
pub const DEFAULT_PORT: u16 = 19813;

/// A server address as written in a `.4DLink` `server_path` or typed in the Custom tab:
/// `host`, `host:port`, `[ipv6]:port`, a bare IPv6 address, or `:port` (empty host).
///
/// An empty host means "find the server by its publication name on the network".
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ServerPath {
    /// Host name or IP address, without brackets; empty when the server is to be found by name.
    pub host: String,
    /// The port as written, if any; [`ServerPath::port`] applies the default.
    pub explicit_port: Option<u16>,
}

/// Why a `host[:port]` text is not a valid server address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerPathError {
    /// The port is not a decimal number.
    #[error("the port {0:?} is not a number (expected host:port, e.g. 192.168.1.10:19813)")]
    PortNotANumber(String),
    /// The port is outside 1..=65535.
    #[error("the port {0} is out of range (expected 1 to 65535)")]
    PortOutOfRange(String),
    /// A `[` without its `]`, or text after `]` that is not `:port`.
    #[error("the IPv6 address is malformed (expected [address]:port, e.g. [fd00::1]:19813)")]
    BadBrackets,
    /// The address contains spaces or control characters.
    #[error("the host contains spaces or control characters")]
    BadHost,
}

impl ServerPath {
    /// A path for `host` with the default port left implicit.
    pub fn new(host: impl Into<String>, port: Option<u16>) -> Self {
        Self {
            host: host.into(),
            explicit_port: port,
        }
    }

    /// Parses `host[:port]`, `[v6]:port`, a bare IPv6 address, or `:port`.
    ///
    /// # Errors
    /// A [`ServerPathError`] when the port is not a number in 1..=65535, brackets are unbalanced,
    /// or the host contains whitespace.
    pub fn parse(text: &str) -> Result<Self, ServerPathError> {
        let text = text.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let close = rest.find(']').ok_or(ServerPathError::BadBrackets)?;
            let host = &rest[..close];
            let after = &rest[close + 1..];
            let port = if after.is_empty() {
                None
            } else {
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or(ServerPathError::BadBrackets)?,
                )
            };
            (host, port)
        } else if text.parse::<Ipv6Addr>().is_ok() {
            (text, None)
        } else if text.contains(']') {
            return Err(ServerPathError::BadBrackets);
        } else {
            match text.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ServerPathError::BadHost);
        }
        let explicit_port = port.map(parse_port).transpose()?;
        Ok(Self {
            host: host.to_owned(),
            explicit_port,
        })
    }

    /// The port to connect to: the explicit one, else [`DEFAULT_PORT`].
    pub fn port(&self) -> u16 {
        self.explicit_port.unwrap_or(DEFAULT_PORT)
    }

    /// True when no host is given: the server is to be found by publication name.
    pub fn find_by_name(&self) -> bool {
        self.host.is_empty()
    }

    /// The host as used in a URL or socket address: IPv6 literals in brackets.
    pub fn host_for_url(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `host:port` with the port always present (IPv6 in brackets).
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host_for_url(), self.port())
    }
}

fn parse_port(text: &str) -> Result<u16, ServerPathError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ServerPathError::PortNotANumber(text.to_owned()));
    }
    match text.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(ServerPathError::PortOutOfRange(text.to_owned())),
    }
}

impl fmt::Display for ServerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.explicit_port {
            Some(port) => write!(f, "{}:{port}", self.host_for_url()),
            None => f.write_str(&self.host_for_url()),
        }
    }
}

impl std::str::FromStr for ServerPath {
    type Err = ServerPathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ServerPath {
        ServerPath::parse(s).unwrap()
    }

    #[test]
    fn forms() {
        assert_eq!(
            p("192.0.2.10:19813"),
            ServerPath::new("192.0.2.10", Some(19813))
        );
        assert_eq!(p("server.lan"), ServerPath::new("server.lan", None));
        assert_eq!(p("server.lan").port(), 19813);
        assert_eq!(p(":19813"), ServerPath::new("", Some(19813)));
        assert!(p(":19813").find_by_name());
        assert!(p("").find_by_name());
        assert_eq!(
            p("[fd00:db8::10]:19820"),
            ServerPath::new("fd00:db8::10", Some(19820))
        );
        assert_eq!(p("[fd00:db8::10]"), ServerPath::new("fd00:db8::10", None));
        assert_eq!(p("fd00:db8::10"), ServerPath::new("fd00:db8::10", None));
        assert_eq!(p("::1"), ServerPath::new("::1", None));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "192.0.2.10:19813",
            "server.lan",
            ":19813",
            "[fd00:db8::10]:19820",
            "[::1]",
            "",
        ] {
            assert_eq!(p(s).to_string(), s, "{s}");
        }
        assert_eq!(p("fd00::1").to_string(), "[fd00::1]");
        assert_eq!(p("fd00::1").authority(), "[fd00::1]:19813");
    }

    #[test]
    fn errors() {
        assert_eq!(
            ServerPath::parse("h:abc"),
            Err(ServerPathError::PortNotANumber("abc".into()))
        );
        assert_eq!(
            ServerPath::parse("h:"),
            Err(ServerPathError::PortNotANumber(String::new()))
        );
        assert_eq!(
            ServerPath::parse("h:70000"),
            Err(ServerPathError::PortOutOfRange("70000".into()))
        );
        assert_eq!(
            ServerPath::parse("h:0"),
            Err(ServerPathError::PortOutOfRange("0".into()))
        );
        assert_eq!(
            ServerPath::parse("h:+1"),
            Err(ServerPathError::PortNotANumber("+1".into()))
        );
        assert_eq!(
            ServerPath::parse("[fd00::1"),
            Err(ServerPathError::BadBrackets)
        );
        assert_eq!(
            ServerPath::parse("[fd00::1]x"),
            Err(ServerPathError::BadBrackets)
        );
        assert_eq!(ServerPath::parse("a b:1"), Err(ServerPathError::BadHost));
        assert_eq!(
            ServerPath::parse("h:99999999999999999999"),
            Err(ServerPathError::PortOutOfRange(
                "99999999999999999999".into()
            ))
        );
    }
}
