//! The write-ahead journal's record format (pure: bytes in, bytes out).
//!
//! Every durable step of the store is appended to one file as records, then made durable with one
//! `fdatasync` (see `journal_file`); sled is only an index rebuilt from the journal after a crash.
//!
//! A record is `len: u32 LE | crc: u32 LE | kind: u8 | payload[len]`. The CRC-32 (IEEE) covers
//! the kind and the payload, except the secret part of a code record (below), so that a payment
//! code can be overwritten with zeros in place once its order is final without making the record
//! unreadable.
//!
//! - kind 1, a batch of changes, the atomic unit of a durable step: `count: u32`, then per change
//!   a tag (1 put, 2 remove, 3 drop a payment code), the tree (`u8` length, name) and the key
//!   (`u32` length, bytes), and for a put the value (`u32` length, bytes); a drop names the order
//!   (`u16` length, id).
//! - kind 2, a payment code kept for an unfinished order: the order id (`u16` length, id), the
//!   code's length (`u16`), then the secret part: the code and its own CRC-32 (`u32`). A wiped code
//!   is all zeros, its CRC included.
//!
//! Reading stops at the first record that is cut short, fails its checksum or is of no known kind:
//! that record and everything after it is the torn tail, which the store moves aside.

use std::ops::Range;

pub const KIND_BATCH: u8 = 1;
pub const KIND_CODE: u8 = 2;
const HEADER: usize = 9;
/// A record larger than this is taken for garbage (a torn length), not read.
const MAX_RECORD: usize = 256 * 1024 * 1024;

const TAG_PUT: u8 = 1;
const TAG_REMOVE: u8 = 2;
const TAG_DROP_CODE: u8 = 3;

/// One change of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Put {
        tree: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Remove {
        tree: String,
        key: Vec<u8>,
    },
    /// The order's payment code is gone (the order is final, or was never stored).
    DropCode {
        id: String,
    },
}

/// What a record holds, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Batch(Vec<Change>),
    /// `code` is `None` once wiped. `secret` is where the code and its checksum lie, from the
    /// start of the record.
    Code {
        id: String,
        code: Option<String>,
        secret: Range<usize>,
    },
}

/// A torn or damaged tail: from `offset` to the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    pub offset: usize,
    pub reason: String,
}

/// The readable records of a journal, and where it stops being readable.
#[derive(Debug, Default)]
pub struct Scan {
    /// Each record's offset in the file, and what it holds.
    pub entries: Vec<(usize, Entry)>,
    /// The length of the readable part.
    pub valid_len: usize,
    pub torn: Option<Torn>,
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
pub fn crc32(parts: &[&[u8]]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    }
    static TABLE: [u32; 256] = table();
    let mut crc = !0u32;
    for part in parts {
        for &byte in *part {
            crc = TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    !crc
}

fn record(kind: u8, payload: &[u8], covered: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    let len = u32::try_from(payload.len()).expect("a journal record fits in 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32(&[&[kind], &payload[..covered]]).to_le_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
    out
}

/// A batch of changes as one record.
pub fn encode_batch(changes: &[Change]) -> Vec<u8> {
    let mut p = Vec::new();
    let count = u32::try_from(changes.len()).expect("a batch has fewer than 2^32 changes");
    p.extend_from_slice(&count.to_le_bytes());
    for change in changes {
        match change {
            Change::Put { tree, key, value } => {
                p.push(TAG_PUT);
                put_tree_key(&mut p, tree, key);
                put_u32_bytes(&mut p, value);
            }
            Change::Remove { tree, key } => {
                p.push(TAG_REMOVE);
                put_tree_key(&mut p, tree, key);
            }
            Change::DropCode { id } => {
                p.push(TAG_DROP_CODE);
                put_u16_bytes(&mut p, id.as_bytes());
            }
        }
    }
    record(KIND_BATCH, &p, p.len())
}

/// A payment code as one record, and where its secret part lies in the record (to wipe it).
pub fn encode_code(id: &str, code: &str) -> (Vec<u8>, Range<usize>) {
    let mut p = Vec::new();
    put_u16_bytes(&mut p, id.as_bytes());
    let len = u16::try_from(code.len()).expect("a payment code is short");
    p.extend_from_slice(&len.to_le_bytes());
    let covered = p.len();
    p.extend_from_slice(code.as_bytes());
    p.extend_from_slice(&crc32(&[code.as_bytes()]).to_le_bytes());
    let secret = HEADER + covered..HEADER + p.len();
    (record(KIND_CODE, &p, covered), secret)
}

fn put_tree_key(p: &mut Vec<u8>, tree: &str, key: &[u8]) {
    let len = u8::try_from(tree.len()).expect("tree names are short");
    p.push(len);
    p.extend_from_slice(tree.as_bytes());
    put_u32_bytes(p, key);
}

fn put_u32_bytes(p: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("a value fits in 4 GiB");
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(bytes);
}

fn put_u16_bytes(p: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).expect("an order id is short");
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(bytes);
}

/// Reads a payload with bounds checks: damaged bytes are an error, never a panic.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("a field runs past the record's end at byte {}", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<usize, String> {
        Ok(usize::from(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        )))
    }
    fn u32(&mut self) -> Result<usize, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize)
    }
    fn text(&mut self, len: usize) -> Result<String, String> {
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "a name is not UTF-8".to_owned())
    }
}

fn decode_batch(payload: &[u8]) -> Result<Vec<Change>, String> {
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    let count = r.u32()?;
    let mut changes = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let tag = r.u8()?;
        let change = match tag {
            TAG_PUT | TAG_REMOVE => {
                let len = usize::from(r.u8()?);
                let tree = r.text(len)?;
                let len = r.u32()?;
                let key = r.take(len)?.to_vec();
                if tag == TAG_PUT {
                    let len = r.u32()?;
                    let value = r.take(len)?.to_vec();
                    Change::Put { tree, key, value }
                } else {
                    Change::Remove { tree, key }
                }
            }
            TAG_DROP_CODE => {
                let len = r.u16()?;
                Change::DropCode { id: r.text(len)? }
            }
            other => return Err(format!("a change of unknown kind {other}")),
        };
        changes.push(change);
    }
    if r.at != payload.len() {
        return Err(format!(
            "{} bytes follow the batch's last change",
            payload.len() - r.at
        ));
    }
    Ok(changes)
}

/// Where the CRC-covered part of a code record ends, and the code with its checksum.
fn split_code(payload: &[u8]) -> Result<(String, usize, &[u8], u32), String> {
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    let len = r.u16()?;
    let id = r.text(len)?;
    let code_len = r.u16()?;
    let covered = r.at;
    let code = r.take(code_len)?;
    let check = u32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
    if r.at != payload.len() {
        return Err("bytes follow a payment code record".to_owned());
    }
    Ok((id, covered, code, check))
}

/// Reads every record of a journal up to its first unreadable one.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut scan = Scan::default();
    let mut at = 0;
    while at < bytes.len() {
        match read_one(&bytes[at..]) {
            Ok((len, entry)) => {
                scan.entries.push((at, entry));
                at += len;
            }
            Err(reason) => {
                scan.torn = Some(Torn {
                    offset: at,
                    reason: format!("journal record at byte {at}: {reason}"),
                });
                break;
            }
        }
    }
    scan.valid_len = at;
    scan
}

fn read_one(bytes: &[u8]) -> Result<(usize, Entry), String> {
    if bytes.len() < HEADER {
        return Err(format!(
            "cut short: {} bytes, a record header needs {HEADER}",
            bytes.len()
        ));
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    let kind = bytes[8];
    if kind != KIND_BATCH && kind != KIND_CODE {
        return Err(format!("unknown record kind {kind}"));
    }
    if len > MAX_RECORD {
        return Err(format!("a length of {len} bytes is not believable"));
    }
    let Some(payload) = bytes.get(HEADER..HEADER + len) else {
        return Err(format!(
            "cut short: {} of {len} payload bytes",
            bytes.len() - HEADER
        ));
    };
    let entry = if kind == KIND_BATCH {
        if crc32(&[&[kind], payload]) != crc {
            return Err("checksum mismatch".to_owned());
        }
        Entry::Batch(decode_batch(payload)?)
    } else {
        let (id, covered, code, check) = split_code(payload)?;
        if crc32(&[&[kind], &payload[..covered]]) != crc {
            return Err("checksum mismatch".to_owned());
        }
        let secret = HEADER + covered..HEADER + len;
        let wiped = check == 0 && code.iter().all(|b| *b == 0);
        let code = if wiped {
            None
        } else if crc32(&[code]) != check {
            return Err("the payment code's checksum does not match".to_owned());
        } else {
            Some(
                String::from_utf8(code.to_vec())
                    .map_err(|_| "a payment code is not UTF-8".to_owned())?,
            )
        };
        Entry::Code { id, code, secret }
    };
    Ok((HEADER + len, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(tree: &str, key: &[u8], value: &[u8]) -> Change {
        Change::Put {
            tree: tree.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn the_checksum_is_zlibs_crc32() {
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
    }

    #[test]
    fn records_read_back_as_written() {
        let batch = vec![
            put("orders", b"A-1", b"{}"),
            Change::Remove {
                tree: "open".into(),
                key: b"A-0".to_vec(),
            },
            Change::DropCode { id: "A-0".into() },
        ];
        let mut file = encode_batch(&batch);
        let (code, secret) = encode_code("A-1", "MY13697573pbmQ0001");
        let code_at = file.len();
        file.extend_from_slice(&code);
        let scan = scan(&file);
        assert_eq!(scan.torn, None);
        assert_eq!(scan.valid_len, file.len());
        assert_eq!(scan.entries[0], (0, Entry::Batch(batch)));
        assert_eq!(
            scan.entries[1],
            (
                code_at,
                Entry::Code {
                    id: "A-1".into(),
                    code: Some("MY13697573pbmQ0001".into()),
                    secret: secret.clone(),
                }
            )
        );
    }

    #[test]
    fn a_wiped_code_still_reads_as_a_record_without_its_code() {
        let (mut bytes, secret) = encode_code("A-1", "MY13697573pbmQ0001");
        bytes[secret.clone()].fill(0);
        assert!(!bytes.windows(4).any(|w| w == b"pbmQ"));
        let scan = scan(&bytes);
        assert_eq!(scan.torn, None);
        assert_eq!(
            scan.entries[0].1,
            Entry::Code {
                id: "A-1".into(),
                code: None,
                secret,
            }
        );
    }

    #[test]
    fn a_tail_cut_anywhere_is_torn_and_what_precedes_it_is_kept() {
        let first = encode_batch(&[put("orders", b"A-1", b"one")]);
        let second = encode_batch(&[put("orders", b"A-2", b"two")]);
        let whole = [first.clone(), second.clone()].concat();
        for cut in first.len() + 1..whole.len() {
            let scan = scan(&whole[..cut]);
            assert_eq!(scan.entries.len(), 1, "cut at {cut}");
            assert_eq!(scan.valid_len, first.len());
            let torn = scan.torn.expect("a torn tail");
            assert_eq!(torn.offset, first.len());
            assert!(torn.reason.contains("cut short"), "{}", torn.reason);
        }
    }

    #[test]
    fn a_flipped_bit_or_zeros_make_the_tail_torn() {
        let first = encode_batch(&[put("orders", b"A-1", b"one")]);
        let mut second = encode_batch(&[put("orders", b"A-2", b"two")]);
        let last = second.len() - 1;
        second[last] ^= 1;
        let scan1 = scan(&[first.clone(), second].concat());
        assert_eq!(scan1.entries.len(), 1);
        assert!(scan1.torn.unwrap().reason.contains("checksum mismatch"));
        let scan2 = scan(&[first.clone(), vec![0; 64]].concat());
        assert_eq!(scan2.entries.len(), 1);
        assert!(scan2.torn.unwrap().reason.contains("unknown record kind 0"));
    }
}
