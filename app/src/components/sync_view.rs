//! Views that hydrate synchronously, so the wasm carries one hydration of them, not two.
//!
//! The path from the root down to `<Routes>` hydrates asynchronously
//! (`crate::hydration`), so that a lazy route can load its wasm chunk first. Every
//! other view hydrates synchronously (the router hydrates the matched page with
//! `hydrate`). But `into_any()` compiles an asynchronous hydration of its view as well,
//! and so does a component on the asynchronous path: a second copy of every view's
//! hydration, never run for the pages (BENCHMARKS.md, "Dashboard budgets").
//!
//! [`SyncView`] keeps the view and everything it does, except that its asynchronous
//! hydration is the synchronous one. [`SyncAny::into_sync_any`] is the crate's way to
//! erase a view's type (clippy's `disallowed-methods` turns `into_any` away), and
//! [`sync_view`] wraps what sits on the asynchronous path but holds no route.

use leptos::prelude::*;
use leptos::tachys::html::attribute::any_attribute::AnyAttribute;
use leptos::tachys::html::attribute::Attribute;
use leptos::tachys::hydration::Cursor;
use leptos::tachys::ssr::StreamBuilder;
use leptos::tachys::view::add_attr::AddAnyAttr;
use leptos::tachys::view::{Position, PositionState, Render, RenderHtml};

/// A view whose hydration is always synchronous (see the module).
pub struct SyncView<V>(V);

/// Wraps a view that holds no lazy route so that it hydrates synchronously.
pub fn sync_view<V: IntoView>(view: V) -> SyncView<V> {
    SyncView(view)
}

/// Type erasure without a second, asynchronous hydration (see the module).
pub trait SyncAny: IntoView + 'static {
    /// The view as an [`AnyView`] that hydrates synchronously.
    fn into_sync_any(self) -> AnyView {
        #[allow(
            clippy::disallowed_methods,
            reason = "the one place that erases a view"
        )]
        SyncView(self).into_any()
    }
}

impl<V: IntoView + 'static> SyncAny for V {}

impl<V: Render> Render for SyncView<V> {
    type State = V::State;

    fn build(self) -> Self::State {
        self.0.build()
    }

    fn rebuild(self, state: &mut Self::State) {
        self.0.rebuild(state);
    }
}

impl<V: RenderHtml> AddAnyAttr for SyncView<V> {
    type Output<SomeNewAttr: Attribute> = SyncView<V::Output<SomeNewAttr>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        SyncView(self.0.add_any_attr(attr))
    }
}

impl<V: RenderHtml> RenderHtml for SyncView<V> {
    type AsyncOutput = SyncView<V::AsyncOutput>;
    type Owned = SyncView<V::Owned>;

    const MIN_LENGTH: usize = V::MIN_LENGTH;
    const EXISTS: bool = V::EXISTS;

    fn dry_resolve(&mut self) {
        self.0.dry_resolve();
    }

    async fn resolve(self) -> Self::AsyncOutput {
        SyncView(self.0.resolve().await)
    }

    fn html_len(&self) -> usize {
        self.0.html_len()
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.0
            .to_html_with_buf(buf, position, escape, mark_branches, extra_attrs);
    }

    fn to_html_async_with_buf<const OUT_OF_ORDER: bool>(
        self,
        buf: &mut StreamBuilder,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.0.to_html_async_with_buf::<OUT_OF_ORDER>(
            buf,
            position,
            escape,
            mark_branches,
            extra_attrs,
        );
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        self.0.hydrate::<FROM_SERVER>(cursor, position)
    }

    // `hydrate_async` is the trait's own: `hydrate` inside a ready future.

    fn into_owned(self) -> Self::Owned {
        SyncView(self.0.into_owned())
    }
}
