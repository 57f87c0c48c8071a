//! One integration test binary: every module here shares `support/`.

mod support;

mod cli;
mod digests;
mod discord;
mod end_to_end;
mod feeds_corpus;
mod fetch;
mod matching_corpus;
mod matching_quality;
mod operations;
mod stories;
mod telegram;
