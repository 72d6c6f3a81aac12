//! Fuzz target `cloudtrail_object_gz`: see `trailhound_fuzz::cloudtrail_object_gz`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::cloudtrail_object_gz(data));
