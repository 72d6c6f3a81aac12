//! Fuzz target `web_payload`: see `trailhound_fuzz::web_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::web_payload(data));
