//! Parsing a registry one allocation at a time, so that the parse itself tells where the
//! allocations array and each entry end. An append ([`super::splice`]) then needs no second
//! pass over the text, and a large array is parsed in two halves at once where threads exist.
//!
//! The result is the one a whole parse gives. The allocations are parsed with the same
//! deserializer, one after another, with JSON's separators checked here. Everything outside
//! the array (ranges, metadata, unknown members, the top level's own rules) is parsed by the
//! whole-file parser on the text with the array left empty. Anything unexpected (an escaped
//! `allocations` key, a second one, invalid JSON) answers `None`, and the caller parses the
//! whole file the usual way, which also produces the error message.

use super::model::{Allocation, Registry};
use super::splice::{Layout, skip_string, skip_value};
use std::ops::Range;

/// A registry parsed by [`parse`], with the layout an append can splice into.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub registry: Registry,
    pub layout: Option<Layout>,
}

/// JSON's whitespace (not `\f`, which `is_ascii_whitespace` would also take).
fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Parses registry text; `None` when the caller should parse the whole file instead.
pub(crate) fn parse(text: &str) -> Option<Scanned> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if *b.get(i)? != b'{' {
        return None;
    }
    i = ws(b, i + 1);
    let mut array: Option<(Range<usize>, Vec<Allocation>)> = None;
    let mut metadata = None;
    if *b.get(i)? != b'}' {
        loop {
            let key_end = skip_string(b, i)?;
            let key = &b[i + 1..key_end - 1];
            i = ws(b, key_end);
            if *b.get(i)? != b':' {
                return None;
            }
            let value = ws(b, i + 1);
            let end = match key {
                b"allocations" if array.is_none() => {
                    let (allocations, end) = allocations(text, value)?;
                    array = Some((value..end, allocations));
                    end
                }
                b"allocations" => return None,
                _ => skip_value(b, value)?,
            };
            if key == b"metadata" {
                metadata = Some(value);
            }
            i = ws(b, end);
            match *b.get(i)? {
                b',' => i = ws(b, i + 1),
                b'}' => break,
                _ => return None,
            }
        }
    }
    let (span, allocations) = array?;
    // Everything but the array, by the whole-file parser and its rules.
    let mut rest = String::with_capacity(text.len() - span.len() + 2);
    rest.push_str(&text[..span.start]);
    rest.push_str("[]");
    rest.push_str(&text[span.end..]);
    let mut registry: Registry = serde_json::from_str(&rest).ok()?;
    registry.allocations = allocations;
    registry.check().ok()?;
    let layout = metadata.and_then(|m| Layout::at(b, span, m));
    Some(Scanned { registry, layout })
}

/// Parses the array opening at `open`; answers its allocations and the index after its `]`.
fn allocations(text: &str, open: usize) -> Option<(Vec<Allocation>, usize)> {
    let b = text.as_bytes();
    if *b.get(open)? != b'[' {
        return None;
    }
    let first = ws(b, open + 1);
    if *b.get(first)? == b']' {
        return Some((Vec::new(), first + 1));
    }
    #[cfg(not(target_family = "wasm"))]
    if let Some(found) = in_two_halves(text, first) {
        return found;
    }
    let run = run(text, first, None)?;
    Some((run.allocations, run.stop + 1))
}

/// What one run of entries found.
struct Run {
    allocations: Vec<Allocation>,
    /// The index of the `,` (with `until`) or `]` that ended the run.
    stop: usize,
}

/// Parses entries from `first` (the first byte of one), separated by commas, until the array's
/// `]`, or, with `until`, until the `,` at that index, which must follow an entry exactly.
fn run(text: &str, first: usize, until: Option<usize>) -> Option<Run> {
    let b = text.as_bytes();
    let mut allocations = Vec::new();
    let mut i = first;
    loop {
        let mut entries = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Allocation>();
        let allocation = entries.next()?.ok()?;
        let len = entries.byte_offset();
        // Room for as many entries as the rest of the text could hold at this entry's size:
        // untouched capacity costs no memory here, and the vector (the first half's, which the
        // second half's joins) is never copied as it grows. (WebAssembly memory would grow.)
        #[cfg(not(target_family = "wasm"))]
        if allocations.is_empty() {
            let size = len.max(40);
            let span = b.len() - i;
            allocations.reserve(span / size + span / size / 8 + 1);
        }
        allocations.push(allocation);
        let j = ws(b, i + len);
        match (*b.get(j)?, until) {
            (b',', Some(u)) if j == u => return Some(Run { allocations, stop: j }),
            (b',', Some(u)) if j > u => return None,
            (b',', _) => i = ws(b, j + 1),
            (b']', None) => return Some(Run { allocations, stop: j }),
            _ => return None,
        }
    }
}

/// Arrays larger than this are parsed in two halves at once.
#[cfg_attr(target_family = "wasm", allow(dead_code))]
const TWO_HALVES_FROM: usize = 1 << 20;

/// Parses a large array in two halves on two threads. The halves meet at an entry boundary of
/// the pretty layout (`},` newline, four spaces, `{`) near the middle; a raw newline is never
/// inside a string, and the first half must end exactly there, so a boundary that is not one
/// between entries is noticed. `None`: not done this way (small, no boundary found, no second
/// thread); `Some(None)`: the text is not valid.
#[cfg(not(target_family = "wasm"))]
fn in_two_halves(text: &str, first: usize) -> Option<Option<(Vec<Allocation>, usize)>> {
    const BOUNDARY: &[u8] = b"},\n    {";
    let b = text.as_bytes();
    if b.len() - first < TWO_HALVES_FROM || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    let middle = first + (b.len() - first) / 2;
    let at = middle + memchr::memmem::find(&b[middle..], BOUNDARY)?;
    let (comma, second) = (at + 1, at + BOUNDARY.len() - 1);
    std::thread::scope(|scope| {
        let later = std::thread::Builder::new().spawn_scoped(scope, || run(text, second, None)).ok()?;
        let earlier = run(text, first, Some(comma));
        let later = later.join().ok()?;
        let (Some(mut earlier), Some(later)) = (earlier, later) else {
            // Invalid text, or the meeting point was not between entries: let one run decide.
            return Some(run(text, first, None).map(|r| (r.allocations, r.stop + 1)));
        };
        earlier.allocations.extend(later.allocations);
        Some(Some((earlier.allocations, later.stop + 1)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `parse` answers is what the whole-file parse answers, and its layout is the one
    /// `Layout::find` finds.
    /// Answers whether the scan took it (else the whole parse does the work).
    fn agrees(text: &str) -> bool {
        let whole = Registry::from_json_whole(text);
        match parse(text) {
            Some(scanned) => {
                assert_eq!(Ok(&scanned.registry), whole.as_ref(), "{text}");
                assert_eq!(scanned.layout, Layout::find(text), "{text}");
                true
            }
            None => false,
        }
    }

    fn registry_text(count: usize, description: &str) -> String {
        let allocations: Vec<_> = (0..count)
            .map(|i| {
                serde_json::json!({"port": 10_000 + i, "worktree": format!("wt-{i}"), "service": "bulk",
                    "description": description, "process_id": null, "health_status": "unknown"})
            })
            .collect();
        serde_json::to_string_pretty(&serde_json::json!({
            "ranges": {"bulk": {"start": 10_000, "end": 60_000}},
            "allocations": allocations,
            "metadata": {"version": "1.0.0", "last_updated": "", "total_allocations": count, "schema_version": 1}
        }))
        .unwrap()
    }

    #[test]
    fn the_scan_agrees_with_the_whole_parse() {
        for text in [
            r#"{"ranges": {}, "allocations": []}"#,
            r#"{"allocations": [ ], "ranges": {"web": {"start": 1, "end": 2}}, "metadata": {"last_updated": "", "total_allocations": 0}}"#,
            r#"{"ranges": {}, "allocations": [{"port": 80, "worktree": "w", "service": "web", "x": [1, {"y": "]}\""}]}]}"#,
            r#"{"ranges": {}, "allocations": [{"port": 80, "worktree": "w", "service": "web"},]}"#,
            r#"{"ranges": {}, "allocations": [{"port": 80, "worktree": "w", "service": "web"} {"port": 81}]}"#,
            r#"{"ranges": {}, "allocations": [{"port": 80, "worktree": "", "service": "web"}]}"#,
            r#"{"ranges": {}, "allocations": [], "allocations": []}"#,
            r#"{"ranges": {}, "\u0061llocations": [{"port": 80, "worktree": "w", "service": "web"}]}"#,
            r#"{"ranges": {}, "allocations": [{"port": 0, "worktree": "w", "service": "web"}]}"#,
            r#"{"ranges": {}, "allocations": [{"port": 80, "worktree": "w", "service": "web"}]} x"#,
            "{\"ranges\": {}, \"allocations\": [\u{c}]}",
            r#"{"ranges": {}, "allocations": [1]}"#,
            r#"{"ranges": {}, "allocations": {}}"#,
            r#"{"ranges": {}}"#,
            r#"[]"#,
            "",
        ] {
            agrees(text);
        }
        // Valid registries are scanned, not left to the whole parse.
        for valid in [
            r#"{"ranges": {}, "allocations": []}"#,
            r#"{"allocations": [ ], "ranges": {"web": {"start": 1, "end": 2}}, "metadata": {"last_updated": "", "total_allocations": 0}}"#,
            r#"{"ranges": {}, "allocations": [{"port": 80, "worktree": "w", "service": "web", "x": [1, {"y": "]}\""}]}]}"#,
            &registry_text(3, "plain"),
            &Registry::with_default_ranges("t").to_json(),
        ] {
            assert!(agrees(valid), "{valid}");
        }
    }

    #[test]
    fn a_large_array_is_parsed_in_two_halves_to_the_same_result() {
        let text = registry_text(8_000, "a description long enough to make this registry over a megabyte");
        assert!(text.len() > TWO_HALVES_FROM);
        let scanned = parse(&text).expect("our own layout scans");
        assert_eq!(scanned.registry.allocations.len(), 8_000);
        assert_eq!(Ok(scanned.registry), Registry::from_json_whole(&text));
        assert_eq!(scanned.layout, Layout::find(&text));
        // A meeting point inside an entry (a nested object laid out like one) is noticed.
        let tricky = text.replacen(
            "\"description\"",
            "\"nested\": [\n    {\"a\": 1},\n    {\"b\": 2}\n  ],\n      \"description\"",
            4_100,
        );
        agrees(&tricky);
        assert!(parse(&tricky).is_some());
        // Invalid text in either half is not accepted.
        for broken in
            [text.replacen("\"port\": 10100", "\"port\": \"x\"", 1), text.replacen("\"port\": 17999", "\"port\": 0", 1)]
        {
            assert!(parse(&broken).is_none());
            assert!(Registry::from_json_whole(&broken).is_err());
        }
    }

    #[test]
    fn the_fuzz_corpus_scans_as_it_parses() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/registry");
        let (mut checked, mut scanned) = (0, 0);
        for entry in std::fs::read_dir(corpus).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            // An input is 8 bytes of script, then registry text (core/fuzz/exercise.rs).
            if let Ok(text) = std::str::from_utf8(&bytes[bytes.len().min(8)..]) {
                checked += 1;
                if agrees(text) {
                    scanned += 1;
                }
            }
        }
        assert!(checked > 1000 && scanned > 100, "{scanned} of {checked} corpus files scanned");
    }
}
