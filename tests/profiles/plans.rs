//! Golden plans of every shipped profile.
use super::*;

/// Paths whose presence depends on the machine (optional entries of the shipped profiles):
/// left out of the golden files so they do not change from one host to the next.
const HOST_DEPENDENT: [&str; 14] = [
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
];
const GOLDEN_ROOT: &str = "/tmp/jail-golden";

/// Whether a path's presence in a plan depends on the machine: the fixed list above, device
/// nodes, and every optional ("?…") entry written in a shipped profile, except what lies in the
/// golden session's own folders (which the test creates).
fn host_dependent(s: &str) -> bool {
    use std::sync::OnceLock;
    static OPTIONAL: OnceLock<Vec<String>> = OnceLock::new();
    let optional = OPTIONAL.get_or_init(|| {
        let home = format!("{GOLDEN_ROOT}/home");
        let mut v: Vec<String> = HOST_DEPENDENT.iter().map(|s| s.to_string()).collect();
        for f in std::fs::read_dir(Path::new(CRATE).join("profiles")).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            for piece in text.split("\"?").skip(1) {
                let Some(entry) = piece.split('"').next() else {
                    continue;
                };
                let entry = entry.replacen('~', &home, 1).replace("${HOME}", &home);
                if entry.starts_with('/') && !entry.starts_with(GOLDEN_ROOT) {
                    v.push(entry);
                }
            }
        }
        v
    });
    s.starts_with("/dev/") && s != "/dev/null"
        || optional
            .iter()
            .any(|p| s == p || s.starts_with(&format!("{p}/")))
        || s.starts_with('/') && !s.starts_with(GOLDEN_ROOT) && s.contains("*")
}

/// A note about an optional path outside the golden session's folders.
fn host_dependent_note(note: &str) -> bool {
    note.split_whitespace()
        .any(|w| host_dependent(w.trim_end_matches(':')))
        || note.starts_with("skipped optional ") && !note.contains(GOLDEN_ROOT)
}

/// The documented top-level keys of `jail explain --format json`, in order.
const PLAN_KEYS: [&str; 20] = [
    "format",
    "profile",
    "description",
    "files",
    "command",
    "namespaces",
    "ids",
    "mounts",
    "scratch",
    "process",
    "env",
    "limits",
    "rlimits",
    "capabilities",
    "seccomp",
    "landlock",
    "gui",
    "dbus",
    "warnings",
    "seccomp_groups",
];

/// GOLDEN_ROOT is one fixed path (the goldens hold it) shared by the tests of this process: it
/// goes when the process exits.
fn golden_root_removed_at_exit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| remove_at_exit(TempDir(PathBuf::from(GOLDEN_ROOT))));
}

/// A pretend desktop session: a runtime folder holding Wayland, PulseAudio, PipeWire and D-Bus
/// sockets, and an X11 socket in /tmp/.X11-unix. Returns the environment that points at them.
pub(super) fn fake_session() -> Vec<(String, String)> {
    let run = Path::new(GOLDEN_ROOT).join("run");
    golden_root_removed_at_exit();
    for d in [run.join("pulse"), PathBuf::from("/tmp/.X11-unix")] {
        std::fs::create_dir_all(d).unwrap();
    }
    for sock in [
        run.join("wayland-0"),
        run.join("pulse/native"),
        run.join("pipewire-0"),
        run.join("bus"),
        PathBuf::from("/tmp/.X11-unix/X99"),
    ] {
        if !sock.exists() && std::os::unix::net::UnixListener::bind(&sock).is_ok() {
            remove_at_exit(TempDir(sock));
        }
    }
    vec![
        ("XDG_RUNTIME_DIR".into(), run.display().to_string()),
        ("WAYLAND_DISPLAY".into(), "wayland-0".into()),
        ("DISPLAY".into(), ":99".into()),
        (
            "DBUS_SESSION_BUS_ADDRESS".into(),
            format!("unix:path={}", run.join("bus").display()),
        ),
    ]
}

/// `jail explain` of a shipped profile on a fixed pretend session: fixed HOME, cwd, profile path
/// and environment, and a runtime folder holding Wayland, PulseAudio, PipeWire and D-Bus sockets
/// (plus an X11 socket in /tmp/.X11-unix) so the desktop profiles compile. A profile that still
/// cannot compile here (no GPU on the machine …) has its error as its golden plan.
fn golden_explain(profile: &str, format: &str) -> (bool, String) {
    let root = Path::new(GOLDEN_ROOT);
    golden_root_removed_at_exit();
    let (home, work, profiles) = (root.join("home"), root.join("work"), root.join("profiles"));
    for d in [
        home.join(".ssh"),
        home.join(".gnupg"),
        home.join("Downloads"),
        work.clone(),
        profiles.clone(),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    let session = fake_session();
    let out = std::process::Command::new(jail_bin())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .env("USER", "golden")
        .env("LANG", "C.UTF-8")
        .env("JAIL_PROFILE_PATH", &profiles)
        .envs(session)
        .current_dir(&work)
        .args([
            "explain",
            "--format",
            format,
            "--profile",
            profile,
            "--",
            "/bin/true",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{profile}: {err}");
    if out.status.success() {
        (true, String::from_utf8(out.stdout).unwrap())
    } else {
        assert_eq!(out.status.code(), Some(125), "{profile}: {err}");
        (false, err)
    }
}

/// The helpers' folder is named after jail's pid: `…/session-PID`.
fn normalize_pid(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("/session-") {
        let (head, tail) = rest.split_at(i + "/session-".len());
        out.push_str(head);
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("PID");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

fn normalize_text(s: &str) -> String {
    let mut out = vec![];
    for line in s.lines() {
        let line = &normalize_pid(line);
        // Step numbers shift when a host-dependent line is dropped.
        let l = match line.split_once(". ") {
            Some((n, rest))
                if n.trim().chars().all(|c| c.is_ascii_digit()) && !n.trim().is_empty() =>
            {
                rest.to_string()
            }
            _ => line.to_string(),
        };
        if let Some(target) = l.split(':').next() {
            if host_dependent(target) {
                continue;
            }
        }
        if let Some(note) = l.strip_prefix("note: ") {
            if host_dependent_note(note) {
                continue;
            }
        }
        let l = if l.starts_with("ids: ") {
            "ids: UID/GID mapping (normalized)".to_string()
        } else {
            l
        };
        if let Some(rest) = l.strip_prefix("landlock: ") {
            // The access rights and the outcome depend on the kernel's Landlock ABI; keep which
            // paths get which class.
            let mut w = rest.splitn(3, ' ');
            if let (Some(class @ ("ro" | "rw" | "dev")), Some(path)) = (w.next(), w.next()) {
                let path = path.trim_end_matches(':');
                if !host_dependent(path) {
                    out.push(format!("landlock: {class} {path}"));
                }
            }
            continue;
        }
        out.push(l);
    }
    out.join("\n") + "\n"
}

fn normalize_json(s: &str) -> String {
    let mut v: Value = serde_json::from_str(&normalize_pid(s)).unwrap();
    // Only present when the session has an X cookie file or a bus to filter (host-dependent).
    v.as_object_mut().unwrap().remove("helpers");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut sorted = PLAN_KEYS.to_vec();
    sorted.sort();
    // Only present when there is something to create (absent "+path" grants).
    let mut got: Vec<&str> = keys.iter().copied().filter(|k| *k != "create").collect();
    got.sort();
    assert_eq!(
        got, sorted,
        "top-level keys of the JSON plan changed: document them in the README"
    );
    for k in ["uid_inside", "gid_inside", "uid_outside", "gid_outside"] {
        v["ids"][k] = Value::String("ID".into());
    }
    let mounts = v["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| !m["target"].as_str().map(host_dependent).unwrap_or(false));
    let w = v["warnings"].as_array_mut().unwrap();
    w.retain(|x| !host_dependent_note(x.as_str().unwrap()));
    let ll = &v["landlock"];
    let rules: Vec<Value> = ll["path_rules"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|x| !host_dependent(x["path"].as_str().unwrap_or("")))
                .map(|x| serde_json::json!({"path": x["path"], "classes": x["classes"]}))
                .collect()
        })
        .unwrap_or_default();
    v["landlock"] = serde_json::json!({"compat": ll["compat"], "path_rules": rules, "note": "ABI-dependent fields left out"});
    // Which cgroup back end would apply the limits, and its file writes, depend on the machine.
    if let Some(l) = v["limits"].as_object_mut() {
        for k in ["backend", "reasons", "remedy", "writes", "fallback"] {
            if l.remove(k).is_some() {
                l.insert(k.to_string(), Value::String("(host-dependent)".into()));
            }
        }
    }
    // The group table is the same for every profile: it has its own golden file.
    v.as_object_mut().unwrap().remove("seccomp_groups");
    // One line per BPF program: a changed filter still shows as a changed line.
    if let Some(filters) = v["seccomp"]["filters"].as_array_mut() {
        for f in filters {
            if let Some(prog) = f["program"].as_array() {
                let insns: Vec<String> = prog
                    .iter()
                    .map(|i| format!("{}/{}/{}/{}", i["code"], i["jt"], i["jf"], i["k"]))
                    .collect();
                f["program"] = Value::String(insns.join(" "));
            }
        }
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap();
    s.push('\n');
    s
}

fn golden(profile: &str, format: &str) {
    let (ok, got) = golden_explain(profile, format);
    let ext = if format == "json" { "json" } else { "txt" };
    let norm = match (ok, format) {
        (true, "json") => normalize_json(&got),
        (true, _) => normalize_text(&got),
        (false, _) => format!("(explain refused this profile on the golden session)\n{got}"),
    };
    compare_golden(&format!("{profile}.{ext}"), &norm);
}

/// Compares `norm` with tests/golden/NAME, or writes it there under `JAIL_BLESS=1`.
fn compare_golden(name: &str, norm: &str) {
    let file = Path::new(CRATE).join("tests/golden").join(name);
    if std::env::var("JAIL_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, norm).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run JAIL_BLESS=1 cargo test --test profiles golden",
            file.display()
        )
    });
    if want != norm {
        let diff: Vec<String> = diff_lines(&want, norm);
        panic!(
            "the plan in tests/golden/{name} changed; if intended, run JAIL_BLESS=1 cargo test --test profiles golden\n{}",
            diff.join("\n")
        );
    }
}

/// A small line diff: `-` lines only in the golden file, `+` lines only in the new plan.
fn diff_lines(a: &str, b: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = vec![];
    for l in &a {
        if !b.contains(l) {
            out.push(format!("- {l}"));
        }
    }
    for l in &b {
        if !a.contains(l) {
            out.push(format!("+ {l}"));
        }
    }
    if out.is_empty() {
        out.push("(same lines, different order)".into());
    }
    out
}

#[test]
fn golden_explain_of_shipped_profiles() {
    // Runs as the test's own user only: the goldens hold one fixed home, cwd and profile path.
    std::fs::create_dir_all(GOLDEN_ROOT).unwrap();
    // The seccomp group table of `explain --format json`, once.
    let (ok, json) = golden_explain("default", "json");
    assert!(ok, "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let groups = serde_json::to_string_pretty(&v["seccomp_groups"]).unwrap() + "\n";
    compare_golden("seccomp-groups.json", &groups);
    let mut shipped = vec![];
    for name in std::fs::read_dir(Path::new(CRATE).join("profiles")).unwrap() {
        let name = name.unwrap().path();
        let stem = name.file_stem().unwrap().to_str().unwrap().to_string();
        golden(&stem, "text");
        golden(&stem, "json");
        shipped.push(stem);
    }
    // A golden file of a profile that is no longer shipped is stale.
    for f in std::fs::read_dir(Path::new(CRATE).join("tests/golden")).unwrap() {
        let f = f.unwrap().path();
        let stem = f.file_stem().unwrap().to_str().unwrap().to_string();
        if stem != "seccomp-groups" && !shipped.contains(&stem) {
            if std::env::var("JAIL_BLESS").as_deref() == Ok("1") {
                std::fs::remove_file(&f).unwrap();
            } else {
                panic!(
                    "{} belongs to no shipped profile: remove it (JAIL_BLESS=1 does)",
                    f.display()
                );
            }
        }
    }
}

#[test]
fn json_plan_keys_are_stable() {
    each_user(|u| {
        let r = Jail::new(u)
            .args(["explain", "--format", "json", "--", "/bin/true"])
            .output();
        r.ok();
        let raw = r.stdout();
        let v: Value = serde_json::from_str(&raw).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut sorted = PLAN_KEYS.to_vec();
        sorted.sort();
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, sorted);
        // In written order, too (serde_json without preserve_order sorts keys; check the text).
        let mut last = 0;
        for k in PLAN_KEYS {
            let at = raw
                .find(&format!("\n  \"{k}\":"))
                .unwrap_or_else(|| panic!("{k} missing"));
            assert!(at >= last, "{k} out of order");
            last = at;
        }
        assert_eq!(v["format"], 1);
        assert_eq!(v["command"], serde_json::json!(["/bin/true"]));
    });
}

/// Without --profile, the profile named after COMMAND is used when it exists; a broken one is
/// reported (exit 125, located), never silently replaced by `default`.
#[test]
fn profile_named_after_command_is_used_and_reported_when_broken() {
    each_user(|u| {
        let ok = Jail::new(u)
            .profile("true", "description = \"mine\"\ninclude = [\"base\"]\n")
            .args(["explain", "--", "/bin/true"])
            .output();
        ok.ok();
        assert!(
            ok.stdout().starts_with("profile true: mine"),
            "[{}] {}",
            u.name,
            ok.stdout()
        );
        let bad = Jail::new(u)
            .profile("true", "include = [\"base\"]\n[bogus]\n")
            .args(["run", "--", "/bin/true"])
            .output();
        bad.expect_code(125);
        assert!(
            bad.stderr().contains("true.toml:2:2"),
            "[{}] {}",
            u.name,
            bad.stderr()
        );
    });
}
