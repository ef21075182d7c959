//! Turns firejail's effective lines (start from the host, take away) into a jail profile
//! (start from nothing, grant). Each line either becomes keys, is covered by what jail always
//! does, or becomes a comment saying what was lost.

use super::parse::{command, Line};
use std::collections::BTreeMap;

/// What converting one profile gave.
#[derive(Debug, Default)]
pub struct Converted {
    pub toml: String,
    /// Lost lines by kind (the firejail command), with their count.
    pub losses: BTreeMap<String, usize>,
    /// What firejail's profile itself enables (for the summary's comparison).
    pub firejail_level: usize,
}

/// Rewrites firejail's macros into jail's: `${HOME}/x` → `~/x`; the XDG folders stay macros.
pub fn path(p: &str) -> String {
    let p = p.trim();
    let p = p
        .replace("${HOME}", "~")
        .replace("${RUNUSER}", "/run/user/${UID}")
        .replace("${CFG}", "/etc/firejail");
    let p = p.replace("${PATH}", "/usr/bin");
    // `blacklist ${HOME}/.ssh/` is the folder `~/.ssh` (and must match its noblacklist).
    match p.trim_end_matches('/') {
        "" => p,
        t => t.to_string(),
    }
}

fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(", "))
}

fn in_home(p: &str) -> bool {
    p == "~"
        || p.starts_with("~/")
        || [
            "${DOCUMENTS}",
            "${MUSIC}",
            "${PICTURES}",
            "${VIDEOS}",
            "${DESKTOP}",
            "${DOWNLOADS}",
        ]
        .iter()
        .any(|m| p.starts_with(m))
}

/// Commands jail covers by what every sandbox gets (the comment says so, nothing is lost).
const ALWAYS: &[(&str, &str)] = &[
    (
        "caps.drop",
        "jail drops every capability unless [capabilities] keep",
    ),
    ("nonewprivs", "jail always sets no_new_privs"),
    ("noroot", "jail's sandbox runs in its own user namespace"),
    ("nogroups", "jail maps only the user's own group"),
    (
        "restrict-namespaces",
        "jail's seccomp refuses new namespaces unless [namespaces] nested",
    ),
    ("seccomp", "jail's default seccomp filter is always on"),
    (
        "seccomp.block-secondary",
        "jail refuses the i386 ABI unless [seccomp] i386",
    ),
    ("private-tmp", "jail's /tmp is always private"),
    ("private-dev", "jail's /dev holds only the basic devices"),
    ("shell", "jail starts the command itself, no shell"),
    ("disable-mnt", "/mnt, /media and /run/media are not granted"),
    ("include", "flattened"),
    ("quiet", "no effect on isolation"),
    ("name", "no effect on isolation"),
    ("join-or-start", "no effect on isolation"),
    ("tracelog", "no effect on isolation"),
    ("mkdir", "the grant creates the missing folder (\"+\")"),
    ("mkfile", "the grant of the file is optional"),
    ("ipc-namespace", "jail's sandbox has its own IPC namespace"),
    ("keep-dev-shm", "jail's /dev/shm is private"),
    ("keep-var-tmp", "no effect on isolation"),
    ("deterministic-shutdown", "no effect on isolation"),
    ("deterministic-exit-code", "no effect on isolation"),
    ("allow-debuggers", "jail's seccomp decides ptrace"),
];

/// A bus's mode, talk and own names.
type Bus = (Option<String>, Vec<String>, Vec<String>);

pub fn translate(lines: &[Line], sources: &[String]) -> Converted {
    let mut c = Converted::default();
    let mut comments: Vec<String> = Vec::new();
    let (mut hide, mut ro, mut rw, mut tmpfs, mut noexec) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut home_grants: Vec<String> = Vec::new();
    let mut home_ro: Vec<String> = Vec::new();
    let mut noblack: Vec<String> = Vec::new();
    let mut nowhite: Vec<String> = Vec::new();
    let mut mkdirs: Vec<String> = Vec::new();
    let (mut net_none, mut nosound, mut no3d, mut x11_none) = (false, false, false, false);
    let mut families: Option<Vec<String>> = None;
    let mut deny: Vec<String> = Vec::new();
    let mut caps_keep: Vec<String> = Vec::new();
    let mut rlimits: Vec<(String, String)> = Vec::new();
    let mut env_set: Vec<(String, String)> = Vec::new();
    let mut env_unset: Vec<String> = Vec::new();
    let (mut mdwe, mut machine_id, mut private_home) = (false, false, false);
    let mut hostname: Option<String> = None;
    let (mut allow_chroot, mut restrict_ns) = (false, false);
    let mut dbus: BTreeMap<&str, Bus> = BTreeMap::new();
    let lose = |c: &mut Converted, comments: &mut Vec<String>, l: &Line, why: &str| {
        *c.losses.entry(command(&l.text).to_string()).or_default() += 1;
        comments.push(format!(
            "# firejail: {} — not converted: {why}",
            quote(&l.text)
        ));
    };
    // noblacklist / nowhitelist apply to the whole profile, wherever they are written.
    for l in lines {
        let (cmd, arg) = split(&l.text);
        match cmd {
            "noblacklist" => noblack.push(path(arg)),
            "nowhitelist" => nowhite.push(path(arg)),
            "mkdir" => mkdirs.push(path(arg)),
            _ => {}
        }
    }
    for l in lines {
        let (cmd, arg) = split(&l.text);
        if [
            "seccomp",
            "caps.drop",
            "nonewprivs",
            "noroot",
            "apparmor",
            "private-dev",
            "private-tmp",
            "restrict-namespaces",
            "memory-deny-write-execute",
            "nogroups",
            "protocol",
            "net",
        ]
        .contains(&cmd)
        {
            c.firejail_level += 1;
        }
        match cmd {
            "noblacklist" | "nowhitelist" => {}
            "blacklist" | "blacklist-nolog" => {
                let p = path(arg);
                if !noblack.contains(&p) {
                    hide.push(format!("?{p}"));
                }
            }
            "whitelist" | "whitelist-ro" => {
                let p = path(arg);
                if nowhite.contains(&p) {
                    continue;
                }
                if in_home(&p) {
                    if cmd == "whitelist" {
                        home_grants.push(p);
                    } else {
                        home_ro.push(p);
                    }
                } else if p.starts_with("/usr/share")
                    || p.starts_with("/var")
                    || p.starts_with("/etc")
                {
                    // base grants /usr and /etc read-only; firejail narrows them, jail cannot yet.
                    lose(
                        &mut c,
                        &mut comments,
                        l,
                        "system folders stay granted read-only whole (base)",
                    );
                } else {
                    ro.push(format!("?{p}"));
                }
            }
            "read-only" => ro.push(format!("?{}", path(arg))),
            "read-write" => rw.push(format!("?{}", path(arg))),
            "noexec" => noexec.push(path(arg)),
            "tmpfs" => tmpfs.push(path(arg)),
            "private" if arg.is_empty() => private_home = true,
            "private-cache" => tmpfs.push("~/.cache".into()),
            "net" if arg == "none" => {
                net_none = true;
                comments.push(
                    "# firejail: \"net none\" — jail's own network namespace (loopback only)"
                        .into(),
                );
            }
            "net" => lose(
                &mut c,
                &mut comments,
                l,
                "jail shares the host's network or none",
            ),
            "protocol" => {
                let f: Vec<String> = arg
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                families = Some(f);
            }
            "caps.keep" => caps_keep.extend(
                arg.split(',')
                    .map(|s| format!("CAP_{}", s.trim().to_uppercase())),
            ),
            "seccomp.drop" => {
                for s in arg.split(',').map(str::trim) {
                    if s.starts_with('@') || s.contains(':') {
                        comments.push(format!("# firejail: seccomp.drop {s} — not converted: syscall groups and arch-qualified names"));
                        *c.losses.entry("seccomp.drop".into()).or_default() += 1;
                    } else if !s.is_empty() {
                        deny.push(s.to_string());
                    }
                }
            }
            "nosound" => nosound = true,
            "no3d" => no3d = true,
            "x11" if arg == "none" => x11_none = true,
            "novideo" => comments.push(
                "# firejail: \"novideo\" — jail grants no /dev/video* (devices are not granted)"
                    .into(),
            ),
            "nou2f" => comments.push(
                "# firejail: \"nou2f\" — jail grants no /dev/hidraw* (devices are not granted)"
                    .into(),
            ),
            "noinput" | "notv" | "nodvd" => comments.push(format!(
                "# firejail: {} — jail grants no such device",
                quote(&l.text)
            )),
            // `seccomp !chroot`: firejail's filter without chroot, for programs that sandbox
            // themselves (browsers, Qt WebEngine, Electron): chroot into an empty folder inside
            // their own user namespace. jail's filter lets it through by a rule, as its own
            // browser profiles do.
            // `seccomp a,!b`: firejail's default filter plus a, without b. A plain name joins
            // jail's deny list; `!chroot` becomes the rule; other exceptions jail's default
            // filter cannot drop are lost.
            "seccomp" if !arg.is_empty() => {
                let mut kept: Vec<&str> = Vec::new();
                for x in arg.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                    match x.strip_prefix('!') {
                        Some("chroot") => allow_chroot = true,
                        Some(_) => kept.push(x),
                        None if x.starts_with('@') || x.contains(':') => kept.push(x),
                        None => deny.push(x.to_string()),
                    }
                }
                let mut why = String::from("jail's default seccomp filter is always on");
                if allow_chroot {
                    why.push_str("; chroot is let through for a real path ([[seccomp.rule]])");
                }
                if kept.is_empty() {
                    comments.push(format!("# firejail: {} — {why}", quote(&l.text)));
                } else {
                    lose(
                        &mut c,
                        &mut comments,
                        l,
                        &format!("{why}; {} stays as jail's filter has it", kept.join(", ")),
                    );
                }
            }
            "restrict-namespaces" => {
                restrict_ns = true;
                comments.push(format!(
                    "# firejail: {} — jail's seccomp refuses new namespaces unless [namespaces] nested",
                    quote(&l.text)
                ));
            }
            "memory-deny-write-execute" => mdwe = true,
            "machine-id" => machine_id = true,
            "hostname" => hostname = Some(arg.to_string()),
            "env" => match arg.split_once('=') {
                Some((k, v)) => env_set.push((k.to_string(), v.to_string())),
                None => lose(&mut c, &mut comments, l, "env without '='"),
            },
            "rmenv" => env_unset.push(arg.to_string()),
            "dbus-user" | "dbus-system" => {
                let mode = match arg {
                    "none" => "none",
                    "filter" => "filtered",
                    _ => "host",
                };
                dbus.entry(if cmd == "dbus-user" {
                    "session"
                } else {
                    "system"
                })
                .or_default()
                .0 = Some(mode.into());
            }
            "dbus-user.talk" | "dbus-user.own" => {
                let e = dbus.entry("session").or_default();
                if cmd.ends_with("talk") {
                    e.1.push(arg.into())
                } else {
                    e.2.push(arg.into())
                }
            }
            "dbus-system.talk" | "dbus-system.own" => {
                let e = dbus.entry("system").or_default();
                if cmd.ends_with("talk") {
                    e.1.push(arg.into())
                } else {
                    e.2.push(arg.into())
                }
            }
            c2 if c2.starts_with("rlimit-") => {
                let key = match &c2[7..] {
                    "as" => "as",
                    "cpu" => "cpu",
                    "fsize" => "fsize",
                    "nofile" => "nofile",
                    "nproc" => "nproc",
                    "sigpending" => "sigpending",
                    _ => "",
                };
                if key.is_empty() || arg.parse::<u64>().is_err() {
                    lose(&mut c, &mut comments, l, "unknown limit or value");
                } else {
                    rlimits.push((key.into(), arg.into()));
                }
            }
            "private-bin" => lose(
                &mut c,
                &mut comments,
                l,
                "jail grants /usr whole read-only (base); no per-program list",
            ),
            "private-etc" => lose(
                &mut c,
                &mut comments,
                l,
                "jail grants /etc whole read-only (base); no per-file list",
            ),
            "apparmor" => lose(
                &mut c,
                &mut comments,
                l,
                "jail does not load AppArmor profiles (Landlock and seccomp confine instead)",
            ),
            _ => {
                if let Some((_, why)) = ALWAYS.iter().find(|(k, _)| *k == cmd) {
                    comments.push(format!("# firejail: {} — {why}", quote(&l.text)));
                } else {
                    lose(&mut c, &mut comments, l, "no jail equivalent");
                }
            }
        }
    }
    // In firejail a blacklist wins over a later read-only or read-write line of a path inside
    // it; jail would show such a grant inside the hidden folder, so it is left out.
    let hidden: Vec<String> = hide
        .iter()
        .map(|h| h.trim_start_matches('?').to_string())
        .filter(|h| !h.contains(['*', '?', '[']))
        .collect();
    let inside_hidden = |g: &String| {
        let g = g.trim_start_matches(['?', '+']);
        hidden
            .iter()
            .any(|h| g == h || g.starts_with(&format!("{h}/")))
    };
    ro.retain(|g| !inside_hidden(g));
    rw.retain(|g| !inside_hidden(g));
    home_ro.retain(|g| !inside_hidden(g));
    home_grants.retain(|g| !inside_hidden(g));
    let gui = !(x11_none || nosound && no3d);
    let private = private_home || !home_grants.is_empty() || !home_ro.is_empty();
    let mut o = String::new();
    o.push_str("# Converted by `jail import firejail` from:\n");
    for s in sources {
        o.push_str(&format!("#   {s}\n"));
    }
    o.push_str(
        "# firejail's profiles are GPL-2.0: jail does not ship converted copies; this file was\n",
    );
    o.push_str("# converted from the ones installed on this machine.\n");
    o.push_str(&format!(
        "description = {}\n",
        quote("converted from firejail")
    ));
    let mut inc = vec!["base".to_string()];
    if !net_none {
        inc.push("network".into());
    }
    if gui {
        inc.push("gui".into());
    }
    o.push_str(&format!("include = {}\n\n", list(&inc)));
    // firejail lets a program make namespaces unless its profile says restrict-namespaces; a
    // program that chroots itself (above) needs them for its own sandbox (Firefox's content
    // processes: user, pid, net and ipc, as jail's browser profiles nest).
    let nested = allow_chroot && !restrict_ns;
    if !net_none || nested {
        o.push_str("[namespaces]\n");
        if !net_none {
            o.push_str("net = false\n");
        }
        if nested {
            o.push_str("nested = [\"user\", \"pid\", \"net\", \"ipc\"]\n");
        }
        o.push('\n');
    }
    o.push_str("[filesystem]\n");
    if private {
        o.push_str("home = \"private\"\n");
        // firejail skips a whitelisted path that does not exist and creates only what it
        // is told to `mkdir`: that becomes "+" (a missing folder is created), everything
        // else an optional grant. ("+" on all of them made folders named ~/.asoundrc or
        // ~/.config/mimeapps.list in the user's real home, where files belong.) A path also
        // made read-only stays read-only, as in firejail, where read-only applies after the
        // whitelist: it is granted by the ro entry alone.
        let read_only: Vec<&str> = ro.iter().map(|g| g.trim_start_matches('?')).collect();
        let grants: Vec<String> = home_grants
            .iter()
            .filter(|p| !read_only.contains(&p.as_str()))
            .map(|p| {
                if mkdirs.contains(p) {
                    format!("+{p}")
                } else {
                    format!("?{p}")
                }
            })
            .collect();
        // A read-only line of a home path outside every whitelisted one names something
        // firejail's fresh home does not have: granting it would show the real file.
        let whitelisted: Vec<&String> = home_grants.iter().chain(home_ro.iter()).collect();
        ro.retain(|g| {
            let g = g.trim_start_matches('?');
            !in_home(g)
                || whitelisted
                    .iter()
                    .any(|w| g == w.as_str() || g.starts_with(&format!("{w}/")))
        });
        rw.extend(grants);
        ro.extend(home_ro.iter().map(|p| format!("?{p}")));
    } else {
        // firejail starts from the host's home: grant it, hide what the profile blacklists.
        rw.insert(0, "~".into());
    }
    for (k, v) in [
        ("ro", &ro),
        ("rw", &rw),
        ("tmpfs", &tmpfs),
        ("hide", &hide),
        ("noexec", &noexec),
    ] {
        if !v.is_empty() {
            o.push_str(&format!("{k} = {}\n", list(&dedup(v))));
        }
    }
    if gui {
        o.push_str("\n[gui]\n");
        o.push_str(if nosound {
            "sound = \"none\"\n"
        } else {
            "sound = \"auto\"\n"
        });
        if no3d {
            o.push_str("gpu = false\n");
        }
    }
    if families.is_some() || !deny.is_empty() {
        o.push_str("\n[seccomp]\n");
        if let Some(f) = &families {
            o.push_str(&format!("families = {}\n", list(f)));
        }
        if !deny.is_empty() {
            o.push_str(&format!("deny = {}\n", list(&dedup(&deny))));
        }
    }
    if allow_chroot {
        o.push_str("\n[[seccomp.rule]]\nsyscall = \"chroot\"\narg = 0\nop = \"ne\"\nvalue = 0\naction = \"allow\"\n");
    }
    if mdwe || machine_id || hostname.is_some() {
        o.push_str("\n[process]\n");
        if mdwe {
            o.push_str("memory_deny_write_execute = true\n");
        }
        if machine_id {
            o.push_str("machine_id = \"random\"\n");
        }
        if let Some(h) = &hostname {
            o.push_str(&format!("hostname = {}\n", quote(h)));
        }
    }
    if !caps_keep.is_empty() {
        o.push_str(&format!(
            "\n[capabilities]\nkeep = {}\n",
            list(&dedup(&caps_keep))
        ));
    }
    if !rlimits.is_empty() {
        o.push_str("\n[rlimits]\n");
        let m: BTreeMap<_, _> = rlimits.into_iter().collect();
        for (k, v) in m {
            o.push_str(&format!("{k} = {v}\n"));
        }
    }
    if !env_set.is_empty() || !env_unset.is_empty() {
        o.push_str("\n[env]\n");
        if !env_unset.is_empty() {
            o.push_str(&format!("unset = {}\n", list(&env_unset)));
        }
        if !env_set.is_empty() {
            o.push_str("set = {");
            let s: Vec<String> = env_set
                .iter()
                .map(|(k, v)| format!(" {} = {}", quote(k), quote(v)))
                .collect();
            o.push_str(&s.join(","));
            o.push_str(" }\n");
        }
    }
    if !dbus.is_empty() {
        o.push_str("\n[dbus]\n");
        // As firejail, which filters a bus only when there is one: no bus, no D-Bus.
        o.push_str("optional = true\n");
        for (bus, (mode, talk, own)) in &dbus {
            let mode = mode.clone().unwrap_or_else(|| "filtered".into());
            o.push_str(&format!("{bus} = {}\n", quote(&mode)));
            if mode == "filtered" && *bus == "session" {
                if !talk.is_empty() {
                    let talk = portal_names(talk, &mut comments);
                    o.push_str(&format!("talk = {}\n", list(&dedup(&talk))));
                }
                if !own.is_empty() {
                    o.push_str(&format!("own = {}\n", list(&dedup(own))));
                }
            }
        }
    }
    if !comments.is_empty() {
        o.push_str("\n# What firejail's profile said and how it was converted:\n");
        for cm in dedup(&comments) {
            o.push_str(&cm);
            o.push('\n');
        }
    }
    c.toml = o;
    c
}

/// firejail's `dbus-user.talk org.freedesktop.portal.*` also reaches
/// `org.freedesktop.portal.Flatpak`, whose `Spawn` starts processes outside the sandbox; jail
/// refuses that name, so the wildcard becomes the portals an app uses, and Flatpak's own names
/// are dropped with a comment.
fn portal_names(talk: &[String], comments: &mut Vec<String>) -> Vec<String> {
    let mut out = vec![];
    for t in talk {
        match t.as_str() {
            "org.freedesktop.portal.*" => {
                out.push("org.freedesktop.portal.Desktop".to_string());
                out.push("org.freedesktop.portal.Documents".to_string());
            }
            "org.freedesktop.portal.Flatpak" | "org.freedesktop.Flatpak" | "org.freedesktop.*" => {
                comments.push(format!(
                    "# firejail: \"dbus-user.talk {t}\" — not converted: it reaches Flatpak's Spawn, which starts processes outside the sandbox"
                ));
            }
            _ => out.push(t.clone()),
        }
    }
    out
}

fn split(t: &str) -> (&str, &str) {
    match t.split_once([' ', '\t']) {
        Some((a, b)) => (a, b.trim()),
        None => (t, ""),
    }
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    v.iter()
        .filter(|s| seen.insert(s.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(t: &str) -> Vec<Line> {
        t.lines()
            .enumerate()
            .map(|(i, s)| Line {
                file: "t".into(),
                line: i + 1,
                text: s.into(),
            })
            .collect()
    }

    #[test]
    fn whitelist_makes_a_private_home_with_grants() {
        let c = translate(&lines("mkdir ${HOME}/.mozilla\nwhitelist ${HOME}/.mozilla\nwhitelist ${DOWNLOADS}\nwhitelist ${HOME}/.config/mimeapps.list\nread-only ${HOME}/.config/mimeapps.list\nread-only ${HOME}/.bashrc\nblacklist /boot\nnet none\nnosound\nno3d\nprotocol unix,inet\nmemory-deny-write-execute\nx11 xvfb"), &["t".into()]);
        let v: toml::Table = c.toml.parse().expect(&c.toml);
        let fs = v["filesystem"].as_table().unwrap();
        assert_eq!(fs["home"].as_str(), Some("private"));
        let rw: Vec<&str> = fs["rw"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        // Only what firejail creates (mkdir) is created; a path also read-only is not rw; a
        // read-only path outside the whitelisted ones is not in firejail's home at all.
        assert_eq!(rw, vec!["+~/.mozilla", "?${DOWNLOADS}"]);
        let ro: Vec<&str> = fs["ro"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(ro, vec!["?~/.config/mimeapps.list"]);
        assert_eq!(fs["hide"].as_array().unwrap()[0].as_str(), Some("?/boot"));
        assert!(
            v.get("namespaces").is_none(),
            "net none keeps jail's own network namespace"
        );
        assert_eq!(v["seccomp"]["families"].as_array().unwrap().len(), 2);
        assert_eq!(
            v["process"]["memory_deny_write_execute"].as_bool(),
            Some(true)
        );
        assert_eq!(c.losses.get("x11"), Some(&1));
        assert!(c.toml.contains("# firejail: \"x11 xvfb\" — not converted"));
    }

    #[test]
    fn seccomp_without_chroot_lets_the_own_sandbox_start() {
        let c = translate(&lines("seccomp !chroot\nnet none"), &[]);
        let v: toml::Table = c.toml.parse().expect(&c.toml);
        let r = &v["seccomp"]["rule"].as_array().unwrap()[0];
        assert_eq!(r["syscall"].as_str(), Some("chroot"));
        assert_eq!(r["action"].as_str(), Some("allow"));
        assert_eq!(v["namespaces"]["nested"].as_array().unwrap().len(), 4);
        assert!(v["namespaces"].get("net").is_none(), "{}", c.toml);
        assert!(c.losses.is_empty(), "{:?}", c.losses);
        // restrict-namespaces keeps them refused; plain seccomp lets no chroot through.
        let c = translate(&lines("seccomp !chroot\nrestrict-namespaces"), &[]);
        let v: toml::Table = c.toml.parse().expect(&c.toml);
        assert!(v["namespaces"].get("nested").is_none(), "{}", c.toml);
        let c = translate(&lines("seccomp"), &[]);
        assert!(!c.toml.contains("chroot"), "{}", c.toml);
        // Other exceptions are lost (said so), added names are denied.
        let c = translate(&lines("seccomp !chroot,!ptrace,socket"), &[]);
        let v: toml::Table = c.toml.parse().expect(&c.toml);
        assert_eq!(
            v["seccomp"]["deny"].as_array().unwrap()[0].as_str(),
            Some("socket")
        );
        assert_eq!(c.losses.get("seccomp"), Some(&1));
        assert!(
            c.toml.contains("!ptrace stays as jail's filter has it"),
            "{}",
            c.toml
        );
    }

    #[test]
    fn no_whitelist_grants_the_home_and_hides_blacklists() {
        let c = translate(&lines("noblacklist ${HOME}/.gitconfig\nblacklist ${HOME}/.gitconfig\nblacklist ${HOME}/.ssh\ndbus-user filter\ndbus-user.talk org.a.B\nrlimit-nofile 100"), &[]);
        let v: toml::Table = c.toml.parse().expect(&c.toml);
        assert_eq!(
            v["filesystem"]["rw"].as_array().unwrap()[0].as_str(),
            Some("~")
        );
        let hide = v["filesystem"]["hide"].as_array().unwrap();
        assert_eq!(hide.len(), 1);
        assert_eq!(hide[0].as_str(), Some("?~/.ssh"));
        assert_eq!(v["dbus"]["session"].as_str(), Some("filtered"));
        assert_eq!(
            v["dbus"]["talk"].as_array().unwrap()[0].as_str(),
            Some("org.a.B")
        );
        assert_eq!(v["rlimits"]["nofile"].as_integer(), Some(100));
        assert_eq!(v["namespaces"]["net"].as_bool(), Some(false));
    }
}

#[cfg(test)]
mod trailing_slash_tests {
    #[test]
    fn a_trailing_slash_names_the_same_folder() {
        assert_eq!(super::path("${HOME}/.ssh/"), "~/.ssh");
        assert_eq!(super::path("/"), "/");
        assert_eq!(super::path("/etc//"), "/etc");
    }
}
