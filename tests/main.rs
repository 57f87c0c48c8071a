//! One integration test binary: every module here shares `support/`.

mod support;

mod cli;
mod end_to_end;
mod feeds_corpus;
mod fetch;
mod matching_corpus;
