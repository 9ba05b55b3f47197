//! How many sockets the server holds (docs/SPEC.md section 12): at most `--max-connections` in
//! all and `--max-connections-per-ip` from one address. A slot is taken before the
//! upgrade — one over either cap is a 503, and the socket is never opened — and given
//! back when the connection ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;
use serde_json::json;

use crate::admission::address_key;
use crate::routes::ApiError;

/// The caps and who holds what.
#[derive(Clone)]
pub struct Slots {
    max_total: usize,
    max_per_ip: usize,
    held: Arc<Mutex<Held>>,
}

#[derive(Default)]
struct Held {
    total: usize,
    /// Only addresses holding at least one slot: bounded by `max_total`.
    per_ip: HashMap<IpAddr, usize>,
}

/// One connection's slot; given back on drop.
pub struct Slot {
    slots: Slots,
    ip: IpAddr,
}

impl Slots {
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        Slots {
            max_total,
            max_per_ip,
            held: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a connection from `ip`, or the 503 that says which cap is full.
    pub fn take(&self, ip: IpAddr) -> Result<Slot, ApiError> {
        // An IPv6 /64 is one address, as for TCP connections.
        let ip = address_key(ip);
        let mut held = self.lock();
        let full = |what: String, limit: usize| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{what}: try again later"),
            )
            .with_details(json!({ "limit": limit }))
        };
        if held.total >= self.max_total {
            return Err(full(
                format!("the server holds its most connections ({})", self.max_total),
                self.max_total,
            ));
        }
        let from_ip = held.per_ip.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.max_per_ip {
            return Err(full(
                format!("{from_ip} connections from your address, the most allowed"),
                self.max_per_ip,
            ));
        }
        held.total += 1;
        *held.per_ip.entry(ip).or_default() += 1;
        Ok(Slot {
            slots: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        held.total = held.total.saturating_sub(1);
        if let Some(n) = held.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_in_all_and_per_address_and_given_back() {
        let slots = Slots::new(3, 2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = slots.take(a).unwrap();
        let _a2 = slots.take(a).unwrap();
        let refused = slots.take(a).err().unwrap();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            refused.error.contains("from your address"),
            "{}",
            refused.error
        );
        let _b1 = slots.take(b).unwrap();
        assert!(slots
            .take(b)
            .err()
            .unwrap()
            .error
            .contains("most connections (3)"));
        drop(a1);
        assert!(slots.take(b).is_ok(), "a slot given back is free again");
        assert!(slots.lock().per_ip.len() <= 2);
    }
}
