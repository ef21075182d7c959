//! Arbitrary bytes as a D-Bus message (what any peer on the session bus can send jail while it
//! sets up a systemd scope), and as a signature plus a value. Any panic, hang (`-timeout`) or
//! runaway allocation (`-rss_limit_mb`) is a bug: bad input must end in an error.
#![no_main]

use jail::sandbox::dbus::Value;
use jail::sandbox::dbus::{Message, Reader};
use libfuzzer_sys::fuzz_target;

/// Whether `v` holds a value read from a type it does not marshal back to.
fn widened(v: &Value) -> bool {
    match v {
        Value::Variant(i) => widened(i),
        Value::Array(e, items) => {
            e.contains(['n', 'q', 'h', 'x', 'd']) || items.iter().any(widened)
        }
        Value::Struct(f) => f.iter().any(widened),
        Value::DictEntry(k, v) => widened(k) || widened(v),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(head) = data.get(..16) {
        let head: [u8; 16] = head.try_into().expect("16 bytes");
        let _ = Message::total_len(&head);
    }
    if let Ok(m) = Message::decode(data) {
        // A decoded body re-marshals and decodes to the same values, when every value keeps its
        // type (n, q, h, x and d are read into wider Values and re-marshal as other types).
        if !m.body.iter().any(widened) {
            let again = Message::signal("/a", "a.b", "C", m.body.clone()).encode(1);
            let again = Message::decode(&again).expect("a re-encoded body decodes");
            assert_eq!(again.body, m.body);
        }
    }
    // First byte: the length of a signature that follows; then the value in both byte orders.
    if let Some((&n, rest)) = data.split_first() {
        let n = (n as usize).min(rest.len());
        if let Ok(sig) = std::str::from_utf8(&rest[..n]) {
            let body = &rest[n..];
            let _ = Reader::new(body, false).read_all(sig);
            let _ = Reader::new(body, true).read_all(sig);
        }
    }
});
