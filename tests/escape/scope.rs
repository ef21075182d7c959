//! Class 14: the host's abstract unix sockets and processes, reached through what the
//! namespaces share (the host network, the host pid namespace). Landlock's scopes (ABI 6) are
//! jail's default; these tests need a kernel that has them.
use super::*;

/// True when this kernel has Landlock scopes; under JAIL_TEST_STRICT=1 it must.
fn scopes() -> bool {
    let abi = jail::host::Host::probe().landlock_abi.unwrap_or(0);
    if abi < 6 {
        eprintln!("SKIPPED: Landlock ABI {abi} < 6: no scopes on this kernel");
        assert!(!strict(), "JAIL_TEST_STRICT=1 needs Landlock ABI >= 6");
        return false;
    }
    true
}

/// A listener on the abstract socket @NAME, run on the host as `u`: answers "hello".
fn listen_abstract(u: &User) -> (std::process::Child, String) {
    assert!(need("/usr/bin/python3"));
    let code = r#"
import os, socket
s = socket.socket(socket.AF_UNIX); name = "jail-escape-scope-%d" % os.getpid(); s.bind("\0" + name)
s.listen(8); print(name, flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hello\n"); c.close()
"#;
    let mut c = host_cmd(u, "/usr/bin/python3")
        .args(["-c", code])
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

#[test]
fn host_abstract_socket_refused_with_host_network() {
    if !scopes() {
        return;
    }
    each_user(|u| {
        let (mut srv, name) = listen_abstract(u);
        let o = outside(u, &["abstract", &name]);
        assert!(text(&o).contains("got hello"), "proof failed: {}", text(&o));
        // The default profile with the host network, and the packaged host-network profiles.
        for extra in [
            &["--net", "host"][..],
            &["--profile", "curl"],
            &["--profile", "wget"],
            &["--profile", "git"],
            &["--profile", "ssh"],
        ] {
            let r = inside(u, extra, &["abstract", &name]);
            assert!(
                !r.stdout().contains("hello"),
                "[{}] ESCAPE: host abstract socket reached with {extra:?}:\n{}",
                u.name,
                r.stdout()
            );
            refused(&r, "connect");
        }
        // The refusal is the scope's: a profile that opts out reaches the socket again.
        let d = tempdir(u);
        let open = profile_file(
            u,
            &d,
            "open",
            "include = [\"base\"]\n[landlock]\nscope = [\"!abstract-unix-socket\"]\n",
        );
        let r = inside(
            u,
            &["--profile", &open, "--net", "host"],
            &["abstract", &name],
        );
        assert!(
            r.stdout().contains("got hello"),
            "[{}] opting out did not reopen the socket:\n{}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        let _ = srv.kill();
        let _ = srv.wait();
        let _ = std::fs::remove_dir_all(&d);
    });
}

#[test]
fn x11_abstract_socket_refused_when_x11_is_off() {
    if !scopes() || !need("Xvfb") {
        return;
    }
    // A display nobody uses; Xvfb listens on @/tmp/.X11-unix/XN and the socket file.
    let x = Xvfb::start(200..400, &[]);
    let name = x.socket();
    each_user(|u| {
        let o = outside(u, &["abstract", &name]);
        works(&o, "connect");
        let r = inside(u, &["--net", "host"], &["abstract", &name]);
        refused(&r, "connect");
    });
}

#[test]
fn host_process_not_signalled_with_host_pid_namespace() {
    if !scopes() {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        // The host pid namespace: the host's processes are visible, pids name them.
        let prof = profile_file(
            u,
            &d,
            "hostpid",
            "include = [\"base\"]\n[namespaces]\npid = false\n",
        );
        let mut proof = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let o = outside(u, &["signal", &proof.id().to_string()]);
        works(&o, "kill-term");
        let _ = proof.kill();
        let _ = proof.wait();

        let mut victim = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let pid = victim.id();
        let r = inside(u, &["--profile", &prof], &["signal", &pid.to_string()]);
        refused(&r, "kill-term");
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            victim.try_wait().unwrap().is_none(),
            "[{}] ESCAPE: the host's process was killed from inside:\n{}",
            u.name,
            r.stdout()
        );
        let _ = victim.kill();
        let _ = victim.wait();
        let _ = std::fs::remove_dir_all(&d);
    });
}
