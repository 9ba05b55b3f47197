//! `GET /metrics`: the hub's figures, and each venue market's (labelled by venue and
//! symbol: the connection's drops and reconnects, the market's gaps), in Prometheus
//! text format.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics::{counter, gauge};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::feed::venue::FeedState;
use crate::routes::state::AppState;

/// Renders the current counters. Each server owns its recorder (no global state), so
/// several servers in one process (the tests) report their own figures.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let stats = state.hub.stats().snapshot();
    metrics::with_local_recorder(&recorder, || {
        gauge!("tickwire_uptime_seconds").set(state.started.elapsed().as_secs_f64());
        gauge!("tickwire_connections").set(stats.connections as f64);
        gauge!("tickwire_topics").set(state.hub.topic_count() as f64);
        gauge!("tickwire_backend_healthy").set(f64::from(u8::from(state.hub.backend_healthy())));
        counter!("tickwire_messages_in_total").absolute(stats.messages_in);
        counter!("tickwire_messages_out_total").absolute(stats.messages_out);
        counter!("tickwire_dropped_total").absolute(stats.dropped);
        counter!("tickwire_slow_consumer_disconnects_total")
            .absolute(stats.slow_consumer_disconnects);
        for feed in state.feeds.snapshot() {
            let labels = [("venue", feed.venue.to_owned()), ("symbol", feed.symbol)];
            counter!("tickwire_feed_dropped_total", &labels).absolute(feed.dropped);
            counter!("tickwire_feed_reconnects_total", &labels).absolute(feed.reconnects);
            counter!("tickwire_feed_gaps_total", &labels).absolute(feed.gaps);
            gauge!("tickwire_feed_connected", &labels)
                .set(f64::from(u8::from(feed.state == FeedState::Connected)));
        }
    });
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}
