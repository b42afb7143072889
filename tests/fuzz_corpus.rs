//! The fuzz targets on stable: every saved input (the seed corpus in
//! `fuzz/corpus/TARGET/` and every input that once crashed, in
//! `fuzz/regressions/TARGET/`) is replayed through the same body the
//! cargo-fuzz binary runs, and each seed is mutated a few thousand times
//! with a fixed seed, so plain `cargo test` keeps every parser honest
//! without nightly. `fuzz/README.md` says how to run the real fuzzer.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

const MUTATIONS_PER_SEED: usize = 2000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.expect("read corpus entry").path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| {
            let data = fs::read(&p).expect("read corpus file");
            (p, data)
        })
        .collect();
    out.sort();
    out
}

/// Runs `body` on `data`; a panic fails the test naming the input.
fn run(name: &str, what: &str, body: fn(&[u8]), data: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| body(data))).is_err() {
        let shown: String = String::from_utf8_lossy(&data[..data.len().min(200)]).into_owned();
        panic!(
            "fuzz target {name} panicked on {what} ({} bytes): {shown:?}",
            data.len()
        );
    }
}

/// xorshift64*: deterministic, so a failure here reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the formats: separators, digits, signs, quotes.
const INTERESTING: &[u8] = b"\0\n\r\t =:;,#%@\"'\\-+0123456789[]()*/?.\xff\xc3";

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            1 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = rng.below(v.len() - i + 1);
                v.drain(i..i + n);
            }
            3 if !v.is_empty() => {
                // Repeat a slice: long numbers, deep nesting, many fields.
                let i = rng.below(v.len());
                let n = 1 + rng.below((v.len() - i).min(16));
                let piece = v[i..i + n].to_vec();
                for _ in 0..rng.below(64) {
                    v.splice(i..i, piece.iter().copied());
                }
            }
            _ => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
        }
    }
    v
}

#[test]
fn every_target_has_a_binary_and_a_seed_corpus() {
    let mut binaries: Vec<String> = fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .map(|e| {
            let p = e.expect("entry").path();
            p.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    binaries.sort();
    let mut named: Vec<String> = targets::ALL.iter().map(|(n, _)| n.to_string()).collect();
    named.sort();
    assert_eq!(
        binaries, named,
        "fuzz/fuzz_targets/*.rs and targets::ALL differ"
    );
    for (name, _) in targets::ALL {
        let seeds = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name}/ has no seed");
    }
}

#[test]
fn saved_inputs_replay_without_panic() {
    for (name, body) in targets::ALL {
        for sub in ["corpus", "regressions"] {
            for (path, data) in inputs(&fuzz_dir().join(sub).join(name)) {
                run(name, &path.display().to_string(), *body, &data);
            }
        }
    }
}

#[test]
fn mutated_seeds_never_panic() {
    for (name, body) in targets::ALL {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        for (path, seed) in inputs(&fuzz_dir().join("corpus").join(name)) {
            for round in 0..MUTATIONS_PER_SEED {
                let data = mutate(&mut rng, &seed);
                let what = format!("mutation {round} of {}", path.display());
                run(name, &what, *body, &data);
            }
        }
    }
}
