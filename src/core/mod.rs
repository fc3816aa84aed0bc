//! Safe Rust core of the library. Nothing here knows about C.

pub mod check;
pub mod client;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod error;
pub mod field;
pub mod fork;
pub mod history;
pub mod http;
pub mod id;
pub mod journal;
pub mod log;
pub mod log_env;
pub mod order;
pub mod orders;
pub mod proxy;
pub mod qr;
pub mod receipt;
pub mod session;
pub mod status;
pub mod texts;
pub mod trust;
pub mod url;
pub mod watch;
pub mod webhook;

pub use error::{Code, Error, Result};
