//! client-cert-auth: Azure App Service style client-certificate authentication for Envoy, as a
//! proxy-wasm filter.
//!
//! The crate is a pure core (configuration, path matching, certificate checks, the decision)
//! that builds and tests natively without any host, and a thin glue module, compiled only for
//! the wasm target, that talks to Envoy.

pub mod cache;
pub mod cert;
pub mod config;
pub mod crypto;
pub mod decision;
pub mod dn;
pub mod forward;
pub mod identity;
pub mod path;
pub mod responses;
pub mod rfc3339;
pub mod rules;
pub mod validation;
pub mod xfcc;

#[cfg(target_arch = "wasm32")]
mod glue;
