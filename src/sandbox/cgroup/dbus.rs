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

/// Limits of the D-Bus specification: a message, an array, a signature, container nesting.
pub const MAX_MESSAGE: usize = 128 << 20;
pub const MAX_ARRAY: usize = 64 << 20;
pub const MAX_SIGNATURE: usize = 255;
pub const MAX_ARRAY_DEPTH: u32 = 32;
pub const MAX_STRUCT_DEPTH: u32 = 32;
pub const MAX_DEPTH: u32 = 64;
/// Values decoded from one message at most (jail's replies and signals hold a few dozen; this
/// bounds the memory a peer can make one message cost to some tens of MiB).
pub const MAX_VALUES: usize = 1 << 20;

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

/// Length of the first complete type in `sig`, checked against the D-Bus specification's rules
/// ("Valid Signatures"): known type codes only; no empty struct `()`; a dict entry `{KV}` only as
/// the element type of an array, with a basic key type and exactly one value type; at most 32
/// nested arrays and 32 nested structs (dict entries count as structs).
fn first_type_len(sig: &[u8]) -> Result<usize, String> {
    fn one(sig: &[u8], at: usize, arrays: u32, structs: u32) -> Result<usize, String> {
        match sig.get(at).copied() {
            None => Err("signature ends inside a type".into()),
            Some(b'a') => {
                if arrays >= MAX_ARRAY_DEPTH {
                    return Err("arrays nested deeper than 32 in a signature".into());
                }
                if sig.get(at + 1) == Some(&b'{') {
                    if structs >= MAX_STRUCT_DEPTH {
                        return Err("structs nested deeper than 32 in a signature".into());
                    }
                    let k = at + 2;
                    match sig.get(k).copied() {
                        Some(c) if is_basic(c) => {}
                        Some(b'}') => return Err("empty dict entry {} in a signature".into()),
                        _ => return Err("dict entry key is not a basic type".into()),
                    }
                    let v_end = one(sig, k + 1, arrays + 1, structs + 1)?;
                    if sig.get(v_end) != Some(&b'}') {
                        return Err("dict entry must hold exactly a key and a value".into());
                    }
                    Ok(v_end + 1)
                } else {
                    one(sig, at + 1, arrays + 1, structs)
                }
            }
            Some(b'(') => {
                if structs >= MAX_STRUCT_DEPTH {
                    return Err("structs nested deeper than 32 in a signature".into());
                }
                let mut p = at + 1;
                if sig.get(p) == Some(&b')') {
                    return Err("empty struct () in a signature".into());
                }
                while sig.get(p) != Some(&b')') {
                    if p >= sig.len() {
                        return Err("unterminated struct in signature".into());
                    }
                    p = one(sig, p, arrays, structs + 1)?;
                }
                Ok(p + 1)
            }
            Some(b'{') => Err("dict entry outside an array in a signature".into()),
            Some(b')' | b'}') => Err("mismatched brackets in signature".into()),
            Some(b'v') => Ok(at + 1),
            Some(c) if is_basic(c) => Ok(at + 1),
            Some(c) => Err(format!("unsupported type code {:?}", c as char)),
        }
    }
    if sig.len() > MAX_SIGNATURE {
        return Err("signature longer than 255 bytes".into());
    }
    if sig.is_empty() {
        return Err("empty signature".into());
    }
    one(sig, 0, 0, 0)
}

fn is_basic(c: u8) -> bool {
    matches!(
        c,
        b'y' | b'b' | b'n' | b'q' | b'i' | b'u' | b'x' | b't' | b'd' | b's' | b'o' | b'g' | b'h'
    )
}

/// Split a signature into its complete types (each checked as [`first_type_len`] says; the
/// whole signature at most 255 bytes).
pub fn split_signature(sig: &str) -> Result<Vec<&str>, String> {
    if sig.len() > MAX_SIGNATURE {
        return Err("signature longer than 255 bytes".into());
    }
    let mut out = Vec::new();
    let mut rest = sig;
    while !rest.is_empty() {
        let n = first_type_len(rest.as_bytes())?;
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    Ok(out)
}

/// A valid object path: `/`, or `/` followed by `/`-separated non-empty elements of
/// `[A-Za-z0-9_]`.
fn valid_object_path(p: &str) -> bool {
    p == "/"
        || (p.starts_with('/')
            && p[1..].split('/').all(|e| {
                !e.is_empty() && e.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            }))
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
///
/// It refuses what the D-Bus specification calls invalid (see [`first_type_len`] for
/// signatures; non-zero padding, strings that are not UTF-8 or hold a NUL, a missing
/// terminating NUL, booleans other than 0 and 1, invalid object paths, arrays longer than
/// 64 MiB or whose elements overrun them, containers nested deeper than 32 arrays, 32 structs or
/// 64 in all with variants), and bounds its work: every value consumes at least one byte (no
/// empty struct exists), and at most [`MAX_VALUES`] values are decoded per reader.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
    arrays: u32,
    structs: u32,
    variants: u32,
    values: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], big: bool) -> Self {
        Reader {
            buf,
            pos: 0,
            big,
            arrays: 0,
            structs: 0,
            variants: 0,
            values: 0,
        }
    }
    fn align(&mut self, a: usize) -> Result<(), String> {
        let p = self.pos.div_ceil(a) * a;
        if p > self.buf.len() {
            return Err("truncated (padding)".into());
        }
        if self.buf[self.pos..p].iter().any(|&b| b != 0) {
            return Err("non-zero padding".into());
        }
        self.pos = p;
        Ok(())
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.buf.len() - self.pos {
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
    /// `n` bytes of text and their NUL terminator: UTF-8 without a NUL inside.
    fn text(&mut self, n: usize, what: &str) -> Result<String, String> {
        let s = self.take(n.checked_add(1).ok_or("truncated")?)?;
        if s[n] != 0 {
            return Err(format!("{what} is not NUL-terminated"));
        }
        let s = std::str::from_utf8(&s[..n]).map_err(|_| format!("{what} is not UTF-8"))?;
        if s.contains('\0') {
            return Err(format!("{what} holds a NUL byte"));
        }
        Ok(s.to_string())
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        self.text(n, "string")
    }
    fn sig(&mut self) -> Result<String, String> {
        let n = self.take(1)?[0] as usize;
        let s = self.text(n, "signature")?;
        split_signature(&s)?;
        Ok(s)
    }
    fn enter(&mut self) -> Result<(), String> {
        if self.arrays > MAX_ARRAY_DEPTH
            || self.structs > MAX_STRUCT_DEPTH
            || self.arrays + self.structs + self.variants > MAX_DEPTH
        {
            return Err(
                "containers nested too deep (D-Bus allows 32 arrays, 32 structs, 64 in all)".into(),
            );
        }
        Ok(())
    }

    /// Read one value of the single complete type `sig` (checked first).
    pub fn read(&mut self, sig: &str) -> Result<Value, String> {
        if first_type_len(sig.as_bytes())? != sig.len() {
            return Err(format!("{sig:?} is not a single complete type"));
        }
        self.value(sig)
    }

    /// Reads a value of `sig`, a single complete type already checked.
    fn value(&mut self, sig: &str) -> Result<Value, String> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(format!("more than {MAX_VALUES} values in one message"));
        }
        let b = sig.as_bytes();
        Ok(match b.first().copied().ok_or("empty signature")? {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => match self.u32()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err("boolean other than 0 or 1".into()),
            },
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
            b'o' => {
                let p = self.string()?;
                if !valid_object_path(&p) {
                    return Err(format!("{p:?} is not an object path"));
                }
                Value::Path(p)
            }
            b'g' => Value::Sig(self.sig()?),
            b'v' => {
                let s = self.sig()?;
                if first_type_len(s.as_bytes())? != s.len() {
                    return Err(format!("variant signature {s:?} is not a single type"));
                }
                self.variants += 1;
                self.enter()?;
                let v = self.value(&s);
                self.variants -= 1;
                Value::Variant(Box::new(v?))
            }
            b'a' => {
                let elem = &sig[1..];
                let first = *elem
                    .as_bytes()
                    .first()
                    .ok_or("array signature without element type")?;
                let n = self.u32()? as usize;
                if n > MAX_ARRAY {
                    return Err("array longer than 64 MiB".into());
                }
                self.align(align_of(first))?;
                if n > self.buf.len() - self.pos {
                    return Err("truncated array".into());
                }
                let end = self.pos + n;
                self.arrays += 1;
                self.enter()?;
                let mut items = Vec::new();
                while self.pos < end {
                    let before = self.pos;
                    match self.value(elem) {
                        Ok(v) => items.push(v),
                        Err(e) => {
                            self.arrays -= 1;
                            return Err(e);
                        }
                    }
                    if self.pos == before {
                        // Cannot happen for a checked signature; a guard against looping.
                        self.arrays -= 1;
                        return Err("array element consumed no bytes".into());
                    }
                }
                self.arrays -= 1;
                if self.pos != end {
                    return Err("array element overran the array length".into());
                }
                Value::Array(elem.to_string(), items)
            }
            b'(' | b'{' if sig.len() < 2 => return Err("truncated struct signature".into()),
            open @ (b'(' | b'{') => {
                self.align(8)?;
                self.structs += 1;
                let r = self.enter().and_then(|_| {
                    let mut f = Vec::new();
                    for t in split_signature(&sig[1..sig.len() - 1])? {
                        f.push(self.value(t)?);
                    }
                    Ok(f)
                });
                self.structs -= 1;
                let mut f = r?;
                if open == b'(' {
                    Value::Struct(f)
                } else {
                    if f.len() != 2 {
                        return Err("dict entry must have two types".into());
                    }
                    let v = f.pop().ok_or("dict entry")?;
                    let k = f.pop().ok_or("dict entry")?;
                    Value::DictEntry(Box::new(k), Box::new(v))
                }
            }
            c => return Err(format!("unsupported type code {:?}", c as char)),
        })
    }

    /// Reads values of every complete type of `sig` (a signature of at most 255 bytes).
    pub fn read_all(&mut self, sig: &str) -> Result<Vec<Value>, String> {
        split_signature(sig)?
            .into_iter()
            .map(|t| self.value(t))
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
        if fields > MAX_ARRAY || body > MAX_MESSAGE {
            return Err("message too large".into());
        }
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
        if buf.len() > MAX_MESSAGE {
            return Err("message larger than 128 MiB".into());
        }
        let big = match buf[0] {
            b'l' => false,
            b'B' => true,
            c => return Err(format!("bad endianness byte {c:#x}")),
        };
        if buf[3] != 1 {
            return Err(format!("unknown protocol version {}", buf[3]));
        }
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
        if *t == 0 {
            return Err("message type 0 is invalid".into());
        }
        if *serial == 0 {
            return Err("message serial 0 is invalid".into());
        }
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
        if *body_len > 0 && sig.is_empty() {
            return Err("a body without a signature".into());
        }
        let mut br = Reader::new(&buf[start..], big);
        m.body = br.read_all(&sig)?;
        if br.pos != buf.len() - start {
            return Err("bytes left after the body".into());
        }
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

/// Connects to a unix socket before `deadline`: non-blocking, so a listener whose backlog is
/// full (connect would block forever) costs at most the time left.
fn connect_unix(t: &SocketTarget, deadline: Instant) -> io::Result<UnixStream> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::AsRawFd;
    let addr = match t {
        SocketTarget::Path(p) => UnixAddr::new(p.as_str()),
        SocketTarget::Abstract(n) => UnixAddr::new_abstract(n.as_bytes()),
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
    pub fn connect(address: &str, timeout: Duration) -> Result<Connection, CgroupError> {
        let step = format!("connecting to D-Bus at {address}");
        let mut last = None;
        let mut stream = None;
        let deadline = Instant::now() + timeout;
        for t in parse_address(address) {
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

    /// Fills `buf` from the socket before `deadline`: the read timeout is set to what is left
    /// before every read, so a peer trickling bytes cannot stretch the wait past the deadline.
    fn read_full(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
        step: &str,
    ) -> Result<(), CgroupError> {
        let mut got = 0;
        while got < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CgroupError::Timeout {
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
                    return Err(CgroupError::Timeout {
                        step: step.into(),
                        waited_ms: self.timeout.as_millis() as u64,
                    });
                }
                Err(e) => return Err(CgroupError::io(step, &e, None)),
            }
        }
        Ok(())
    }

    fn read_line(&mut self, deadline: Instant) -> Result<String, CgroupError> {
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

    fn authenticate(&mut self) -> Result<(), CgroupError> {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let mut hello = vec![0u8];
        hello.extend_from_slice(sasl_external_line(uid).as_bytes());
        self.stream
            .write_all(&hello)
            .map_err(|e| CgroupError::io("sending D-Bus SASL AUTH", &e, None))?;
        let line = self.read_line(Instant::now() + self.timeout)?;
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

    /// Reads one message before `deadline`. The buffer grows with what arrives (64 KiB at a
    /// time), not with what the header claims, and the header's lengths are checked first.
    fn read_message(&mut self, deadline: Instant) -> Result<Message, CgroupError> {
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

    fn le(v: u32) -> [u8; 4] {
        v.to_le_bytes()
    }

    /// Issue 12 item 8: an empty struct consumes no bytes; an array of them looped forever.
    /// A signal whose body signature is "a()" and whose body is an 8-byte array of empty
    /// structs: the message that used to make the reader loop for ever.
    fn empty_struct_message() -> Vec<u8> {
        let mut w = Writer::default();
        for v in [
            Value::Byte(b'l'),
            Value::Byte(SIGNAL),
            Value::Byte(0),
            Value::Byte(1),
            Value::U32(16),
            Value::U32(1),
            Value::Array(
                "(yv)".into(),
                vec![Value::Struct(vec![
                    Value::Byte(8),
                    Value::Variant(Box::new(Value::Sig("a()".into()))),
                ])],
            ),
        ] {
            w.put(&v);
        }
        w.pad(8);
        w.buf.extend_from_slice(&le(8));
        w.buf.extend_from_slice(&[0; 12]);
        w.buf
    }

    #[test]
    fn empty_struct_array_is_refused_at_once() {
        let mut b = le(8).to_vec();
        b.extend_from_slice(&[0; 12]);
        let e = Reader::new(&b, false).read("a()").unwrap_err();
        assert!(e.contains("empty struct"), "{e}");
        assert!(Reader::new(&[0; 8], false).read("a()").is_err());
        assert!(Reader::new(&[0; 8], false).read("()").is_err());
        assert!(Reader::new(&b, false).read_all("ya()").is_err());
        // The same in a variant and as a message body.
        let mut v = vec![3, b'a', b'(', b')', 0];
        v.extend_from_slice(&[0; 3]);
        v.extend_from_slice(&le(8));
        v.extend_from_slice(&[0; 12]);
        assert!(Reader::new(&v, false).read("v").is_err());
        // A message whose body signature is "a()", its body an 8-byte array of nothing.
        let e = Message::decode(&empty_struct_message()).unwrap_err();
        assert!(e.contains("empty struct"), "{e}");
    }

    #[test]
    fn signatures_follow_the_specification() {
        for bad in [
            "()", "a()", "{}", "a{}", "{sv}", "(s{sv})", "a{s}", "a{svs}", "a{vs}", "a{(s)s}",
            "(s", "s)", "a", "aa", "(s}", "z", "v(", "a{sv",
        ] {
            assert!(split_signature(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a{sv}",
            "a(sa(sv))",
            "(yv)",
            "a{oa{sa{sv}}}",
            "aay",
            "(((y)))",
        ] {
            assert!(split_signature(good).is_ok(), "{good:?} refused");
        }
        let long = "y".repeat(256);
        assert!(split_signature(&long).is_err());
        assert!(split_signature(&"y".repeat(255)).is_ok());
        let nest = |n: usize| format!("{}y{}", "(".repeat(n), ")".repeat(n));
        assert!(split_signature(&nest(32)).is_ok());
        assert!(split_signature(&nest(33)).is_err());
        let arr = |n: usize| format!("{}y", "a".repeat(n));
        assert!(split_signature(&arr(32)).is_ok());
        assert!(split_signature(&arr(33)).is_err());
        // A dict entry counts as a struct level.
        let dicts = |n: usize| format!("a{{y{}y{}}}", "(".repeat(n), ")".repeat(n));
        assert!(split_signature(&dicts(31)).is_ok());
        assert!(split_signature(&dicts(32)).is_err());
        // A variant's signature is checked the same way.
        assert!(Reader::new(&[2, b'(', b')', 0], false).read("v").is_err());
        assert!(Reader::new(&[2, b'y', b'y', 0, 1, 1], false)
            .read("v")
            .is_err());
    }

    #[test]
    fn variants_nested_deeper_than_64_are_refused() {
        let nested = |n: usize| {
            let mut b = Vec::new();
            for _ in 0..n {
                b.extend_from_slice(&[1, b'v', 0]);
            }
            b.extend_from_slice(&[1, b'y', 0, 7]);
            b
        };
        assert!(Reader::new(&nested(63), false).read("v").is_ok());
        let e = Reader::new(&nested(64), false).read("v").unwrap_err();
        assert!(e.contains("nested too deep"), "{e}");
        assert!(Reader::new(&nested(100_000), false).read("v").is_err());
        // Arrays counted through variants: 32 at most in all.
        // Arrays are counted through variants: 32 at most in all.
        let arrays = |n: usize, mut v: Value| {
            for _ in 0..n {
                v = Value::Array(v.signature(), vec![v]);
            }
            v
        };
        let deep = |inner: usize| {
            let mid = Value::Variant(Box::new(arrays(inner, Value::Byte(7))));
            marshal(&[Value::Variant(Box::new(arrays(16, mid)))])
        };
        assert!(Reader::new(&deep(16), false).read("v").is_ok());
        let e = Reader::new(&deep(17), false).read("v").unwrap_err();
        assert!(e.contains("nested too deep"), "{e}");
    }

    #[test]
    fn lengths_are_bounded() {
        let mut b = le((64 << 20) + 1).to_vec();
        b.extend_from_slice(&[0; 16]);
        assert!(Reader::new(&b, false)
            .read("ay")
            .unwrap_err()
            .contains("64 MiB"));
        // An array longer than what is left, a string longer than what is left.
        assert!(Reader::new(&[8, 0, 0, 0, 1], false).read("ay").is_err());
        assert!(Reader::new(&[255, 255, 255, 255, 0], false)
            .read("s")
            .is_err());
        // The header: a 200 MiB body or a 100 MiB field array is refused before reading it.
        let mut h = [0u8; 16];
        h[0] = b'l';
        h[3] = 1;
        h[4..8].copy_from_slice(&le(200 << 20));
        assert!(Message::total_len(&h).is_err());
        h[4..8].copy_from_slice(&le(0));
        h[12..16].copy_from_slice(&le(100 << 20));
        assert!(Message::total_len(&h).is_err());
        h[12..16].copy_from_slice(&le(u32::MAX));
        h[4..8].copy_from_slice(&le(u32::MAX));
        assert!(Message::total_len(&h).is_err());
        // Work per message: an array of a million and more bytes is refused.
        let n = MAX_VALUES as u32 + 1;
        let mut b = le(n).to_vec();
        b.resize(4 + n as usize, 1);
        assert!(Reader::new(&b, false)
            .read("ay")
            .unwrap_err()
            .contains("values"));
    }

    #[test]
    fn malformed_values_are_refused() {
        // Padding must be zero: "y" then "u" with a non-zero pad byte.
        assert!(Reader::new(&[1, 0, 9, 0, 5, 0, 0, 0], false)
            .read_all("yu")
            .is_err());
        assert!(Reader::new(&[1, 0, 0, 0, 5, 0, 0, 0], false)
            .read_all("yu")
            .is_ok());
        // Booleans are 0 or 1.
        assert!(Reader::new(&le(2), false).read("b").is_err());
        assert_eq!(
            Reader::new(&le(1), false).read("b").unwrap(),
            Value::Bool(true)
        );
        // Strings: UTF-8, no NUL inside, NUL-terminated.
        assert!(Reader::new(&[2, 0, 0, 0, 0xff, 0xfe, 0], false)
            .read("s")
            .is_err());
        assert!(Reader::new(&[2, 0, 0, 0, b'a', 0, 0], false)
            .read("s")
            .is_err());
        assert!(Reader::new(&[2, 0, 0, 0, b'a', b'b', b'c'], false)
            .read("s")
            .is_err());
        assert!(Reader::new(&[1, b'y', b'x'], false).read("g").is_err());
        // Object paths.
        for bad in ["", "a", "/a/", "//", "/a-b", "/a//b"] {
            let b = marshal(&[Value::Str(bad.into())]);
            assert!(Reader::new(&b, false).read("o").is_err(), "{bad:?}");
        }
        for good in ["/", "/org/freedesktop/systemd1", "/a_1/B"] {
            let b = marshal(&[Value::Str(good.into())]);
            assert!(Reader::new(&b, false).read("o").is_ok(), "{good:?}");
        }
        // An element running over its array's length.
        assert!(Reader::new(&[2, 0, 0, 0, 1, 0, 0, 0], false)
            .read("au")
            .is_err());
        // A message whose body has bytes left over, or a body without a signature.
        let mut b = Message::signal("/a", "a.b", "C", vec![Value::Byte(1)]).encode(1);
        assert!(Message::decode(&b).is_ok());
        b[4] = 2;
        b.push(0);
        assert!(Message::decode(&b).is_err());
        let mut b = Message::signal("/a", "a.b", "C", vec![]).encode(1);
        b[4] = 1;
        b.push(0);
        assert!(Message::decode(&b).is_err());
        // Serial 0, version 2, bad endianness.
        let good = Message::signal("/a", "a.b", "C", vec![]).encode(1);
        for (i, v) in [(8, 0u8), (3, 2), (0, b'x')] {
            let mut b = good.clone();
            b[i] = v;
            assert!(Message::decode(&b).is_err(), "byte {i} = {v}");
        }
    }

    fn pair() -> (Connection, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        (
            Connection {
                stream: a,
                serial: 0,
                queue: VecDeque::new(),
                unique_name: String::new(),
                timeout: Duration::from_millis(300),
            },
            b,
        )
    }

    /// A peer that promises a huge message and sends nothing more, or trickles bytes forever:
    /// the read ends at the deadline with a timeout instead of hanging.
    #[test]
    fn a_stalling_or_trickling_peer_cannot_hang_the_reader() {
        let (mut c, mut peer) = pair();
        let mut h = Message::signal("/a", "a.b", "C", vec![]).encode(1);
        h[4..8].copy_from_slice(&le(100 << 20));
        peer.write_all(&h).unwrap();
        let e = c
            .read_message(Instant::now() + Duration::from_millis(200))
            .unwrap_err();
        assert!(matches!(e, CgroupError::Timeout { .. }), "{e:?}");

        let (mut c, peer) = pair();
        let t = std::thread::spawn(move || {
            let mut peer = peer;
            let mut h = Message::signal("/a", "a.b", "C", vec![]).encode(1);
            h[4..8].copy_from_slice(&le(1 << 20));
            let _ = peer.write_all(&h);
            // One byte every 10 ms until jail hangs up.
            while peer.write_all(&[0]).is_ok() {
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let e = c
            .read_message(Instant::now() + Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(e, CgroupError::Timeout { .. }), "{e:?}");
        drop(c);
        t.join().unwrap();

        // The hostile a() message itself, over the socket: an error, not a hang.
        let (mut c, mut peer) = pair();
        peer.write_all(&empty_struct_message()).unwrap();
        let e = c
            .read_message(Instant::now() + Duration::from_secs(30))
            .unwrap_err();
        assert!(matches!(e, CgroupError::Dbus { .. }), "{e:?}");
        // A closed connection is an error too.
        drop(peer);
        assert!(c
            .read_message(Instant::now() + Duration::from_secs(30))
            .is_err());
    }
}
