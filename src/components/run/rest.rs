//! The hydrated page's calls of the REST API (same origin: the session cookie goes along).
//! Failures come back as [`ApiFailure`] with the contract's error code and message. On the
//! server these functions are never called and only report that.

use serde_json::Value;

/// A refused or failed API call, in the contract's terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiFailure {
    /// HTTP status (0 when the network failed).
    pub status: u16,
    /// `error.code`, or `network` / `bad_response`.
    pub code: String,
    /// `error.message`, or what went wrong in plain words.
    pub message: String,
    /// `error.retryAfter` seconds, when given.
    pub retry_after: Option<u64>,
}

impl ApiFailure {
    pub fn network(detail: &str) -> Self {
        Self {
            status: 0,
            code: "network".into(),
            message: format!(
                "The server could not be reached ({detail}). Check your connection and try again."
            ),
            retry_after: None,
        }
    }

    /// From an error answer's status and JSON body.
    pub fn from_body(status: u16, body: &Value) -> Self {
        let error = &body["error"];
        Self {
            status,
            code: error["code"].as_str().unwrap_or("http_error").to_string(),
            message: error["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("The server answered with status {status}.")),
            retry_after: error["retryAfter"].as_u64(),
        }
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use super::ApiFailure;
    use gloo_net::http::{Request, RequestBuilder};
    use serde_json::Value;

    async fn send(
        builder: RequestBuilder,
        body: Option<&Value>,
    ) -> Result<(u16, String), ApiFailure> {
        let builder = builder.header("Accept", "application/json");
        let request = match body {
            Some(b) => builder
                .json(b)
                .map_err(|e| ApiFailure::network(&e.to_string()))?,
            None => builder
                .build()
                .map_err(|e| ApiFailure::network(&e.to_string()))?,
        };
        let response = request
            .send()
            .await
            .map_err(|e| ApiFailure::network(&e.to_string()))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Ok((status, text))
    }

    pub async fn json(method: &str, url: &str, body: Option<&Value>) -> Result<Value, ApiFailure> {
        let builder = match method {
            "POST" => Request::post(url),
            "PUT" => Request::put(url),
            "PATCH" => Request::patch(url),
            "DELETE" => Request::delete(url),
            _ => Request::get(url),
        };
        let (status, text) = send(builder, body).await?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(ApiFailure::from_body(status, &value))
        }
    }

    pub async fn text(url: &str) -> Result<String, ApiFailure> {
        let (status, text) = send(Request::get(url), None).await?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            Err(ApiFailure::from_body(status, &value))
        }
    }
}

/// `method url` with an optional JSON body → the JSON answer (`null` for 204).
pub async fn json(method: &str, url: &str, body: Option<&Value>) -> Result<Value, ApiFailure> {
    #[cfg(feature = "hydrate")]
    {
        client::json(method, url, body).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (method, url, body);
        Err(ApiFailure::network("not in a browser"))
    }
}

/// `GET url` → the text answer (generated files).
pub async fn text(url: &str) -> Result<String, ApiFailure> {
    #[cfg(feature = "hydrate")]
    {
        client::text(url).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        Err(ApiFailure::network("not in a browser"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failures_carry_the_contract_error() {
        let body = json!({"error": {"code": "cooldown_active", "message": "Wait.", "retryable": true, "retryAfter": 12}});
        let f = ApiFailure::from_body(422, &body);
        assert_eq!(
            (f.status, f.code.as_str(), f.message.as_str(), f.retry_after),
            (422, "cooldown_active", "Wait.", Some(12))
        );
        let f = ApiFailure::from_body(500, &Value::Null);
        assert_eq!(f.code, "http_error");
        assert!(f.message.contains("500"));
    }
}
