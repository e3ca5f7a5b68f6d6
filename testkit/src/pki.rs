//! Test and demo certificates, generated at run time with rcgen. Nothing here is committed key
//! material: every run makes fresh keys.

use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    CrlDistributionPoint, CrlIssuingDistributionPoint, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
    SerialNumber, SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};

/// Key algorithms the tests cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa2048,
}

impl Alg {
    pub const ALL: [Alg; 4] = [Alg::EcdsaP256, Alg::EcdsaP384, Alg::Ed25519, Alg::Rsa2048];

    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            Alg::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Alg::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Alg::Ed25519 => &rcgen::PKCS_ED25519,
            Alg::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    pub fn key(self) -> KeyPair {
        match self {
            // ring cannot generate RSA keys; the rsa crate makes one per test process.
            Alg::Rsa2048 => {
                let der = rsa_pkcs8();
                KeyPair::from_pkcs8_der_and_sign_algo(&der.as_slice().into(), self.rcgen()).unwrap()
            }
            _ => KeyPair::generate_for(self.rcgen()).unwrap(),
        }
    }
}

/// The RSA-2048 key of this test process (RSA key generation is slow; one is enough).
pub fn rsa_key() -> &'static rsa::PrivateKey {
    static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap())
}

fn rsa_pkcs8() -> Vec<u8> {
    use rsa::pkcs8::EncodePrivateKey;
    rsa_key().to_pkcs8_der().unwrap().as_bytes().to_vec()
}

/// A certificate authority that can issue leaves, intermediates and CRLs.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub alg: Alg,
}

/// An issued certificate and its private key.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

pub fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "client-cert-auth demo");
    dn
}

/// The usual CA parameters, then `adjust`.
fn adjusted(common_name: &str, adjust: impl FnOnce(&mut CertificateParams)) -> CertificateParams {
    let mut params = ca_params(name(common_name));
    adjust(&mut params);
    params
}

/// The parameters of a CA named `distinguished_name`: any path length, signs certificates and
/// CRLs, valid from yesterday for ten years.
pub fn ca_params(distinguished_name: DistinguishedName) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = distinguished_name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    params.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
    params
}

impl Ca {
    /// A self-signed ECDSA P-256 root.
    pub fn new(common_name: &str) -> Ca {
        Ca::root(common_name, Alg::EcdsaP256)
    }

    pub fn root(common_name: &str, alg: Alg) -> Ca {
        Ca::root_with(common_name, alg, |_| {})
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, common_name: &str, alg: Alg) -> Ca {
        self.intermediate_with(common_name, alg, |_| {})
    }

    /// A certificate that is *not* a CA (basicConstraints cA=false) but is used to sign:
    /// what a path validator must refuse.
    pub fn leaf_acting_as_ca(&self, common_name: &str) -> Ca {
        let mut params = ca_params(name(common_name));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        Ca {
            issuer: CertifiedIssuer::signed_by(params, Alg::EcdsaP256.key(), &self.issuer).unwrap(),
            alg: Alg::EcdsaP256,
        }
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// The CA's private key, to sign structures built by hand (CRLs with chosen extensions).
    pub fn key(&self) -> &KeyPair {
        self.issuer.key()
    }

    /// A client certificate valid over `[not_before, not_after]`.
    pub fn client_between(
        &self,
        common_name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Leaf {
        self.client_with(common_name, Alg::EcdsaP256, |p| {
            p.not_before = not_before;
            p.not_after = not_after;
        })
    }

    /// A client certificate valid from yesterday for a year.
    pub fn client(&self, common_name: &str) -> Leaf {
        self.client_with(common_name, Alg::EcdsaP256, |_| {})
    }

    /// A client certificate with clientAuth EKU, then adjusted by `adjust`.
    pub fn client_with(
        &self,
        common_name: &str,
        alg: Alg,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = name(common_name);
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(365);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        adjust(&mut params);
        self.issue(params, alg)
    }

    /// A server certificate for the given DNS names and IP addresses.
    pub fn server(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name = name("client-cert-auth demo server");
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(365);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, Alg::EcdsaP256)
    }

    fn issue(&self, params: CertificateParams, alg: Alg) -> Leaf {
        let key = alg.key();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    /// A CRL of this CA revoking the given serial numbers, valid until `next_update`.
    /// A CRL dated an hour ago, with a cRLNumber higher than any made before it in this test
    /// process: each is newer than the last, as a CA's successive CRLs are.
    pub fn crl(&self, revoked_serials: &[u64], next_update: OffsetDateTime) -> String {
        static NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let number = NUMBER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: (now - Duration::hours(1)).min(next_update - Duration::hours(1)),
            next_update,
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs: revoked_serials
                .iter()
                .map(|&serial| RevokedCertParams {
                    serial_number: SerialNumber::from(serial),
                    revocation_time: (now - Duration::hours(1))
                        .min(next_update - Duration::hours(1)),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).unwrap().pem().unwrap()
    }
}

/// A root, an intermediate it issued (P-256) and alice, a client of the intermediate: a leaf
/// that chains to the root only through the intermediate.
pub struct Chain {
    pub root: Ca,
    pub inter: Ca,
    pub leaf: Leaf,
}

impl Chain {
    pub fn new(root_name: &str, inter_name: &str) -> Chain {
        let root = Ca::new(root_name);
        let inter = root.intermediate(inter_name, Alg::EcdsaP256);
        let leaf = inter.client("alice");
        Chain { root, inter, leaf }
    }
}

/// A P-256 client certificate of `ca` with this serial number.
pub fn leaf(ca: &Ca, common_name: &str, serial: u64) -> Leaf {
    ca.client_with(common_name, Alg::EcdsaP256, |p| {
        p.serial_number = Some(SerialNumber::from(serial));
    })
}

/// Unix seconds of a time.
pub fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Builders at explicit dates and extensions, for tests that must not depend on the clock.
impl Ca {
    /// A self-signed root: the usual CA parameters (CA, keyCertSign and cRLSign), then
    /// adjusted by `adjust` (dates, key usage, basic constraints).
    pub fn root_with(
        common_name: &str,
        alg: Alg,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Ca {
        let issuer = CertifiedIssuer::self_signed(adjusted(common_name, adjust), alg.key());
        Ca {
            issuer: issuer.unwrap(),
            alg,
        }
    }

    /// A CA certificate signed by this one: the usual CA parameters, then adjusted by
    /// `adjust` (which may make it anything, even `CA:FALSE`).
    pub fn intermediate_with(
        &self,
        common_name: &str,
        alg: Alg,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Ca {
        let params = adjusted(common_name, adjust);
        let issuer = CertifiedIssuer::signed_by(params, alg.key(), &self.issuer);
        Ca {
            issuer: issuer.unwrap(),
            alg,
        }
    }

    /// A CRL of this CA with explicit dates and CRL number, revoking the given serial numbers
    /// (revoked an hour before `this_update`).
    pub fn crl_between(
        &self,
        revoked_serials: &[u64],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        crl_number: u64,
    ) -> String {
        self.crl_scoped(revoked_serials, this_update, next_update, crl_number, None)
    }

    /// [`Ca::crl_between`] as a partition: its issuingDistributionPoint names `uri` (it covers
    /// only the leaves whose CRL distribution points name it).
    pub fn crl_partition(
        &self,
        revoked_serials: &[u64],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        crl_number: u64,
        uri: &str,
    ) -> String {
        let point = CrlIssuingDistributionPoint {
            distribution_point: CrlDistributionPoint {
                uris: vec![uri.to_string()],
            },
            scope: None,
        };
        self.crl_scoped(
            revoked_serials,
            this_update,
            next_update,
            crl_number,
            Some(point),
        )
    }

    fn crl_scoped(
        &self,
        revoked_serials: &[u64],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        crl_number: u64,
        issuing_distribution_point: Option<CrlIssuingDistributionPoint>,
    ) -> String {
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point,
            revoked_certs: revoked_serials
                .iter()
                .map(|&serial| RevokedCertParams {
                    serial_number: SerialNumber::from(serial),
                    revocation_time: this_update - Duration::hours(1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer).unwrap().pem().unwrap()
    }
}

/// A certificate's DER as a PEM block (64-character lines), for certificates built or altered
/// by hand.
pub fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
