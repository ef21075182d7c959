//! Namespaces.
use super::*;

fn interfaces(dev: &str) -> Vec<String> {
    let mut v: Vec<String> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn network_only_loopback_unless_host() {
    let host = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    assert!(
        host.iter().any(|i| i != "lo"),
        "this host has no interface but lo; the test cannot tell the difference: {host:?}"
    );
    each_user(|u| {
        let r = sh(u, &[], "cat /proc/net/dev");
        r.ok();
        assert_eq!(
            interfaces(&r.stdout()),
            vec!["lo".to_string()],
            "[{}] interfaces inside: {}",
            u.name,
            r.stdout()
        );
        let r = sh(u, &["--net", "host"], "cat /proc/net/dev");
        r.ok();
        assert_eq!(
            interfaces(&r.stdout()),
            host,
            "[{}] --net host shows the host's interfaces",
            u.name
        );
    });
}

#[test]
fn host_processes_are_invisible() {
    if !need("ps") {
        return;
    }
    let m = marker();
    let mut host = Command::new("sleep").arg(&m).spawn().unwrap();
    let hp = host.id();
    assert!(Path::new(&format!("/proc/{hp}")).exists());
    each_user(|u| {
        let r = sh(u, &[], &format!("test -e /proc/{hp} && echo visible; ls /proc | grep -c '^[0-9]*$'; ps -e -o pid=,comm="));
        r.ok();
        let out = r.stdout();
        assert!(
            !out.contains("visible"),
            "[{}] host pid {hp} seen inside:\n{out}",
            u.name
        );
        assert!(!out.contains(&m), "{out}");
        // ps lists only the sandbox: init (jail), sh and ps itself.
        let ps: Vec<&str> = out.lines().skip(1).collect();
        assert!(
            ps.iter().all(|l| ["jail", "sh", "ps", "init"]
                .iter()
                .any(|c| l.trim().ends_with(c))),
            "[{}] ps inside:\n{out}",
            u.name
        );
        assert!(
            ps.len() <= 3 && ps.iter().any(|l| l.trim().ends_with("ps")),
            "[{}] ps inside:\n{out}",
            u.name
        );
        // The same ps on the host sees the sleep.
        assert!(host_sh("ps -e -o pid=")
            .split_whitespace()
            .any(|p| p == hp.to_string()));
    });
    let _ = host.kill();
    let _ = host.wait();
}

#[test]
fn hostname_default_and_option() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "jail");
    each_user(|u| {
        let r = sh(u, &[], "cat /proc/sys/kernel/hostname");
        r.ok();
        assert_eq!(r.stdout().trim(), "jail", "[{}]", u.name);
        let r = sh(
            u,
            &["--hostname", "foo"],
            "cat /proc/sys/kernel/hostname; hostname 2>/dev/null || true",
        );
        r.ok();
        assert_eq!(r.stdout().lines().next(), Some("foo"), "[{}]", u.name);
    });
    // The host's name is untouched.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host
    );
}
