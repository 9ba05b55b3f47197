//! A CSV file picked in the browser and read as text, for a backtest on data the server
//! does not have. Uploads travel inside the JSON request (docs/SPEC.md section 12), so the
//! server's body limit and its CSV checks answer a file too big or malformed in their
//! own words, which the form shows.

use leptos::html::Input;
use leptos::prelude::*;

/// A picked file: its name and its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    pub name: String,
    pub text: String,
}

/// A file input that fills `file` with the picked CSV (or `error` with why it could
/// not be read), and a button that clears it again.
#[component]
pub fn CsvUpload(file: RwSignal<Option<Upload>>, error: RwSignal<Option<String>>) -> impl IntoView {
    let input = NodeRef::<Input>::new();
    let clear = move |_| {
        file.set(None);
        if let Some(input) = input.get_untracked() {
            input.set_value("");
        }
    };
    view! {
        <label>
            "Or upload a CSV (date, Open, High, Low, Close, Volume)"
            <input
                type="file"
                accept=".csv,text/csv"
                data-testid="backtest-upload"
                node_ref=input
                on:change=move |_| {
                    if let Some(input) = input.get_untracked() {
                        read_picked(&input, file, error);
                    }
                }
            />
        </label>
        {move || {
            file.with(|f| {
                f.as_ref()
                    .map(|f| {
                        let note = format!(
                            "Data: {} ({} KiB)",
                            f.name,
                            f.text.len().div_ceil(1024),
                        );
                        view! {
                            <p class="muted" data-testid="backtest-upload-name">
                                {note}
                                " "
                                <button type="button" on:click=clear>
                                    "Use the dataset instead"
                                </button>
                            </p>
                        }
                    })
            })
        }}
    }
}

#[cfg(feature = "hydrate")]
pub(super) fn read_picked(
    input: &web_sys::HtmlInputElement,
    file: RwSignal<Option<Upload>>,
    error: RwSignal<Option<String>>,
) {
    let Some(picked) = input.files().and_then(|files| files.get(0)) else {
        file.set(None);
        return;
    };
    let name = picked.name();
    leptos::task::spawn_local(async move {
        let text = wasm_bindgen_futures::JsFuture::from(picked.text()).await;
        match text.ok().and_then(|t| t.as_string()) {
            Some(text) => {
                error.set(None);
                file.set(Some(Upload { name, text }));
            }
            None => error.set(Some(format!("could not read {name} as text"))),
        }
    });
}

/// Files are picked in the browser only.
#[cfg(not(feature = "hydrate"))]
pub(super) fn read_picked(
    _: &leptos::web_sys::HtmlInputElement,
    _: RwSignal<Option<Upload>>,
    _: RwSignal<Option<String>>,
) {
}
