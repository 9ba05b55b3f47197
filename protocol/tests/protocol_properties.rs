//! Properties of the wire protocol over generated inputs (proptest): envelopes
//! round-trip exactly through JSON; any bytes given to the client-frame and server-frame
//! parsers give a value or a clean error — never a panic, and never an allocation out of
//! proportion to the input; snapshot folds stay within their caps, in time order, under
//! any order of messages.

#![allow(
    unsafe_code,
    reason = "a counting global allocator, to bound what parsing allocates"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;
use protocol::decode::{EveryKind, KindReader};
use protocol::{
    decode, Candle, ClientAction, DataSource, Envelope, Epoch, Interval, LogLevel, LogLine,
    Message, PositionOpened, Progress, ServerFrame, Side, SnapshotData, Symbol, Thinking, Tick,
    Timestamp, Topic, TopicKind, SNAPSHOT_CANDLES, SNAPSHOT_POSITIONS, SNAPSHOT_RECENT,
};

// --- an allocator that counts what this thread allocates -----------------------------

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.with(|a| a.set(a.get() + layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes this thread allocated while running `f`.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

// --- generators -------------------------------------------------------------------------

fn symbol() -> impl Strategy<Value = Symbol> {
    "[A-Z0-9][A-Z0-9._-]{0,31}".prop_map(|s| Symbol::parse(&s).expect("matches the rule"))
}

fn finite() -> impl Strategy<Value = f64> {
    prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL
}

fn positive() -> impl Strategy<Value = f64> {
    prop::num::f64::POSITIVE.prop_filter("finite, non-zero", |v| v.is_finite() && *v > 0.0)
}

fn time() -> impl Strategy<Value = Timestamp> {
    // 1970 to 2200, whole milliseconds (the wire's precision).
    (0i64..7_258_118_400_000).prop_map(Timestamp::from_unix_ms)
}

fn candle(symbol: Symbol, open_time: Timestamp, closed: bool) -> Candle {
    Candle {
        symbol,
        interval: Interval::from_secs(60).expect("a minute"),
        open_time,
        open: 10.0,
        high: 11.0,
        low: 9.0,
        close: 10.5,
        volume: 1.0,
        closed,
        source: DataSource::Synthetic,
    }
}

/// A message and a topic it may be published on.
fn message() -> impl Strategy<Value = (Topic, Message)> {
    prop_oneof![
        (
            symbol(),
            positive(),
            finite(),
            positive(),
            proptest::option::of(time())
        )
            .prop_map(|(s, price, change_pct, volume, time)| {
                let topic = Topic::market(&s);
                let tick = Tick {
                    symbol: s,
                    price,
                    change_pct,
                    volume,
                    source: DataSource::Binance,
                    time,
                };
                (topic, Message::Tick(tick))
            }),
        (symbol(), time(), any::<bool>())
            .prop_map(|(s, t, closed)| (Topic::market(&s), Message::Candle(candle(s, t, closed)))),
        (".*", ".*", any::<Option<u64>>()).prop_map(|(message, target, bar)| {
            let log = LogLine {
                level: LogLevel::Warn,
                message,
                target,
                bar,
            };
            (backtest_topic(), Message::Log(log))
        }),
        (
            0.0..=100.0f64,
            any::<u64>(),
            time(),
            any::<u64>(),
            finite(),
            finite()
        )
            .prop_map(|(pct, bars_processed, current_time, trades, equity, pnl)| {
                let progress = Progress {
                    pct,
                    bars_processed,
                    total_bars: bars_processed,
                    current_time,
                    trades,
                    equity,
                    pnl,
                    bars_per_sec: Some(equity.abs()),
                    eta_ms: Some(trades),
                };
                (backtest_topic(), Message::Progress(progress))
            }),
        (time(), ".*").prop_map(|(bar_time, chunk)| {
            let topic = Topic::new(TopicKind::Session, "s1").expect("a valid id");
            (topic, Message::Thinking(Thinking { bar_time, chunk }))
        }),
    ]
}

fn backtest_topic() -> Topic {
    Topic::new(TopicKind::Backtest, "b1").expect("a valid id")
}

// --- properties ---------------------------------------------------------------------------

proptest! {
    // Failures print their minimal input; nothing is written into the source tree.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn every_envelope_round_trips_exactly((topic, message) in message(), seq in 1u64.., timestamp in time()) {
        let envelope = Envelope {
            message,
            topic,
            seq,
            epoch: Epoch("01JD3Q0000000000000000000".into()),
            timestamp,
            conflated: 0,
        };
        let json = serde_json::to_string(&envelope).unwrap();
        let back: ServerFrame = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &ServerFrame::Message(envelope.clone()));
        // The clients' decoder, keyed on `type`, reads the same, reading every kind or
        // only the topic's own (as a page does).
        let frame = Some(ServerFrame::Message(envelope.clone()));
        prop_assert_eq!(&decode::server_frame(&json, &EveryKind).unwrap(), &frame);
        let own = KindReader::of(envelope.topic.kind());
        prop_assert_eq!(decode::server_frame(&json, &own).unwrap(), frame);
        // A page that reads other kinds only passes it by.
        let others = [TopicKind::Market, TopicKind::Backtest, TopicKind::Session, TopicKind::Trading]
            .into_iter()
            .filter(|k| *k != envelope.topic.kind())
            .fold(decode::Readers::default(), |mut readers, k| {
                readers.add(KindReader::of(k));
                readers
            });
        prop_assert_eq!(decode::server_frame(&json, &others).unwrap(), None);
    }

    #[test]
    fn any_bytes_give_a_client_action_or_a_clean_error(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (_, allocated) = allocated_by(|| serde_json::from_slice::<ClientAction>(&bytes).ok());
        prop_assert!(allocated <= 16 * bytes.len() + 4096, "{} bytes for {} in", allocated, bytes.len());
    }

    #[test]
    fn any_json_shaped_text_gives_a_client_action_or_a_clean_error(
        text in r#"\{"action":"(subscribe|unsubscribe|ping|pause|resume|cancel|dance)"(,"topic":"[a-z]{0,9}:[A-Za-z0-9_-]{0,70}")?(,"since":\{"seq":[0-9]{1,25}(,"epoch":"[A-Z0-9]{0,30}")?\})?(,"id":-?[0-9]{1,22},"t":[0-9.e+-]{1,12})?\}"#
    ) {
        let (_, allocated) = allocated_by(|| serde_json::from_str::<ClientAction>(&text).ok());
        prop_assert!(allocated <= 16 * text.len() + 4096);
    }

    #[test]
    fn any_bytes_give_a_server_frame_or_a_clean_error(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (_, allocated) = allocated_by(|| serde_json::from_slice::<ServerFrame>(&bytes).ok());
        prop_assert!(allocated <= 16 * bytes.len() + 4096);
        let text = String::from_utf8_lossy(&bytes);
        let (_, allocated) = allocated_by(|| decode::server_frame(&text, &EveryKind).ok());
        prop_assert!(allocated <= 16 * bytes.len() + 4096);
    }

    #[test]
    fn market_candles_stay_capped_and_in_time_order_in_any_arrival_order(
        minutes in prop::collection::vec(0i64..2_000, 0..1_500)
    ) {
        let mut state = SnapshotData::empty(TopicKind::Market);
        let s = Symbol::parse("X").unwrap();
        for m in &minutes {
            state.apply(&Message::Candle(candle(s.clone(), Timestamp::from_unix_ms(m * 60_000), true)));
        }
        let SnapshotData::Market(market) = state else { unreachable!() };
        prop_assert!(market.candles.len() <= SNAPSHOT_CANDLES);
        prop_assert!(market.candles.windows(2).all(|w| w[0].open_time < w[1].open_time));
        // The newest candle seen is always kept.
        if let Some(newest) = minutes.iter().max() {
            prop_assert_eq!(market.candles.last().unwrap().open_time.unix_ms(), newest * 60_000);
        }
    }

    #[test]
    fn session_lists_stay_capped_under_any_mix_of_messages(
        kinds in prop::collection::vec(0u8..3, 0..3_000)
    ) {
        let mut state = SnapshotData::empty(TopicKind::Session);
        let s = Symbol::parse("X").unwrap();
        for (i, kind) in kinds.iter().enumerate() {
            let t = Timestamp::from_unix_ms(i as i64 * 1_000);
            let message = match kind {
                0 => Message::Thinking(Thinking { bar_time: t, chunk: format!("chunk {i}") }),
                1 => Message::PositionOpened(PositionOpened {
                    position_id: i as u64,
                    side: Side::Long,
                    qty: 1.0,
                    entry_price: 10.0,
                    time: t,
                }),
                _ => Message::Candle(candle(s.clone(), Timestamp::from_unix_ms((i as i64 % 700) * 60_000), true)),
            };
            state.apply(&message);
        }
        let SnapshotData::Session(session) = state else { unreachable!() };
        prop_assert!(session.thinking.len() <= SNAPSHOT_RECENT);
        prop_assert!(session.open_positions.len() <= SNAPSHOT_POSITIONS);
        prop_assert!(session.candles.len() <= SNAPSHOT_CANDLES);
    }
}
