//! The envelope against vectors made by the provider's own stacks (PHP, Node.js, Python).
//!
//! `tests/vectors/gen.{php,js,py}` encrypt the same payloads the way the provider's sample
//! code does, with fixed IVs; their output is committed as `tests/vectors/{php,node,python}.json`.
//! Each stack encodes the JSON differently (PHP escapes `/` and non-ASCII, Python escapes
//! non-ASCII only, Node escapes neither), so together they cover what a gateway may send.

use posd::envelope::{self, AgentKey, KeyError, OpenError};
use serde::Deserialize;
use serde_json::Value;

/// One generator's output file.
#[derive(Deserialize)]
struct Fixture {
    generator: String,
    key: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    field: String,
    iv: String,
    plaintext: String,
    sealed: String,
}

const FIXTURES: [(&str, &str); 3] = [
    ("php", include_str!("vectors/php.json")),
    ("node", include_str!("vectors/node.json")),
    ("python", include_str!("vectors/python.json")),
];

fn fixtures() -> Vec<(&'static str, Fixture)> {
    FIXTURES
        .iter()
        .map(|&(stack, text)| {
            let fixture = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("tests/vectors/{stack}.json is not a fixture: {e}"));
            (stack, fixture)
        })
        .collect()
}

fn key_of(fixture: &Fixture) -> AgentKey {
    AgentKey::new(&fixture.key).expect("fixture key is 32 bytes")
}

fn vector<'a>(fixture: &'a Fixture, name: &str) -> &'a Vector {
    fixture
        .vectors
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{}: no vector named {name}", fixture.generator))
}

fn sample_key() -> AgentKey {
    AgentKey::new("2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG").expect("32 bytes")
}

#[test]
fn every_vector_opens_to_its_exact_plaintext() {
    for (stack, fixture) in fixtures() {
        let key = key_of(&fixture);
        for v in &fixture.vectors {
            let opened = envelope::open(&key, &v.field, &v.sealed)
                .unwrap_or_else(|e| panic!("{stack}/{}: {e}", v.name));
            assert_eq!(
                String::from_utf8(opened).expect("UTF-8"),
                v.plaintext,
                "{stack}/{}",
                v.name
            );
        }
    }
}

#[test]
fn every_vector_opens_to_the_json_value_of_its_plaintext() {
    for (stack, fixture) in fixtures() {
        let key = key_of(&fixture);
        for v in &fixture.vectors {
            let opened: Value = envelope::open_json(&key, &v.field, &v.sealed)
                .unwrap_or_else(|e| panic!("{stack}/{}: {e}", v.name));
            let expected: Value = serde_json::from_str(&v.plaintext).expect("plaintext is JSON");
            assert_eq!(opened, expected, "{stack}/{}", v.name);
        }
    }
}

/// The three encodings differ byte for byte yet carry the same values, including the Chinese
/// item names, the emoji (a surrogate pair when escaped) and the URL.
#[test]
fn every_stack_encodes_differently_but_means_the_same() {
    let fixtures = fixtures();
    let [(_, php), (_, node), (_, python)] = &fixtures[..] else {
        panic!("three fixtures expected");
    };
    for name in ["service", "offline_transaction", "full_padding_block"] {
        let values: Vec<Value> = [php, node, python]
            .iter()
            .map(|f| {
                let v = vector(f, name);
                envelope::open_json(&key_of(f), &v.field, &v.sealed).expect("opens")
            })
            .collect();
        assert_eq!(values[0], values[1], "{name}: php and node differ");
        assert_eq!(values[1], values[2], "{name}: node and python differ");
    }

    let offline = |f| &vector(f, "offline_transaction").plaintext;
    assert!(offline(php).contains(r"https:\/\/pos.example.tw\/orders\/"));
    assert!(offline(php).contains(r"\u73cd\u73e0\u5976\u8336"));
    assert!(offline(php).contains(r"\ud83c\udf57"));
    assert!(offline(python).contains(r"\u73cd\u73e0\u5976\u8336"));
    assert!(offline(python).contains("https://pos.example.tw/orders/"));
    assert!(offline(node).contains("珍珠奶茶（大）"));
    assert!(offline(node).contains("鹽酥雞🍗"));

    let opened: Value = envelope::open_json(
        &key_of(php),
        "encry_data",
        &vector(php, "offline_transaction").sealed,
    )
    .expect("opens");
    assert_eq!(opened["items"][1]["name"], "鹽酥雞🍗");
    assert_eq!(
        opened["echo_0"],
        "https://pos.example.tw/orders/POS-20261126-000123?lane=1&mode=scan"
    );
    assert_eq!(opened["data_json"], r#"{"qrCode":"MY13697573pbmQsYhY"}"#);
}

#[test]
fn seal_with_the_same_iv_reproduces_every_vector() {
    for (stack, fixture) in fixtures() {
        let key = key_of(&fixture);
        for v in &fixture.vectors {
            let iv: [u8; 16] = hex::decode(&v.iv)
                .expect("hex IV")
                .try_into()
                .expect("16-byte IV");
            assert_eq!(
                envelope::seal_with_iv(&key, &iv, v.plaintext.as_bytes()),
                v.sealed,
                "{stack}/{}",
                v.name
            );
        }
    }
}

/// A plaintext of whole blocks gets one more block of padding (sixteen 0x10 bytes), which
/// an implementation that skips padding in that case gets wrong.
#[test]
fn a_plaintext_of_whole_blocks_gets_a_full_padding_block() {
    use base64::Engine as _;
    for (stack, fixture) in fixtures() {
        let v = vector(&fixture, "full_padding_block");
        assert_eq!(
            v.plaintext.len() % 16,
            0,
            "{stack}: plaintext of whole blocks"
        );
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&v.sealed)
            .expect("base64");
        assert_eq!(raw.len(), 16 + v.plaintext.len() + 16, "{stack}");
    }
}

fn php_offline_transaction() -> String {
    let (_, php) = fixtures().swap_remove(0);
    vector(&php, "offline_transaction").sealed.clone()
}

#[test]
fn a_field_that_is_not_base64_is_named_with_the_reason() {
    let err = envelope::open(&sample_key(), "encry_data", "not base64!").unwrap_err();
    assert!(
        matches!(&err, OpenError::NotBase64 { field, .. } if field == "encry_data"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("encry_data: not valid base64 ("),
        "{err}"
    );
}

#[test]
fn a_field_too_short_or_not_in_whole_blocks_is_named_with_its_length() {
    use base64::Engine as _;
    let only_an_iv = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
    let err = envelope::open(&sample_key(), "service", &only_an_iv).unwrap_err();
    assert_eq!(
        err,
        OpenError::TooShort {
            field: "service".into(),
            len: 16
        }
    );
    assert!(
        err.to_string()
            .starts_with("service: 16 bytes after base64 decoding;"),
        "{err}"
    );

    // A value cut short in transit: still valid base64, but no longer whole blocks.
    let sealed = php_offline_transaction();
    let truncated = &sealed[..sealed.len() - 4];
    let expected_len = truncated.len() / 4 * 3 - truncated.matches('=').count();
    let err = envelope::open(&sample_key(), "encry_data", truncated).unwrap_err();
    assert_eq!(
        err,
        OpenError::TooShort {
            field: "encry_data".into(),
            len: expected_len
        }
    );
    assert!(err.to_string().contains("in whole blocks"), "{err}");
}

#[test]
fn a_wrong_key_is_reported_as_bad_padding() {
    let wrong = AgentKey::new("2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIH").expect("32 bytes");
    for (stack, fixture) in fixtures() {
        for v in &fixture.vectors {
            let err = envelope::open(&wrong, &v.field, &v.sealed).unwrap_err();
            assert_eq!(
                err,
                OpenError::BadPadding {
                    field: v.field.clone()
                },
                "{stack}/{}",
                v.name
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: bad padding after decryption (most often the agent key is wrong)",
                    v.field
                )
            );
        }
    }
}

/// A peer that encodes its JSON in Big5, as older Taiwanese systems do, instead of UTF-8.
#[test]
fn a_plaintext_that_is_not_utf8_is_named() {
    let (big5, _, unmappable) = encoding_rs::BIG5.encode(r#"{"name":"珍珠奶茶"}"#);
    assert!(!unmappable);
    let sealed = envelope::seal(&sample_key(), &big5);
    let err = envelope::open_json::<Value>(&sample_key(), "encry_data", &sealed).unwrap_err();
    assert_eq!(
        err,
        OpenError::NotUtf8 {
            field: "encry_data".into()
        }
    );
    assert_eq!(err.to_string(), "encry_data: decrypted text is not UTF-8");
}

/// A peer that encrypts the form-encoded fields instead of their JSON.
#[test]
fn a_plaintext_that_is_not_json_is_named_with_the_parser_error() {
    let sealed = envelope::seal(&sample_key(), b"store_uid=289151880002&cost=210");
    let err = envelope::open_json::<Value>(&sample_key(), "encry_data", &sealed).unwrap_err();
    assert!(
        matches!(&err, OpenError::NotJson { field, .. } if field == "encry_data"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "encry_data: decrypted text is not JSON (expected value at line 1 column 1)"
    );
}

/// JSON of the wrong shape: serde's message would quote the value, here a payment code.
#[test]
fn a_value_of_the_wrong_type_is_named_without_quoting_it() {
    #[derive(Debug, Deserialize)]
    struct QrCode {
        #[serde(rename = "qrCode")]
        _qr_code: u64,
    }
    let sealed = envelope::seal(&sample_key(), br#"{"qrCode":"MY13697573p\"bmQsYhY"}"#);
    let err = envelope::open_json::<QrCode>(&sample_key(), "data_json", &sealed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data_json: decrypted text is not JSON \
         (invalid type: string \"<redacted>\", expected u64 at line 1 column 32)"
    );

    let sealed = envelope::seal(&sample_key(), br#"{"code":"250"}"#);
    let err = envelope::open_json::<QrCode>(&sample_key(), "encry_data", &sealed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "encry_data: decrypted text is not JSON (missing field `qrCode` at line 1 column 14)"
    );
}

#[test]
fn a_key_that_is_not_32_bytes_is_refused_with_its_length() {
    for (key, len) in [
        ("", 0),
        ("2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzI", 31),
        ("2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG\n", 33),
        // 32 characters, but 96 bytes: the key is taken as bytes.
        (&"金".repeat(32), 96),
    ] {
        let err = AgentKey::new(key).unwrap_err();
        assert_eq!(err, KeyError { len });
        assert_eq!(
            err.to_string(),
            format!("the agent key must be exactly 32 bytes, got {len}")
        );
    }
    assert_eq!(format!("{:?}", sample_key()), "AgentKey(<redacted>)");
}
