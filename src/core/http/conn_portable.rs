//! The connection layer where `conn.rs` (Unix system calls: one `send` per request, `poll` for
//! deadlines, a peek before reuse, fork awareness) does not apply, i.e. Windows: ureq's own TCP
//! connector under the same proxy and rustls chain. Deadlines are kept by ureq's socket
//! timeouts; a pooled connection the server closed is found by its transport's own check, which
//! `exchange.rs` asks before each reuse.

use ureq::unversioned::transport::{
    ConnectProxyConnector, Connector, RustlsConnector, TcpConnector,
};

/// The connector chain: an HTTP CONNECT proxy when one is configured, TCP to the server
/// (or proxy), and rustls on top for `https://`.
pub(super) fn connector() -> impl Connector {
    ().chain(ConnectProxyConnector::default())
        .chain(TcpConnector::default())
        .chain(RustlsConnector::default())
}
