//! Any bytes a client sends on `/api/ws`: a client action or a clean error, and an
//! action that parses serialises back to JSON that parses to the same action.
#![no_main]

use protocol::ClientAction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(action) = serde_json::from_slice::<ClientAction>(data) {
        let again = serde_json::to_vec(&action).expect("an action serialises");
        let back: ClientAction = serde_json::from_slice(&again).expect("and parses back");
        assert_eq!(back, action);
    }
});
