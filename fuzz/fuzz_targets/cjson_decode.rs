//! See `redis_alt::fuzzing::cjson_decode` for what is run and checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redis_alt::fuzzing::cjson_decode(data));
