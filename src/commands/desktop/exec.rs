//! The `Exec=` key of a desktop entry: splitting its value into arguments the way launchers
//! do, and writing arguments back quoted (Desktop Entry Specification, "The Exec key").

/// Characters that need no quoting in an `Exec=` argument (a conservative subset: none is
/// reserved by the Desktop Entry Specification or special to a shell).
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._,:=+@-".contains(c)
}

/// One literal piece of an `Exec=` argument in the Exec quoting (before string escapes): bare
/// when every character is plain, else in double quotes with `"`, `` ` ``, `$` and `\` escaped
/// by a backslash; `%` is always doubled.
fn quote_piece(s: &str) -> String {
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '%' => q.push_str("%%"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The general string escapes of a desktop entry value (`\\`, `\n`, `\t`, `\r`).
pub(super) fn escape_value(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// Quotes one argument for an `Exec=` value (Desktop Entry Specification, "The Exec key"):
/// reserved characters need double quotes, inside which `"`, `` ` ``, `$` and `\` take a
/// backslash; `%` is always doubled. The result is already in the escaped form of a string value.
pub fn exec_quote(arg: &str) -> String {
    escape_value(&quote_piece(arg))
}

/// A piece of a parsed `Exec=` argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// A field code letter (`%f` is `Code('f')`), expanded by the launcher.
    Code(char),
}

/// Undoes the general string escapes of a value (`\s \n \t \r \\`); any other escape is an error
/// (launchers refuse such a value too).
fn unescape_value(v: &str) -> Result<String, String> {
    let mut o = String::with_capacity(v.len());
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        match it.next() {
            Some('s') => o.push(' '),
            Some('n') => o.push('\n'),
            Some('t') => o.push('\t'),
            Some('r') => o.push('\r'),
            Some('\\') => o.push('\\'),
            Some(x) => return Err(format!("the escape \\{x} is not allowed in a value")),
            None => return Err("the value ends in a lone backslash".into()),
        }
    }
    Ok(o)
}

/// Splits an `Exec=` value (as written in the file) into arguments, each a list of pieces:
/// string escapes first, then the Exec quoting read the way launchers do (GLib's shell-like
/// parsing: double quotes with `\"` `` \` `` `\$` `\\`, single quotes, a backslash outside
/// quotes, `#` starting a comment), and field codes recognised wherever they are (launchers
/// expand them in the raw text). Errors: an unterminated quote, an unknown field code, no
/// command.
pub fn parse_exec(value: &str) -> Result<Vec<Vec<Piece>>, String> {
    let s = unescape_value(value)?;
    let mut args: Vec<Vec<Piece>> = Vec::new();
    let mut cur: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut in_arg = false;
    let mut it = s.chars().peekable();
    #[derive(PartialEq)]
    enum Q {
        None,
        Double,
        Single,
    }
    let mut q = Q::None;
    fn flush(text: &mut String, cur: &mut Vec<Piece>) {
        if !text.is_empty() {
            cur.push(Piece::Text(std::mem::take(text)));
        }
    }
    while let Some(c) = it.next() {
        if c == '%' {
            match it.next() {
                Some('%') => text.push('%'),
                Some(k) if "fFuUdDnNickvm".contains(k) => {
                    flush(&mut text, &mut cur);
                    cur.push(Piece::Code(k));
                }
                Some(k) => return Err(format!("unknown field code %{k}")),
                None => return Err("a lone % at the end".into()),
            }
            in_arg = true;
            continue;
        }
        match q {
            Q::None => match c {
                ' ' | '\t' | '\n' => {
                    if in_arg {
                        flush(&mut text, &mut cur);
                        args.push(std::mem::take(&mut cur));
                        in_arg = false;
                    }
                }
                '#' if !in_arg => {
                    // A comment, to the end of the line.
                    for x in it.by_ref() {
                        if x == '\n' {
                            break;
                        }
                    }
                }
                '"' => {
                    q = Q::Double;
                    in_arg = true;
                }
                '\'' => {
                    q = Q::Single;
                    in_arg = true;
                }
                '\\' => match it.next() {
                    Some('\n') => {}
                    Some(x) => {
                        text.push(x);
                        in_arg = true;
                    }
                    None => return Err("ends in a lone backslash".into()),
                },
                c => {
                    text.push(c);
                    in_arg = true;
                }
            },
            Q::Double => match c {
                '"' => q = Q::None,
                '\\' => match it.peek().copied() {
                    Some(x @ ('"' | '`' | '$' | '\\')) => {
                        it.next();
                        text.push(x);
                    }
                    Some('\n') => {
                        it.next();
                    }
                    _ => text.push('\\'),
                },
                c => text.push(c),
            },
            Q::Single => match c {
                '\'' => q = Q::None,
                c => text.push(c),
            },
        }
    }
    if q != Q::None {
        return Err("an unterminated quote".into());
    }
    if in_arg {
        flush(&mut text, &mut cur);
        args.push(cur);
    }
    match args.first() {
        None => Err("no command".into()),
        Some(first)
            if first
                .iter()
                .all(|p| matches!(p, Piece::Text(t) if t.is_empty())) =>
        {
            Err("no command".into())
        }
        _ => Ok(args),
    }
}

/// Writes parsed arguments back as an `Exec=` value (escaped form): each literal piece quoted
/// when needed, field codes bare next to it.
pub fn unparse_exec(args: &[Vec<Piece>]) -> String {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let mut s = String::new();
        if a.is_empty() {
            s.push_str("\"\"");
        }
        for p in a {
            match p {
                Piece::Text(t) => s.push_str(&quote_piece(t)),
                Piece::Code(k) => {
                    s.push('%');
                    s.push(*k);
                }
            }
        }
        out.push(escape_value(&s));
    }
    out.join(" ")
}
