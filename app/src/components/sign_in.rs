//! Signing in to a server that wants a token (docs/SPEC.md section 12): the panel that asks for
//! one whenever the page's identity is `Needed`, and the header's "signed in as" with
//! its sign-out button. Both read and drive [`Auth`] only; the stream and the pages
//! follow it.

use leptos::prelude::*;

use crate::auth::{Auth, Identity};
use protocol::Timestamp;

/// Asks for a token while the server wants one: why, a field to paste it into, and a
/// button that signs in with it. Hidden otherwise.
#[component]
pub fn SignInPanel() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let identity = auth.identity();
    let reason = move || match identity.get() {
        Identity::Needed { reason } => Some(reason),
        _ => None,
    };
    let pasted = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        auth.sign_in(&pasted.get_untracked(), move || {
            busy.set(false);
            pasted.set(String::new());
        });
    };
    view! {
        <Show when=move || reason().is_some()>
            <section class="panel sign-in" data-testid="sign-in-panel">
                <h2>"Sign in"</h2>
                <p class="sign-in-reason" data-testid="sign-in-reason" role="alert">
                    {reason}
                </p>
                <p class="muted">
                    "This server shows its streams to holders of a token. Ask its operator for one ("
                    <code>"tickwire token --sub NAME"</code>
                    ") and paste it below; it stays in this browser until you sign out."
                </p>
                <form class="sign-in-form" on:submit=submit>
                    <label>
                        "Token"
                        <textarea
                            name="token"
                            rows="3"
                            spellcheck="false"
                            autocomplete="off"
                            data-testid="token-input"
                            prop:value=move || pasted.get()
                            on:input=move |ev| pasted.set(event_target_value(&ev))
                        ></textarea>
                    </label>
                    <button type="submit" data-testid="sign-in" disabled=move || busy.get()>
                        {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </form>
            </section>
        </Show>
    }
}

/// In the header: whose token the page uses, and a button that forgets it. Nothing on
/// an anonymous server.
#[component]
pub fn SignedInAs() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let identity = auth.identity();
    move || match identity.get() {
        Identity::SignedIn { sub, admin, exp } => {
            let title = format!(
                "Signed in with a token for {sub}, valid until {}",
                until(exp)
            );
            Some(view! {
                <span class="account" title=title>
                    <span class="account-name" data-testid="signed-in-as">
                        {sub}
                    </span>
                    {admin.then(|| view! { <span class="badge">"admin"</span> })}
                    <button
                        type="button"
                        class="sign-out"
                        data-testid="sign-out"
                        on:click=move |_| auth.sign_out()
                    >
                        "Sign out"
                    </button>
                </span>
            })
        }
        _ => None,
    }
}

/// A token's expiry (Unix seconds) as UTC date and time, from the wire timestamp's own
/// formatter (no strftime in the browser's bundle).
fn until(exp: u64) -> String {
    let utc = i64::try_from(exp)
        .ok()
        .and_then(|s| s.checked_mul(1_000))
        .map(|ms| Timestamp::from_unix_ms(ms).to_string())
        .filter(|t| t.len() == 24);
    match utc {
        Some(t) => format!("{} {} UTC", &t[..10], &t[11..19]),
        None => format!("{exp} (Unix time)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_reads_as_utc_time() {
        assert_eq!(until(1_764_500_000), "2025-11-30 10:53:20 UTC");
        assert_eq!(until(u64::MAX), format!("{} (Unix time)", u64::MAX));
        // Past year 9999 the wire form has no four-digit year to show.
        assert_eq!(until(253_402_300_800), "253402300800 (Unix time)");
    }
}
