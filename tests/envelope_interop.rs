//! Values sealed by posd, opened by the provider's own stacks (PHP, Node.js, Python).
//!
//! Fresh values with random IVs are written to a temp file and each `tests/vectors/open.*`
//! script decrypts them with its stack's own AES and JSON code. A stack whose interpreter or
//! crypto module is missing is reported on stderr and skipped, unless `POSD_INTEROP=require`
//! (set by CI), in which case it is a failure.

use posd::envelope::{self, AgentKey};
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An interpreter, the command that proves it has what `open.*` needs, and the script.
struct Stack {
    name: &'static str,
    program: &'static str,
    probe: &'static [&'static str],
    script: &'static str,
}

const STACKS: [Stack; 3] = [
    Stack {
        name: "PHP (php-cli with openssl)",
        program: "php",
        probe: &["-r", "exit(function_exists('openssl_decrypt') ? 0 : 1);"],
        script: "open.php",
    },
    Stack {
        name: "Node.js",
        program: "node",
        probe: &["-e", "require('crypto')"],
        script: "open.js",
    },
    Stack {
        name: "Python (python3 with pycryptodome)",
        program: "python3",
        probe: &["-c", "import Crypto.Cipher.AES, Crypto.Util.Padding"],
        script: "open.py",
    },
];

/// What an `open.*` script prints for each sealed value.
#[derive(Deserialize)]
struct Opened {
    plaintext: String,
    value: Value,
}

impl Stack {
    /// `Err` says why this stack cannot run here.
    fn check_available(&self) -> Result<(), String> {
        match Command::new(self.program).args(self.probe).output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "`{}` is there but lacks a module ({}): {}",
                self.program,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                Err(format!("`{}` is not installed", self.program))
            }
            Err(e) => Err(format!("`{}` cannot be started: {e}", self.program)),
        }
    }

    fn open_all(&self, request: &Path) -> Vec<Opened> {
        let script = vectors_dir().join(self.script);
        let out = Command::new(self.program)
            .arg(&script)
            .arg(request)
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot run {}: {e}", self.name, script.display()));
        assert!(
            out.status.success(),
            "{}: {} failed ({}): {}",
            self.name,
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: output is not the expected JSON ({e}): {}",
                self.name,
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// What posd sends: plain UTF-8 JSON with unescaped `/`, plus the characters that JSON
/// encoders treat specially (quotes, backslashes, control characters, U+2028).
fn payloads() -> Vec<Value> {
    vec![
        json!({"service_name": "api", "cmd": "api/transaction"}),
        json!({
            "store_uid": "289151880002",
            "items": [
                {"id": "1", "name": "珍珠奶茶（大）", "cost": "65", "amount": "2", "total": "130"},
                {"id": "2", "name": "鹽酥雞🍗", "cost": "80", "amount": "1", "total": "80"}
            ],
            "cost": "210",
            "user_id": "till-0001",
            "order_id": "POS-20261126-000123",
            "ip": "192.0.2.15",
            "pfn": "OFFLINE",
            "data_json": "{\"qrCode\":\"MY13697573pbmQsYhY\"}",
            "echo_0": "https://pos.example.tw/orders/POS-20261126-000123?lane=1&mode=scan",
            "echo_1": "備註: \"少冰\" \\ 去糖\n\t第二行\u{2028}",
            "issue_invoice_state": 1
        }),
        // 96 bytes of JSON: a whole number of blocks, so a full padding block follows.
        json!({"store_uid": "289151880002", "order_id": "POS-20261126-000123", "user_id": "till-0001", "cost": "210"}),
    ]
}

#[test]
fn every_available_stack_opens_what_posd_seals() {
    let required = std::env::var("POSD_INTEROP").is_ok_and(|v| v == "require");
    let key_text = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG";
    let key = AgentKey::new(key_text).expect("32 bytes");

    // Each payload twice: with random IVs the two sealed values must differ, and both open.
    let plaintexts: Vec<String> = payloads()
        .iter()
        .flat_map(|p| [p.to_string(), p.to_string()])
        .collect();
    assert_eq!(plaintexts[4].len() % 16, 0, "full-block payload");
    let sealed: Vec<String> = plaintexts
        .iter()
        .map(|p| envelope::seal(&key, p.as_bytes()))
        .collect();
    for pair in sealed.chunks(2) {
        assert_ne!(pair[0], pair[1], "a fresh IV for every value");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let request = dir.path().join("sealed.json");
    std::fs::write(
        &request,
        json!({"key": key_text, "sealed": sealed}).to_string(),
    )
    .expect("write request");

    let mut missing = Vec::new();
    let mut checked = Vec::new();
    for stack in &STACKS {
        if let Err(why) = stack.check_available() {
            eprintln!("envelope interop: skipping {}: {why}", stack.name);
            missing.push(format!("{}: {why}", stack.name));
            continue;
        }
        let opened = stack.open_all(&request);
        assert_eq!(opened.len(), plaintexts.len(), "{}", stack.name);
        for (i, (opened, plaintext)) in opened.iter().zip(&plaintexts).enumerate() {
            assert_eq!(&opened.plaintext, plaintext, "{}: value #{i}", stack.name);
            let expected: Value = serde_json::from_str(plaintext).expect("JSON");
            assert_eq!(opened.value, expected, "{}: value #{i}", stack.name);
        }
        checked.push(stack.name);
    }
    eprintln!("envelope interop: opened by {}", checked.join(", "));
    assert!(
        !required || missing.is_empty(),
        "POSD_INTEROP=require, but some stacks are missing:\n{}",
        missing.join("\n")
    );
    assert!(!checked.is_empty(), "no stack available to check against");
}
