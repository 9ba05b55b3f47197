//! Any bytes a server could send: a frame or a clean error, and a published message that
//! parses is valid or invalid for its topic without a panic, and round-trips.
#![no_main]

use app::protocol::ServerFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = serde_json::from_slice::<ServerFrame>(data) {
        if let ServerFrame::Message(envelope) = &frame {
            let _ = envelope.message.validate_for(&envelope.topic);
        }
        let again = serde_json::to_vec(&frame).expect("a frame serialises");
        let back: ServerFrame = serde_json::from_slice(&again).expect("and parses back");
        assert_eq!(back, frame);
    }
});
