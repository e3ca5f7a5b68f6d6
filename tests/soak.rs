//! The short version of `make soak`: the same workload (tests/common/soak.rs) at 30,000
//! requests, still through more valid certificates than the verdict cache holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::soak::{Options, run};

#[test]
fn soak_short() {
    let report = run(&Options::new(30_000));
    report.print();
    let failures = report.failures();
    assert!(failures.is_empty(), "soak failed: {}", failures.join("; "));
}
