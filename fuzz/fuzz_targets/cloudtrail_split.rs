//! Fuzz target `cloudtrail_split`: see `trailhound_fuzz::cloudtrail_split`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::cloudtrail_split(data));
