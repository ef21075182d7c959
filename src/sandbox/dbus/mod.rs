//! Minimal blocking D-Bus client: unix socket transport, SASL EXTERNAL, Hello, method calls,
//! signals, and marshalling of the few types systemd's Manager API needs (the systemd scope
//! cgroup back end, `sandbox::cgroup::systemd`, is its user).
//!
//! `wire` holds the message format; this module the connection. Errors are [`DbusError`]s,
//! which callers turn into their own at their boundary.

use crate::dbus_address::{unix_sockets, UnixSocket};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

mod wire;

pub use wire::{
    marshal, split_signature, Message, Reader, Value, Writer, ERROR, MAX_ARRAY, MAX_ARRAY_DEPTH,
    MAX_DEPTH, MAX_MESSAGE, MAX_SIGNATURE, MAX_STRUCT_DEPTH, MAX_VALUES, METHOD_CALL,
    METHOD_RETURN, NO_REPLY_EXPECTED, SIGNAL,
};

/// Why talking to a bus failed.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    /// A socket step (connecting, reading, writing) failed.
    #[error("{step}: {source}")]
    Io {
        step: String,
        #[source]
        source: io::Error,
    },
    /// The bus sent what the protocol does not allow, closed the connection, or the address
    /// names no socket to connect to.
    #[error("{step}: {detail}")]
    Protocol { step: String, detail: String },
    /// A method call was answered with an ERROR message.
    #[error("{step}: {name}: {text}")]
    Reply {
        step: String,
        /// The error name (`org.freedesktop.DBus.Error.UnknownMethod`), or `error` if it had none.
        name: String,
        /// The error's message, the first string of its body.
        text: String,
    },
    /// No answer before the deadline.
    #[error("{step}: still busy after {waited_ms} ms")]
    Timeout { step: String, waited_ms: u64 },
}

impl DbusError {
    fn io(step: impl Into<String>, source: io::Error) -> Self {
        DbusError::Io {
            step: step.into(),
            source,
        }
    }
}

/// The SASL EXTERNAL line: the uid as decimal ASCII, hex-encoded.
pub fn sasl_external_line(uid: u32) -> String {
    let hex: String = uid
        .to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("AUTH EXTERNAL {hex}\r\n")
}

fn dbus_err(step: &str, detail: impl std::fmt::Display) -> DbusError {
    DbusError::Protocol {
        step: step.into(),
        detail: detail.to_string(),
    }
}

/// Connects to a unix socket before `deadline`: non-blocking, so a listener whose backlog is
/// full (connect would block forever) costs at most the time left.
fn connect_unix(t: &UnixSocket, deadline: Instant) -> io::Result<UnixStream> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::AsRawFd;
    let addr = match t {
        UnixSocket::Path(p) => UnixAddr::new(p.as_str()),
        UnixSocket::Abstract(n) => UnixAddr::new_abstract(n.as_bytes()),
    }
    .map_err(io::Error::from)?;
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    loop {
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => break,
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINPROGRESS) => {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the bus does not accept connections",
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let s = UnixStream::from(fd);
    s.set_nonblocking(false)?;
    Ok(s)
}

/// A blocking connection to a message bus. Every wait on the socket is bounded: connecting and
/// the SASL exchange by the connection's timeout (30 s for systemd's bus), each call and each
/// signal wait by its own deadline, however the peer trickles bytes.
pub struct Connection {
    stream: UnixStream,
    serial: u32,
    queue: VecDeque<Message>,
    pub unique_name: String,
    timeout: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("unique_name", &self.unique_name)
            .finish()
    }
}

impl Connection {
    /// Connect, authenticate with SASL EXTERNAL and say Hello.
    pub fn connect(address: &str, timeout: Duration) -> Result<Connection, DbusError> {
        let step = format!("connecting to D-Bus at {address}");
        let mut last = None;
        let mut stream = None;
        let deadline = Instant::now() + timeout;
        let targets = unix_sockets(address).map_err(|e| dbus_err(&step, e))?;
        for t in targets {
            match connect_unix(&t, deadline) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(DbusError::io(step, e)),
            (None, None) => {
                return Err(dbus_err(
                    &step,
                    "no unix:path= or unix:abstract= entry in the address",
                ))
            }
        };
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| DbusError::io(step.clone(), e))?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| DbusError::io(step.clone(), e))?;
        let mut c = Connection {
            stream,
            serial: 0,
            queue: VecDeque::new(),
            unique_name: String::new(),
            timeout,
        };
        c.authenticate()?;
        let reply = c.call(Message::method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            vec![],
        ))?;
        c.unique_name = reply
            .body
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(c)
    }

    /// Fills `buf` from the socket before `deadline`: the read timeout is set to what is left
    /// before every read, so a peer trickling bytes cannot stretch the wait past the deadline.
    fn read_full(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
        step: &str,
    ) -> Result<(), DbusError> {
        let mut got = 0;
        while got < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DbusError::Timeout {
                    step: step.into(),
                    waited_ms: self.timeout.as_millis() as u64,
                });
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.stream.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(dbus_err(step, "the bus closed the connection"));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(DbusError::Timeout {
                        step: step.into(),
                        waited_ms: self.timeout.as_millis() as u64,
                    });
                }
                Err(e) => return Err(DbusError::io(step, e)),
            }
        }
        Ok(())
    }

    fn read_line(&mut self, deadline: Instant) -> Result<String, DbusError> {
        const STEP: &str = "reading the D-Bus SASL reply";
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            self.read_full(&mut b, deadline, STEP)?;
            line.push(b[0]);
            if line.len() > 4096 {
                return Err(dbus_err(STEP, "line too long"));
            }
        }
        Ok(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned())
    }

    fn authenticate(&mut self) -> Result<(), DbusError> {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let mut hello = vec![0u8];
        hello.extend_from_slice(sasl_external_line(uid).as_bytes());
        self.stream
            .write_all(&hello)
            .map_err(|e| DbusError::io("sending D-Bus SASL AUTH", e))?;
        let line = self.read_line(Instant::now() + self.timeout)?;
        if !line.starts_with("OK ") {
            return Err(dbus_err(
                "D-Bus SASL EXTERNAL authentication",
                format!("server answered {line:?}"),
            ));
        }
        self.stream
            .write_all(b"BEGIN\r\n")
            .map_err(|e| DbusError::io("sending D-Bus SASL BEGIN", e))
    }

    /// Send a message, returning its serial.
    pub fn send(&mut self, msg: &Message) -> Result<u32, DbusError> {
        self.serial = self.serial.wrapping_add(1).max(1);
        let bytes = msg.encode(self.serial);
        self.stream.write_all(&bytes).map_err(|e| {
            DbusError::io(
                format!(
                    "sending D-Bus {}",
                    msg.member.as_deref().unwrap_or("message")
                ),
                e,
            )
        })?;
        Ok(self.serial)
    }

    /// Reads one message before `deadline`. The buffer grows with what arrives (64 KiB at a
    /// time), not with what the header claims, and the header's lengths are checked first.
    fn read_message(&mut self, deadline: Instant) -> Result<Message, DbusError> {
        const STEP: &str = "waiting for a D-Bus message";
        let mut head = [0u8; 16];
        self.read_full(&mut head, deadline, STEP)?;
        let total =
            Message::total_len(&head).map_err(|e| dbus_err("reading a D-Bus message", e))?;
        let mut buf = head.to_vec();
        while buf.len() < total {
            let from = buf.len();
            let to = total.min(from + (64 << 10));
            buf.resize(to, 0);
            self.read_full(&mut buf[from..to], deadline, STEP)?;
        }
        Message::decode(&buf).map_err(|e| dbus_err("decoding a D-Bus message", e))
    }

    /// Call a method and wait for its reply; an ERROR reply becomes [`DbusError::Reply`].
    pub fn call(&mut self, msg: Message) -> Result<Message, DbusError> {
        let what = format!(
            "D-Bus call {}.{}",
            msg.interface.as_deref().unwrap_or(""),
            msg.member.as_deref().unwrap_or("")
        );
        let serial = self.send(&msg)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let m = self.read_message(deadline)?;
            if m.reply_serial == Some(serial)
                && (m.msg_type == METHOD_RETURN || m.msg_type == ERROR)
            {
                if m.msg_type == ERROR {
                    let text = m.body.first().and_then(Value::as_str).unwrap_or("");
                    return Err(DbusError::Reply {
                        step: what,
                        name: m.error_name.as_deref().unwrap_or("error").to_string(),
                        text: text.to_string(),
                    });
                }
                return Ok(m);
            }
            if m.msg_type == SIGNAL {
                if self.queue.len() >= 1024 {
                    self.queue.pop_front();
                }
                self.queue.push_back(m);
            }
        }
    }

    /// Wait for a signal satisfying `pred` (signals that arrived during calls are checked first).
    pub fn wait_signal(
        &mut self,
        mut pred: impl FnMut(&Message) -> bool,
        timeout: Duration,
    ) -> Result<Message, DbusError> {
        if let Some(i) = self.queue.iter().position(&mut pred) {
            if let Some(m) = self.queue.remove(i) {
                return Ok(m);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.read_message(deadline)?;
            if m.msg_type == SIGNAL && pred(&m) {
                return Ok(m);
            }
        }
    }

    /// org.freedesktop.DBus.AddMatch
    pub fn add_match(&mut self, rule: &str) -> Result<(), DbusError> {
        self.call(Message::method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            vec![Value::Str(rule.into())],
        ))
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
