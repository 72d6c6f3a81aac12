//! Fuzz target `cwl_payload`: see `trailhound_fuzz::cwl_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::cwl_payload(data));
