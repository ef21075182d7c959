//! What clap_complete cannot know: profile names and running sandboxes are only known when the
//! user presses TAB. The scripts ask `jail __complete profiles|sandboxes` (one word a line) for
//! the value of every `--profile`, the profiles of `check`/`audit` and the sandbox of
//! `stop`/`enter`, and leave everything else to clap's generated completion.

use clap_complete::Shell;

const BASH: &str = r#"
# jail's own: profile names and running sandboxes, asked of `jail __complete` at TAB.
_jail_offer() {
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$(command jail __complete "$1" 2>/dev/null)" -- "$2"))
    if [[ "$1" == profiles && ( "$2" == */* || "$2" == *.toml ) ]]; then
        COMPREPLY+=($(compgen -f -- "$2"))
    fi
}

_jail_dynamic() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" sub="" npos=0 i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        if [[ "$w" == -- ]]; then
            _jail "$@"
            return
        elif [[ -z "$sub" ]]; then
            [[ "$w" != -* ]] && sub="$w"
        elif [[ "$w" != -* && "${COMP_WORDS[i-1]}" != --timeout ]]; then
            ((npos++))
        fi
    done
    if [[ -n "$sub" && ( "$prev" == -p || "$prev" == --profile ) ]]; then
        _jail_offer profiles "$cur"
        return 0
    fi
    case "$sub" in
        check | audit)
            if [[ "$cur" != -* ]]; then
                _jail_offer profiles "$cur"
                return 0
            fi
            ;;
        stop | enter)
            if [[ "$cur" != -* && $npos -eq 0 ]]; then
                _jail_offer sandboxes "$cur"
                return 0
            fi
            ;;
    esac
    _jail "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _jail_dynamic -o nosort -o bashdefault -o default jail
else
    complete -F _jail_dynamic -o bashdefault -o default jail
fi
"#;

const ZSH: &str = r#"
# jail's own: profile names and running sandboxes, asked of `jail __complete` at TAB; the rest
# is clap's completion (_jail_static).
_jail_offer() {
    local -a w
    w=(${(f)"$(command jail __complete $1 2>/dev/null)"})
    compadd -a w
    [[ $1 == profiles ]] && _files -g '*.toml'
}

_jail() {
    local i w sub="" npos=0
    for (( i = 2; i < CURRENT; i++ )); do
        w=${words[i]}
        if [[ $w == -- ]]; then
            _jail_static "$@"
            return
        elif [[ -z $sub ]]; then
            [[ $w != -* ]] && sub=$w
        elif [[ $w != -* && ${words[i-1]} != --timeout ]]; then
            (( npos++ ))
        fi
    done
    local prev=${words[CURRENT-1]} cur=${words[CURRENT]}
    if [[ -n $sub && ( $prev == -p || $prev == --profile ) ]]; then
        _jail_offer profiles
        return
    fi
    case $sub in
        check|audit)
            if [[ $cur != -* ]]; then
                _jail_offer profiles
                return
            fi
            ;;
        stop|enter)
            if [[ $cur != -* && $npos -eq 0 ]]; then
                _jail_offer sandboxes
                return
            fi
            ;;
    esac
    _jail_static "$@"
}

"#;

/// Adds jail's dynamic words to clap's script for `shell`.
pub fn extend(shell: Shell, generated: String, cmd: &clap::Command) -> String {
    match shell {
        Shell::Bash => generated + BASH,
        Shell::Zsh => {
            // clap's `_jail` becomes `_jail_static`, called by ours; the file's last lines
            // (autoload or compdef) then start ours.
            let tail = "if [ \"$funcstack[1]\" = \"_jail\" ]; then";
            let renamed = generated.replacen("\n_jail() {\n", "\n_jail_static() {\n", 1);
            assert!(
                renamed != generated && renamed.contains(tail),
                "clap_complete's zsh script changed shape: adapt xtask/src/complete.rs"
            );
            renamed.replacen(tail, &format!("{ZSH}{tail}"), 1)
        }
        Shell::Fish => generated + &fish(cmd),
        _ => generated,
    }
}

/// One `complete` line per place a profile or a sandbox is named, for every verb that has one
/// (and the verbs one level below, such as `export oci`).
fn fish(cmd: &clap::Command) -> String {
    let mut out = String::from(
        "\n# jail's own: profile names and running sandboxes, asked of `jail __complete` at TAB.\n\
         function __fish_jail_words\n    command jail __complete $argv[1] 2>/dev/null\nend\n",
    );
    let mut verb = |cond: String, sub: &clap::Command| {
        for a in sub.get_arguments() {
            let words = match (a.get_long(), a.get_id().as_str()) {
                (Some("profile"), _) => "profiles",
                (None, "profiles") => "profiles",
                (None, "id") => "sandboxes",
                _ => continue,
            };
            let opt = match (a.get_short(), a.get_long()) {
                (Some(s), Some(l)) => format!(" -s {s} -l {l} -r"),
                (None, Some(l)) => format!(" -l {l} -r"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "complete -c jail -n \"{cond}\"{opt} -a \"(__fish_jail_words {words})\"\n"
            ));
        }
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        verb(format!("__fish_jail_using_subcommand {name}"), sub);
        for inner in sub.get_subcommands() {
            verb(
                format!(
                    "__fish_jail_using_subcommand {name}; and __fish_seen_subcommand_from {}",
                    inner.get_name()
                ),
                inner,
            );
        }
    }
    out
}
