use super::*;

#[test]
fn sasl_line_format() {
    assert_eq!(sasl_external_line(1000), "AUTH EXTERNAL 31303030\r\n");
    assert_eq!(sasl_external_line(0), "AUTH EXTERNAL 30\r\n");
    assert_eq!(sasl_external_line(65534), "AUTH EXTERNAL 3635353334\r\n");
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
        24, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, b'A', 0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0,
        0, 0, 0, 0,
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
            4, 0, 0, 0, b'P', b'I', b'D', b's', 0, 2, b'a', b'u', 0, 0, 0, 0, 4, 0, 0, 0, 7, 0, 0,
            0
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
        "()", "a()", "{}", "a{}", "{sv}", "(s{sv})", "a{s}", "a{svs}", "a{vs}", "a{(s)s}", "(s",
        "s)", "a", "aa", "(s}", "z", "v(", "a{sv",
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
    assert!(matches!(e, DbusError::Timeout { .. }), "{e:?}");

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
    assert!(matches!(e, DbusError::Timeout { .. }), "{e:?}");
    drop(c);
    t.join().unwrap();

    // The hostile a() message itself, over the socket: an error, not a hang.
    let (mut c, mut peer) = pair();
    peer.write_all(&empty_struct_message()).unwrap();
    let e = c
        .read_message(Instant::now() + Duration::from_secs(30))
        .unwrap_err();
    assert!(matches!(e, DbusError::Protocol { .. }), "{e:?}");
    // A closed connection is an error too.
    drop(peer);
    assert!(c
        .read_message(Instant::now() + Duration::from_secs(30))
        .is_err());
}
