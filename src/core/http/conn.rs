//! The connection layer under the HTTP path: TCP sockets for the client's keep-alive pool, with
//! as few system calls per request as the work allows (docs/transport.md has the count).
//!
//! - A request is written with one `send`: what the HTTP layer hands over (request line and
//!   headers, then the body) is kept until the answer is awaited and goes out in one piece.
//! - Deadlines are kept with `poll`, never with socket timeouts: the socket stays blocking and
//!   every `send`/`recv` is `MSG_DONTWAIT`, so no `setsockopt`/`ioctl` per request.
//! - A pooled connection is checked before each reuse with one `recv(MSG_PEEK | MSG_DONTWAIT)`:
//!   a connection the server closed (or that holds bytes nobody asked for) is never used, so a
//!   request that must not be repeated goes out on a fresh connection instead.
//! - A connection is used only in the process that opened it: after a `fork` the child sees
//!   every inherited connection as closed (a counter bumped by a `pthread_atfork` handler, so the
//!   check costs no system call), and nothing the child does reaches the parent's sockets.
//!
//! TLS stays rustls, always verified: ureq's TLS connector wraps these sockets unchanged.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    RustlsConnector, ShutdownHandle, Transport,
};
use ureq::{Error, Timeout};

/// Output collected beyond this is sent at once instead of waiting for the answer to be awaited
/// (bodies are small; this only bounds the memory a large one could hold back).
const SEND_AT: usize = 64 * 1024;
/// Shortest connect attempt given to an address when a host has several.
const MIN_CONNECT_PER_ADDRESS: Duration = Duration::from_millis(10);

/// The connector chain: an HTTP CONNECT proxy when one is configured, a [`Socket`] to
/// the server (or proxy), and rustls on top for `https://` (verified by ureq's TLS config).
pub(super) fn connector() -> impl Connector {
    ().chain(ConnectProxyConnector::default())
        .chain(SocketConnector)
        .chain(RustlsConnector::default())
}

/// Opens [`Socket`]s; passes an already made transport (the proxy's tunnel) through.
#[derive(Debug)]
pub(super) struct SocketConnector;

impl<In: Transport> Connector<In> for SocketConnector {
    type Out = Either<In, Socket>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let stream = Arc::new(open(details)?);
        (details.register_shutdown)(Arc::downgrade(&stream) as Weak<dyn ShutdownHandle>)?;
        let config = details.config;
        Ok(Some(Either::B(Socket {
            stream,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            unsent: Vec::new(),
            opened_in: fork_generation(),
            answer_read: false,
        })))
    }
}

/// Connects to the first address that answers within the connect timeout. With several
/// addresses, each but the last gets half of the time left, so one address that never answers
/// (an unrouted IPv6 address, say) does not use up the time of the others.
fn open(details: &ConnectionDetails) -> Result<TcpStream, Error> {
    let timeout = details.timeout;
    let deadline = deadline_of(timeout);
    let count = details.addrs.len();
    let mut last = None;
    for (i, addr) in details.addrs.iter().enumerate() {
        let attempt = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::Timeout(timeout.reason));
                }
                let budget = if i + 1 == count {
                    left
                } else {
                    (left / 2).max(MIN_CONNECT_PER_ADDRESS).min(left)
                };
                TcpStream::connect_timeout(addr, budget)
            }
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => {
                if details.config.no_delay() {
                    stream.set_nodelay(true)?;
                }
                return Ok(stream);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                last = Some(Error::Timeout(Timeout::Connect));
            }
            Err(e) => last = Some(Error::Io(e)),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::Io(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "no address to connect to",
        ))
    }))
}

/// One TCP connection of the pool.
pub(super) struct Socket {
    /// Handed (weakly) to the connector chain's shutdown hook, which the library leaves unused.
    stream: Arc<TcpStream>,
    buffers: LazyBuffers,
    /// Output handed over by the HTTP layer and not yet sent.
    unsent: Vec<u8>,
    /// The fork generation of the process that opened the connection.
    opened_in: u64,
    /// Set by each read: the pool asks whether a connection is open when it takes the connection
    /// back, straight after the answer was read, and again when it hands the connection out for
    /// the next request. Only the second question decides whether a request goes out on the
    /// connection, so only that one costs a probe.
    answer_read: bool,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("fd", &self.stream.as_raw_fd())
            .finish()
    }
}

impl Socket {
    fn fd(&self) -> libc::c_int {
        self.stream.as_raw_fd()
    }

    /// Sends everything in `unsent`, waiting for room in the socket buffer until `deadline`.
    fn send_unsent(&mut self, deadline: Option<Instant>, reason: Timeout) -> Result<(), Error> {
        let fd = self.fd();
        let mut sent = 0;
        let result = loop {
            if sent == self.unsent.len() {
                break Ok(());
            }
            let rest = &self.unsent[sent..];
            // SAFETY: `rest` is valid for reads of `rest.len()` bytes for the whole call.
            let n = unsafe {
                libc::send(
                    fd,
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n >= 0 {
                sent += n as usize;
                continue;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => {
                    if let Err(e) = wait(fd, libc::POLLOUT, deadline, reason) {
                        break Err(e);
                    }
                }
                io::ErrorKind::Interrupted => {}
                _ => break Err(Error::Io(err)),
            }
        };
        self.unsent.clear();
        result
    }
}

impl Transport for Socket {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        if timeout.after.is_zero() {
            return Err(Error::Timeout(timeout.reason));
        }
        self.unsent
            .extend_from_slice(&self.buffers.output()[..amount]);
        if self.unsent.len() >= SEND_AT {
            self.send_unsent(deadline_of(timeout), timeout.reason)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        if timeout.after.is_zero() {
            return Err(Error::Timeout(timeout.reason));
        }
        let deadline = deadline_of(timeout);
        self.answer_read = true;
        // Right after a request went out, its answer cannot be there yet: wait first.
        let mut wait_first = false;
        if !self.unsent.is_empty() {
            self.send_unsent(deadline, timeout.reason)?;
            wait_first = true;
        }
        let fd = self.fd();
        let amount = loop {
            if wait_first {
                wait(fd, libc::POLLIN, deadline, timeout.reason)?;
            }
            let buf = self.buffers.input_append_buf();
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
            let n =
                unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n >= 0 {
                break n as usize;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => wait_first = true,
                io::ErrorKind::Interrupted => wait_first = false,
                _ => return Err(Error::Io(err)),
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        if self.opened_in != fork_generation() || !self.unsent.is_empty() {
            return false;
        }
        if std::mem::take(&mut self.answer_read) {
            return true;
        }
        // Open means: nothing to read and no end of stream, i.e. a read would block.
        let mut byte = 0u8;
        // SAFETY: one byte of `byte` is valid for writes for the whole call.
        let n = unsafe {
            libc::recv(
                self.fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

/// When the time of `timeout` runs out; `None` when it never does.
fn deadline_of(timeout: NextTimeout) -> Option<Instant> {
    if timeout.after.is_not_happening() {
        return None;
    }
    Instant::now().checked_add(*timeout.after)
}

/// Waits until `fd` is ready for `events` (or has an error to report, which the next `send` or
/// `recv` returns), or fails with a timeout at `deadline`.
fn wait(
    fd: libc::c_int,
    events: libc::c_short,
    deadline: Option<Instant>,
    reason: Timeout,
) -> Result<(), Error> {
    loop {
        let ms = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::Timeout(reason));
                }
                // Rounded up, so that the wait never ends before the deadline.
                left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd for the whole call.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready > 0 {
            return Ok(());
        }
        if ready < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(Error::Io(err));
            }
        }
    }
}

/// Which process this is, as far as connections are concerned: changes in the child of a `fork`
/// (without a system call, unlike `getpid`; see `core::fork`).
pub(crate) fn fork_generation() -> u64 {
    crate::core::fork::install(None);
    crate::core::fork::generation()
}
