//! JSON over HTTP to the server's REST endpoints (browser only). Errors are the
//! server's own `{"error": ...}` text, or what went wrong on the way.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct ApiError {
    error: String,
}

async fn read<T: DeserializeOwned>(
    response: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, String> {
    let response = response.map_err(|e| format!("request failed: {e}"))?;
    if !response.ok() {
        let status = response.status();
        return Err(match response.json::<ApiError>().await {
            Ok(e) => e.error,
            Err(_) => format!("HTTP {status}"),
        });
    }
    response
        .json()
        .await
        .map_err(|e| format!("unreadable answer: {e}"))
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    read(gloo_net::http::Request::get(url).send().await).await
}

pub async fn post<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, String> {
    let request = gloo_net::http::Request::post(url)
        .json(body)
        .map_err(|e| format!("cannot encode the request: {e}"))?;
    read(request.send().await).await
}

pub async fn delete<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    read(gloo_net::http::Request::delete(url).send().await).await
}
