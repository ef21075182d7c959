//! Class 9: the host's abstract unix sockets and loopback servers are unreachable.
use super::*;

/// A one-shot python3 server on the host: prints its address, answers "hello" to each client.
fn serve(kind: &str) -> (std::process::Child, String) {
    assert!(need("/usr/bin/python3"));
    let code = r#"
import socket, sys
if sys.argv[1] == "abstract":
    s = socket.socket(socket.AF_UNIX); name = "jail-escape-%d" % __import__("os").getpid(); s.bind("\0" + name)
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); name = str(s.getsockname()[1])
s.listen(8); print(name, flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
"#;
    let mut c = Command::new("/usr/bin/python3")
        .args(["-c", code, kind])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(c.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    (c, line.trim().to_string())
}

fn reach(kind: &str, args: &[&str]) {
    let (mut srv, addr) = serve(kind);
    let verb = if kind == "abstract" {
        "abstract"
    } else {
        "tcp"
    };
    each_user(|u| {
        let o = outside(u, &[verb, &addr]);
        assert!(text(&o).contains("got hello"), "proof failed: {}", text(&o));
        let r = inside(u, args, &[verb, &addr]);
        assert!(
            !r.stdout().contains("hello"),
            "[{}] ESCAPE: host {kind} server reached:\n{}",
            u.name,
            r.stdout()
        );
        refused(&r, "connect");
    });
    let _ = srv.kill();
    let _ = srv.wait();
}

#[test]
fn abstract_socket_new_netns() {
    reach("abstract", &[]);
}

#[test]
fn loopback_tcp_default_net() {
    reach("tcp", &[]);
}
