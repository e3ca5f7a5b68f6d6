pub mod envoy;
pub mod pki;
