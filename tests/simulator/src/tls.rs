//! HTTPS for the simulator: a TLS front door. Each TLS connection is terminated here and its
//! plaintext relayed over a loopback connection to the ordinary HTTP handler, so every route,
//! counter and fault mode works unchanged behind TLS (a `reset` of the inner connection resets
//! the TLS connection too).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

use crate::faults;

/// A client that does not finish its handshake in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server configuration from a PEM certificate chain and a PEM private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate in {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("certificate and key do not fit: {e}"))?;
    Ok(Arc::new(config))
}

/// Accepts TLS connections on `listener` forever, relaying each to `inner`.
pub fn serve(listener: TcpListener, inner: SocketAddr, config: Arc<ServerConfig>) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let config = Arc::clone(&config);
                let spawned = thread::Builder::new().name("tls".into()).spawn(move || {
                    if let Err(e) = relay(stream, inner, config) {
                        eprintln!("tls connection ended: {e}");
                    }
                });
                if let Err(e) = spawned {
                    eprintln!("cannot start a TLS thread: {e}");
                }
            }
            Err(e) => {
                eprintln!("accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn lock(conn: &Mutex<ServerConnection>) -> MutexGuard<'_, ServerConnection> {
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

fn flush_tls(conn: &mut ServerConnection, sock: &mut TcpStream) -> io::Result<()> {
    while conn.wants_write() {
        conn.write_tls(sock)?;
    }
    Ok(())
}

/// One TLS connection: handshake, then two directions (client to inner on this thread, inner
/// to client on a helper thread) sharing the TLS state under a mutex.
fn relay(mut sock: TcpStream, inner_addr: SocketAddr, config: Arc<ServerConfig>) -> io::Result<()> {
    let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
    sock.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            // Send the alert (e.g. the client refused our certificate) before closing.
            let _ = flush_tls(&mut conn, &mut sock);
            return Err(e);
        }
    }
    sock.set_read_timeout(None)?;
    let _ = sock.set_nodelay(true);
    let mut inner = TcpStream::connect(inner_addr)?;
    let _ = inner.set_nodelay(true);
    let conn = Arc::new(Mutex::new(conn));

    let to_client = {
        let conn = Arc::clone(&conn);
        let mut sock = sock.try_clone()?;
        let mut inner = inner.try_clone()?;
        thread::spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match inner.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut c = lock(&conn);
                        if c.writer().write_all(&buf[..n]).is_err()
                            || flush_tls(&mut c, &mut sock).is_err()
                        {
                            return;
                        }
                    }
                    Err(_) => {
                        // The handler reset its connection: reset ours the same way.
                        faults::set_reset_on_close(&sock);
                        let _ = sock.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
            let mut c = lock(&conn);
            c.send_close_notify();
            let _ = flush_tls(&mut c, &mut sock);
            let _ = sock.shutdown(Shutdown::Write);
        })
    };

    let mut buf = vec![0u8; 16 * 1024];
    let mut plain = vec![0u8; 16 * 1024];
    // The handshake may already have read the first request (TLS 1.3 clients send it right
    // after their Finished message).
    if !drain_plaintext(&mut lock(&conn), &mut inner, &mut plain) {
        let _ = inner.shutdown(Shutdown::Write);
        let _ = to_client.join();
        return Ok(());
    }
    'outer: loop {
        let n = match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut input = &buf[..n];
        while !input.is_empty() {
            let mut c = lock(&conn);
            if c.read_tls(&mut input).is_err() {
                break 'outer;
            }
            let state = match c.process_new_packets() {
                Ok(s) => s,
                Err(_) => {
                    let _ = flush_tls(&mut c, &mut sock);
                    break 'outer;
                }
            };
            let closed = state.peer_has_closed();
            if !drain_plaintext(&mut c, &mut inner, &mut plain) {
                break 'outer;
            }
            if flush_tls(&mut c, &mut sock).is_err() || closed {
                break 'outer;
            }
        }
    }
    let _ = inner.shutdown(Shutdown::Write);
    let _ = to_client.join();
    Ok(())
}

/// Passes the plaintext rustls has decrypted on to the handler; false when that failed.
fn drain_plaintext(conn: &mut ServerConnection, inner: &mut TcpStream, plain: &mut [u8]) -> bool {
    loop {
        match conn.reader().read(plain) {
            Ok(0) => return true,
            Ok(m) => {
                if inner.write_all(&plain[..m]).is_err() {
                    return false;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
}
