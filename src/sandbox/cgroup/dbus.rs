//! Minimal blocking D-Bus client: unix socket transport, SASL EXTERNAL, Hello, method calls,
//! signals, and marshalling of the few types systemd's Manager API needs.
//!
//! Wire format (D-Bus specification, "Message Protocol"): a message is a fixed header
//! `yyyyuua(yv)` padded to 8, then the body. Every value is aligned to its type's alignment
//! measured from the start of the message (the body starts 8-aligned, so body offsets can be
//! counted from the body start): y,g,v = 1; b,i,u,s,o,a = 4; t,x = 8; structs and dict entries = 8.
//! An array is its u32 byte length, then padding to the element alignment (present even when the
//! array is empty, and not counted in the length), then the elements. A variant is a signature
//! followed by the value.

use super::CgroupError;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;
/// Header flag: no reply expected.
pub const NO_REPLY_EXPECTED: u8 = 0x1;

const MAX_MESSAGE: usize = 128 << 20;

/// A D-Bus value. `Array` carries its element signature so empty arrays marshal correctly.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I32(i32),
    U32(u32),
    U64(u64),
    Str(String),
    Path(String),
    Sig(String),
    Variant(Box<Value>),
    Array(String, Vec<Value>),
    Struct(Vec<Value>),
    DictEntry(Box<Value>, Box<Value>),
}

impl Value {
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::U64(_) => "t".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Sig(_) => "g".into(),
            Value::Variant(_) => "v".into(),
            Value::Array(e, _) => format!("a{e}"),
            Value::Struct(f) => format!("({})", f.iter().map(Value::signature).collect::<String>()),
            Value::DictEntry(k, v) => format!("{{{}{}}}", k.signature(), v.signature()),
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Path(s) | Value::Sig(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            Value::U32(v) => Some(*v),
            _ => None,
        }
    }
    /// Shorthand for a `(sv)` property entry.
    pub fn prop(name: &str, v: Value) -> Value {
        Value::Struct(vec![Value::Str(name.into()), Value::Variant(Box::new(v))])
    }
}

fn align_of(code: u8) -> usize {
    match code {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 4, // b i u h s o a
    }
}

/// Length of the first complete type in `sig`.
fn first_type_len(sig: &[u8]) -> Result<usize, String> {
    match sig.first() {
        None => Err("empty signature".into()),
        Some(b'a') => Ok(1 + first_type_len(&sig[1..])?),
        Some(&open @ (b'(' | b'{')) => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut depth = 0usize;
            for (i, c) in sig.iter().enumerate() {
                if *c == b'(' || *c == b'{' {
                    depth += 1;
                } else if *c == b')' || *c == b'}' {
                    depth -= 1;
                    if depth == 0 {
                        if *c != close {
                            return Err("mismatched brackets in signature".into());
                        }
                        return Ok(i + 1);
                    }
                }
            }
            Err("unterminated struct in signature".into())
        }
        Some(
            b'y' | b'b' | b'n' | b'q' | b'i' | b'u' | b'x' | b't' | b'd' | b's' | b'o' | b'g'
            | b'v' | b'h',
        ) => Ok(1),
        Some(c) => Err(format!("unsupported type code {:?}", *c as char)),
    }
}

/// Split a signature into its complete types.
pub fn split_signature(sig: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = sig;
    while !rest.is_empty() {
        let n = first_type_len(rest.as_bytes())?;
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    Ok(out)
}

/// Little-endian marshaller. Offsets are relative to `buf[0]`, which must sit at an 8-aligned
/// position in the message (message start or body start).
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, a: usize) {
        while !self.buf.len().is_multiple_of(a) {
            self.buf.push(0);
        }
    }
    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    pub fn put(&mut self, v: &Value) {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.u32(*b as u32),
            Value::I32(i) => self.u32(*i as u32),
            Value::U32(u) => self.u32(*u),
            Value::U64(t) => {
                self.pad(8);
                self.buf.extend_from_slice(&t.to_le_bytes());
            }
            Value::Str(s) | Value::Path(s) => self.string(s),
            Value::Sig(s) => self.sig(s),
            Value::Variant(inner) => {
                self.sig(&inner.signature());
                self.put(inner);
            }
            Value::Array(elem, items) => {
                self.pad(4);
                let len_at = self.buf.len();
                self.buf.extend_from_slice(&[0; 4]);
                self.pad(align_of(elem.as_bytes().first().copied().unwrap_or(b'y')));
                let start = self.buf.len();
                for it in items {
                    self.put(it);
                }
                let len = (self.buf.len() - start) as u32;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.put(f);
                }
            }
            Value::DictEntry(k, v) => {
                self.pad(8);
                self.put(k);
                self.put(v);
            }
        }
    }
}

/// Marshal `values` as a body (offset 0 is 8-aligned).
pub fn marshal(values: &[Value]) -> Vec<u8> {
    let mut w = Writer::default();
    for v in values {
        w.put(v);
    }
    w.buf
}

/// Unmarshaller for either byte order; `buf[0]` must sit at an 8-aligned message offset.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], big: bool) -> Self {
        Reader { buf, pos: 0, big }
    }
    fn align(&mut self, a: usize) -> Result<(), String> {
        let p = self.pos.div_ceil(a) * a;
        if p > self.buf.len() {
            return Err("truncated (padding)".into());
        }
        self.pos = p;
        Ok(())
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.pos + n > self.buf.len() {
            return Err("truncated".into());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.align(4)?;
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| "truncated")?;
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.align(8)?;
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| "truncated")?;
        Ok(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let s = self.take(n + 1)?;
        String::from_utf8(s[..n].to_vec()).map_err(|_| "string is not UTF-8".to_string())
    }
    fn sig(&mut self) -> Result<String, String> {
        let n = self.take(1)?[0] as usize;
        let s = self.take(n + 1)?;
        String::from_utf8(s[..n].to_vec()).map_err(|_| "signature is not ASCII".to_string())
    }

    /// Read one value of the single complete type `sig`.
    pub fn read(&mut self, sig: &str) -> Result<Value, String> {
        let b = sig.as_bytes();
        Ok(match b.first().copied().ok_or("empty signature")? {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(self.u32()? != 0),
            b'i' => Value::I32(self.u32()? as i32),
            b'u' | b'h' => Value::U32(self.u32()?),
            b't' | b'x' => Value::U64(self.u64()?),
            b'n' | b'q' => {
                self.align(2)?;
                let s = self.take(2)?;
                Value::U32(if self.big {
                    u16::from_be_bytes([s[0], s[1]])
                } else {
                    u16::from_le_bytes([s[0], s[1]])
                } as u32)
            }
            b'd' => Value::U64(self.u64()?),
            b's' => Value::Str(self.string()?),
            b'o' => Value::Path(self.string()?),
            b'g' => Value::Sig(self.sig()?),
            b'v' => {
                let s = self.sig()?;
                if split_signature(&s)?.len() != 1 {
                    return Err(format!("variant signature {s:?} is not a single type"));
                }
                Value::Variant(Box::new(self.read(&s)?))
            }
            b'a' => {
                let elem = &sig[1..];
                let first = *elem
                    .as_bytes()
                    .first()
                    .ok_or("array signature without element type")?;
                let n = self.u32()? as usize;
                if n > MAX_MESSAGE {
                    return Err("array too long".into());
                }
                self.align(align_of(first))?;
                let end = self.pos + n;
                if end > self.buf.len() {
                    return Err("truncated array".into());
                }
                let mut items = Vec::new();
                while self.pos < end {
                    items.push(self.read(elem)?);
                }
                if self.pos != end {
                    return Err("array element overran the array length".into());
                }
                Value::Array(elem.to_string(), items)
            }
            b'(' | b'{' if sig.len() < 2 => return Err("truncated struct signature".into()),
            b'(' => {
                self.align(8)?;
                let mut f = Vec::new();
                for t in split_signature(&sig[1..sig.len() - 1])? {
                    f.push(self.read(t)?);
                }
                Value::Struct(f)
            }
            b'{' => {
                self.align(8)?;
                let inner = split_signature(&sig[1..sig.len() - 1])?;
                if inner.len() != 2 {
                    return Err("dict entry must have two types".into());
                }
                let k = self.read(inner[0])?;
                let v = self.read(inner[1])?;
                Value::DictEntry(Box::new(k), Box::new(v))
            }
            c => return Err(format!("unsupported type code {:?}", c as char)),
        })
    }

    pub fn read_all(&mut self, sig: &str) -> Result<Vec<Value>, String> {
        split_signature(sig)?
            .into_iter()
            .map(|t| self.read(t))
            .collect()
    }
}

/// A D-Bus message (header fields we use + decoded body).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub msg_type: u8,
    pub flags: u8,
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub destination: Option<String>,
    pub sender: Option<String>,
    pub body: Vec<Value>,
}

impl Message {
    pub fn method_call(
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        body: Vec<Value>,
    ) -> Message {
        Message {
            msg_type: METHOD_CALL,
            path: Some(path.into()),
            interface: Some(iface.into()),
            member: Some(member.into()),
            destination: Some(dest.into()),
            body,
            ..Default::default()
        }
    }

    pub fn signal(path: &str, iface: &str, member: &str, body: Vec<Value>) -> Message {
        Message {
            msg_type: SIGNAL,
            path: Some(path.into()),
            interface: Some(iface.into()),
            member: Some(member.into()),
            body,
            ..Default::default()
        }
    }

    pub fn body_signature(&self) -> String {
        self.body.iter().map(Value::signature).collect()
    }

    /// Serialize with `serial` (little endian).
    pub fn encode(&self, serial: u32) -> Vec<u8> {
        let body = marshal(&self.body);
        let mut fields = Vec::new();
        let mut field = |code: u8, v: Value| {
            fields.push(Value::Struct(vec![
                Value::Byte(code),
                Value::Variant(Box::new(v)),
            ]))
        };
        if let Some(p) = &self.path {
            field(1, Value::Path(p.clone()));
        }
        if let Some(s) = &self.interface {
            field(2, Value::Str(s.clone()));
        }
        if let Some(s) = &self.member {
            field(3, Value::Str(s.clone()));
        }
        if let Some(s) = &self.error_name {
            field(4, Value::Str(s.clone()));
        }
        if let Some(r) = self.reply_serial {
            field(5, Value::U32(r));
        }
        if let Some(s) = &self.destination {
            field(6, Value::Str(s.clone()));
        }
        if let Some(s) = &self.sender {
            field(7, Value::Str(s.clone()));
        }
        if !self.body.is_empty() {
            field(8, Value::Sig(self.body_signature()));
        }
        let mut w = Writer::default();
        for v in [
            Value::Byte(b'l'),
            Value::Byte(self.msg_type),
            Value::Byte(self.flags),
            Value::Byte(1),
            Value::U32(body.len() as u32),
            Value::U32(serial),
            Value::Array("(yv)".into(), fields),
        ] {
            w.put(&v);
        }
        w.pad(8);
        w.buf.extend_from_slice(&body);
        w.buf
    }

    /// Total length of the message whose first 16 bytes are `head`.
    pub fn total_len(head: &[u8; 16]) -> Result<usize, String> {
        let big = match head[0] {
            b'l' => false,
            b'B' => true,
            c => return Err(format!("bad endianness byte {c:#x}")),
        };
        let rd = |i: usize| {
            let b = [head[i], head[i + 1], head[i + 2], head[i + 3]];
            (if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }) as usize
        };
        let (body, fields) = (rd(4), rd(12));
        let total = (16 + fields).div_ceil(8) * 8 + body;
        if total > MAX_MESSAGE {
            return Err("message too large".into());
        }
        Ok(total)
    }

    pub fn decode(buf: &[u8]) -> Result<Message, String> {
        if buf.len() < 16 {
            return Err("short message".into());
        }
        let big = buf[0] == b'B';
        let mut r = Reader::new(buf, big);
        let head = r.read_all("yyyyuua(yv)")?;
        let (
            Value::Byte(t),
            Value::Byte(flags),
            Value::U32(body_len),
            Value::U32(serial),
            Value::Array(_, fields),
        ) = (&head[1], &head[2], &head[4], &head[5], &head[6])
        else {
            return Err("malformed header".into());
        };
        let mut m = Message {
            msg_type: *t,
            flags: *flags,
            serial: *serial,
            ..Default::default()
        };
        let mut sig = String::new();
        for f in fields {
            let Value::Struct(kv) = f else { continue };
            let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (kv.first(), kv.get(1)) else {
                continue;
            };
            let s = v.as_str().map(str::to_string);
            match code {
                1 => m.path = s,
                2 => m.interface = s,
                3 => m.member = s,
                4 => m.error_name = s,
                5 => m.reply_serial = v.as_u32(),
                6 => m.destination = s,
                7 => m.sender = s,
                8 => sig = s.unwrap_or_default(),
                _ => {}
            }
        }
        r.align(8)?;
        let start = r.pos;
        if start + *body_len as usize != buf.len() {
            return Err("body length does not match".into());
        }
        let mut br = Reader::new(&buf[start..], big);
        m.body = br.read_all(&sig)?;
        Ok(m)
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

fn unescape_address(v: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone, PartialEq)]
pub enum SocketTarget {
    Path(String),
    Abstract(String),
}

/// Parse a D-Bus address list (`unix:path=…;unix:abstract=…,guid=…`) into unix socket targets.
pub fn parse_address(addr: &str) -> Vec<SocketTarget> {
    let mut v = Vec::new();
    for entry in addr.split(';') {
        let Some(kvs) = entry.strip_prefix("unix:") else {
            continue;
        };
        for kv in kvs.split(',') {
            match kv.split_once('=') {
                Some(("path", p)) => v.push(SocketTarget::Path(unescape_address(p))),
                Some(("abstract", p)) => v.push(SocketTarget::Abstract(unescape_address(p))),
                _ => {}
            }
        }
    }
    v
}

fn dbus_err(step: &str, detail: impl std::fmt::Display) -> CgroupError {
    CgroupError::Dbus {
        step: step.into(),
        detail: detail.to_string(),
        remedy: None,
    }
}

/// A blocking connection to a message bus.
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
    pub fn connect(address: &str, timeout: Duration) -> Result<Connection, CgroupError> {
        let step = format!("connecting to D-Bus at {address}");
        let mut last = None;
        let mut stream = None;
        for t in parse_address(address) {
            let r = match &t {
                SocketTarget::Path(p) => UnixStream::connect(p),
                SocketTarget::Abstract(n) => {
                    use std::os::linux::net::SocketAddrExt;
                    std::os::unix::net::SocketAddr::from_abstract_name(n.as_bytes())
                        .and_then(|a| UnixStream::connect_addr(&a))
                }
            };
            match r {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(CgroupError::io(step, &e, None)),
            (None, None) => {
                return Err(dbus_err(
                    &step,
                    "no unix:path= or unix:abstract= entry in the address",
                ))
            }
        };
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| CgroupError::io(step.clone(), &e, None))?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| CgroupError::io(step.clone(), &e, None))?;
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

    fn read_line(&mut self) -> Result<String, CgroupError> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            self.stream
                .read_exact(&mut b)
                .map_err(|e| CgroupError::io("reading the D-Bus SASL reply", &e, None))?;
            line.push(b[0]);
            if line.len() > 4096 {
                return Err(dbus_err("reading the D-Bus SASL reply", "line too long"));
            }
        }
        Ok(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned())
    }

    fn authenticate(&mut self) -> Result<(), CgroupError> {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let mut hello = vec![0u8];
        hello.extend_from_slice(sasl_external_line(uid).as_bytes());
        self.stream
            .write_all(&hello)
            .map_err(|e| CgroupError::io("sending D-Bus SASL AUTH", &e, None))?;
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(dbus_err(
                "D-Bus SASL EXTERNAL authentication",
                format!("server answered {line:?}"),
            ));
        }
        self.stream
            .write_all(b"BEGIN\r\n")
            .map_err(|e| CgroupError::io("sending D-Bus SASL BEGIN", &e, None))
    }

    /// Send a message, returning its serial.
    pub fn send(&mut self, msg: &Message) -> Result<u32, CgroupError> {
        self.serial = self.serial.wrapping_add(1).max(1);
        let bytes = msg.encode(self.serial);
        self.stream.write_all(&bytes).map_err(|e| {
            CgroupError::io(
                format!(
                    "sending D-Bus {}",
                    msg.member.as_deref().unwrap_or("message")
                ),
                &e,
                None,
            )
        })?;
        Ok(self.serial)
    }

    fn read_message(&mut self, deadline: Instant) -> Result<Message, CgroupError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CgroupError::Timeout {
                step: "waiting for a D-Bus message".into(),
                waited_ms: self.timeout.as_millis() as u64,
            });
        }
        let _ = self.stream.set_read_timeout(Some(left));
        let map = |e: io::Error| {
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                CgroupError::Timeout {
                    step: "waiting for a D-Bus message".into(),
                    waited_ms: left.as_millis() as u64,
                }
            } else {
                CgroupError::io("reading a D-Bus message", &e, None)
            }
        };
        let mut head = [0u8; 16];
        self.stream.read_exact(&mut head).map_err(map)?;
        let total =
            Message::total_len(&head).map_err(|e| dbus_err("reading a D-Bus message", e))?;
        let mut buf = head.to_vec();
        buf.resize(total, 0);
        self.stream.read_exact(&mut buf[16..]).map_err(map)?;
        Message::decode(&buf).map_err(|e| dbus_err("decoding a D-Bus message", e))
    }

    /// Call a method and wait for its reply; an ERROR reply becomes `CgroupError::Dbus` whose
    /// detail starts with the error name.
    pub fn call(&mut self, msg: Message) -> Result<Message, CgroupError> {
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
                    return Err(dbus_err(
                        &what,
                        format!("{}: {text}", m.error_name.as_deref().unwrap_or("error")),
                    ));
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
    ) -> Result<Message, CgroupError> {
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
    pub fn add_match(&mut self, rule: &str) -> Result<(), CgroupError> {
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
mod tests {
    use super::*;

    #[test]
    fn sasl_line_format() {
        assert_eq!(sasl_external_line(1000), "AUTH EXTERNAL 31303030\r\n");
        assert_eq!(sasl_external_line(0), "AUTH EXTERNAL 30\r\n");
        assert_eq!(sasl_external_line(65534), "AUTH EXTERNAL 3635353334\r\n");
    }

    #[test]
    fn address_parsing() {
        assert_eq!(
            parse_address("unix:path=/run/user/1000/bus"),
            vec![SocketTarget::Path("/run/user/1000/bus".into())]
        );
        assert_eq!(
            parse_address("tcp:host=x;unix:abstract=/tmp/dbus-abc,guid=123;unix:path=/a%20b"),
            vec![
                SocketTarget::Abstract("/tmp/dbus-abc".into()),
                SocketTarget::Path("/a b".into())
            ]
        );
    }

    #[test]
    fn marshal_byte_then_u64_pads_to_8() {
        let b = marshal(&[Value::Byte(1), Value::U64(2)]);
        assert_eq!(b, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn marshal_property_array_hand_computed() {
        // a(sv) with one entry ("A", <uint64 5>):
        // 0..4 array length (24), 4..8 pad to struct alignment 8,
        // 8..12 strlen 1, 12..14 "A\0", 14..17 signature 1 "t" \0, 17..24 pad, 24..32 u64 5.
        let v = Value::Array("(sv)".into(), vec![Value::prop("A", Value::U64(5))]);
        let b = marshal(std::slice::from_ref(&v));
        let expect: Vec<u8> = vec![
            24, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, b'A', 0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0,
            0, 0, 0, 0, 0,
        ];
        assert_eq!(b, expect);
        assert_eq!(v.signature(), "a(sv)");
        assert_eq!(Reader::new(&b, false).read("a(sv)").unwrap(), v);
    }

    #[test]
    fn marshal_empty_array_still_pads_to_element_alignment() {
        // "a" then an empty a(sa(sv)): string ends at 6, length at 8..12, pad to 16, no elements.
        let b = marshal(&[
            Value::Str("a".into()),
            Value::Array("(sa(sv))".into(), vec![]),
        ]);
        assert_eq!(b, [1, 0, 0, 0, b'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut r = Reader::new(&b, false);
        assert_eq!(
            r.read_all("sa(sa(sv))").unwrap(),
            vec![
                Value::Str("a".into()),
                Value::Array("(sa(sv))".into(), vec![])
            ]
        );
    }

    #[test]
    fn marshal_au_and_bool_variants() {
        // (sv) "PIDs" -> <au [7]>: strlen 4 "PIDs\0" (0..9), sig "au" (9..13), pad to 16,
        // array len 4 (16..20), element 7 (20..24).
        let b = marshal(&[Value::prop(
            "PIDs",
            Value::Array("u".into(), vec![Value::U32(7)]),
        )]);
        assert_eq!(
            b,
            [
                4, 0, 0, 0, b'P', b'I', b'D', b's', 0, 2, b'a', b'u', 0, 0, 0, 0, 4, 0, 0, 0, 7, 0,
                0, 0
            ]
        );
        let b = marshal(&[Value::prop("D", Value::Bool(true))]);
        assert_eq!(b, [1, 0, 0, 0, b'D', 0, 1, b'b', 0, 0, 0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn hello_message_bytes() {
        let m = Message::method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            vec![],
        );
        let b = m.encode(1);
        // fixed header: 'l', METHOD_CALL, flags 0, version 1, body length 0, serial 1
        assert_eq!(&b[..12], &[b'l', 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0]);
        // first header field starts at 16: code 1 (PATH), signature "o", then the path string
        assert_eq!(&b[16..20], &[1, 1, b'o', 0]);
        assert_eq!(&b[20..24], &21u32.to_le_bytes());
        assert_eq!(&b[24..45], b"/org/freedesktop/DBus");
        assert_eq!(b.len() % 8, 0);
        let fields_len = u32::from_le_bytes(b[12..16].try_into().unwrap()) as usize;
        assert_eq!(
            Message::total_len(&b[..16].try_into().unwrap()).unwrap(),
            (16 + fields_len).div_ceil(8) * 8
        );
        let d = Message::decode(&b).unwrap();
        assert_eq!(d.member.as_deref(), Some("Hello"));
        assert_eq!(d.destination.as_deref(), Some("org.freedesktop.DBus"));
        assert_eq!(d.serial, 1);
    }

    #[test]
    fn job_removed_round_trip_and_big_endian_reader() {
        let body = vec![
            Value::U32(42),
            Value::Path("/org/freedesktop/systemd1/job/42".into()),
            Value::Str("app-jail-x-1.scope".into()),
            Value::Str("done".into()),
        ];
        let mut m = Message::signal(
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "JobRemoved",
            body.clone(),
        );
        m.sender = Some(":1.5".into());
        let d = Message::decode(&m.encode(9)).unwrap();
        assert_eq!(d.body, body);
        assert_eq!(d.msg_type, SIGNAL);
        assert_eq!(d.sender.as_deref(), Some(":1.5"));
        // big-endian u32 + string
        let be = [0, 0, 0, 7, 0, 0, 0, 2, b'h', b'i', 0];
        assert_eq!(
            Reader::new(&be, true).read_all("us").unwrap(),
            vec![Value::U32(7), Value::Str("hi".into())]
        );
    }

    #[test]
    fn reader_rejects_garbage() {
        assert!(Reader::new(&[255, 255, 255, 255], false)
            .read("as")
            .is_err());
        assert!(Message::decode(&[b'x'; 16]).is_err());
        assert!(split_signature("(s").is_err());
    }
}
