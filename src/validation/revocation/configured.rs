//! The configured (pasted) CRLs: what they are compiled to, and the status they give a leaf.

use webpki::CertRevocationList;

use super::OnlineSources;
use crate::cert::LeafCertificate;
use crate::config::RevocationFailure;
use crate::outcome::CertError;
use crate::text::rfc3339;

#[derive(Debug)]
pub(in crate::validation) struct Crl {
    pub(in crate::validation) crl: CertRevocationList<'static>,
    /// thisUpdate, Unix seconds: before it the CRL is not valid yet.
    pub(in crate::validation) this_update: i64,
    /// nextUpdate, Unix seconds (None: no nextUpdate in the CRL).
    pub(in crate::validation) next_update: Option<i64>,
    /// The issuer's name, DER.
    pub(in crate::validation) issuer: Vec<u8>,
}

/// Revocation settings: the configured CRLs and the run-time sources.
#[derive(Debug)]
pub(in crate::validation) struct Revocation {
    pub(in crate::validation) crls: Vec<Crl>,
    pub(in crate::validation) online: Option<OnlineSources>,
    pub(in crate::validation) failure: RevocationFailure,
}

/// Revocation against every configured CRL of the leaf's issuer: revoked when any of them lists
/// it, whatever their order, even one outside its validity period (a revocation is permanent;
/// an old list that names the certificate is still the CA's word); not revoked only when at
/// least one CRL valid now (between its thisUpdate and nextUpdate) vouches for it. `verify`
/// checks the path with one CRL (its signature, its issuer, its entry for the leaf), its
/// nextUpdate enforced or not. Returns until when the vouching holds (the earliest
/// `nextUpdate` of the CRLs that vouched; `None`: none did) and why not.
pub(in crate::validation) fn revocation_status(
    crls: &[Crl],
    leaf: &LeafCertificate,
    now: i64,
    verify: impl Fn(&CertRevocationList<'_>, bool) -> Result<(), webpki::Error>,
) -> Result<(Option<i64>, String), CertError> {
    let leaf_issuer = leaf.issuer_name.der();
    let mut vouched_until: Option<i64> = None;
    let mut unknown = "no CRL of the certificate's issuer is configured".to_string();
    for crl in crls.iter().filter(|crl| crl.issuer == leaf_issuer) {
        let outside = now < crl.this_update || crl.next_update.is_some_and(|next| now > next);
        if outside && verify(&crl.crl, false) == Err(webpki::Error::CertRevoked) {
            return Err(CertError::Revoked);
        }
        if now < crl.this_update {
            unknown = format!(
                "the issuer's CRL is not valid before {}",
                rfc3339::format(crl.this_update)
            );
            continue;
        }
        if let Some(next) = crl.next_update.filter(|next| now > *next) {
            unknown = format!("the issuer's CRL expired at {}", rfc3339::format(next));
            continue;
        }
        match verify(&crl.crl, true) {
            Ok(()) => {
                let until = crl.next_update.unwrap_or(i64::MAX);
                vouched_until = Some(vouched_until.map_or(until, |v| v.min(until)));
            }
            Err(webpki::Error::CertRevoked) => return Err(CertError::Revoked),
            Err(e) => unknown = format!("{e:?}"),
        }
    }
    Ok((vouched_until, unknown))
}
