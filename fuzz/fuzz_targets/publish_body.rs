//! Any bytes posted to `/api/publish`: messages, each valid for its topic, or an error
//! with a 4xx status and a message — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::routes::parse_publish_body;

fuzz_target!(|data: &[u8]| {
    match parse_publish_body(data) {
        Ok(items) => {
            for item in items {
                assert!(item.message.validate_for(&item.topic).is_ok());
            }
        }
        Err(e) => {
            assert!(e.status.is_client_error());
            assert!(!e.error.is_empty());
        }
    }
});
