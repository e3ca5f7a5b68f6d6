//! Writes fresh demo certificates for `make run` and the README's curl commands:
//! a CA, a server certificate for localhost/127.0.0.1, a valid client certificate, an expired
//! one and one that is not valid yet. Usage: `cargo run --example demo_certs -- DIR`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use testkit::pki;

use std::path::Path;

use time::{Duration, OffsetDateTime};

fn write(dir: &Path, name: &str, contents: &str) {
    std::fs::write(dir.join(name), contents).unwrap_or_else(|e| panic!("writing {name}: {e}"));
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| ".demo-certs".to_string());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).expect("creating the certificate folder");
    let ca = pki::Ca::new("client-cert-auth demo CA");
    write(dir, "ca.pem", &ca.cert_pem());
    let server = ca.server(&["localhost", "127.0.0.1"]);
    write(dir, "server.pem", &server.cert_pem);
    write(dir, "server.key", &server.key_pem);
    let now = OffsetDateTime::now_utc();
    let leaves = [
        ("client", ca.client("alice")),
        (
            "expired",
            ca.client_between("expired", now - Duration::days(30), now - Duration::days(1)),
        ),
        (
            "notyet",
            ca.client_between("not-yet", now + Duration::days(1), now + Duration::days(30)),
        ),
    ];
    for (stem, leaf) in leaves {
        write(dir, &format!("{stem}.pem"), &leaf.cert_pem);
        write(dir, &format!("{stem}.key"), &leaf.key_pem);
    }
    println!("demo certificates written to {}", dir.display());
}
