//! The client's frame rate (docs/SPEC.md section 12): `--client-rate` frames per second
//! with bursts of `--client-burst`. A frame over it is not handled; the first of a run
//! of them gets an `error`, and a client that sends another `burst` frames while over
//! is closed with 1008. A rule over a clock (GCRA from `governor`), tested on a clock
//! the tests move.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// One connection's frame budget.
pub struct Flood<C: Clock = DefaultClock> {
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
    /// Frames per second allowed.
    pub rate: u32,
    /// Frames allowed at once above the rate.
    pub burst: u32,
    /// Frames over the rate since the last one within it.
    over: u32,
}

/// What to do with one client frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    Handle,
    /// Over the rate: dropped; `true` for the first of a run (the client is told).
    Drop(bool),
    /// Over the rate for another whole burst: close with 1008 `too many frames`.
    Close,
}

impl Flood {
    pub fn new(rate: NonZeroU32, burst: NonZeroU32) -> Self {
        Flood::with_clock(rate, burst, DefaultClock::default())
    }
}

impl<C: Clock> Flood<C> {
    pub fn with_clock(rate: NonZeroU32, burst: NonZeroU32, clock: C) -> Self {
        Flood {
            limiter: RateLimiter::direct_with_clock(
                Quota::per_second(rate).allow_burst(burst),
                clock,
            ),
            rate: rate.get(),
            burst: burst.get(),
            over: 0,
        }
    }

    /// Counts one client frame and says what to do with it.
    pub fn admit(&mut self) -> Admit {
        if self.limiter.check().is_ok() {
            self.over = 0;
            return Admit::Handle;
        }
        self.over += 1;
        if self.over > self.burst {
            Admit::Close
        } else {
            Admit::Drop(self.over == 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn flood(rate: u32, burst: u32) -> (Flood<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let n = |v| NonZeroU32::new(v).expect("not zero");
        (Flood::with_clock(n(rate), n(burst), clock.clone()), clock)
    }

    #[test]
    fn a_burst_is_handled_then_frames_over_it_are_dropped_and_the_first_is_told() {
        let (mut flood, _clock) = flood(10, 3);
        for _ in 0..3 {
            assert_eq!(flood.admit(), Admit::Handle);
        }
        assert_eq!(flood.admit(), Admit::Drop(true), "the first over is told");
        assert_eq!(flood.admit(), Admit::Drop(false), "the next ones are not");
    }

    #[test]
    fn a_client_that_keeps_sending_a_whole_burst_over_the_rate_is_closed() {
        let (mut flood, _clock) = flood(10, 3);
        for _ in 0..3 {
            flood.admit();
        }
        for _ in 0..3 {
            assert!(matches!(flood.admit(), Admit::Drop(_)));
        }
        assert_eq!(flood.admit(), Admit::Close);
    }

    #[test]
    fn a_client_back_within_the_rate_is_handled_and_forgiven() {
        let (mut flood, clock) = flood(10, 2);
        flood.admit();
        flood.admit();
        assert_eq!(flood.admit(), Admit::Drop(true));
        // One frame's worth of time (100 ms at 10/s) earns one frame back.
        clock.advance(Duration::from_millis(100));
        assert_eq!(flood.admit(), Admit::Handle);
        // Over again: a new run, told again, and the count to closing starts over.
        assert_eq!(flood.admit(), Admit::Drop(true));
    }

    #[test]
    fn a_steady_client_at_the_rate_is_never_dropped() {
        let (mut flood, clock) = flood(50, 1);
        for _ in 0..500 {
            assert_eq!(flood.admit(), Admit::Handle);
            clock.advance(Duration::from_millis(20));
        }
    }
}
