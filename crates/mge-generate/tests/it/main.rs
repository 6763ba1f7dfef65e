//! Integration tests of mge-generate (one test binary).

mod faults;
mod openai;
mod simulated;
mod stub;
mod support;
