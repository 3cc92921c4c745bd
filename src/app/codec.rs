//! How the client decodes JSON: text → [`Value`] → the typed answer, everywhere (server
//! function answers, hydrated resources, the event stream, REST calls). The bundle then holds
//! one JSON parser and, per type, only the deserialiser from `Value`; parsing each type straight
//! from text (server_fn's `Json`, leptos' default resource codec) put a second, larger copy of
//! every type's deserialiser in the WASM bundle (BENCHMARKS.md, Web UI budgets).
//!
//! On the wire nothing changes: answers are JSON exactly like server_fn's `Json`.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::{DeserializeOwned, Error as _};
use serde::Serialize;
use serde_json::Value;

/// JSON text → `T`, through [`Value`] (see the module's comment for why).
pub fn from_json_text<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_value(serde_json::from_str::<Value>(text)?)
}

pub struct JsonTextEncoding;

/// Answers as JSON, decoded from text (`output = JsonText` on a `#[server]` function).
pub type JsonText = Post<JsonTextEncoding>;

impl ContentType for JsonTextEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonTextEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde_json::Error::custom)?;
        from_json_text(text)
    }
}

/// The encoding of resources serialised into the page for hydration: JSON, decoded through
/// [`Value`] like everything else (leptos' default codec parses each type from text).
pub struct ValueCodec;

/// A resource whose server-rendered value reaches the client as JSON via [`ValueCodec`].
pub type JsonResource<T> = leptos::prelude::Resource<T, ValueCodec>;

impl<T: Serialize> leptos::server::codee::Encoder<T> for ValueCodec {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, Self::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> leptos::server::codee::Decoder<T> for ValueCodec {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, Self::Error> {
        from_json_text(val)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn answers_round_trip_and_bad_bytes_are_errors() {
        let value = vec![("a".to_string(), 1u32), ("é".to_string(), 2)];
        let bytes = <JsonTextEncoding as Encodes<_>>::encode(&value).unwrap();
        let back: Vec<(String, u32)> = JsonTextEncoding::decode(bytes).unwrap();
        assert_eq!(back, value);
        let bad: Result<Vec<u32>, _> = JsonTextEncoding::decode(Bytes::from_static(b"[1, \xff]"));
        assert!(bad.is_err());
        let truncated: Result<Vec<u32>, _> = JsonTextEncoding::decode(Bytes::from_static(b"[1,"));
        assert!(truncated.is_err());
    }

    #[test]
    fn resources_round_trip_through_value_and_bad_text_is_an_error() {
        use leptos::server::codee::{Decoder, Encoder};
        let value = vec![("a".to_string(), Some(1.5f64)), ("b".to_string(), None)];
        let text = <ValueCodec as Encoder<_>>::encode(&value).unwrap();
        let back: Vec<(String, Option<f64>)> = <ValueCodec as Decoder<_>>::decode(&text).unwrap();
        assert_eq!(back, value);
        assert!(<ValueCodec as Decoder<Vec<u32>>>::decode("[1,").is_err());
        assert!(<ValueCodec as Decoder<Vec<u32>>>::decode(r#"["one"]"#).is_err());
        assert!(from_json_text::<u8>("300").is_err());
    }
}
