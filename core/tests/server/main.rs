//! The project server over loopback with a real TLS client, one module per behaviour (so a
//! failure names what broke).

#[path = "../common/mod.rs"]
mod common;
mod support;

mod admin;
mod archive;
mod hostile;
mod identity;
mod login;
mod sessions;
