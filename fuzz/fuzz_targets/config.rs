//! The configuration parser never panics; whatever it accepts satisfies its invariants. Its JSON
//! parser (`client_cert_auth::json`) accepts exactly what serde_json accepts, with the same
//! values (numbers to the bit), and refuses the rest with serde_json's message and position.
#![no_main]

use client_cert_auth::{Config, json};
use libfuzzer_sys::fuzz_target;

/// The parser's tree is serde_json's `Value`, duplicate keys resolved as serde_json does (the
/// last one). (tests/native/config.rs holds the same comparison.)
fn same_value(ours: &json::Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (&ours.kind, theirs) {
        (json::Kind::Null, V::Null) => true,
        (json::Kind::Bool(a), V::Bool(b)) => a == b,
        (json::Kind::Number(n), V::Number(m)) => match *n {
            json::Number::PosInt(a) => m.as_u64() == Some(a),
            json::Number::NegInt(a) => !m.is_u64() && m.as_i64() == Some(a),
            json::Number::Float(a) => {
                m.is_f64() && m.as_f64().map(f64::to_bits) == Some(a.to_bits())
            }
        },
        (json::Kind::String(a), V::String(b)) => a == b,
        (json::Kind::Array(a), V::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
        }
        (json::Kind::Object(a), V::Object(b)) => {
            let mut last = std::collections::BTreeMap::new();
            for member in a {
                last.insert(member.key.as_str(), &member.value);
            }
            last.len() == b.len()
                && last
                    .iter()
                    .all(|(k, v)| b.get(*k).is_some_and(|t| same_value(v, t)))
        }
        _ => false,
    }
}

/// Every value's offsets cover its own text: serde_json reads that text alone as the same value.
fn offsets_hold(text: &[u8], value: &json::Value) -> bool {
    let alone = serde_json::from_slice::<serde_json::Value>(&text[value.start..value.end]);
    if !alone.is_ok_and(|t| same_value(value, &t)) {
        return false;
    }
    match &value.kind {
        json::Kind::Array(items) => items.iter().all(|v| offsets_hold(text, v)),
        json::Kind::Object(members) => members
            .iter()
            .all(|m| text.get(m.key_end - 1) == Some(&b'"') && offsets_hold(text, &m.value)),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    match (
        json::parse(data),
        serde_json::from_slice::<serde_json::Value>(data),
    ) {
        (Ok(ours), Ok(theirs)) => {
            assert!(same_value(&ours, &theirs), "{ours:?} != {theirs:?}");
            assert!(offsets_hold(data, &ours), "offsets of {ours:?}");
        }
        (Err(ours), Err(theirs)) => assert_eq!(ours.message(data), theirs.to_string()),
        (ours, theirs) => panic!("ours {ours:?}, serde_json {theirs:?}"),
    }
    if let Ok(config) = Config::from_json(data) {
        // Every accepted exclusion entry is canonical: it survives another round unchanged.
        for entry in config.exclusions.entries() {
            let mut again = client_cert_auth::ExclusionPaths::default();
            assert!(again.add(entry).is_ok(), "accepted entry {entry:?} does not re-parse");
            assert_eq!(again.entries().next(), Some(entry));
        }
        assert!(config.cache_size <= client_cert_auth::MAX_CACHE_SIZE);
    }
});
