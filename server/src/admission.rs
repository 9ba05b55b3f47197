//! Who gets a place (docs/SPEC.md section 12). Every accepted TCP connection, every
//! socket (counted by its client's address, the forwarded one behind trusted proxies),
//! and every socket still waiting for its token holds a [`Place`] in an [`Admission`]
//! of its own: at most
//! `capacity` in all and `per_address` from one address, where an IPv6 /64 counts as one
//! address (a host is given a whole /64, so one attacker has billions of addresses).
//!
//! A place that is only waiting — a connection before its first request or between
//! two, a socket before its `auth` frame — can be taken back. When the admission is full,
//! a newcomer takes the place of whoever has waited longest, so connections that send one
//! byte and stop cannot lock out health checks, the dashboard or signed-in sockets: a
//! busy place (a request being served, an open socket) is never taken.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

/// The address a per-address cap counts: the IP itself, an IPv4-mapped IPv6 address as
/// its IPv4 one, and any other IPv6 address as its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// A TCP connection's place, in the extensions of each of its requests: a WebSocket
/// upgrade holds it for the socket's life.
#[derive(Clone)]
pub struct ConnectionPlace(pub Arc<Place>);

/// The places and who holds them.
#[derive(Clone)]
pub struct Admission {
    capacity: usize,
    per_address: usize,
    places: Arc<Mutex<Places>>,
}

#[derive(Default)]
struct Places {
    held: usize,
    /// Only addresses holding a place: bounded by `capacity`.
    by_address: HashMap<IpAddr, usize>,
    /// Waiting places, the longest-waiting first (keys only grow).
    waiting: BTreeMap<u64, Waiter>,
    next: u64,
}

struct Waiter {
    address: Option<IpAddr>,
    evict: CancellationToken,
}

/// Why no place was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    #[error("the server holds its most connections ({0}) and none of them is idle")]
    Total(usize),
    #[error("{0} connections from your address, the most allowed")]
    Address(usize),
}

impl Full {
    /// The cap that was reached.
    pub fn limit(self) -> usize {
        match self {
            Full::Total(n) | Full::Address(n) => n,
        }
    }
}

/// One holder's place; given back on drop (unless it was taken back before).
pub struct Place {
    admission: Admission,
    /// `None`: not counted per address (a trusted proxy carries many clients).
    address: Option<IpAddr>,
    /// Its key in `waiting` while it waits (0: busy). Changed under the lock only.
    waiting_since: AtomicU64,
    evicted: CancellationToken,
}

impl Admission {
    pub fn new(capacity: usize, per_address: usize) -> Self {
        Admission {
            capacity,
            per_address,
            places: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Places> {
        self.places.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many places are held.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().held
    }

    /// How many addresses hold a place.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.lock().by_address.len()
    }

    /// A place for `ip` (`None`: not counted per address), waiting from the start when
    /// `waiting`; when the admission is full, the longest-waiting place is taken back
    /// for it, and only when none waits is it refused.
    pub fn admit(&self, ip: Option<IpAddr>, waiting: bool) -> Result<Arc<Place>, Full> {
        let address = ip.map(address_key);
        let mut places = self.lock();
        if let Some(address) = address {
            if places.by_address.get(&address).copied().unwrap_or(0) >= self.per_address {
                return Err(Full::Address(self.per_address));
            }
        }
        if places.held >= self.capacity {
            let Some((_, longest)) = places.waiting.pop_first() else {
                return Err(Full::Total(self.capacity));
            };
            places.release(longest.address);
            longest.evict.cancel();
        }
        places.held += 1;
        if let Some(address) = address {
            *places.by_address.entry(address).or_default() += 1;
        }
        let place = Arc::new(Place {
            admission: self.clone(),
            address,
            waiting_since: AtomicU64::new(0),
            evicted: CancellationToken::new(),
        });
        if waiting {
            places.wait(&place);
        }
        Ok(place)
    }
}

impl Places {
    fn release(&mut self, address: Option<IpAddr>) {
        self.held -= 1;
        if let Some(address) = address {
            if let Some(n) = self.by_address.get_mut(&address) {
                *n -= 1;
                if *n == 0 {
                    self.by_address.remove(&address);
                }
            }
        }
    }

    fn wait(&mut self, place: &Place) {
        self.next += 1;
        place.waiting_since.store(self.next, Ordering::Relaxed);
        self.waiting.insert(
            self.next,
            Waiter {
                address: place.address,
                evict: place.evicted.clone(),
            },
        );
    }

    fn stop_waiting(&mut self, place: &Place) {
        let key = place.waiting_since.swap(0, Ordering::Relaxed);
        if key != 0 {
            self.waiting.remove(&key);
        }
    }
}

impl Place {
    /// Marks the place waiting (it may be taken back) or busy (it may not).
    pub fn set_waiting(&self, waiting: bool) {
        let mut places = self.admission.lock();
        if self.evicted.is_cancelled() {
            return;
        }
        let is_waiting = self.waiting_since.load(Ordering::Relaxed) != 0;
        match (is_waiting, waiting) {
            (false, true) => places.wait(self),
            (true, false) => places.stop_waiting(self),
            _ => {}
        }
    }

    /// Cancelled when the place was taken back for a newcomer: its holder must go.
    pub fn evicted(&self) -> &CancellationToken {
        &self.evicted
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut places = self.admission.lock();
        // Taken back: released then already.
        if self.evicted.is_cancelled() {
            return;
        }
        places.stop_waiting(self);
        places.release(self.address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("an address"))
    }

    #[test]
    fn a_full_admission_takes_back_the_longest_waiting_place_never_a_busy_one() {
        let admission = Admission::new(3, 10);
        let busy = admission.admit(ip("10.0.0.1"), false).unwrap();
        let first = admission.admit(ip("10.0.0.2"), true).unwrap();
        let second = admission.admit(ip("10.0.0.2"), true).unwrap();
        let newcomer = admission.admit(ip("10.0.0.3"), false).unwrap();
        assert!(first.evicted().is_cancelled(), "the longest waiting goes");
        assert!(!second.evicted().is_cancelled() && !busy.evicted().is_cancelled());
        assert_eq!(admission.held(), 3);
        // `second` turns busy: nobody waits, so the next newcomer is refused.
        second.set_waiting(false);
        assert_eq!(
            admission.admit(ip("10.0.0.4"), true).err(),
            Some(Full::Total(3))
        );
        // Dropping the taken-back place does not release it twice.
        drop(first);
        assert_eq!(admission.held(), 3);
        drop((busy, second, newcomer));
        assert_eq!(admission.held(), 0);
    }

    #[test]
    fn busy_places_are_capped_in_all_and_per_address_and_given_back() {
        let places = Admission::new(3, 2);
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let a1 = places.admit(a, false).unwrap();
        let _a2 = places.admit(a, false).unwrap();
        let refused = places.admit(a, false).err().unwrap();
        assert!(
            refused.to_string().contains("from your address"),
            "{refused}"
        );
        let _b1 = places.admit(b, false).unwrap();
        let refused = places.admit(b, false).err().unwrap();
        assert!(
            refused.to_string().contains("most connections (3)"),
            "{refused}"
        );
        drop(a1);
        assert!(
            places.admit(b, false).is_ok(),
            "a place given back is free again"
        );
        assert!(places.addresses() <= 2);
    }

    #[test]
    fn an_ipv6_64_is_one_address_and_a_trusted_proxy_is_none() {
        let admission = Admission::new(100, 2);
        let _a = admission.admit(ip("2001:db8::1"), false).unwrap();
        let _b = admission.admit(ip("2001:db8::ffff:2"), false).unwrap();
        assert_eq!(
            admission.admit(ip("2001:db8::3"), false).err(),
            Some(Full::Address(2))
        );
        // Another /64 is another address; so is the IPv4 one behind a mapped address.
        let _c = admission.admit(ip("2001:db8:0:1::1"), false).unwrap();
        let _d = admission.admit(ip("::ffff:10.0.0.1"), false).unwrap();
        let _e = admission.admit(ip("10.0.0.1"), false).unwrap();
        assert_eq!(
            admission.admit(ip("10.0.0.1"), false).err(),
            Some(Full::Address(2))
        );
        let uncounted: Vec<_> = (0..5)
            .map(|_| admission.admit(None, false).unwrap())
            .collect();
        assert_eq!(admission.held(), 10);
        drop(uncounted);
        assert_eq!(admission.held(), 5);
    }
}
