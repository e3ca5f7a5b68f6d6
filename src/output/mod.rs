//! What leaves the filter: the headers the upstream receives about a certificate (the formats of
//! `forward` and its platform presets), and the local replies to denied requests. Both are compiled once from the configuration.

pub mod forward;
pub mod preset;
pub mod responses;

pub use forward::{Forward, ForwardConfigError};
pub use responses::{Reply, Responses, ResponsesError};
