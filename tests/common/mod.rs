pub mod cases;
pub mod core;
pub mod envoy;
pub mod front;
pub mod online;
pub mod pki;
pub mod soak;
