//! JSON over HTTP to the server's REST endpoints. Errors are the server's own
//! `{"error": ...}` text, or what went wrong on the way.
//!
//! Every request carries the stored token (`Authorization: Bearer`, see [`crate::auth`])
//! when there is one, and a 401 turns the page's identity to `Needed` with the server's
//! words, so the sign-in panel asks for a token.
//!
//! Pages call the same functions whatever they are compiled for: in the browser they are
//! real requests; on the server (rendering a page) [`spawn`] drops the task unrun and a
//! request answers "not in a browser", so the first frame never waits on the network and
//! SSR and hydration render alike. The `hydrate` split lives here and nowhere in pages.

use std::future::Future;

use leptos::prelude::{use_context, RwSignal, Set};
use protocol::api::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::auth::Auth;

/// `GET url`, its JSON answer.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    request(Method::Get, url, None).await
}

/// `POST url` with `body` as JSON, its JSON answer.
pub async fn post<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, String> {
    let body =
        serde_json::to_string(body).map_err(|e| format!("cannot encode the request: {e}"))?;
    request(Method::Post, url, Some(body)).await
}

/// `PATCH url` with `body` as JSON, its JSON answer.
pub async fn patch<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, String> {
    let body =
        serde_json::to_string(body).map_err(|e| format!("cannot encode the request: {e}"))?;
    request(Method::Patch, url, Some(body)).await
}

/// `POST url` without a body, for a command whose answer says only that it was taken
/// (202); the error of a refusal.
pub async fn command(url: &str) -> Result<(), String> {
    taken(Method::Post, url).await
}

/// `DELETE url`; the error of a refusal.
pub async fn delete(url: &str) -> Result<(), String> {
    taken(Method::Delete, url).await
}

/// Sends a request without a body whose answer is read only for whether it was taken.
async fn taken(method: Method, url: &str) -> Result<(), String> {
    let answer = answered(method, url, None).await?;
    match answer.status {
        200..=299 => Ok(()),
        _ => Err(answer.error()),
    }
}

/// `GET url`, its body as text (an error answer: the server's words).
pub async fn get_text(url: &str) -> Result<String, String> {
    let answer = answered(Method::Get, url, None).await?;
    match answer.status {
        200..=299 => Ok(answer.text),
        _ => Err(answer.error()),
    }
}

/// Sends a request with the token in context and reads its JSON answer.
async fn request<T: DeserializeOwned>(
    method: Method,
    url: &str,
    body: Option<String>,
) -> Result<T, String> {
    answered(method, url, body).await?.json()
}

/// Sends a request with the token in context; a 401 tells the page's identity. Runs
/// inside [`spawn`], which keeps the component's context at hand.
async fn answered(method: Method, url: &str, body: Option<String>) -> Result<Answer, String> {
    let auth = use_context::<Auth>();
    let token = auth.and_then(|a| a.token_untracked());
    let answer = send(method, url, body, token.as_deref()).await?;
    if answer.status == 401 {
        if let Some(auth) = auth {
            auth.refused(&answer.error());
        }
    }
    Ok(answer)
}

/// Sends one request, with `Authorization: Bearer token` when there is a token; the
/// answer whatever its status, or what went wrong on the way.
pub async fn send(
    method: Method,
    url: &str,
    body: Option<String>,
    token: Option<&str>,
) -> Result<Answer, String> {
    let (status, text) = transport::send(method, url, body, token).await?;
    Ok(Answer { status, text })
}

/// A form's submit: `body` (or why the form could not build it) is posted to `url`; the
/// answer goes to `on_ok`, and a refusal, the form's or the server's, into `error`
/// (cleared when the request goes out).
pub fn submit<B, T>(
    url: &'static str,
    body: Result<B, String>,
    error: RwSignal<Option<String>>,
    on_ok: impl FnOnce(T) + 'static,
) where
    B: Serialize + 'static,
    T: DeserializeOwned + 'static,
{
    let body = match body {
        Ok(body) => body,
        Err(e) => return error.set(Some(e)),
    };
    error.set(None);
    spawn(async move {
        match post::<T>(url, &body).await {
            Ok(answer) => on_ok(answer),
            Err(e) => error.set(Some(e)),
        }
    });
}

/// Runs `task` in the browser, where requests are made, under the caller's reactive
/// owner (its context: the token); on the server it is dropped unrun.
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    transport::spawn(task);
}

/// The methods the dashboard uses.
#[derive(Clone, Copy)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

/// An answer: its status and its body's text.
pub struct Answer {
    pub status: u16,
    pub text: String,
}

impl Answer {
    /// The server's error text, or the status when it sent none.
    pub fn error(&self) -> String {
        ErrorBody::error_of(&self.text).unwrap_or_else(|_| format!("HTTP {}", self.status))
    }

    /// The JSON of a success, or the error of a refusal.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        self.read(|text| serde_json::from_str(text))
    }

    /// A success as `decode` reads it, or the error of a refusal.
    pub fn read<T>(&self, decode: impl FnOnce(&str) -> serde_json::Result<T>) -> Result<T, String> {
        if !(200..300).contains(&self.status) {
            return Err(self.error());
        }
        decode(&self.text).map_err(|e| format!("unreadable answer: {e}"))
    }
}

/// In the browser: `fetch` through gloo-net, tasks on the page's executor.
#[cfg(feature = "hydrate")]
mod transport {
    use std::future::Future;

    use gloo_net::http::{Request, RequestBuilder};
    use leptos::reactive::computed::ScopedFuture;

    use super::Method;

    /// Sends the request (with the token, if any); the answer's status and body text.
    pub async fn send(
        method: Method,
        url: &str,
        body: Option<String>,
        token: Option<&str>,
    ) -> Result<(u16, String), String> {
        let mut builder = match method {
            Method::Get => Request::get(url),
            Method::Post => Request::post(url),
            Method::Patch => Request::patch(url),
            Method::Delete => Request::delete(url),
        };
        if let Some(token) = token {
            builder = builder.header("authorization", &format!("Bearer {token}"));
        }
        let response = match body {
            Some(body) => json_request(builder, body)?.send().await,
            None => builder.send().await,
        }
        .map_err(|e| format!("request failed: {e}"))?;
        let text = response
            .text()
            .await
            .map_err(|e| format!("unreadable answer: {e}"))?;
        Ok((response.status(), text))
    }

    /// The request with `body` as its JSON body.
    fn json_request(builder: RequestBuilder, body: String) -> Result<Request, String> {
        builder
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| format!("cannot encode the request: {e}"))
    }

    /// Runs `task` on the page's executor, under the caller's owner (untracked).
    pub fn spawn(task: impl Future<Output = ()> + 'static) {
        leptos::task::spawn_local(ScopedFuture::new_untracked(task));
    }
}

/// On the server: no requests while rendering.
#[cfg(not(feature = "hydrate"))]
mod transport {
    use std::future::Future;

    use super::Method;

    /// Answers that there is no browser to send from.
    pub async fn send(
        _method: Method,
        _url: &str,
        _body: Option<String>,
        _token: Option<&str>,
    ) -> Result<(u16, String), String> {
        Err("not in a browser".to_owned())
    }

    /// Drops `task` unrun.
    pub fn spawn(task: impl Future<Output = ()> + 'static) {
        drop(task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: DeserializeOwned>((status, text): (u16, String)) -> Result<T, String> {
        Answer { status, text }.json()
    }

    #[test]
    fn a_success_is_its_json() {
        let answer: Result<Vec<String>, String> = read((200, r#"["GOOG"]"#.to_owned()));
        assert_eq!(answer, Ok(vec!["GOOG".to_owned()]));
    }

    #[test]
    fn a_refusal_is_the_servers_error_text() {
        let answer: Result<serde_json::Value, String> =
            read((422, r#"{"error":"`fast` must be below `slow`"}"#.to_owned()));
        assert_eq!(answer, Err("`fast` must be below `slow`".to_owned()));
    }

    #[test]
    fn a_refusal_without_an_error_body_is_its_status() {
        let answer: Result<serde_json::Value, String> = read((502, "Bad Gateway".to_owned()));
        assert_eq!(answer, Err("HTTP 502".to_owned()));
    }

    #[test]
    fn a_success_that_does_not_parse_is_an_error_not_a_panic() {
        let answer: Result<Vec<String>, String> = read((200, "{".to_owned()));
        assert!(answer.is_err_and(|e| e.starts_with("unreadable answer")));
    }
}
