//! Short notices in the corner ("fell back to polling", "real-time again").

use leptos::prelude::*;

/// How long a toast stays.
#[cfg(feature = "hydrate")]
const SHOW_FOR: std::time::Duration = std::time::Duration::from_secs(6);

/// The page's toasts, provided as context by the app.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<(u64, String)>>,
    next_id: StoredValue<u64>,
}

impl Toasts {
    pub fn new() -> Self {
        Toasts {
            list: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(0),
        }
    }

    /// Shows `text` for a few seconds.
    pub fn push(&self, text: impl Into<String>) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.list.update(|l| l.push((id, text.into())));
        #[cfg(feature = "hydrate")]
        {
            let list = self.list;
            set_timeout(
                move || {
                    // Gone with its page: nothing to remove.
                    let _ = list.try_update(|l| l.retain(|(i, _)| *i != id));
                },
                SHOW_FOR,
            );
        }
    }
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

/// Renders the toasts of the [`Toasts`] in context.
#[component]
pub fn ToastList() -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    view! {
        <div class="toasts" aria-live="polite">
            <For each=move || toasts.list.get() key=|(id, _)| *id let:toast>
                <div class="toast" data-testid="toast" role="status">
                    {toast.1}
                </div>
            </For>
        </div>
    }
}
