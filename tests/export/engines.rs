//! The files `jail export kubernetes` writes, taken by other tools: the seccomp JSON by podman
//! (`--security-opt seccomp=FILE`), the Pod manifest by a Kubernetes schema
//! (`kubernetes-validate`, installed by .ci/run into a venv named by
//! JAIL_KUBERNETES_VALIDATE).
use super::common::*;
use super::probe_dir;
use std::process::{Command, Output, Stdio};

/// `jail export kubernetes --profile P OPTS --out DIR -- CMD` as `u`: (manifest, seccomp JSON).
fn export_kube(
    u: &User,
    profile: &str,
    opts: &[&str],
    out: &std::path::Path,
    cmd: &[&str],
) -> (String, String) {
    let o = out.display().to_string();
    let mut args = vec!["export", "kubernetes", "--profile", profile, "--out", &o];
    args.extend(opts);
    args.push("--");
    args.extend(cmd);
    Jail::new(u).args(&args).output().ok();
    let yaml = out.join(format!("jail-{profile}.yaml"));
    let json = out.join(format!("jail-{profile}-seccomp.json"));
    assert!(yaml.is_file() && json.is_file(), "{profile}");
    (yaml.display().to_string(), json.display().to_string())
}

/// podman as `user` with a store of its own under `dir` (`--root`, `--runroot`, the vfs driver):
/// nothing is added to the system's or the user's image store, and the folder goes with the test.
/// Rootless, podman starts a pause process holding its user namespace; [`Drop`] ends it.
struct Podman {
    user: User,
    dir: TempDir,
}

impl Podman {
    fn new(user: &User) -> Podman {
        let dir = TempDir::new(user);
        std::fs::create_dir(dir.join("run")).unwrap();
        std::fs::set_permissions(
            dir.join("run"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(dir.join("run"), Some(user.uid), Some(user.gid)).unwrap();
        }
        Podman {
            user: user.clone(),
            dir,
        }
    }
    fn cmd(&self, args: &[&str]) -> Output {
        let mut c = session_command("podman", &self.user, &self.dir);
        c.env("HOME", &*self.dir)
            .env("XDG_RUNTIME_DIR", self.dir.join("run"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .arg("--root")
            .arg(self.dir.join("store"))
            .arg("--runroot")
            .arg(self.dir.join("run/store"))
            .args(["--storage-driver", "vfs"])
            .args(args);
        c.output().unwrap()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        if !self.user.is_root() {
            // The store holds files of the user's subordinate ids, which only the user
            // namespace may remove (the folder's guard could not, run as the user).
            let store = self.dir.join("store").display().to_string();
            let _ = self.cmd(&["unshare", "rm", "-rf", &store]);
        }
        let pid = self.dir.join("run/libpod/tmp/pause.pid");
        if let Some(pid) = std::fs::read_to_string(pid)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            // SAFETY: kill(2) of the pause process this test's podman started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// `podman run` of IMAGE PROBE without jail's file: the extra options podman needs on this
/// host, or why it cannot run containers here (then the test skips).
fn podman_options(p: &Podman, image: &str, probe: &str) -> Result<Vec<String>, String> {
    let run = |opts: &[&str]| -> Output {
        let mut a = vec!["run", "--rm", "--network", "none"];
        a.extend(opts);
        a.extend([image, probe]);
        p.cmd(&a)
    };
    let first = run(&[]);
    if first.status.success() {
        return Ok(vec![]);
    }
    // Seen on a cgroup v1 hybrid host: podman's default runtime crun refuses it ("cgroups in
    // hybrid mode not supported"), and the nofile/nproc limits podman asks for are above what
    // its runtime may set (setrlimit EPERM: the caller's hard nofile limit; for nproc, a hard
    // limit near pid_max somewhere in podman's chain). Use runc and small limits (the podman
    // run is compared on its seccomp facts only).
    let opts = [
        "--runtime=runc",
        "--ulimit=nofile=1024:1024",
        "--ulimit=nproc=1024:1024",
    ];
    let second = run(&opts);
    if second.status.success() {
        eprintln!(
            "note: podman's defaults fail here ({}); using {}",
            String::from_utf8_lossy(&first.stderr).trim(),
            opts.join(" ")
        );
        return Ok(opts.map(String::from).to_vec());
    }
    Err(format!(
        "podman cannot run a container on this host as {}: {} / with {}: {}",
        p.user.name,
        String::from_utf8_lossy(&first.stderr).trim(),
        opts.join(" "),
        String::from_utf8_lossy(&second.stderr).trim()
    ))
}

/// The seccomp JSON written beside the Pod loads in podman, as root and rootless, and denies
/// what jail denies: the probe, in an image made by `podman import` (no network), gets the
/// errnos it gets in `jail run`, and other ones without the file (so the file is what denies
/// them).
#[test]
fn podman_loads_the_exported_seccomp_json() {
    if !need("podman") || !need("cc") || !need("tar") {
        return;
    }
    let dir = probe_dir("podman", &["-static"]);
    each_user(|u| {
        let p = Podman::new(u);
        // The image: the static probe and an empty /tmp.
        let tree = TempDir::new(u);
        std::fs::copy(dir.join("probe"), tree.join("probe")).unwrap();
        std::fs::create_dir(tree.join("tmp")).unwrap();
        let tar = p.dir.join("image.tar");
        let t = Command::new("tar")
            .arg("-C")
            .arg(&*tree)
            .arg("-cf")
            .arg(&tar)
            .args(["probe", "tmp"])
            .status()
            .unwrap();
        assert!(t.success());
        if euid() == 0 {
            std::os::unix::fs::chown(&tar, Some(u.uid), Some(u.gid)).unwrap();
        }
        let image = "localhost/jail-test-probe:1";
        let imp = p.cmd(&["import", &tar.display().to_string(), image]);
        assert!(
            imp.status.success(),
            "podman import: {}",
            String::from_utf8_lossy(&imp.stderr)
        );
        let opts = match podman_options(&p, image, "/probe") {
            Ok(o) => o,
            Err(why) => {
                eprintln!("SKIPPED: {why}");
                return;
            }
        };
        let out = TempDir::new(u);
        let (_, json) = export_kube(u, "default", &[], &out, &["/probe"]);
        let probe = |seccomp: &str| -> String {
            let sec = format!("--security-opt=seccomp={seccomp}");
            let mut a = vec!["run", "--rm", "--network", "none"];
            a.extend(opts.iter().map(String::as_str));
            a.extend([sec.as_str(), image, "/probe"]);
            let o = p.cmd(&a);
            assert!(
                o.status.success(),
                "podman run with seccomp={seccomp}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let with = probe(&json);
        let without = probe("unconfined");
        let bind = dir.display().to_string();
        let jail = Jail::new(u)
            .args(["run", "--profile", "default", "--ro-bind", &bind, "--"])
            .args([dir.join("probe")])
            .output();
        jail.ok();
        let line = |facts: &str, key: &str| -> String {
            facts
                .lines()
                .find(|l| l.starts_with(&format!("{key}=")))
                .unwrap_or_else(|| panic!("{key} in\n{facts}"))
                .to_string()
        };
        for key in [
            "unshare(CLONE_NEWUSER)",
            "mount(tmpfs)",
            "ioctl(TIOCSTI)",
            "clone3",
            "fchmod(S_ISUID)",
        ] {
            assert_eq!(
                line(&with, key),
                line(&jail.stdout(), key),
                "podman vs jail"
            );
        }
        assert!(with.contains("Seccomp=2\n"), "{with}");
        assert!(without.contains("Seccomp=0\n"), "{without}");
        for key in ["unshare(CLONE_NEWUSER)", "clone3", "fchmod(S_ISUID)"] {
            assert_ne!(line(&without, key), line(&with, key), "{without}");
        }
    });
}

/// The validator: JAIL_KUBERNETES_VALIDATE (set by .ci/run), else `kubernetes-validate` on PATH.
fn validator() -> Option<String> {
    let v = std::env::var("JAIL_KUBERNETES_VALIDATE")
        .unwrap_or_else(|_| "kubernetes-validate".to_string());
    need(&v).then_some(v)
}

fn validate(v: &str, file: &str) -> Output {
    Command::new(v)
        .args(["--strict", file])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The Pods of several shipped profiles validate against the Kubernetes schema bundled with
/// kubernetes-validate (strict: no field the schema does not know), with no network; a Pod with
/// an unknown field does not (the check can fail). Two volumeMounts never share a mountPath (the
/// API server refuses that; the schema cannot say it).
#[test]
fn kubernetes_manifests_validate_against_the_schema() {
    let Some(v) = validator() else { return };
    each_user(|u| {
        let out = TempDir::new(u);
        // `--bind /tmp`: a grant on the path of the profile's tmpfs (two mounts, one path).
        for (profile, opts) in [
            ("default", &["--bind", "/tmp"][..]),
            ("pandoc", &[]),
            ("curl", &[]),
            ("firefox", &[]),
            ("shell", &[]),
        ] {
            let (yaml, _) = export_kube(u, profile, opts, &out, &["/bin/true"]);
            let r = validate(&v, &yaml);
            assert!(
                r.status.success(),
                "{profile}: {}{}",
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr)
            );
            let text = std::fs::read_to_string(&yaml).unwrap();
            let mut paths: Vec<&str> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("- mountPath: "))
                .collect();
            assert!(!paths.is_empty(), "{text}");
            let n = paths.len();
            paths.sort();
            paths.dedup();
            assert_eq!(paths.len(), n, "{profile}: a mountPath twice\n{text}");
            if profile == "pandoc" {
                assert!(text.contains("memory: \"2147483648\""), "{text}");
            }
            let bad = out.join("bad.yaml");
            std::fs::write(&bad, text.replace("hostPID:", "hostPid:")).unwrap();
            let r = validate(&v, &bad.display().to_string());
            assert!(
                !r.status.success() && String::from_utf8_lossy(&r.stdout).contains("hostPid"),
                "{}",
                String::from_utf8_lossy(&r.stdout)
            );
        }
    });
}
