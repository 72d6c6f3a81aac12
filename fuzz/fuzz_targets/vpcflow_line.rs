//! Fuzz target `vpcflow_line`: see `trailhound_fuzz::vpcflow_line`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::vpcflow_line(data));
