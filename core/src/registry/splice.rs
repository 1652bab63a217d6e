//! Appending allocations without rewriting the file. A registry of 50,000 allocations is 13.5
//! MB of text, and serialising all of it again took as long as parsing it. When a change only
//! appends allocations (`allocate`, a new `ensure`), the new file is the old text with the new
//! entries inserted before the allocations array's closing bracket and the two metadata values
//! replaced. Everything else is kept byte for byte, including a hand-edited file's own layout.
//!
//! The text has already been parsed and validated; [`Layout::find`] only locates the spans in
//! one structural pass (strings are skipped with `memchr`). Anything unusual (a compact array,
//! an escaped key, no metadata) answers `None`, and the caller rewrites the whole file.

use super::model::Allocation;
use std::io::{self, Write};
use std::ops::Range;

/// Where the pieces that an append changes sit in a registry's text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The allocations array, from `[` to just after `]`.
    allocations: Range<usize>,
    /// Where new entries go: just after the last entry, or `None` for an empty array (`[]`).
    after_last: Option<usize>,
    last_updated: Range<usize>,
    total_allocations: Range<usize>,
}

/// The indentation of an allocation object in the pretty layout (two levels of two spaces).
const ENTRY_INDENT: &str = "    ";

impl Layout {
    /// Locates the spans in registry text in the pretty layout this program writes.
    pub(crate) fn find(text: &str) -> Option<Layout> {
        let b = text.as_bytes();
        let mut allocations = None;
        let mut metadata = None;
        let end = members(b, 0, |key, value| match key {
            b"allocations" => allocations = Some(value),
            b"metadata" => metadata = Some(value),
            _ => {}
        })?;
        if end != b.len() && !b[end..].iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Layout::at(b, allocations?, metadata?.start)
    }

    /// The layout, given where the allocations array and the metadata object start and end
    /// (found by [`Layout::find`], or while parsing: [`super::scan`]).
    pub(crate) fn at(b: &[u8], allocations: Range<usize>, metadata: usize) -> Option<Layout> {
        let (mut last_updated, mut total_allocations) = (None, None);
        members(b, metadata, |key, value| match key {
            b"last_updated" => last_updated = Some(value),
            b"total_allocations" => total_allocations = Some(value),
            _ => {}
        })?;
        let array = &b[allocations.clone()];
        let after_last = if array == b"[]" {
            None
        } else {
            // `[\n    {` … `}\n  ]`: the layout whose indentation a new entry can copy.
            let opens = array.starts_with(b"[\n")
                && array.len() > 6
                && array[2..].starts_with(ENTRY_INDENT.as_bytes())
                && array[6] == b'{';
            let close = allocations.end - 1;
            let last = (allocations.start..close).rev().find(|&i| !b[i].is_ascii_whitespace())?;
            if !opens || b[last] != b'}' || &b[last + 1..close] != b"\n  " {
                return None;
            }
            Some(last + 1)
        };
        Some(Layout { allocations, after_last, last_updated: last_updated?, total_allocations: total_allocations? })
    }

    /// Writes `text` with `appended` added to its allocations and the metadata stamped.
    pub(crate) fn write(
        &self,
        text: &str,
        appended: &[Allocation],
        last_updated: &str,
        total: u64,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut entries = Vec::with_capacity(320 * appended.len());
        for (i, a) in appended.iter().enumerate() {
            if i > 0 || self.after_last.is_some() {
                entries.push(b',');
            }
            entries.extend_from_slice(b"\n");
            entries.extend_from_slice(ENTRY_INDENT.as_bytes());
            // A pretty-printed object, indented one level further: JSON text has no raw
            // newline except between members, so indenting after each is exact.
            for byte in serde_json::to_vec_pretty(a)? {
                entries.push(byte);
                if byte == b'\n' {
                    entries.extend_from_slice(ENTRY_INDENT.as_bytes());
                }
            }
        }
        let mut pieces: Vec<(Range<usize>, Vec<u8>)> = vec![
            (self.last_updated.clone(), serde_json::to_vec(last_updated)?),
            (self.total_allocations.clone(), total.to_string().into_bytes()),
        ];
        match self.after_last {
            Some(at) => pieces.push((at..at, entries)),
            None => {
                entries.extend_from_slice(b"\n  ]");
                let mut array = b"[".to_vec();
                array.extend_from_slice(&entries);
                pieces.push((self.allocations.clone(), array));
            }
        }
        pieces.sort_by_key(|(r, _)| r.start);
        let mut at = 0;
        for (range, replacement) in pieces {
            out.write_all(&text.as_bytes()[at..range.start])?;
            out.write_all(&replacement)?;
            at = range.end;
        }
        out.write_all(&text.as_bytes()[at..])
    }
}

/// Walks the members of the object starting at `start` (after whitespace), calling `each` with
/// each key's raw text and its value's span; answers the index after the closing `}`. `None`
/// for a key with an escape (its raw text is not its name).
pub(super) fn members(b: &[u8], start: usize, mut each: impl FnMut(&[u8], Range<usize>)) -> Option<usize> {
    let mut i = skip_ws(b, start);
    if *b.get(i)? != b'{' {
        return None;
    }
    i = skip_ws(b, i + 1);
    if *b.get(i)? == b'}' {
        return Some(i + 1);
    }
    loop {
        let key_end = skip_string(b, i)?;
        let key = &b[i + 1..key_end - 1];
        if key.contains(&b'\\') {
            return None;
        }
        i = skip_ws(b, key_end);
        if *b.get(i)? != b':' {
            return None;
        }
        let value_start = skip_ws(b, i + 1);
        let value_end = skip_value(b, value_start)?;
        each(key, value_start..value_end);
        i = skip_ws(b, value_end);
        match *b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `b[i]` is a `"`: answers the index after the closing one.
pub(super) fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if *b.get(i)? != b'"' {
        return None;
    }
    let mut i = i + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', &b[i..])?;
        if b[i] == b'\\' {
            i += 2;
        } else {
            return Some(i + 1);
        }
    }
}

/// Answers the index just after the JSON value starting at `i`. In valid JSON each kind of
/// bracket is balanced inside any value, so a container's end is found by counting its own
/// kind only, jumping from one quote or bracket to the next with `memchr3`.
pub(super) fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    let (open, close) = match *b.get(i)? {
        b'"' => return skip_string(b, i),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => {
            // A number, true, false or null: up to the next delimiter.
            let len = b[i..].iter().position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace());
            return Some(i + len.unwrap_or(b.len() - i));
        }
    };
    let mut depth = 0usize;
    let mut i = i;
    loop {
        i += memchr::memchr3(b'"', open, close, &b[i..])?;
        match b[i] {
            b'"' => i = skip_string(b, i)?,
            c if c == open => {
                depth += 1;
                i += 1;
            }
            _ => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{AllocateRequest, Registry};

    fn request<'a>(worktree: &'a str) -> AllocateRequest<'a> {
        AllocateRequest {
            description: "a \"quoted\" \\ description\twith\u{1} controls",
            worktree_path: Some("/src/x"),
            ..AllocateRequest::new("web", worktree)
        }
    }

    /// What the splice writes equals what a whole rewrite writes, for files we wrote.
    fn same_as_rewrite(reg: Registry) {
        let text = reg.to_json();
        let layout = Layout::find(&text).expect("our own layout is spliceable");
        let mut changed = reg.clone();
        let before = changed.allocations.len();
        changed.allocate(&request("new-1"), "2026-01-01T00:00:00Z", "me@host", &mut |_| true).unwrap();
        changed.allocate(&request("new-2"), "2026-01-01T00:00:00Z", "me@host", &mut |_| true).unwrap();
        changed.stamp("2026-01-01T00:00:01Z");
        let mut spliced = Vec::new();
        let total = changed.allocations.len() as u64;
        layout.write(&text, &changed.allocations[before..], "2026-01-01T00:00:01Z", total, &mut spliced).unwrap();
        assert_eq!(String::from_utf8(spliced).unwrap(), changed.to_json());
    }

    #[test]
    fn an_append_writes_what_a_rewrite_would() {
        let mut reg = Registry::with_default_ranges("2025-12-31T10:00:00Z");
        same_as_rewrite(reg.clone());
        for w in ["a", "b", "c"] {
            reg.allocate(&request(w), "2025-12-31T10:00:00Z", "u@h", &mut |_| true).unwrap();
        }
        same_as_rewrite(reg);
        let with_unknowns = Registry::from_json(
            r#"{"team": {"x": [1, {"y": "]}\""}]}, "ranges": {"web": {"start": 8080, "end": 8099, "probe": "tcp"}},
                "allocations": [{"port": 8080, "worktree": "w", "service": "web", "ticket": "GH-1"}],
                "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": 1, "schema_version": 1, "note": null},
                "z": 1.50}"#,
        )
        .unwrap();
        same_as_rewrite(with_unknowns);
    }

    #[test]
    fn a_hand_laid_out_file_keeps_its_layout_where_untouched() {
        let text = "{\n\"ranges\":{\"web\":{\"start\":8080,\"end\":8099}},   \"allocations\": [\n    {\"port\": 8080, \"worktree\": \"w\", \"service\": \"web\"}\n  ],\n\"metadata\":{\"last_updated\":\"x\",\"total_allocations\":1}}\n";
        let layout = Layout::find(text).unwrap();
        let mut reg = Registry::from_json(text).unwrap();
        reg.allocate(&request("n"), "t", "u@h", &mut |_| true).unwrap();
        let mut out = Vec::new();
        layout.write(text, &reg.allocations[1..], "T", 2, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with(
                "{\n\"ranges\":{\"web\":{\"start\":8080,\"end\":8099}},   \"allocations\": [\n    {\"port\": 8080,"
            ),
            "{out}"
        );
        assert!(out.ends_with("\n  ],\n\"metadata\":{\"last_updated\":\"T\",\"total_allocations\":2}}\n"), "{out}");
        let back = Registry::from_json(&out).unwrap();
        assert_eq!(back.allocations.len(), 2);
        assert_eq!(back.allocations[1].worktree, "n");
    }

    #[test]
    fn unusual_layouts_are_rewritten_instead() {
        for text in [
            r#"{"ranges": {}, "allocations": [{"port": 1, "worktree": "w", "service": "s"}], "metadata": {"last_updated": "", "total_allocations": 1}}"#,
            "{\"ranges\": {}, \"allocations\": [], \"metadata\": {\"last_updated\": \"\"}}",
            "{\"ranges\": {}, \"allocations\": []}",
            "{\"ranges\": {}, \"alloc\\u0061tions\": [], \"metadata\": {\"last_updated\": \"\", \"total_allocations\": 0}}",
            "{\"ranges\": {}, \"allocations\": [ ], \"metadata\": {\"last_updated\": \"\", \"total_allocations\": 0}}",
        ] {
            assert_eq!(Layout::find(text), None, "{text}");
        }
    }
}
