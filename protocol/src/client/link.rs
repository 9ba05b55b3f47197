//! The socket a stream is on, if any. Every socket opened gets the next generation, so
//! what the browser reports late about an old one (its close, its frames) is told apart
//! and ignored; a socket counts as connected only once the server has greeted it (a
//! socket a proxy accepts and drops at once is still a failed attempt).

/// The stream's socket and its generation.
#[derive(Debug, Default)]
pub(super) struct Link {
    socket: Option<Socket>,
    generation: u64,
}

#[derive(Debug)]
struct Socket {
    generation: u64,
    /// The server's `connected` frame arrived.
    greeted: bool,
}

impl Link {
    /// Whether no socket was ever opened (the first is not a re-connection).
    pub fn never_opened(&self) -> bool {
        self.generation == 0
    }

    /// Whether the socket is up and the server greeted it.
    pub fn greeted(&self) -> bool {
        self.socket.as_ref().is_some_and(|s| s.greeted)
    }

    /// Whether `generation` is the socket in use (else: an old one's late news).
    pub fn is_current(&self, generation: u64) -> bool {
        self.socket.as_ref().map(|s| s.generation) == Some(generation)
    }

    /// Leaves the socket: nothing from it counts any more. `true` when there was one
    /// (to close).
    pub fn drop_socket(&mut self) -> bool {
        self.generation += 1;
        self.socket.take().is_some()
    }

    /// A new socket, after [`Link::drop_socket`]: its generation.
    pub fn open(&mut self) -> u64 {
        self.socket = Some(Socket {
            generation: self.generation,
            greeted: false,
        });
        self.generation
    }

    /// The server greeted the socket in use.
    pub fn greet(&mut self) {
        if let Some(socket) = &mut self.socket {
            socket.greeted = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_is_connected_only_once_greeted() {
        let mut link = Link::default();
        assert!(link.never_opened());
        assert!(!link.drop_socket(), "nothing to close yet");
        let generation = link.open();
        assert!(!link.never_opened());
        assert!(link.is_current(generation) && !link.greeted());
        link.greet();
        assert!(link.greeted());
    }

    #[test]
    fn an_old_sockets_late_news_is_not_current() {
        let mut link = Link::default();
        link.drop_socket();
        let first = link.open();
        assert!(link.drop_socket(), "the open socket is to close");
        let second = link.open();
        assert_ne!(first, second);
        assert!(!link.is_current(first) && link.is_current(second));
        link.drop_socket();
        assert!(!link.is_current(second), "no socket: nothing is current");
        link.greet();
        assert!(!link.greeted(), "no socket to greet");
    }
}
