//! A message: its fixed header, the header fields jail uses, and the body.

use super::*;

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
