//! How the client decodes JSON: text → [`Value`] → the typed answer, everywhere (server
//! function answers, hydrated resources, the event stream, REST calls). The bundle then holds
//! one JSON parser and, per type, only the deserialiser from `Value`; parsing each type straight
//! from text (server_fn's `Json`, leptos' default resource codec) put a second, larger copy of
//! every type's deserialiser in the WASM bundle (BENCHMARKS.md, Web UI budgets).
//!
//! On the wire nothing changes: answers are JSON exactly like server_fn's `Json`.

use leptos::prelude::{Get, GetUntracked, Resource, ServerFnError};
use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::{DeserializeOwned, Error as _};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

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

/// What every page resource holds: its server function's answer as JSON.
pub type Answer = Result<Value, ServerFnError>;

type Fetch = Box<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync>;

/// A page resource: rendered on the server, serialised into the page through [`ValueCodec`],
/// read as `T`. Every one of them is the same `Resource<Answer>` inside, built by one
/// non-generic function: Leptos' resource machinery is generic over the value, the source and
/// the future, and a copy of it per page type cost the bundle ~2 KB after brotli in all. Its server
/// functions answer with JSON ([`to_answer`]); reading decodes it to `T`.
pub struct JsonResource<T> {
    inner: Resource<Answer, ValueCodec>,
    read_as: PhantomData<fn() -> T>,
}

impl<T> Clone for JsonResource<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for JsonResource<T> {}

impl<T: DeserializeOwned> JsonResource<T> {
    /// `key` is the source (the resource fetches again when it changes), `fetch` calls the
    /// server function with it. Not blocking: the page streams around it.
    pub fn new<Fut>(
        key: impl Fn() -> Value + Send + Sync + 'static,
        fetch: impl Fn(Value) -> Fut + Send + Sync + 'static,
    ) -> Self
    where
        Fut: Future<Output = Answer> + Send + 'static,
    {
        Self {
            inner: resource(
                Box::new(key),
                Box::new(move |k| {
                    Box::pin(fetch(k)) as Pin<Box<dyn Future<Output = Answer> + Send>>
                }),
            ),
            read_as: PhantomData,
        }
    }

    pub fn get(&self) -> Option<Result<T, ServerFnError>> {
        self.inner.get().map(read)
    }

    pub fn get_untracked(&self) -> Option<Result<T, ServerFnError>> {
        self.inner.get_untracked().map(read)
    }
}

fn resource(
    key: Box<dyn Fn() -> Value + Send + Sync>,
    fetch: Fetch,
) -> Resource<Answer, ValueCodec> {
    Resource::new_with_options(key, fetch, false)
}

fn read<T: DeserializeOwned>(answer: Answer) -> Result<T, ServerFnError> {
    answer.and_then(|v| {
        serde_json::from_value(v)
            .map_err(|e| ServerFnError::Deserialization(format!("unexpected answer: {e}")))
    })
}

/// A server function's typed answer as the JSON a [`JsonResource`] holds.
pub fn to_answer<T: Serialize>(value: &T) -> Answer {
    serde_json::to_value(value).map_err(|e| ServerFnError::Serialization(e.to_string()))
}

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
    fn a_resources_json_answer_reads_as_its_type_and_a_wrong_shape_is_an_error() {
        let answer = to_answer(&vec![Some("a".to_string()), None]);
        let back: Vec<Option<String>> = read(answer).unwrap();
        assert_eq!(back, vec![Some("a".to_string()), None]);
        let wrong: Result<u8, _> = read(Ok(serde_json::json!("not a number")));
        assert!(matches!(wrong, Err(ServerFnError::Deserialization(_))));
        let failed: Result<u8, _> = read(Err(ServerFnError::new("down")));
        assert!(failed.is_err());
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
