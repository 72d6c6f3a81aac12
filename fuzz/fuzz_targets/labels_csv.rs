//! Fuzz target `labels_csv`: see `trailhound_fuzz::labels_csv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailhound_fuzz::labels_csv(data));
