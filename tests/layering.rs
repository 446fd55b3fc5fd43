//! The layering of `ARCHITECTURE.md` ("What must never depend on what"), held true: every
//! `crate::…` path in `src/` is read and checked against the modules its module may name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and the modules it may name, from the bottom up. `daemon` and `cli` sit
/// on top and may name anything below them.
const LAYERS: &[(&str, &[&str])] = &[
    ("envelope", &[]),
    ("payment_code", &[]),
    ("einvoice", &[]),
    ("document", &[]),
    ("profile", &[]),
    ("local_client", &[]),
    ("api", &["payment_code"]),
    ("charge", &["api", "payment_code"]),
    ("order", &["api", "charge", "payment_code"]),
    ("scan", &["payment_code"]),
    ("escpos", &["document", "profile"]),
    ("receipt", &["api", "document", "einvoice", "profile"]),
    (
        "shift",
        &["api", "charge", "order", "payment_code", "receipt"],
    ),
    ("clock", &["order"]),
    ("store", &["order", "payment_code", "shift"]),
    ("gateway", &["api", "envelope"]),
    ("printer", &["escpos", "profile"]),
    ("config", &["envelope", "gateway", "order", "scan"]),
    ("sim", &["api", "einvoice", "envelope", "gateway"]),
    (
        "daemon",
        &[
            "api",
            "charge",
            "clock",
            "config",
            "einvoice",
            "envelope",
            "escpos",
            "gateway",
            "order",
            "payment_code",
            "printer",
            "profile",
            "receipt",
            "scan",
            "shift",
            "sim",
            "store",
            "document",
        ],
    ),
    (
        "cli",
        &[
            "api",
            "charge",
            "clock",
            "config",
            "daemon",
            "einvoice",
            "envelope",
            "escpos",
            "gateway",
            "local_client",
            "order",
            "payment_code",
            "printer",
            "profile",
            "receipt",
            "scan",
            "shift",
            "sim",
            "store",
            "document",
        ],
    ),
];

/// The modules that do no I/O (the scan pipeline is held to the same by its own tests).
const PURE: &[&str] = &[
    "envelope",
    "payment_code",
    "einvoice",
    "document",
    "api",
    "charge",
    "order",
    "escpos",
    "receipt",
    "shift",
];

/// What a pure module never names: the modules that own a disk, a network or a device.
const WITH_IO: &[&str] = &["daemon", "store", "gateway", "printer", "sim", "cli"];

fn allowed(module: &str) -> Option<&'static [&'static str]> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, allowed)| *allowed)
}

/// The top-level modules named by `crate::…` paths in `source`, comments left out.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .map(|line| match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut named = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            named.extend(group_heads(group));
        } else {
            named.insert(ident(rest).to_owned());
        }
    }
    named
}

/// The first name of each path in a `{a::b, c, d::{e, f}}` group (`group` starts after `{`).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_head = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_head = true,
            c if at_head && (c.is_alphanumeric() || c == '_') => {
                heads.push(ident(&group[i..]).to_owned());
                at_head = false;
            }
            _ => {}
        }
    }
    heads
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Every source file's top-level module and the modules it names.
fn imports() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut by_module: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let top = relative.iter().next().unwrap().to_str().unwrap();
            let module = top.strip_suffix(".rs").unwrap_or(top);
            if module == "lib" || module == "main" {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let named: BTreeSet<String> = crate_paths(&source)
                .into_iter()
                .filter(|name| name != module)
                .collect();
            by_module
                .entry(module.to_owned())
                .or_default()
                .insert(relative.display().to_string(), named);
        }
    }
    by_module
}

#[test]
fn every_module_names_only_what_lies_below_it() {
    let mut wrong = Vec::new();
    for (module, files) in imports() {
        let Some(allowed) = allowed(&module) else {
            wrong.push(format!(
                "src/{module} is not in the layering (tests/layering.rs, ARCHITECTURE.md)"
            ));
            continue;
        };
        for (file, named) in files {
            for name in named.iter().filter(|n| !allowed.contains(&n.as_str())) {
                wrong.push(format!("src/{file} names crate::{name}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layering_has_no_cycle_and_keeps_the_rules() {
    for (module, allowed) in LAYERS {
        let at = LAYERS.iter().position(|(m, _)| m == module).unwrap();
        for below in *allowed {
            let below_at = LAYERS.iter().position(|(m, _)| m == below);
            assert!(
                below_at.is_some_and(|b| b < at),
                "{module} may name {below}, which is not below it"
            );
        }
        if PURE.contains(module) {
            for io in WITH_IO {
                assert!(
                    !allowed.contains(io),
                    "{module} is pure and must not name {io}"
                );
            }
        }
        assert!(
            *module == "cli" || !allowed.contains(&"cli"),
            "{module} must not name cli"
        );
        assert!(
            *module == "cli" || !allowed.contains(&"daemon"),
            "{module} must not name daemon"
        );
    }
    assert_eq!(allowed("api"), Some(&["payment_code"][..]), "api is a leaf");
    assert!(
        !allowed("escpos").unwrap().contains(&"receipt"),
        "escpos encodes documents and never names the layout"
    );
}

#[test]
fn paths_are_read_in_every_form() {
    let source = "use crate::api::{Code, Command};\n\
                  use crate::{charge::Charge, order::{Order, State}};\n\
                  let x = crate::receipt::text::columns(s); // crate::daemon in a comment\n\
                  /// [`crate::store`] in a doc comment\n\
                  let y = other_crate::printer::X;\n";
    assert_eq!(
        crate_paths(source),
        ["api", "charge", "order", "receipt"]
            .map(String::from)
            .into()
    );
}
