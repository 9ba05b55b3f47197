//! A plain data table: a header row of labels, then the rows its caller renders; and
//! the one way lists are shown, the most recent first.

use leptos::prelude::*;

/// `<table>` with `headers` as its header row and `children` (the rows) as its body.
/// The rows keep their type (`TypedChildren`, not an `AnyView`: see `sync_view`).
#[component]
pub fn Table<C: IntoView + 'static>(
    headers: &'static [&'static str],
    /// The table's `data-testid`, if the tests look for it.
    #[prop(optional)]
    testid: Option<&'static str>,
    children: TypedChildren<C>,
) -> impl IntoView {
    view! {
        <table data-testid=testid>
            <thead>
                <tr>{headers.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr>
            </thead>
            <tbody>{children.into_inner()()}</tbody>
        </table>
    }
}

/// The `most` last of `items`, the most recent first, each rendered by `row`.
pub fn newest_first<T, V: IntoView>(
    items: &[T],
    most: usize,
    row: impl Fn(&T) -> V,
) -> impl IntoView {
    items.iter().rev().take(most).map(row).collect_view()
}
