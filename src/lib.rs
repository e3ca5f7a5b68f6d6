//! client-cert-auth: Azure App Service style client-certificate authentication for Envoy, as a
//! proxy-wasm filter.
//!
//! The crate is a pure core (configuration, path matching, certificate checks, the decision)
//! that builds and tests natively without any host, and a thin glue module, compiled only for
//! the wasm target, that talks to Envoy.

pub mod cert;
pub mod config;
pub mod decision;
pub mod path;

#[cfg(target_arch = "wasm32")]
mod glue;
