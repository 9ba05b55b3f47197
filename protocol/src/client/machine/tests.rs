//! The machine driven through its inputs, as the browser shell drives it: every rule of
//! docs/DASHBOARD.md's reconnecting stream, without a browser.

use super::*;
use crate::fixtures::{envelope, snapshot, topic};
use crate::{Epoch, Lifecycle, Message, ResyncReason, Since};

fn machine() -> Machine {
    // Jitter fixed at the middle: delays are the nominal ones.
    Machine::new(ReconnectPolicy::default(), Box::new(|| 0.5))
}

fn listen(display: Display) -> Input {
    Input::Listen {
        topic: topic(),
        display,
    }
}

fn rate(per_second: f64) -> Option<crate::rate::MaxRate> {
    crate::rate::MaxRate::new(per_second).ok()
}

/// A subscribe that changes `topic()`'s rate to `per_second`.
fn retune(per_second: f64) -> ClientAction {
    ClientAction::Subscribe {
        topic: topic(),
        since: None,
        max_rate: rate(per_second),
    }
}

fn control(c: Control) -> ServerFrame {
    ServerFrame::Control(c)
}

fn connected() -> ServerFrame {
    control(Control::Connected(Connected {
        connection_id: "1".into(),
        heartbeat_secs: 30,
        max_message_bytes: 65_536,
        build: "b1".into(),
        stale_after_ms: BTreeMap::from([(TopicKind::Backtest, 4_000)]),
    }))
}

fn subscribed(next_seq: u64) -> ServerFrame {
    control(Control::Subscribed(Subscribed {
        topic: topic(),
        epoch: Epoch("E".into()),
        next_seq,
    }))
}

/// The generation of the socket the last `Open` asked for.
fn opened(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::Open { generation } => Some(*generation),
            _ => None,
        })
        .expect("a socket is opened")
}

fn frame(m: &mut Machine, generation: u64, frame: ServerFrame) -> Vec<Effect> {
    m.step(Input::Frame {
        generation,
        frame,
        now_ms: 1_000.0,
    })
}

fn retry_delay(effects: &[Effect]) -> Option<f64> {
    effects.iter().find_map(|e| match e {
        Effect::Arm {
            timer: Timer::Retry,
            ms,
        } => Some(*ms),
        _ => None,
    })
}

fn delivered(effects: &[Effect]) -> Vec<Delivery> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Deliver { delivery, .. } => Some(delivery.clone()),
            _ => None,
        })
        .collect()
}

fn sent(effects: &[Effect]) -> Vec<ClientAction> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

fn seqs(deliveries: &[Delivery]) -> Vec<u64> {
    deliveries
        .iter()
        .map(|d| match d {
            Delivery::Message(e) => e.seq,
            Delivery::Reset(s) => s.last_seq,
        })
        .collect()
}

/// A machine following `topic()` on a greeted socket whose snapshot is at seq 3.
fn live() -> (Machine, u64) {
    live_with(ReconnectPolicy::default())
}

/// [`live`] with `policy`.
fn live_with(policy: ReconnectPolicy) -> (Machine, u64) {
    let mut m = Machine::new(policy, Box::new(|| 0.5));
    m.step(listen(Display::Focus));
    let g = opened(&m.step(Input::Begin {
        realtime: true,
        token: None,
    }));
    frame(&mut m, g, connected());
    frame(&mut m, g, subscribed(4));
    frame(&mut m, g, control(Control::Snapshot(snapshot(3, "E"))));
    (m, g)
}

#[test]
fn a_greeted_socket_is_a_success_that_subscribes_every_topic_and_pings() {
    let mut m = machine();
    m.step(listen(Display::Focus));
    let effects = m.step(Input::Begin {
        realtime: true,
        token: None,
    });
    assert_eq!(m.status().state, ConnectionState::Reconnecting);
    let g = opened(&effects);
    let effects = frame(&mut m, g, connected());
    assert_eq!(m.status().state, ConnectionState::Connected);
    assert_eq!(
        sent(&effects)[0],
        ClientAction::Subscribe {
            topic: topic(),
            since: None,
            max_rate: rate(10.0),
        }
    );
    assert!(matches!(
        sent(&effects)[1],
        ClientAction::Ping { id: 1, .. }
    ));
    assert!(effects.contains(&Effect::Arm {
        timer: Timer::Ping,
        ms: 5_000.0
    }));
}

#[test]
fn failed_attempts_back_off_and_three_fall_back_to_polling_with_a_toast() {
    let mut m = machine();
    m.step(listen(Display::Focus));
    let mut g = opened(&m.step(Input::Begin {
        realtime: true,
        token: None,
    }));
    let mut delays = vec![];
    let mut toasts = vec![];
    let mut polls = 0;
    for _ in 0..3 {
        let effects = m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: "refused".into(),
        });
        delays.push(retry_delay(&effects).expect("a retry is armed"));
        toasts.extend(
            effects
                .iter()
                .filter(|e| matches!(e, Effect::Toast(_)))
                .cloned(),
        );
        polls += effects
            .iter()
            .filter(|e| matches!(e, Effect::Poll { .. }))
            .count();
        g = opened(&m.step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0,
        }));
    }
    assert_eq!(delays, [2_000.0, 4_000.0, 8_000.0]);
    assert_eq!(m.status().failures, 3);
    assert_eq!(m.status().mode, Mode::Polling);
    assert_eq!(m.status().state, ConnectionState::Polling);
    assert_eq!(toasts.len(), 1, "one toast for the fall-back");
    assert_eq!(polls, 1, "the fall-back polls at once");
    // One request per topic at a time: the next tick polls once the answer is in.
    let tick = Input::Tick {
        timer: Timer::Poll,
        now_ms: 0.0,
    };
    assert!(m.step(tick).is_empty());
    let answer = Polled::Snapshot(snapshot(3, "E"));
    m.step(Input::Polled {
        topic: topic(),
        result: Ok(answer),
        now_ms: 0.0,
    });
    let effects = m.step(Input::Tick {
        timer: Timer::Poll,
        now_ms: 0.0,
    });
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Poll { resume: true, .. })));
    // Still trying the socket meanwhile (a retry was armed each time, above).
    assert!(m
        .step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0
        })
        .iter()
        .any(|e| matches!(e, Effect::Open { .. })));
}

#[test]
fn jitter_spreads_the_backoff_within_twenty_percent() {
    let mut draws = [0.0, 0.999].into_iter().cycle();
    let mut m = Machine::new(
        ReconnectPolicy::default(),
        Box::new(move || draws.next().unwrap()),
    );
    let g = opened(&m.step(Input::Begin {
        realtime: true,
        token: None,
    }));
    let low = retry_delay(&m.step(Input::Closed {
        generation: g,
        code: 1006,
        reason: "x".into(),
    }))
    .unwrap();
    let g = opened(&m.step(Input::Tick {
        timer: Timer::Retry,
        now_ms: 0.0,
    }));
    let high = retry_delay(&m.step(Input::Closed {
        generation: g,
        code: 1006,
        reason: "x".into(),
    }))
    .unwrap();
    assert!((1_600.0..1_601.0).contains(&low), "{low}");
    assert!((4_790.0..=4_800.0).contains(&high), "{high}");
}

#[test]
fn the_failure_count_resets_after_a_successful_connection() {
    let mut m = machine();
    let mut g = opened(&m.step(Input::Begin {
        realtime: true,
        token: None,
    }));
    for _ in 0..2 {
        m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: "refused".into(),
        });
        g = opened(&m.step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0,
        }));
    }
    assert_eq!(m.status().failures, 2);
    frame(&mut m, g, connected());
    assert_eq!(m.status().failures, 0);
    // A loss after success retries at the base delay and is not a failed attempt.
    let effects = m.step(Input::Closed {
        generation: g,
        code: 1006,
        reason: "gone".into(),
    });
    assert_eq!(retry_delay(&effects), Some(1_000.0));
    assert_eq!(m.status().failures, 0);
    assert_eq!(m.status().state, ConnectionState::Reconnecting);
}

#[test]
fn polling_climbs_back_to_the_socket_and_resumes_from_the_cursor_without_gap_or_duplicate() {
    let (mut m, g) = live();
    let effects = frame(&mut m, g, ServerFrame::Message(envelope(4, "E")));
    assert_eq!(seqs(&delivered(&effects)), [4]);
    // The socket dies; three attempts fail: polling from the cursor (seq 4).
    m.step(Input::Closed {
        generation: g,
        code: 1006,
        reason: "gone".into(),
    });
    let mut g = opened(&m.step(Input::Tick {
        timer: Timer::Retry,
        now_ms: 0.0,
    }));
    let mut polls = vec![];
    for _ in 0..3 {
        let effects = m.step(Input::Closed {
            generation: g,
            code: 1006,
            reason: "refused".into(),
        });
        polls.extend(
            effects
                .into_iter()
                .filter(|e| matches!(e, Effect::Poll { .. })),
        );
        g = opened(&m.step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0,
        }));
    }
    assert_eq!(
        polls,
        [Effect::Poll {
            topic: topic(),
            url: "/api/streams/backtest:b1?since=4&epoch=E&max_rate=10".into(),
            resume: true
        }]
    );
    // The poll brings 4 again (a duplicate), then 5 and 6.
    let page = Polled::Page {
        messages: vec![envelope(4, "E"), envelope(5, "E"), envelope(6, "E")],
        resync: None,
    };
    let effects = m.step(Input::Polled {
        topic: topic(),
        result: Ok(page),
        now_ms: 2_000.0,
    });
    assert_eq!(seqs(&delivered(&effects)), [5, 6]);
    // The socket is back: polling stops, a toast, and the topic resumes after 6.
    let effects = frame(&mut m, g, connected());
    assert!(effects.contains(&Effect::Disarm(Timer::Poll)));
    assert!(effects.contains(&Effect::Toast("Real-time connection restored".into())));
    assert_eq!(
        sent(&effects)[0],
        ClientAction::Subscribe {
            topic: topic(),
            since: Some(Since::after(6, Epoch("E".into()))),
            max_rate: rate(10.0),
        }
    );
    assert_eq!(m.status().mode, Mode::Realtime);
    // Frames queued under the old subscription are dropped until `subscribed`.
    assert!(delivered(&frame(&mut m, g, ServerFrame::Message(envelope(9, "E")))).is_empty());
    frame(&mut m, g, subscribed(7));
    let effects = frame(&mut m, g, ServerFrame::Message(envelope(7, "E")));
    assert_eq!(seqs(&delivered(&effects)), [7]);
    // A poll answer that arrives after the socket took over is ignored.
    let late = Polled::Page {
        messages: vec![envelope(7, "E")],
        resync: None,
    };
    assert!(m
        .step(Input::Polled {
            topic: topic(),
            result: Ok(late),
            now_ms: 0.0
        })
        .is_empty());
}

#[test]
fn a_gap_on_a_live_socket_resubscribes_from_the_cursor() {
    let (mut m, g) = live();
    let effects = frame(&mut m, g, ServerFrame::Message(envelope(5, "E")));
    assert!(
        delivered(&effects).is_empty(),
        "nothing past the gap is applied"
    );
    assert_eq!(
        sent(&effects),
        [ClientAction::Subscribe {
            topic: topic(),
            since: Some(Since::after(3, Epoch("E".into()))),
            max_rate: rate(10.0),
        }]
    );
    assert!(m
        .status()
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("expected seq 4, got 5")));
}

#[test]
fn duplicates_are_dropped_and_a_foreign_epoch_is_resumed_then_resynced() {
    let (mut m, g) = live();
    assert_eq!(
        seqs(&delivered(&frame(
            &mut m,
            g,
            ServerFrame::Message(envelope(4, "E"))
        ))),
        [4]
    );
    assert!(delivered(&frame(&mut m, g, ServerFrame::Message(envelope(4, "E")))).is_empty());
    assert!(delivered(&frame(&mut m, g, ServerFrame::Message(envelope(2, "E")))).is_empty());
    // A message of another epoch is a gap: resubscribe, and the server's resync
    // replaces the state.
    let effects = frame(&mut m, g, ServerFrame::Message(envelope(1, "F")));
    assert_eq!(sent(&effects).len(), 1);
    frame(&mut m, g, subscribed(1));
    let effects = frame(
        &mut m,
        g,
        control(Control::Resync(Resync {
            reason: ResyncReason::EpochChanged,
            snapshot: snapshot(10, "F"),
        })),
    );
    assert_eq!(delivered(&effects), [Delivery::Reset(snapshot(10, "F"))]);
    assert_eq!(
        seqs(&delivered(&frame(
            &mut m,
            g,
            ServerFrame::Message(envelope(11, "F"))
        ))),
        [11]
    );
}

#[test]
fn a_missing_pong_is_a_lost_connection_and_online_retries_at_once() {
    let (mut m, g) = live();
    let ok = m.step(Input::Tick {
        timer: Timer::Ping,
        now_ms: 10_000.0,
    });
    assert!(matches!(sent(&ok)[..], [ClientAction::Ping { .. }]));
    let effects = m.step(Input::Tick {
        timer: Timer::Ping,
        now_ms: 20_000.0,
    });
    assert!(effects.contains(&Effect::Close));
    assert_eq!(
        m.status().last_error.as_deref(),
        Some("no pong from the server")
    );
    assert_eq!(m.status().state, ConnectionState::Reconnecting);
    // Events of the old socket no longer count.
    assert!(frame(&mut m, g, ServerFrame::Message(envelope(4, "E"))).is_empty());
    // Back online: a new attempt at once, not after the backoff.
    let effects = m.step(Input::Online);
    assert!(effects.iter().any(|e| matches!(e, Effect::Open { .. })));
    assert_eq!(m.status().reconnects, 1);
}

#[test]
fn the_realtime_toggle_polls_and_back_and_is_remembered() {
    let (mut m, _) = live();
    let effects = m.step(Input::SetRealtime(false));
    assert!(effects.contains(&Effect::SaveRealtime(false)));
    assert!(effects.contains(&Effect::Close));
    assert!(effects.iter().any(|e| matches!(e, Effect::Poll { .. })));
    assert_eq!(
        retry_delay(&effects),
        None,
        "no retry while real-time is off"
    );
    assert_eq!(m.status().mode, Mode::Polling);
    let effects = m.step(Input::SetRealtime(true));
    assert!(effects.iter().any(|e| matches!(e, Effect::Open { .. })));
    // Begun with real-time off (an earlier visit's choice): polling from the start.
    let mut m = machine();
    m.step(listen(Display::Focus));
    let effects = m.step(Input::Begin {
        realtime: false,
        token: None,
    });
    assert!(!effects.iter().any(|e| matches!(e, Effect::Open { .. })));
    assert!(effects.contains(&Effect::Poll {
        topic: topic(),
        url: "/api/streams/backtest:b1/snapshot".into(),
        resume: false
    }));
}

#[test]
fn a_late_listener_restarts_the_topic_from_a_snapshot_and_the_last_one_unsubscribes() {
    let (mut m, _) = live();
    let effects = m.step(listen(Display::Focus));
    // Unsubscribed first: the server answers a repeated subscribe without `since`
    // with `subscribed` alone.
    assert_eq!(
        sent(&effects),
        [
            ClientAction::Unsubscribe { topic: topic() },
            ClientAction::Subscribe {
                topic: topic(),
                since: None,
                max_rate: rate(10.0),
            }
        ]
    );
    let effects = m.step(Input::Forget(topic()));
    assert_eq!(
        sent(&effects),
        [ClientAction::Unsubscribe { topic: topic() }]
    );
}

// ---- tokens ----------------------------------------------------------------------

fn token(token: &str) -> Option<BearerToken> {
    Some(BearerToken(token.into()))
}

fn auth(token: &str) -> ClientAction {
    ClientAction::Auth {
        token: BearerToken(token.into()),
    }
}

fn closed(m: &mut Machine, generation: u64, code: u16, reason: &str) -> Vec<Effect> {
    m.step(Input::Closed {
        generation,
        code,
        reason: reason.into(),
    })
}

fn opens(effects: &[Effect]) -> bool {
    effects.iter().any(|e| matches!(e, Effect::Open { .. }))
}

fn polls(effects: &[Effect]) -> bool {
    effects.iter().any(|e| matches!(e, Effect::Poll { .. }))
}

/// A machine begun with token `t1`, following `topic()` on a greeted socket whose
/// snapshot is at seq 3.
fn live_with_token() -> (Machine, u64) {
    let mut m = machine();
    m.step(listen(Display::Focus));
    let g = opened(&m.step(Input::Begin {
        realtime: true,
        token: token("t1"),
    }));
    frame(&mut m, g, connected());
    frame(&mut m, g, subscribed(4));
    frame(&mut m, g, control(Control::Snapshot(snapshot(3, "E"))));
    (m, g)
}

#[test]
fn a_stored_token_is_the_first_frame_of_every_greeted_socket() {
    let mut m = machine();
    m.step(listen(Display::Focus));
    let g = opened(&m.step(Input::Begin {
        realtime: true,
        token: token("t1"),
    }));
    let effects = frame(&mut m, g, connected());
    let sent = sent(&effects);
    assert_eq!(sent[0], auth("t1"));
    assert!(matches!(sent[1], ClientAction::Subscribe { .. }));
    // A reconnect sends it again, before resuming.
    m.step(Input::Closed {
        generation: g,
        code: 1006,
        reason: String::new(),
    });
    let g = opened(&m.step(Input::Tick {
        timer: Timer::Retry,
        now_ms: 0.0,
    }));
    assert_eq!(sent_first(&frame(&mut m, g, connected())), Some(auth("t1")));
}

fn sent_first(effects: &[Effect]) -> Option<ClientAction> {
    sent(effects).into_iter().next()
}

#[test]
fn without_a_token_no_auth_frame_is_sent() {
    let (mut m, g) = live();
    let effects = closed(&mut m, g, 1006, "");
    assert!(!sent(&effects)
        .iter()
        .any(|a| matches!(a, ClientAction::Auth { .. })));
    let g = opened(&m.step(Input::Tick {
        timer: Timer::Retry,
        now_ms: 0.0,
    }));
    assert!(!sent(&frame(&mut m, g, connected()))
        .iter()
        .any(|a| matches!(a, ClientAction::Auth { .. })));
}

#[test]
fn a_socket_closed_for_its_token_asks_to_sign_in_and_stops_reconnecting() {
    let (mut m, g) = live_with_token();
    let effects = closed(&mut m, g, 1008, "token expired");
    assert!(effects.contains(&Effect::SignInNeeded("token expired".into())));
    assert!(effects.contains(&Effect::Disarm(Timer::Retry)));
    assert_eq!(retry_delay(&effects), None, "no retry while signed out");
    assert_eq!(m.status().state, ConnectionState::Disconnected);
    assert_eq!(m.status().last_error.as_deref(), Some("token expired"));
    assert_eq!(m.status().failures, 0, "a refusal is not a failed attempt");
    // Nothing wakes it: not the browser coming online, a stray retry, the toggle or
    // a new listener.
    assert!(m.step(Input::Online).is_empty());
    assert!(m
        .step(Input::Tick {
            timer: Timer::Retry,
            now_ms: 0.0
        })
        .is_empty());
    let effects = m.step(Input::SetRealtime(false));
    assert!(!polls(&effects) && !opens(&effects));
    let effects = m.step(Input::SetRealtime(true));
    assert!(!polls(&effects) && !opens(&effects));
    assert!(m.step(listen(Display::Focus)).is_empty());
}

#[test]
fn a_token_refused_before_the_greeting_is_not_a_failed_attempt() {
    let mut m = machine();
    let g = opened(&m.step(Input::Begin {
        realtime: true,
        token: None,
    }));
    let effects = closed(&mut m, g, 1008, "token required");
    assert!(effects.contains(&Effect::SignInNeeded("token required".into())));
    assert_eq!(m.status().failures, 0);
    assert_eq!(retry_delay(&effects), None);
}

#[test]
fn another_policy_close_is_an_ordinary_loss() {
    let (mut m, g) = live_with_token();
    let effects = closed(&mut m, g, 1008, "too many frames");
    assert!(!effects.iter().any(|e| matches!(e, Effect::SignInNeeded(_))));
    assert_eq!(retry_delay(&effects), Some(1_000.0));
    assert_eq!(
        m.status().last_error.as_deref(),
        Some("socket closed (1008 too many frames)")
    );
}

#[test]
fn a_new_token_after_a_refusal_reconnects_and_resumes_from_the_cursor() {
    let (mut m, g) = live_with_token();
    frame(&mut m, g, ServerFrame::Message(envelope(4, "E")));
    closed(&mut m, g, 1008, "token expired");
    let effects = m.step(Input::Token(token("t2")));
    let g = opened(&effects);
    assert_eq!(m.status().state, ConnectionState::Reconnecting);
    assert_eq!(m.status().last_error, None);
    let effects = frame(&mut m, g, connected());
    assert_eq!(
        sent(&effects)[..2],
        [
            auth("t2"),
            ClientAction::Subscribe {
                topic: topic(),
                since: Some(Since::after(4, Epoch("E".into()))),
                max_rate: rate(10.0),
            }
        ]
    );
    assert_eq!(m.status().state, ConnectionState::Connected);
}

#[test]
fn a_new_token_on_a_live_socket_re_authenticates_it_in_place() {
    let (mut m, g) = live_with_token();
    let effects = m.step(Input::Token(token("t2")));
    assert_eq!(effects, [Effect::Send(auth("t2"))]);
    // The subscription carries on.
    let effects = frame(&mut m, g, ServerFrame::Message(envelope(4, "E")));
    assert_eq!(seqs(&delivered(&effects)), [4]);
}

#[test]
fn a_first_token_replaces_a_socket_that_began_without_one() {
    let (mut m, g) = live();
    let effects = m.step(Input::Token(token("t1")));
    assert!(effects.contains(&Effect::Close));
    let g2 = opened(&effects);
    assert_ne!(g, g2);
    assert_eq!(
        sent_first(&frame(&mut m, g2, connected())),
        Some(auth("t1"))
    );
}

#[test]
fn a_poll_refused_for_its_token_stops_polling_until_a_token_is_entered() {
    let mut m = machine();
    m.step(listen(Display::Focus));
    let effects = m.step(Input::Begin {
        realtime: false,
        token: None,
    });
    assert!(polls(&effects));
    let effects = m.step(Input::Polled {
        topic: topic(),
        result: Err(PollError::Unauthorized("token required".into())),
        now_ms: 0.0,
    });
    assert!(effects.contains(&Effect::SignInNeeded("token required".into())));
    assert!(effects.contains(&Effect::Disarm(Timer::Poll)));
    assert!(m
        .step(Input::Tick {
            timer: Timer::Poll,
            now_ms: 0.0
        })
        .is_empty());
    // Real-time is still off: the token restarts polling, not the socket.
    let effects = m.step(Input::Token(token("t1")));
    assert!(polls(&effects) && !opens(&effects));
    assert_eq!(m.status().state, ConnectionState::Polling);
}

#[test]
fn signing_out_closes_the_stream_until_a_token_is_entered() {
    let (mut m, _) = live_with_token();
    let effects = m.step(Input::Token(None));
    assert!(effects.contains(&Effect::Close));
    assert_eq!(retry_delay(&effects), None);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::SignInNeeded(_))),
        "the page already knows"
    );
    assert_eq!(m.status().state, ConnectionState::Disconnected);
    assert!(m.step(Input::Online).is_empty());
    assert!(opens(&m.step(Input::Token(token("t2")))));
}

// ---- staleness -------------------------------------------------------------------

/// `live()`, whose run is running: its snapshot says so, heard at 1 s.
fn live_run() -> (Machine, u64) {
    let (mut m, g) = live();
    let mut running = snapshot(3, "E");
    running.data.apply(&Message::Resumed(Lifecycle::default()));
    let resync = Control::Resync(Resync {
        reason: ResyncReason::OutsideHistory,
        snapshot: running,
    });
    frame(&mut m, g, control(resync));
    (m, g)
}

fn watch(m: &mut Machine, now_ms: f64) {
    m.step(Input::Tick {
        timer: Timer::Watch,
        now_ms,
    });
}

fn run_stream(m: &Machine) -> StreamAge {
    m.status().streams[0].clone()
}

#[test]
fn a_running_stream_silent_past_its_threshold_is_stale_until_it_moves() {
    let (mut m, g) = live_run();
    watch(&mut m, 4_900.0);
    assert_eq!(m.status().state, ConnectionState::Connected);
    assert_eq!(run_stream(&m).silent_secs, Some(3));
    assert!(!run_stream(&m).stale);

    // 4 s of silence is the server's threshold for backtests; past it, stale.
    watch(&mut m, 5_100.0);
    assert_eq!(m.status().state, ConnectionState::Stale);
    assert_eq!(m.status().state.colour(), "yellow");
    assert!(run_stream(&m).stale);

    // The next message clears it at once, not at the next look.
    m.step(Input::Frame {
        generation: g,
        frame: ServerFrame::Message(envelope(4, "E")),
        now_ms: 5_500.0,
    });
    assert_eq!(m.status().state, ConnectionState::Connected);
    assert_eq!(run_stream(&m).silent_secs, Some(0));
}

#[test]
fn a_stream_that_should_not_move_is_never_stale() {
    // Pending (the fixture's snapshot), then paused: silence is expected.
    let (mut m, _) = live();
    watch(&mut m, 60_000.0);
    assert_eq!(m.status().state, ConnectionState::Connected);
    let (mut m, g) = live_run();
    let mut paused = envelope(4, "E");
    paused.message = Message::Paused(Lifecycle::default());
    frame(&mut m, g, ServerFrame::Message(paused));
    watch(&mut m, 60_000.0);
    assert_eq!(m.status().state, ConnectionState::Connected);
    assert_eq!(run_stream(&m).silent_secs, Some(59));
}

#[test]
fn staleness_is_about_a_live_socket_and_a_kind_the_server_named() {
    // The socket drops: reconnecting, whatever the silence.
    let (mut m, g) = live_run();
    m.step(Input::Closed {
        generation: g,
        code: 1006,
        reason: String::new(),
    });
    watch(&mut m, 60_000.0);
    assert_eq!(m.status().state, ConnectionState::Reconnecting);
    assert!(!run_stream(&m).stale);

    // A server that names no threshold for the kind: never stale.
    let mut m = machine();
    m.step(listen(Display::Focus));
    let g = opened(&m.step(Input::Begin {
        realtime: true,
        token: None,
    }));
    let quiet_server = Control::Connected(Connected {
        connection_id: "1".into(),
        heartbeat_secs: 30,
        max_message_bytes: 65_536,
        build: "b1".into(),
        stale_after_ms: BTreeMap::new(),
    });
    frame(&mut m, g, control(quiet_server));
    frame(&mut m, g, subscribed(1));
    let mut running = snapshot(0, "E");
    running.data.apply(&Message::Resumed(Lifecycle::default()));
    frame(&mut m, g, control(Control::Snapshot(running)));
    watch(&mut m, 60_000.0);
    assert_eq!(m.status().state, ConnectionState::Connected);
}

#[test]
fn the_watch_reports_the_message_rate_of_its_last_second() {
    let (mut m, g) = live_run();
    for seq in 4..7 {
        frame(&mut m, g, ServerFrame::Message(envelope(seq, "E")));
    }
    watch(&mut m, 2_000.0);
    assert_eq!(m.status().rate, 3.0);
    watch(&mut m, 3_000.0);
    assert_eq!(m.status().rate, 0.0);
}

// ---- hidden pages ----------------------------------------------------------------

fn messages(m: &mut Machine, g: u64, seqs: std::ops::Range<u64>) -> Vec<Effect> {
    seqs.flat_map(|seq| frame(m, g, ServerFrame::Message(envelope(seq, "E"))))
        .collect()
}

#[test]
fn a_hidden_page_holds_its_messages_and_gets_them_all_when_shown() {
    let (mut m, g) = live();
    m.step(Input::Visible(false));
    assert!(m.hidden());
    assert!(delivered(&messages(&mut m, g, 4..9)).is_empty());
    let shown = m.step(Input::Visible(true));
    assert_eq!(seqs(&delivered(&shown)), [4, 5, 6, 7, 8]);
    assert_eq!(sent(&shown), [retune(10.0)], "no snapshot needed");
    assert_eq!(seqs(&delivered(&messages(&mut m, g, 9..10))), [9]);
}

#[test]
fn a_notice_that_comes_while_the_page_is_hidden_is_an_alert_and_is_held() {
    let (mut m, g) = live();
    let notice = |seq| {
        let mut e = envelope(seq, "E");
        e.message = Message::Notice(crate::Notice {
            event: crate::NoticeEvent::Fill,
            title: "Bought 1 BTC-USD".into(),
            body: "filled".into(),
            reference: None,
        });
        ServerFrame::Message(e)
    };
    let shown = frame(&mut m, g, notice(4));
    assert!(
        !shown.iter().any(|e| matches!(e, Effect::Alert { .. })),
        "seen on the page"
    );
    m.step(Input::Visible(false));
    let hidden = frame(&mut m, g, notice(5));
    let alerts: Vec<&Effect> = hidden
        .iter()
        .filter(|e| matches!(e, Effect::Alert { .. }))
        .collect();
    assert_eq!(
        alerts,
        [&Effect::Alert {
            title: "Bought 1 BTC-USD".into(),
            body: "filled".into(),
            tag: format!("{}#5", topic()),
        }]
    );
    assert_eq!(seqs(&delivered(&m.step(Input::Visible(true)))), [5]);
}

#[test]
fn a_hidden_page_asks_the_server_for_the_hidden_rate_and_back_when_shown() {
    let (mut m, _) = live();
    assert_eq!(sent(&m.step(Input::Visible(false))), [retune(1.0)]);
    assert!(
        sent(&m.step(Input::Visible(false))).is_empty(),
        "no change, nothing asked"
    );
    assert_eq!(sent(&m.step(Input::Visible(true))), [retune(10.0)]);
}

#[test]
fn a_topic_shown_less_closely_asks_a_lower_rate_and_a_socket_greeted_later_asks_it() {
    let (mut m, g) = live();
    let show = |display| Input::Show {
        topic: topic(),
        display,
    };
    assert_eq!(sent(&m.step(show(Display::Glance))), [retune(2.0)]);
    assert!(sent(&m.step(show(Display::Glance))).is_empty());
    closed(&mut m, g, 1006, "gone");
    assert!(sent(&m.step(show(Display::Focus))).is_empty(), "no socket");
    m.step(Input::Visible(false));
    let g = opened(&m.step(Input::Tick {
        timer: Timer::Retry,
        now_ms: 0.0,
    }));
    let effects = frame(&mut m, g, connected());
    assert_eq!(
        sent(&effects)[0],
        ClientAction::Subscribe {
            topic: topic(),
            since: Some(Since::after(3, Epoch("E".into()))),
            max_rate: rate(1.0),
        },
        "resumed at the rate of a hidden page"
    );
}

#[test]
fn a_topic_too_far_behind_starts_over_from_a_snapshot_when_shown() {
    let (mut m, g) = live_with(ReconnectPolicy::default().with_overrides("hidden_backlog=3"));
    m.step(Input::Visible(false));
    messages(&mut m, g, 4..20);
    let shown = m.step(Input::Visible(true));
    assert!(delivered(&shown).is_empty(), "nothing replayed");
    assert_eq!(
        sent(&shown),
        [
            ClientAction::Unsubscribe { topic: topic() },
            ClientAction::Subscribe {
                topic: topic(),
                since: None,
                max_rate: rate(10.0),
            }
        ]
    );
    // Frames already on their way belong to the old subscription.
    assert!(delivered(&messages(&mut m, g, 20..21)).is_empty());
    frame(&mut m, g, subscribed(31));
    let caught_up = frame(&mut m, g, control(Control::Snapshot(snapshot(30, "E"))));
    assert_eq!(seqs(&delivered(&caught_up)), [30]);
    assert_eq!(seqs(&delivered(&messages(&mut m, g, 31..32))), [31]);
}

#[test]
fn a_link_that_moves_to_another_tab_reconnects_at_once_and_resumes() {
    let (mut m, g) = live();
    let effects = m.step(Input::Moved {
        generation: g,
        reason: "another tab leads the stream now".into(),
    });
    let g2 = opened(&effects);
    assert!(g2 > g);
    assert_eq!(retry_delay(&effects), None, "no backoff");
    assert_eq!(m.status().state, ConnectionState::Reconnecting);
    let effects = frame(&mut m, g2, connected());
    assert_eq!(
        sent(&effects)[0],
        ClientAction::Subscribe {
            topic: topic(),
            since: Some(Since::after(3, Epoch("E".into()))),
            max_rate: rate(10.0),
        }
    );
    // A move reported for an older link changes nothing.
    assert!(m
        .step(Input::Moved {
            generation: g,
            reason: String::new()
        })
        .is_empty());
}
