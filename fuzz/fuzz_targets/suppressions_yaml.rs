//! Fuzz target `suppressions_yaml`: see `trailhound_fuzz::suppressions_yaml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::suppressions_yaml(data));
