//! The command-line tool and the repository's own files: the dry-run CLI run as a user runs it
//! (`cli`) and against `openssl verify` (`openssl`, needs `openssl` on PATH), the committed JSON
//! Schema and the example configurations (`schema`, with the `schemars` feature; runs
//! `check_examples.py` with the Python of `.venv`), and the repository's files agreeing with
//! each other (`repo`). No Envoy; `make check` runs them. A file here is a module, run alone
//! with `cargo test --features schemars --test tools <file>::`.

mod cli;
mod import;
mod openssl;
mod repo;
// The schema is derived only with the `schemars` feature (`make check` and `make test` turn
// it on); without it the other modules still run.
#[cfg(feature = "schemars")]
mod schema;
