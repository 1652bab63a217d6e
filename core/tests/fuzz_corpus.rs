//! Replays every saved fuzz input (core/fuzz/corpus/registry, and the crashes once found and
//! fixed) through the same checks as the fuzzer: what it once found stays fixed.

#[path = "../fuzz/exercise.rs"]
mod exercise;

#[test]
fn the_saved_fuzz_corpus_passes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/registry");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("the corpus folder exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| exercise::run(&data));
        assert!(outcome.is_ok(), "fuzz input {} fails again", path.display());
        count += 1;
    }
    assert!(count >= 20, "the corpus has {count} inputs: it was not restored");
}
