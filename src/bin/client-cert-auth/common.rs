//! What the importers share: their result, and CA bundles split as the filter wants them.

use client_cert_auth::pem_to_der;

/// What an import produced.
pub struct Imported {
    /// What goes to standard output: manifests (YAML documents separated by `---`) or the
    /// plugin configuration (JSON).
    pub output: String,
    /// What a user must know (placeholders, secrets to create, where behaviour differs), one
    /// line each.
    pub notes: Vec<String>,
    /// What was not translated, one line each, with where it came from.
    pub untranslated: Vec<String>,
    /// Set when what was not translated leaves nothing safe to write: the import fails (exit
    /// status 1) even with `--allow-partial`.
    pub refused: Option<String>,
}

/// The certificates of a PEM bundle (`label` names it in messages: `--ca`, `--ca ca.pem`),
/// split as the filter wants them: self-signed certificates are trusted CAs, the others
/// intermediates. A bundle without a self-signed certificate is the caller's to judge.
pub fn split_bundle(label: &str, pem: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let mut roots = Vec::new();
    let mut intermediates = Vec::new();
    const END: &str = "-----END CERTIFICATE-----";
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let Some(end) = rest[start..].find(END) else {
            return Err(format!("{label}: a certificate without its END line"));
        };
        let block = format!("{}\n", &rest[start..start + end + END.len()]);
        rest = &rest[start + end + END.len()..];
        let der =
            pem_to_der(block.as_bytes(), "CERTIFICATE").map_err(|e| format!("{label}: {e}"))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("{label}: a certificate does not parse: {e}"))?;
        if cert.subject().as_raw() == cert.issuer().as_raw() {
            roots.push(block);
        } else {
            intermediates.push(block);
        }
    }
    Ok((roots, intermediates))
}
