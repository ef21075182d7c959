//! `cargo xtask gen`: renders man/ and completions/ from the clap definitions in src/cli.rs.
//! `cargo xtask check`: fails when they are stale (CI and a test run it).
//! Generated files are never edited by hand; `man/jail-profile.5` is hand-written.

use clap::CommandFactory;

mod complete;
mod man;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Every generated file: (path relative to the repo, contents).
fn render() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    // The man pages name the version, not the commit (`jail --version` has it): otherwise every
    // commit would make them stale.
    // No `help` verb in the pages: it has no page of its own (`jail VERB --help` is the same
    // text), and a SEE ALSO or SUBCOMMANDS entry must name a page that exists.
    let mut cmd = jail::cli::Cli::command()
        .long_version(None::<&'static str>)
        .disable_help_subcommand(true);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for n in names {
        cmd = cmd.mut_subcommand(n, |s| s.disable_help_subcommand(true));
    }
    out.push((PathBuf::from("man/jail.1"), man::main_page(&cmd)));
    // Hidden verbs (jail's own internals, like the recorder of `jail learn`) get no page.
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("jail-{}", sub.get_name());
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        let bin: &'static str = Box::leak(format!("jail {}", sub.get_name()).into_boxed_str());
        let sub = sub.clone().name(leaked).bin_name(bin);
        // The verbs below a verb (`jail export oci`) get pages too: the verb's page names them.
        for inner in sub.get_subcommands() {
            let iname = format!("{name}-{}", inner.get_name());
            let ileaked: &'static str = Box::leak(iname.clone().into_boxed_str());
            let ibin: &'static str =
                Box::leak(format!("{bin} {}", inner.get_name()).into_boxed_str());
            let mut buf = vec![];
            clap_mangen::Man::new(inner.clone().name(ileaked).bin_name(ibin))
                .render(&mut buf)
                .expect("render a verb's page");
            out.push((PathBuf::from(format!("man/{iname}.1")), buf));
        }
        let mut buf = vec![];
        clap_mangen::Man::new(sub)
            .render(&mut buf)
            .expect("render a verb's page");
        out.push((PathBuf::from(format!("man/{name}.1")), buf));
    }
    for (shell, file) in [
        (clap_complete::Shell::Bash, "completions/jail.bash"),
        (clap_complete::Shell::Zsh, "completions/_jail"),
        (clap_complete::Shell::Fish, "completions/jail.fish"),
    ] {
        let mut buf = vec![];
        clap_complete::generate(shell, &mut jail::cli::Cli::command(), "jail", &mut buf);
        let text = String::from_utf8(buf).expect("clap_complete writes UTF-8");
        let text = complete::extend(shell, text, &jail::cli::Cli::command());
        out.push((PathBuf::from(file), text.into_bytes()));
    }
    out
}

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let root = root();
    match arg.as_str() {
        "gen" => {
            for (rel, data) in render() {
                let p = root.join(&rel);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, data).unwrap();
                println!("wrote {}", rel.display());
            }
        }
        "check" => {
            let stale: Vec<String> = render()
                .into_iter()
                .filter(|(rel, data)| {
                    std::fs::read(root.join(rel)).ok().as_deref() != Some(data.as_slice())
                })
                .map(|(rel, _)| rel.display().to_string())
                .collect();
            if !stale.is_empty() {
                eprintln!(
                    "stale generated files (run `cargo xtask gen`): {}",
                    stale.join(", ")
                );
                std::process::exit(1);
            }
            println!("man pages and completions are current");
        }
        _ => {
            eprintln!("usage: cargo xtask gen|check");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The man pages and completions in the repository match the command line: a change to
    /// src/cli.rs without `cargo xtask gen` fails here.
    /// Every page of jail's that a page names (`jail\-run(1)`, `.BR jail\-profile (5)`) exists in
    /// man/, and jail(1) has its EXAMPLES.
    #[test]
    fn man_pages_name_only_pages_that_exist() {
        let dir = super::root().join("man");
        let mut named = vec![];
        for e in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .replace("\\-", "-");
            let mut rest = text.as_str();
            while let Some(i) = rest.find("jail-") {
                let tail = &rest[i..];
                let name: String = tail
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                let after = tail[name.len()..].trim_start();
                if let Some(sec) = after.strip_prefix('(').and_then(|a| a.chars().next()) {
                    if sec.is_ascii_digit() {
                        named.push(format!("{name}.{sec}"));
                    }
                }
                rest = &tail[5..];
            }
        }
        assert!(named.iter().any(|n| n == "jail-run.1"), "{named:?}");
        for n in &named {
            assert!(dir.join(n).exists(), "a page names {n}, which man/ lacks");
        }
        let main = std::fs::read_to_string(dir.join("jail.1")).unwrap();
        assert!(main.contains(".SH EXAMPLES") && main.contains(".SH SEE ALSO"));
    }

    #[test]
    fn generated_files_are_current() {
        let root = super::root();
        for (rel, data) in super::render() {
            let on_disk = std::fs::read(root.join(&rel)).unwrap_or_default();
            assert!(
                on_disk == data,
                "{} is stale: run `cargo xtask gen`",
                rel.display()
            );
        }
    }
}
