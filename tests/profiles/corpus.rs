//! The bad-input corpus.
use super::variables::r_path;
use super::*;

/// Every file of tests/bad-profiles/ plus the generated ones (a file over 1 MiB, an include
/// chain 40 deep), copied into a folder of `u`.
fn corpus(u: &User) -> (PathBuf, Vec<PathBuf>) {
    let dir = tempdir(u);
    let mut files = vec![];
    let mut names: Vec<_> = std::fs::read_dir(Path::new(CRATE).join("tests/bad-profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for src in names {
        let dst = dir.join(src.file_name().unwrap());
        std::fs::copy(&src, &dst).unwrap();
        std::os::unix::fs::chown(&dst, Some(u.uid), Some(u.gid)).ok();
        files.push(dst);
    }
    let mut huge = String::from("# Wrong: larger than 1 MiB.\ndescription = \"");
    huge.push_str(&"x".repeat((1 << 20) + 10));
    huge.push_str("\"\n");
    files.push(write_file(u, &dir, "generated-huge-file.toml", &huge));
    for i in 0..40 {
        write_file(
            u,
            &dir,
            &format!("generated-deep-{i:02}.toml"),
            &format!("include = [\"generated-deep-{:02}.toml\"]\n", i + 1),
        );
    }
    write_file(
        u,
        &dir,
        "generated-deep-40.toml",
        "description = \"bottom\"\n",
    );
    files.push(dir.join("generated-deep-00.toml"));
    (dir, files)
}

#[test]
fn bad_profiles_are_refused_cleanly() {
    let shipped = std::fs::read_dir(Path::new(CRATE).join("tests/bad-profiles"))
        .unwrap()
        .count();
    assert!(shipped >= 40, "only {shipped} bad profiles");
    each_user(|u| {
        let (dir, files) = corpus(u);
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            // Text the loader accepts as a file: the error must point into a file of the corpus.
            let located = bytes.len() <= 1 << 20
                && !bytes.contains(&0)
                && std::str::from_utf8(&bytes).is_ok();
            let name = f.display().to_string();
            for (args, code) in [
                (vec!["check", name.as_str()], 1),
                (
                    vec!["run", "--profile", name.as_str(), "--", "/bin/true"],
                    125,
                ),
            ] {
                let r = Jail::new(u).args(&args).output();
                assert!(
                    r.code() == code,
                    "[{}] {args:?}: expected {code}, got {}\n{}",
                    u.name,
                    r.code(),
                    r.stderr()
                );
                let err = assert_error(&r, code, None);
                if located {
                    let at = r_path(&r);
                    assert!(
                        Path::new(&at).starts_with(&dir),
                        "{name}: error points at {at}:\n{err}"
                    );
                    // The line shown is the file's own line.
                    let l = err.lines().find(|l| l.starts_with("  --> ")).unwrap();
                    let line: usize = l.rsplit(':').nth(1).unwrap().parse().unwrap();
                    let text = std::fs::read_to_string(&at).unwrap();
                    let shown = err
                        .lines()
                        .find(|x| x.starts_with(&format!("{line} | ")))
                        .unwrap_or_else(|| panic!("{err}"));
                    let want: String = text
                        .lines()
                        .nth(line - 1)
                        .unwrap_or("")
                        .chars()
                        .take(160)
                        .collect();
                    assert_eq!(&shown[format!("{line} | ").len()..], want, "{name}:\n{err}");
                    assert!(
                        err.lines().any(|x| x.contains('^')),
                        "{name}: no caret:\n{err}"
                    );
                } else {
                    assert_eq!(
                        err.lines().count(),
                        1,
                        "{name}: a whole-file error is one line:\n{err}"
                    );
                }
            }
        }
        // Control: the checker is not simply refusing everything from that folder.
        let good = write_file(u, &dir, "good.toml", "include = [\"base\"]\n");
        Jail::new(u)
            .args(["check", &good.display().to_string()])
            .output()
            .ok();
    });
}
