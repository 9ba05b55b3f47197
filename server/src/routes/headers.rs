//! Headers every answer carries, so that a browser cannot be turned against its user
//! (docs/SECURITY.md, "Browser headers"): no other site may frame the pages
//! (clickjacking: `Content-Security-Policy: frame-ancestors 'self'`, and
//! `X-Frame-Options: SAMEORIGIN` for browsers that predate it), no answer is sniffed
//! into another type than it says (`X-Content-Type-Options: nosniff`), and no URL of
//! ours reaches another site in a `Referer` (`Referrer-Policy: same-origin`).

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The headers, each set unless the answer already has it.
const HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'self'"),
    ),
    (
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
];

/// `router` with [`HEADERS`] on every answer.
pub fn on_every_answer<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    HEADERS.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, value))
    })
}
