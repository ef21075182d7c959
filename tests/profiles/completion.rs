//! Shell completion of profile names and running sandboxes (issue 16): the generated bash
//! script (completions/jail.bash) sourced in a real bash, its completion function called as
//! bash calls it at TAB.
use super::*;
use std::time::{Duration, Instant};

/// What `_jail_dynamic` offers for the words `line` (the last one being completed), one a
/// line; bash runs as `u` in `cwd` (whose `.profiles` is the profile path), `jail` on PATH.
fn offered(u: &User, cwd: &Path, script: &Path, lines: &[&[&str]]) -> Vec<Vec<String>> {
    let mut body = format!("source {}\ncomplete -p jail\n", script.display());
    for words in lines {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        body.push_str(&format!(
            "COMP_WORDS=({w}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMPREPLY=()\n\
             _jail_dynamic jail \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"; echo '<end>'\n",
            w = quoted.join(" ")
        ));
    }
    let bin_dir = jail_bin().parent().unwrap().to_path_buf();
    let out = session_command("/bin/bash", u, cwd)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .args(["--norc", "--noprofile", "-c", &body])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut it = text.lines();
    let registered = it.next().unwrap_or_default();
    assert!(
        registered.contains("-F _jail_dynamic") && registered.ends_with(" jail"),
        "the script registers jail's own function: {registered}"
    );
    let mut groups = vec![vec![]];
    for l in it {
        if l == "<end>" {
            groups.push(vec![]);
        } else {
            groups.last_mut().unwrap().push(l.to_string());
        }
    }
    groups.pop();
    groups
}

#[test]
fn bash_completion_offers_profile_names_and_running_sandboxes() {
    if !need("bash") {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        write_file(u, &d, ".profiles/zzmine.toml", "include = [\"base\"]\n");
        let script = write_file(
            u,
            &d,
            "jail.bash",
            &std::fs::read_to_string(Path::new(CRATE).join("completions/jail.bash")).unwrap(),
        );
        // A running sandbox with a name of its own.
        let name = format!("zzcompl{}", std::process::id());
        let mut sandbox = Jail::new(u)
            .args(["run", "--name", &name, "--", "/bin/sleep", "300"])
            .spawn();
        let listed = |d: &Path| {
            session_command(jail_bin(), u, d)
                .args(["__complete", "sandboxes"])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .any(|l| l == name)
                })
                .unwrap_or(false)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !listed(&d) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let got = offered(
            u,
            &d,
            &script,
            &[
                &["jail", "run", "--profile", "zz"],
                &["jail", "explain", "-p", "fire"],
                &["jail", "check", "zzm"],
                &["jail", "stop", "zzcompl"],
                &["jail", "enter", "zzcompl"],
                &["jail", "run", "--pro"],
            ],
        );
        Jail::new(u).args(["stop", &name]).output().ok();
        let _ = sandbox.wait();
        assert_eq!(got[0], ["zzmine"], "[{}] profiles after --profile", u.name);
        assert_eq!(got[1], ["firefox", "firefox-esr"], "built-in profiles too");
        assert_eq!(got[2], ["zzmine"], "check takes profiles");
        assert_eq!(
            got[3],
            vec![name.clone()],
            "[{}] running sandboxes for stop",
            u.name
        );
        assert_eq!(got[4], vec![name.clone()], "and for enter");
        assert_eq!(
            got[5],
            ["--profile"],
            "options still come from clap's completion"
        );
    });
}
