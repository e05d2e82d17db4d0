//! Remote4D core: every piece of Remote4D's logic, with no user interface.
//!
//! Layers, from the bottom up:
//!
//! - **formats** — pure types with encode/decode and file I/O only:
//!   [`link`] (`.4DLink` shortcut files), [`archive`] (`.4dz` project archives),
//!   [`project`] (4D project folders), [`cache`] (the client's per-server system folders),
//!   [`recent`] (Recent projects as `.4DLink` files), [`environment`] (where things live on disk).
//!
//! - **protocol** — the wire types shared by client and server ([`protocol`]).
//! - **services** — [`server`] (the project server), [`discovery`] (DNS-SD publish and browse).
//!
//! Nothing in this crate depends on a UI toolkit; the desktop app wraps its services.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

mod admin_token;
pub mod archive;
pub mod cache;
pub mod client;
pub mod discovery;
pub mod environment;
mod fsutil;
pub mod link;
mod process;
pub mod project;
pub mod protocol;
pub mod recent;
pub mod server;
pub mod signing;
pub mod time;
mod xml;
