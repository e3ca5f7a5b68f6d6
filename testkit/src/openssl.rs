//! The real OpenSSL, for the tests that check against it (`openssl` on PATH; they fail, never
//! skip, without it).

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

/// Runs `openssl` with these arguments in `dir`: what it printed. Panics with its output when
/// it fails, and says how to install it when it is missing.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = match Command::new("openssl").current_dir(dir).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "openssl is not on PATH: this test runs the real OpenSSL and does not skip; install \
             it (apt-get install openssl)"
        ),
        Err(e) => panic!("cannot run openssl ({e}); install it (apt-get install openssl)"),
    };
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl ocsp` as the responder for one request (file mode): its answer (DER) to `request`
/// from the CA database `index` (the text of an `index.txt`), signed by the CA itself
/// (`ca_pem`, `key_pem`), valid for a day; `extra`, more `openssl ocsp` arguments. Works in
/// `dir`.
pub fn ocsp_answer(
    dir: &Path,
    ca_pem: &str,
    key_pem: &str,
    index: &str,
    request: &[u8],
    extra: &[&str],
) -> Vec<u8> {
    let write = |name: &str, contents: &[u8]| std::fs::write(dir.join(name), contents).unwrap();
    write("ca.pem", ca_pem.as_bytes());
    write("ca.key", key_pem.as_bytes());
    write("index.txt", index.as_bytes());
    write("req.der", request);
    let _ = std::fs::remove_file(dir.join("resp.der"));
    let args = [
        "ocsp",
        "-index",
        "index.txt",
        "-CA",
        "ca.pem",
        "-rsigner",
        "ca.pem",
        "-rkey",
        "ca.key",
        "-ndays",
        "1",
        "-reqin",
        "req.der",
        "-respout",
        "resp.der",
    ];
    openssl(dir, &[&args[..], extra].concat());
    std::fs::read(dir.join("resp.der")).unwrap()
}
