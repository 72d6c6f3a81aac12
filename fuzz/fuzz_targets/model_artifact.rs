//! Fuzz target `model_artifact`: see `trailhound_fuzz::model_artifact`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::model_artifact(data));
