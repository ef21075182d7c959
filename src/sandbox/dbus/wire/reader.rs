//! Unmarshalling: reading values of a signature from a message's bytes, with the limits of
//! the specification (lengths, depths, counts) checked as it goes.

use super::*;

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
    pub(super) pos: usize,
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
    pub(super) fn align(&mut self, a: usize) -> Result<(), String> {
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
