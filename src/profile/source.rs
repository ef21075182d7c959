//! Where every profile value came from, so an error can point into the file.
//!
//! Each parsed file (and the command line) is registered in a [`SourceMap`]; every value
//! deserialized from it carries an [`Origin`]: the source's index and the byte span. An error is
//! rendered as `PATH:LINE:COL`, the offending line and a caret under the span.

use std::cell::Cell;
use std::fmt;
use std::ops::Range;

// The source currently being deserialized. Set by [`SourceMap::parse`] around the call to the
// TOML deserializer, read by `L<T>`'s `Deserialize`. Thread-local because jail is
// single-threaded until `execve` and because serde gives no other way to thread context through.
thread_local! {
    static CURRENT: Cell<u32> = const { Cell::new(0) };
}

/// Which source a value came from and where in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    pub src: u32,
    pub span: Range<usize>,
}

impl Origin {
    pub(crate) fn current(span: Range<usize>) -> Origin {
        Origin {
            src: CURRENT.with(|c| c.get()),
            span,
        }
    }
}

/// One profile file or pseudo-file (the command line, a built-in profile).
#[derive(Clone, Debug)]
pub struct Source {
    /// What a user reads in an error: a path, `builtin:NAME` or `command line`.
    pub name: String,
    pub text: String,
}

#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    pub sources: Vec<Source>,
}

impl SourceMap {
    pub fn add(&mut self, name: String, text: String) -> u32 {
        self.sources.push(Source { name, text });
        (self.sources.len() - 1) as u32
    }

    /// Deserializes `T` from source `id`, tagging every located value with it.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, id: u32) -> Result<T, Located> {
        let text = &self.sources[id as usize].text;
        let prev = CURRENT.with(|c| c.replace(id));
        let r = toml::from_str::<T>(text);
        CURRENT.with(|c| c.set(prev));
        r.map_err(|e| {
            let msg = e.message().trim().replace('\n', " ");
            Located::new(
                msg,
                Some(Origin {
                    src: id,
                    span: e.span().unwrap_or(0..0),
                }),
            )
        })
    }

    pub fn name(&self, src: u32) -> &str {
        self.sources
            .get(src as usize)
            .map(|s| s.name.as_str())
            .unwrap_or("?")
    }

    /// `(line, column)`, both 1-based, of a byte offset.
    pub fn line_col(&self, o: &Origin) -> (usize, usize) {
        let Some(s) = self.sources.get(o.src as usize) else {
            return (0, 0);
        };
        let at = o.span.start.min(s.text.len());
        let before = &s.text[..floor_char(&s.text, at)];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }

    /// Whether an error may quote source `s`'s lines: a built-in profile, the command line, or a
    /// file whose name ends in `.toml`. Any other file (only ever reached by a path jail then
    /// refuses) is located but never quoted, so a profile cannot make jail print a line of a
    /// file such as `/etc/shadow`.
    fn quotable(s: &Source) -> bool {
        !s.name.contains('/') || s.name.ends_with(".toml")
    }

    /// `PATH:LINE:COL` followed by the line and a caret, each on its own line. Control
    /// characters in the path and the line are shown escaped, the caret still under the column.
    pub fn render(&self, o: &Origin) -> String {
        use crate::util::printable;
        let Some(s) = self.sources.get(o.src as usize) else {
            return String::new();
        };
        let (line, col) = self.line_col(o);
        if !Self::quotable(s) {
            return format!("  --> {}:{}:{}", printable(&s.name, false), line, col);
        }
        let text_line = s.text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let raw: String = text_line.chars().take(160).collect();
        let shown = printable(&raw, false);
        // The caret goes under the column as shown: escapes before it widen the line.
        let before: String = text_line.chars().take(col.saturating_sub(1)).collect();
        let indent = printable(&before, false).chars().count();
        let width = {
            let end = o.span.end.min(s.text.len());
            let start = o.span.start.min(end);
            let spanned = &s.text[floor_char(&s.text, start)..floor_char(&s.text, end)];
            spanned
                .lines()
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(1)
                .clamp(1, 80)
        };
        let gutter = line.to_string().len();
        format!(
            "  --> {}:{}:{}\n{:>g$} |\n{} | {}\n{:>g$} | {}{}",
            printable(&s.name, false),
            line,
            col,
            "",
            line,
            shown,
            "",
            " ".repeat(indent.min(160)),
            "^".repeat(width),
            g = gutter
        )
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A message with an optional place in a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    pub msg: String,
    pub at: Option<Origin>,
}

impl Located {
    pub fn new(msg: impl Into<String>, at: Option<Origin>) -> Self {
        Located {
            msg: msg.into(),
            at,
        }
    }
    pub fn at(msg: impl Into<String>, at: &Origin) -> Self {
        Located {
            msg: msg.into(),
            at: Some(at.clone()),
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
