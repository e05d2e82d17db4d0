//! The remote client end to end against the real server over loopback, one module per
//! behaviour (so a failure names what broke).

#[path = "../common/mod.rs"]
mod common;
mod support;

mod cache;
mod devmode;
mod discovery;
mod identity;
// The open hook is a shell script: Unix only.
#[cfg(unix)]
mod login;
mod resources;
mod resume;
mod session;
mod two_parts;
mod update;
