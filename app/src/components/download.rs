//! Saving text the page made as a file (the browser's download).

/// Saves `text` as the file `name` of type `mime`.
#[cfg(feature = "hydrate")]
pub fn download(name: &str, mime: &str, text: &str) {
    use leptos::prelude::document;
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = document().create_element("a") {
        if let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() {
            a.set_href(&url);
            a.set_download(name);
            a.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Downloads happen in the browser only.
#[cfg(not(feature = "hydrate"))]
pub fn download(_: &str, _: &str, _: &str) {}
