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
