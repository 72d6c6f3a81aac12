//! Fuzz target `access_log_line`: see `trailhound_fuzz::access_log_line`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::access_log_line(data));
