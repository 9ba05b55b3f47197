//! Any bytes a server could send: a frame or a clean error through the clients' decoder
//! (keyed on `type`) and serde's derives alike, the two agree, and a published message
//! that parses is valid or invalid for its topic without a panic, and round-trips.
#![no_main]

use protocol::decode::{self, EveryKind};
use protocol::ServerFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Every kind is read: a frame that reads is `Some`.
    let decoded = decode::server_frame(text, &EveryKind);
    if let Ok(frame) = serde_json::from_str::<ServerFrame>(text) {
        if let ServerFrame::Message(envelope) = &frame {
            let _ = envelope.message.validate_for(&envelope.topic);
        }
        let again = serde_json::to_string(&frame).expect("a frame serialises");
        let back = decode::server_frame(&again, &EveryKind).expect("and decodes back");
        assert_eq!(back, Some(frame));
    }
    if let Ok(Some(frame)) = decoded {
        let again = serde_json::to_string(&frame).expect("a frame serialises");
        let back = decode::server_frame(&again, &EveryKind).expect("and decodes back");
        assert_eq!(back, Some(frame));
    }
});
