//! jail(1): clap_mangen's sections, then a real EXAMPLES section and a SEE ALSO naming every
//! page this repository ships (and nothing else of jail's).

const EXAMPLES: &str = r#".SH EXAMPLES
.TP
.B jail run \-\- /bin/true
Run a command under the built\-in default profile: the system read\-only, the current folder
read\-write, an empty home, no network.
.TP
.B jail explain \-\-profile firefox\-esr \-\- firefox\-esr
Print, step by step, what the sandbox of the packaged firefox\-esr profile would be: every
mount, the folders it creates (\fBcreated if missing\fR), Landlock and seccomp rules.
.TP
.B jail run \-\- firefox\-esr
The same browser, run: the profile is picked by the command's name (jail says so on stderr;
\fB\-q\fR keeps it quiet); \fI~/.mozilla\fR is created on the first run, so settings stay.
.TP
.B jail run \-\-net host \-\-ro\-bind ~/src \-\- make
A build that sees \fI~/src\fR read\-only and has the host's network.
.TP
.B jail run \-\-profile shell \-\- bash
An interactive shell with the home's keys and credentials hidden.
.TP
.B jail learn \-o mytool.toml \-\- mytool \-\-selftest
Run once in a permissive sandbox and write the smallest profile that lets it do the same again;
then \fBjail run \-\-profile ./mytool.toml \-\- mytool\fR.
.TP
.B jail check ./myapp.toml && jail audit ./myapp.toml
Validate a profile (errors point at file:line:col), then score what it exposes.
.TP
.B jail desktop install \-\-profile browser epiphany\-browser
A menu entry that starts the app through jail, here under the generic browser profile.
.TP
.B jail run \-\-name work \-\-profile shell \-\- bash; jail ps; jail enter work; jail stop work
Name a sandbox, list the running ones, run a second command inside it, end it.
"#;

/// The page of `jail` itself.
pub fn main_page(cmd: &clap::Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = vec![];
    let render = |buf: &mut Vec<u8>| -> std::io::Result<()> {
        man.render_title(buf)?;
        man.render_name_section(buf)?;
        man.render_synopsis_section(buf)?;
        man.render_description_section(buf)?;
        man.render_options_section(buf)?;
        man.render_subcommands_section(buf)?;
        buf.extend_from_slice(EXAMPLES.as_bytes());
        man.render_extra_section(buf)?;
        man.render_version_section(buf)?;
        Ok(())
    };
    render(&mut buf).expect("render jail.1");
    let mut see = vec![];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        see.push(format!("jail\\-{}", sub.get_name()));
    }
    see.push("jail\\-profile (5)".into());
    let lines: Vec<String> = see
        .iter()
        .map(|s| {
            if s.ends_with("(5)") {
                format!(".BR {s}")
            } else {
                format!(".BR {s} (1)")
            }
        })
        .collect();
    let also = format!(".SH SEE ALSO\n{}\n", lines.join(",\n"));
    buf.extend_from_slice(also.as_bytes());
    buf
}
