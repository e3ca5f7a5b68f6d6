//! Certificates for `make bench`: a P-256 and an RSA-2048 root, a client certificate under
//! each (the RSA one with an RSA-2048 key, so a first sight verifies RSA), an expired client
//! and a server certificate; for the first-sight measurement, under each root three
//! intermediates of the same key type with three leaves each (`first-<alg>-<i>-<j>.pem`,
//! intermediates in `intermediates.pem`). Usage: cargo run --example bench_certs -- DIR
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use testkit::pki;

use std::path::Path;

use time::{Duration, OffsetDateTime};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/bench/certs".to_string());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    let p256 = pki::Ca::root("bench P-256 root", pki::Alg::EcdsaP256);
    let rsa = pki::Ca::root("bench RSA root", pki::Alg::Rsa2048);
    write("ca-p256.pem", &p256.cert_pem());
    write("ca-rsa.pem", &rsa.cert_pem());
    write("ca.pem", &format!("{}{}", p256.cert_pem(), rsa.cert_pem()));
    let server = p256.server(&["localhost", "127.0.0.1"]);
    write("server.pem", &server.cert_pem);
    write("server.key", &server.key_pem);
    let now = OffsetDateTime::now_utc();
    let leaves = [
        ("client-p256", p256.client("bench-p256")),
        (
            "client-rsa",
            rsa.client_with("bench-rsa", pki::Alg::Rsa2048, |_| {}),
        ),
        (
            "expired",
            p256.client_between(
                "bench-old",
                now - Duration::days(9),
                now - Duration::days(1),
            ),
        ),
    ];
    for (stem, leaf) in leaves {
        write(&format!("{stem}.pem"), &leaf.cert_pem);
        write(&format!("{stem}.key"), &leaf.key_pem);
    }
    let mut intermediates = String::new();
    for (stem, root, alg) in [
        ("p256", &p256, pki::Alg::EcdsaP256),
        ("rsa", &rsa, pki::Alg::Rsa2048),
    ] {
        for i in 0..3 {
            let inter = root.intermediate(&format!("bench {stem} intermediate {i}"), alg);
            intermediates.push_str(&inter.cert_pem());
            for j in 0..3 {
                let leaf = inter.client_with(&format!("first-{stem}-{i}-{j}"), alg, |_| {});
                write(&format!("first-{stem}-{i}-{j}.pem"), &leaf.cert_pem);
                write(&format!("first-{stem}-{i}-{j}.key"), &leaf.key_pem);
            }
        }
    }
    write("intermediates.pem", &intermediates);
    println!("bench certificates written to {}", dir.display());
}
