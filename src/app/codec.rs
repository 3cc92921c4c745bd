//! The server functions' answer encoding: JSON on the wire exactly like server_fn's `Json`, but
//! decoded from text. Everything else in the client (hydrated resources, the event stream, REST
//! calls) parses JSON from `&str`; `Json` parses from bytes, which put a second copy of every
//! deserialiser in the WASM bundle.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::{DeserializeOwned, Error as _};
use serde::Serialize;

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
        serde_json::from_str(text)
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
}
