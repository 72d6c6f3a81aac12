//! Fuzz target `profiles_json`: see `trailhound_fuzz::profiles_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::profiles_json(data));
