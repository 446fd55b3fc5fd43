//! Wire structs whose fields are declared once, each with the reader it is read by.
//!
//! The gateway's answer is one flat JSON object that carries several blocks of fields: its own,
//! the invoice as issued, the buyer's invoice choice as requested, and fields this version does not
//! know. `#[serde(flatten)]` reads such an object through a buffered copy, matching every buffered
//! entry against each block in turn. Instead, `wire_block!` declares a block (its struct, its
//! `Serialize` and `Deserialize`, and [`Block::read_field`], which sends one key to its field) and
//! `wire_message!` a message made of its own fields, blocks and the unknown rest: the message
//! reads the object once, key by key, with nothing buffered.
//!
//! Each field names its reader, after the forms of [`super::lenient`]: `lenient` and `trimmed` for
//! optional fields (absent, `null` and `""` are `None`), `required` for a field read by its type's
//! own `Deserialize` that must be present. A field sent twice is refused, as serde's derive does.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// A block of optional fields that a message's object carries among others.
pub trait Block: Default {
    /// The block's field names, for a parent that flattens it with serde's derive.
    const FIELDS: &'static [&'static str];

    /// Reads the value of `key` into its field; `false` (nothing read) when the key is not one of
    /// the block's. `seen` marks the fields already read.
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        seen: &mut u64,
    ) -> Result<bool, A::Error>;

    /// Writes the fields that hold a value.
    fn write_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error>;
}

/// A block alone is an object of its fields; other keys are ignored.
pub fn serialize_block<B: Block, S: Serializer>(block: &B, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    block.write_fields(&mut map)?;
    map.end()
}

/// Reads a block alone, or as the flattened part of a parent derived by serde.
pub fn deserialize_block<'de, B: Block, D: Deserializer<'de>>(
    d: D,
    name: &'static str,
) -> Result<B, D::Error> {
    struct BlockVisitor<B>(&'static str, PhantomData<B>);

    impl<'de, B: Block> Visitor<'de> for BlockVisitor<B> {
        type Value = B;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an object of the {} fields", self.0)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<B, A::Error> {
            let mut block = B::default();
            let mut seen = 0;
            while let Some(key) = map.next_key::<Key>()? {
                if !block.read_field(key.as_str(), &mut map, &mut seen)? {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(block)
        }
    }

    d.deserialize_struct(name, B::FIELDS, BlockVisitor(name, PhantomData))
}

/// Marks field number `bit` as read, refusing it the second time.
pub fn mark_seen<E: de::Error>(seen: &mut u64, bit: u32, field: &'static str) -> Result<(), E> {
    let mask = 1u64 << bit;
    if *seen & mask != 0 {
        return Err(E::duplicate_field(field));
    }
    *seen |= mask;
    Ok(())
}

/// An object's key as the parser hands it: borrowed from the input unless it had to be unescaped.
pub enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }

    pub fn into_owned(self) -> String {
        match self {
            Key::Borrowed(key) => key.to_owned(),
            Key::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_owned()))
            }

            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key))
            }
        }

        d.deserialize_identifier(KeyVisitor)
    }
}

/// One field's reading, writing and checks, by its reader's name.
macro_rules! wire_field {
    (@read lenient, $map:ident) => {
        $map.next_value::<$crate::api::lenient::ReadLenient<_>>()?.0
    };
    (@read trimmed, $map:ident) => {
        $map.next_value::<$crate::api::lenient::ReadTrimmed>()?.0
    };
    (@read required, $map:ident) => {
        Some($map.next_value()?)
    };
    (@finish required, $value:ident, $name:expr) => {
        $value.ok_or_else(|| <A::Error as ::serde::de::Error>::missing_field($name))?
    };
    (@finish $optional:ident, $value:ident, $name:expr) => {
        $value
    };
    (@write required, $map:ident, $name:expr, $value:expr) => {
        $map.serialize_entry($name, $value)?;
    };
    (@write $optional:ident, $map:ident, $name:expr, $value:expr) => {
        if let Some(value) = $value {
            $map.serialize_entry($name, value)?;
        }
    };
}

/// A block of optional fields (`lenient` or `trimmed`), with its serde impls and [`Block`].
macro_rules! wire_block {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[doc = $doc:literal])* $field_vis:vis $field:ident : $ty:ty = $reader:ident, )*
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[doc = $doc])* $field_vis $field: $ty, )*
        }

        impl $crate::api::fields::Block for $name {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn read_field<'de, A: ::serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
                seen: &mut u64,
            ) -> Result<bool, A::Error> {
                #[allow(non_camel_case_types)]
                enum Bit { $($field),* }
                const _: () = assert!(<$name as $crate::api::fields::Block>::FIELDS.len() <= 64);
                match key {
                    $(stringify!($field) => {
                        $crate::api::fields::mark_seen(seen, Bit::$field as u32, stringify!($field))?;
                        self.$field = $crate::api::fields::wire_field!(@read $reader, map);
                    })*
                    _ => return Ok(false),
                }
                Ok(true)
            }

            fn write_fields<M: ::serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                $($crate::api::fields::wire_field!(@write $reader, map, stringify!($field), &self.$field);)*
                Ok(())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::api::fields::serialize_block(self, s)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::api::fields::deserialize_block(d, stringify!($name))
            }
        }
    };
}

/// A message: its own fields (any reader), then its blocks (`#[flatten]`), then `#[extra]`, the
/// fields this version does not know, kept as sent. Read in one pass over the object.
macro_rules! wire_message {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[doc = $doc:literal])* $field_vis:vis $field:ident : $ty:ty = $reader:ident, )*
            $( #[flatten] $(#[doc = $block_doc:literal])* $block_vis:vis $block:ident : $block_ty:ty, )*
            #[extra] $(#[doc = $extra_doc:literal])* $extra_vis:vis $extra:ident : $extra_ty:ty $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[doc = $doc])* $field_vis $field: $ty, )*
            $( $(#[doc = $block_doc])* $block_vis $block: $block_ty, )*
            $(#[doc = $extra_doc])* $extra_vis $extra: $extra_ty,
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                $($crate::api::fields::wire_field!(@write $reader, map, stringify!($field), &self.$field);)*
                $($crate::api::fields::Block::write_fields(&self.$block, &mut map)?;)*
                for (key, value) in &self.$extra {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct MessageVisitor;

                impl<'de> ::serde::de::Visitor<'de> for MessageVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter) -> ::std::fmt::Result {
                        f.write_str(concat!("the object ", stringify!($name)))
                    }

                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        #[allow(non_camel_case_types)]
                        enum Bit { $($field),* }
                        const _: () = assert!([$(stringify!($field)),*].len() <= 64);
                        let mut seen = 0u64;
                        $(let mut $field = None;)*
                        $(let mut $block = (<$block_ty>::default(), 0u64);)*
                        let mut $extra = <$extra_ty>::new();
                        while let Some(key) = map.next_key::<$crate::api::fields::Key<'de>>()? {
                            match key.as_str() {
                                $(stringify!($field) => {
                                    $crate::api::fields::mark_seen(&mut seen, Bit::$field as u32, stringify!($field))?;
                                    $field = $crate::api::fields::wire_field!(@read $reader, map);
                                })*
                                other => {
                                    let read = false $(|| $crate::api::fields::Block::read_field(
                                        &mut $block.0, other, &mut map, &mut $block.1,
                                    )?)*;
                                    if !read {
                                        $extra.insert(key.into_owned(), map.next_value()?);
                                    }
                                }
                            }
                        }
                        Ok($name {
                            $($field: $crate::api::fields::wire_field!(@finish $reader, $field, stringify!($field)),)*
                            $($block: $block.0,)*
                            $extra,
                        })
                    }
                }

                d.deserialize_map(MessageVisitor)
            }
        }
    };
}

pub(crate) use {wire_block, wire_field, wire_message};

#[cfg(test)]
mod tests {
    use crate::api::values::{InvoiceState, PaymentName};
    use crate::api::{Code, InvoiceFields, InvoiceRequest, TransactionResponse, Twd};
    use serde_json::json;

    fn answer() -> serde_json::Value {
        json!({
            "code": "250",
            "msg": "交易成功",
            "uid": 3,
            "pfn": "OFFLINE",
            "actual_cost": "260",
            "invoice_state": "2",
            "invoice_number": " 00012001 ",
            "invoice_amount": 273,
            "invoice_input_type": "3",
            "invoice_b2b_id": "24536806",
            "store_promotion": {"stamps": 2},
        })
    }

    #[test]
    fn each_key_reaches_its_block_and_unknown_keys_stay_as_sent() {
        let parsed: TransactionResponse = serde_json::from_value(answer()).unwrap();
        assert_eq!(parsed.code, Code::parse("250"));
        assert_eq!(parsed.uid.as_deref(), Some("3"));
        assert_eq!(parsed.pfn, Some(PaymentName::Offline));
        assert_eq!(parsed.actual_cost, Some(Twd(260)));
        assert_eq!(parsed.invoice.invoice_state, Some(InvoiceState::Issued));
        assert_eq!(parsed.invoice.invoice_number.as_deref(), Some("00012001"));
        assert_eq!(parsed.invoice.invoice_amount, Some(Twd(273)));
        assert_eq!(
            parsed.requested_invoice.invoice_b2b_id.as_deref(),
            Some("24536806")
        );
        assert_eq!(parsed.extra.len(), 1);
        assert_eq!(parsed.extra["store_promotion"], json!({"stamps": 2}));

        let written = serde_json::to_value(&parsed).unwrap();
        let again: TransactionResponse = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(again, parsed);
        assert_eq!(written["invoice_number"], "00012001");
        assert_eq!(written["store_promotion"], json!({"stamps": 2}));
        assert!(
            written.get("invoice_title").is_none(),
            "absent stays absent"
        );
    }

    #[test]
    fn the_same_reading_from_text_with_escaped_keys() {
        let text = r#"{"code":"250","invoice_st\u0061te":"2","ext\u0072a_key":1}"#;
        let parsed: TransactionResponse = serde_json::from_str(text).unwrap();
        assert_eq!(parsed.invoice.invoice_state, Some(InvoiceState::Issued));
        assert_eq!(parsed.extra["extra_key"], 1);
    }

    #[test]
    fn a_field_sent_twice_or_a_missing_code_is_refused_by_name() {
        let twice = r#"{"code":"250","uid":"1","uid":"2"}"#;
        let e = serde_json::from_str::<TransactionResponse>(twice).unwrap_err();
        assert!(e.to_string().contains("duplicate field `uid`"), "{e}");
        let twice = r#"{"code":"250","invoice_number":"1","invoice_number":"2"}"#;
        let e = serde_json::from_str::<TransactionResponse>(twice).unwrap_err();
        assert!(
            e.to_string().contains("duplicate field `invoice_number`"),
            "{e}"
        );
        let e = serde_json::from_value::<TransactionResponse>(json!({"msg": "x"})).unwrap_err();
        assert!(e.to_string().contains("missing field `code`"), "{e}");
    }

    #[test]
    fn a_bad_value_is_named_by_its_path() {
        let mut bad = answer();
        bad["invoice_amount"] = json!("27.5");
        let e = serde_path_to_error::deserialize::<_, TransactionResponse>(&bad).unwrap_err();
        assert_eq!(e.path().to_string(), "invoice_amount");
        let e = serde_path_to_error::deserialize::<_, InvoiceFields>(&bad).unwrap_err();
        assert_eq!(e.path().to_string(), "invoice_amount");
    }

    #[test]
    fn a_block_reads_alone_and_flattened_in_a_derived_parent() {
        let fields: InvoiceFields = serde_json::from_value(answer()).unwrap();
        assert_eq!(fields.invoice_amount, Some(Twd(273)));

        #[derive(serde::Deserialize, serde::Serialize)]
        struct Parent {
            code: String,
            #[serde(flatten)]
            invoice: InvoiceRequest,
            #[serde(flatten)]
            rest: serde_json::Map<String, serde_json::Value>,
        }
        let parent: Parent = serde_json::from_value(answer()).unwrap();
        assert_eq!(parent.code, "250");
        assert_eq!(parent.invoice.invoice_b2b_id.as_deref(), Some("24536806"));
        assert!(
            !parent.rest.contains_key("invoice_b2b_id"),
            "a block's fields are taken by the block"
        );
        assert!(parent.rest.contains_key("invoice_number"));
        let written = serde_json::to_value(&parent).unwrap();
        assert_eq!(written["invoice_b2b_id"], "24536806");
    }
}
