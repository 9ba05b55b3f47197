//! The browser's own notifications (the Notification API): asked for once, at the
//! user's click, and shown for a notice that comes while the page is hidden
//! (docs/DASHBOARD.md, "Notifications"). Nothing is asked or shown on the server.

/// Whether the page may notify: `granted`, `denied`, `default` (not asked yet) or
/// `unsupported` (no Notification API, or not in a browser).
pub fn permission() -> &'static str {
    browser::permission()
}

/// Asks the user to allow notifications, then calls `then` with the answer.
pub fn ask(then: impl Fn(&'static str) + 'static) {
    browser::ask(then);
}

/// Shows `title` and `body` as a notification, if the user allowed them; `tag` makes
/// the same notice from several tabs show once (the stream's shell, in the browser).
#[cfg(feature = "hydrate")]
pub fn show(title: &str, body: &str, tag: &str) {
    browser::show(title, body, tag);
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsValue;
    use web_sys::{Notification, NotificationOptions, NotificationPermission};

    fn supported() -> bool {
        web_sys::window().is_some_and(|w| {
            js_sys::Reflect::has(&w, &JsValue::from_str("Notification")).unwrap_or(false)
        })
    }

    pub fn permission() -> &'static str {
        if !supported() {
            return "unsupported";
        }
        match Notification::permission() {
            NotificationPermission::Granted => "granted",
            NotificationPermission::Denied => "denied",
            _ => "default",
        }
    }

    pub fn ask(then: impl Fn(&'static str) + 'static) {
        if !supported() {
            return then("unsupported");
        }
        let Ok(asked) = Notification::request_permission() else {
            return then(permission());
        };
        wasm_bindgen_futures::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
            then(permission());
        });
    }

    pub fn show(title: &str, body: &str, tag: &str) {
        if permission() != "granted" {
            return;
        }
        let options = NotificationOptions::new();
        options.set_body(body);
        options.set_tag(tag);
        if let Err(e) = Notification::new_with_options(title, &options) {
            leptos::logging::warn!("a notification could not be shown: {e:?}");
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn permission() -> &'static str {
        "unsupported"
    }

    pub fn ask(then: impl Fn(&'static str) + 'static) {
        then("unsupported");
    }
}
