//! Shared loader for the golden datagrams captured from classic ntpd and NTPsec
//! (`testdata/vectors`, copied from `../shared/vectors` without the pcapng files).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One captured datagram.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// Vector directory relative to `testdata/vectors`, e.g. `classic-4.2.8/ntpq-p`.
    pub vector: String,
    /// `request` (to the server) or `response` (from it).
    pub dir: String,
    /// Index of this datagram within its vector.
    pub index: usize,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

impl Datagram {
    /// Mode from the first octet (low three bits), if there is one.
    pub fn mode(&self) -> Option<u8> {
        self.payload.first().map(|b| b & 7)
    }
    /// True for datagrams sent by the server.
    pub fn is_response(&self) -> bool {
        self.dir == "response"
    }
}

/// Root of the copied vectors.
pub fn vectors_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.file_name().is_some_and(|n| n == "datagrams.json") {
            out.push(p);
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Every datagram of one vector directory (relative to `testdata/vectors`).
pub fn vector(rel: &str) -> Vec<Datagram> {
    load(&vectors_root().join(rel).join("datagrams.json"))
}

fn load(path: &Path) -> Vec<Datagram> {
    let root = vectors_root();
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rel = path
        .parent()
        .unwrap()
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    json["datagrams"]
        .as_array()
        .expect("datagrams array")
        .iter()
        .enumerate()
        .map(|(index, d)| Datagram {
            vector: rel.clone(),
            dir: d["dir"].as_str().unwrap().to_owned(),
            index,
            payload: hex(d["payload_hex"].as_str().unwrap()),
        })
        .collect()
}

/// Every datagram of every vector.
pub fn all_datagrams() -> Vec<Datagram> {
    let mut files = Vec::new();
    walk(&vectors_root(), &mut files);
    assert!(
        !files.is_empty(),
        "no vectors found under {}",
        vectors_root().display()
    );
    files.iter().flat_map(|p| load(p)).collect()
}

/// Every datagram whose mode (low three bits of octet 0) is `mode`.
pub fn datagrams_of_mode(mode: u8) -> Vec<Datagram> {
    all_datagrams()
        .into_iter()
        .filter(|d| d.mode() == Some(mode))
        .collect()
}
