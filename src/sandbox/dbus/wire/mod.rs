//! D-Bus wire format: values, signatures, marshalling and unmarshalling of messages.
//!
//! The format (D-Bus specification, "Message Protocol"): a message is a fixed header
//! `yyyyuua(yv)` padded to 8, then the body. Every value is aligned to its type's alignment
//! measured from the start of the message (the body starts 8-aligned, so body offsets can be
//! counted from the body start): y,g,v = 1; b,i,u,s,o,a = 4; t,x = 8; structs and dict entries = 8.
//! An array is its u32 byte length, then padding to the element alignment (present even when the
//! array is empty, and not counted in the length), then the elements. A variant is a signature
//! followed by the value.

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

pub(super) fn align_of(code: u8) -> usize {
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
pub(super) fn first_type_len(sig: &[u8]) -> Result<usize, String> {
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

pub(super) fn is_basic(c: u8) -> bool {
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
pub(super) fn valid_object_path(p: &str) -> bool {
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
    pub(super) fn pad(&mut self, a: usize) {
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

mod message;
mod reader;

pub use message::Message;
pub use reader::Reader;
