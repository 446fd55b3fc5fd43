//! The agent API's encryption envelope.
//!
//! `service` and `encry_data` are each a JSON document encrypted with AES-256-CBC (PKCS#7 padding)
//! under the agent key, with a fresh random IV, sent as `base64(IV || ciphertext)`. This module is
//! pure: no I/O, and the only randomness is the IV, which callers may supply for test vectors.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::fmt;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

const IV_LEN: usize = 16;
const BLOCK_LEN: usize = 16;

/// The 32-byte agent key (經銷商金鑰). Its `Debug` form never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentKey([u8; 32]);

impl AgentKey {
    /// Takes the key exactly as the provider issues it: 32 characters used as raw bytes.
    ///
    /// PHP's `openssl_encrypt` silently zero-pads a short key and truncates a long one; a key of
    /// the wrong length is almost always a copy-paste mistake, so it is refused here.
    pub fn new(key: &str) -> Result<Self, KeyError> {
        let bytes = key.as_bytes();
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError { len: bytes.len() })?;
        Ok(AgentKey(array))
    }
}

impl fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentKey(<redacted>)")
    }
}

/// The agent key does not have the required length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the agent key must be exactly 32 bytes, got {len}")]
pub struct KeyError {
    pub len: usize,
}

/// Why an encrypted field could not be opened. `field` names the form field (`service`,
/// `encry_data`) so an operator knows which one was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("{field}: not valid base64 ({detail})")]
    NotBase64 { field: String, detail: String },
    #[error(
        "{field}: {len} bytes after base64 decoding; at least one IV and one block ({} bytes) are needed, in whole blocks",
        IV_LEN + BLOCK_LEN
    )]
    TooShort { field: String, len: usize },
    #[error("{field}: bad padding after decryption (most often the agent key is wrong)")]
    BadPadding { field: String },
    #[error("{field}: decrypted text is not UTF-8")]
    NotUtf8 { field: String },
    #[error("{field}: decrypted text is not JSON ({detail})")]
    NotJson { field: String, detail: String },
}

/// Encrypts `plaintext` with a fresh random IV.
pub fn seal(key: &AgentKey, plaintext: &[u8]) -> String {
    let iv: [u8; IV_LEN] = rand::random();
    seal_with_iv(key, &iv, plaintext)
}

/// Encrypts `plaintext` with the given IV. Only test vectors and benchmarks should choose the IV.
pub fn seal_with_iv(key: &AgentKey, iv: &[u8; IV_LEN], plaintext: &[u8]) -> String {
    let ciphertext =
        Encryptor::new(&key.0.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext);
    let mut out = Vec::with_capacity(IV_LEN + ciphertext.len());
    out.extend_from_slice(iv);
    out.extend_from_slice(&ciphertext);
    BASE64.encode(out)
}

/// Serialises `value` as JSON and encrypts it.
pub fn seal_json<T: serde::Serialize + ?Sized>(key: &AgentKey, value: &T) -> String {
    let json = serde_json::to_vec(value).expect("serialising API types to JSON cannot fail");
    seal(key, &json)
}

/// Decrypts one field back to its plaintext bytes.
pub fn open(key: &AgentKey, field: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
    let raw = BASE64
        .decode(sealed.trim())
        .map_err(|e| OpenError::NotBase64 {
            field: field.to_owned(),
            detail: e.to_string(),
        })?;
    if raw.len() < IV_LEN + BLOCK_LEN || !(raw.len() - IV_LEN).is_multiple_of(BLOCK_LEN) {
        return Err(OpenError::TooShort {
            field: field.to_owned(),
            len: raw.len(),
        });
    }
    let (iv, ciphertext) = raw.split_at(IV_LEN);
    let iv: &[u8; IV_LEN] = iv.try_into().expect("split at IV_LEN");
    Decryptor::new(&key.0.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
        .map_err(|_| OpenError::BadPadding {
            field: field.to_owned(),
        })
}

/// Decrypts one field and parses it as JSON. PHP's escaped form (`\/`, `\uXXXX`) and plain JSON
/// are both accepted, since both are valid JSON.
pub fn open_json<T: serde::de::DeserializeOwned>(
    key: &AgentKey,
    field: &str,
    sealed: &str,
) -> Result<T, OpenError> {
    let bytes = open(key, field, sealed)?;
    let text = String::from_utf8(bytes).map_err(|_| OpenError::NotUtf8 {
        field: field.to_owned(),
    })?;
    serde_json::from_str(&text).map_err(|e| OpenError::NotJson {
        field: field.to_owned(),
        detail: json_error_detail(&e),
    })
}

/// serde_json's message without the string values it quotes. When the JSON parses but a value
/// has the wrong type, serde quotes it (`invalid type: string "MY1369...", expected u64`), and
/// in a request that value can be the customer's payment code, which must not reach a log.
fn json_error_detail(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if error.classify() != serde_json::error::Category::Data {
        return message;
    }
    // serde prints strings in Rust debug form: inner quotes are escaped as `\"`.
    let mut redacted = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        redacted.push(c);
        if c == '"' {
            redacted.push_str("<redacted>\"");
            while let Some(inner) = chars.next() {
                match inner {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
        }
    }
    redacted
}
