//! Differential test: the dry-run CLI (`client-cert-auth check`, the filter's own core) against
//! `openssl verify -purpose sslclient` over generated certificate paths that vary dates, key
//! usage, extended key usage, basic constraints, path length and CRLs.
//!
//! Every case is judged by both at the same fixed time (`--at` / `-attime`), so the verdicts do
//! not depend on the clock. The two must agree on every case except those in
//! [`KNOWN_DIFFERENCES`]; a case listed there must still differ, so fixing a difference without
//! removing its entry fails the test too. Needs `openssl` on PATH (`apt-get install openssl`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::io::ErrorKind;
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose as Eku, IsCa,
    KeyUsagePurpose as Ku, SerialNumber,
};
use serde_json::{Value, json};
use testkit::envoy::TempDir;
use testkit::openssl::openssl;
use testkit::pki::{Alg, Ca};
use time::{Duration, OffsetDateTime};

/// The cases where the filter and OpenSSL are known to disagree, and why. A reason starts with
/// `deliberate:` (the filter differs on purpose and stays so) or `issue 11 item N:` (a gap
/// issue 11 asks to close; whoever closes it removes the entry).
const KNOWN_DIFFERENCES: &[(&str /* case name */, &str /* reason */)] = &[
    (
        "leaf CA:TRUE with digitalSignature and clientAuth",
        "deliberate: a CA certificate presented as the client certificate is refused \
         (webpki CaUsedAsEndEntity; issue 11 item 8 keeps it refused); OpenSSL's sslclient \
         purpose does not look at the leaf's basic constraints",
    ),
    (
        "leaf notAfter is the check time",
        "deliberate: RFC 5280 4.1.2.5 makes the validity period inclusive and the README \
         documents inclusive bounds to the second; OpenSSL's X509_cmp_time counts a notAfter \
         equal to the check time as expired",
    ),
];

/// The time every case is judged at: 2030-06-01T00:00:00Z.
const CHECK_TIME: i64 = 1_906_502_400;
const CHECK_TIME_RFC3339: &str = "2030-06-01T00:00:00Z";

/// The leaf's serial number, and another one that CRLs list besides it.
const LEAF_SERIAL: u64 = 0x1001;
const OTHER_SERIAL: u64 = 0x2002;

fn check_time() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(CHECK_TIME).unwrap()
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A certificate's validity period relative to the check time.
#[derive(Clone, Copy, Debug)]
enum Dates {
    Valid,
    Expired,
    NotYetValid,
    NotBeforeIsCheckTime,
    NotAfterIsCheckTime,
}

impl Dates {
    fn apply(self, p: &mut CertificateParams) {
        let t = check_time();
        (p.not_before, p.not_after) = match self {
            Dates::Valid => (t - days(30), t + days(335)),
            Dates::Expired => (t - days(365), t - days(1)),
            Dates::NotYetValid => (t + days(1), t + days(365)),
            Dates::NotBeforeIsCheckTime => (t, t + days(365)),
            Dates::NotAfterIsCheckTime => (t - days(365), t),
        };
    }
}

/// The leaf's keyUsage extension.
#[derive(Clone, Copy, Debug)]
enum LeafKu {
    Absent,
    DigitalSignature,
    DigitalSignatureAndKeyEncipherment,
    KeyAgreement,
    KeyEnciphermentOnly,
    KeyCertSignOnly,
    /// digitalSignature, keyCertSign and cRLSign (for a leaf that is a CA certificate).
    DigitalSignatureAndCa,
    /// keyCertSign and cRLSign (a plain CA certificate).
    CaOnly,
}

impl LeafKu {
    fn usages(self) -> &'static [Ku] {
        match self {
            LeafKu::Absent => &[],
            LeafKu::DigitalSignature => &[Ku::DigitalSignature],
            LeafKu::DigitalSignatureAndKeyEncipherment => {
                &[Ku::DigitalSignature, Ku::KeyEncipherment]
            }
            LeafKu::KeyAgreement => &[Ku::KeyAgreement],
            LeafKu::KeyEnciphermentOnly => &[Ku::KeyEncipherment],
            LeafKu::KeyCertSignOnly => &[Ku::KeyCertSign],
            LeafKu::DigitalSignatureAndCa => &[Ku::DigitalSignature, Ku::KeyCertSign, Ku::CrlSign],
            LeafKu::CaOnly => &[Ku::KeyCertSign, Ku::CrlSign],
        }
    }
}

/// The leaf's extendedKeyUsage extension.
#[derive(Clone, Copy, Debug)]
enum LeafEku {
    Absent,
    ClientAuth,
    ServerAuthOnly,
    AnyOnly,
    ClientAndServerAuth,
}

impl LeafEku {
    fn purposes(self) -> Vec<Eku> {
        match self {
            LeafEku::Absent => vec![],
            LeafEku::ClientAuth => vec![Eku::ClientAuth],
            LeafEku::ServerAuthOnly => vec![Eku::ServerAuth],
            LeafEku::AnyOnly => vec![Eku::Any],
            LeafEku::ClientAndServerAuth => vec![Eku::ClientAuth, Eku::ServerAuth],
        }
    }
}

/// A basicConstraints extension.
#[derive(Clone, Copy, Debug)]
enum Bc {
    /// No extension.
    Absent,
    /// CA:FALSE.
    NotCa,
    /// CA:TRUE with an optional pathLenConstraint.
    Ca(Option<u8>),
}

impl Bc {
    fn is_ca(self) -> IsCa {
        match self {
            Bc::Absent => IsCa::NoCa,
            Bc::NotCa => IsCa::ExplicitNoCa,
            Bc::Ca(None) => IsCa::Ca(BasicConstraints::Unconstrained),
            Bc::Ca(Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n)),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct LeafSpec {
    dates: Dates,
    ku: LeafKu,
    eku: LeafEku,
    bc: Bc,
}

/// The keyUsage extension of a CA certificate in the path.
#[derive(Clone, Copy, Debug)]
enum CaKu {
    /// keyCertSign and cRLSign.
    CertAndCrlSign,
    /// digitalSignature and cRLSign: no keyCertSign.
    NoKeyCertSign,
    Absent,
}

/// A CA certificate between the root and the leaf.
#[derive(Clone, Copy, Debug)]
struct CaSpec {
    dates: Dates,
    ku: CaKu,
    bc: Bc,
}

impl CaSpec {
    fn apply(self, p: &mut CertificateParams) {
        self.dates.apply(p);
        p.is_ca = self.bc.is_ca();
        p.key_usages = match self.ku {
            CaKu::CertAndCrlSign => vec![Ku::KeyCertSign, Ku::CrlSign],
            CaKu::NoKeyCertSign => vec![Ku::DigitalSignature, Ku::CrlSign],
            CaKu::Absent => vec![],
        };
    }
}

/// Which CRLs the configuration (and `-CRLfile`) holds; `Off` turns the revocation check off.
/// "Current" CRLs were issued a day before the check time and expire a week after it.
#[derive(Clone, Copy, Debug)]
enum Revocation {
    Off,
    /// One current CRL of the leaf's issuer that lists another serial only.
    NotRevoked,
    /// One current CRL of the leaf's issuer that lists the leaf.
    Revoked,
    /// The issuer's only CRL expired a day before the check time.
    Expired,
    /// The issuer's only CRL has its nextUpdate at the check time.
    NextUpdateIsCheckTime,
    /// Two current CRLs of the issuer: the older one (listed first) does not list the leaf,
    /// the newer one does.
    OlderFirstNewerRevokes,
    /// The same two, the newer (revoking) one listed first.
    NewerFirstNewerRevokes,
    /// An expired CRL of the issuer listed before a current one; neither lists the leaf.
    ExpiredThenCurrent,
    /// The same two, the current one listed first.
    CurrentThenExpired,
    /// Only a current CRL of the root, for a leaf issued by an intermediate.
    RootOnly,
    /// The issuer's only CRL is not valid yet: its thisUpdate is a day after the check time.
    NotYetValid,
    /// The issuer's only CRL is a partition (issuingDistributionPoint) for another distribution
    /// point than the leaf's: it does not cover the leaf, and lists another serial only.
    PartitionElsewhere,
    /// A partition for the leaf's own distribution point, listing another serial only.
    PartitionCovering,
    /// A partition for the leaf's own distribution point that lists the leaf.
    PartitionCoveringRevoked,
    /// The leaf's issuer's partition for its distribution point, and another for elsewhere
    /// that lists the leaf.
    PartitionCoveringAndOneElsewhereListing,
    /// A current CRL of another CA with the issuer's name, listing another serial only.
    NamesakeCaOnly,
    /// A current CRL of another, unrelated CA.
    OtherCaOnly,
}

/// The leaf's CRL distribution point, and another shard's.
const LEAF_CDP: &str = "http://crl.differential.test/shard-1.crl";
const OTHER_CDP: &str = "http://crl.differential.test/shard-2.crl";

/// Where the intermediates reach the two verifiers. OpenSSL always gets them with `-untrusted`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Chain {
    /// `intermediateCertificates` in the configuration.
    Configured,
    /// Presented with the certificate (`--chain`).
    Presented,
    /// Neither: the path cannot be built.
    Withheld,
}

struct Case {
    name: &'static str,
    /// The trust anchor (self-signed, given to OpenSSL with `-CAfile`).
    root: CaSpec,
    /// The CA certificates between the root and the leaf, the root's side first.
    path: &'static [CaSpec],
    leaf: LeafSpec,
    revocation: Revocation,
    chain: Chain,
    /// What OpenSSL answers (the reference): a guard against a harness in which everything
    /// fails (or passes) for an unrelated reason.
    openssl_accepts: bool,
}

const LEAF: LeafSpec = LeafSpec {
    dates: Dates::Valid,
    ku: LeafKu::DigitalSignature,
    eku: LeafEku::ClientAuth,
    bc: Bc::Absent,
};

/// An expired leaf, and one for servers only (each varied twice).
const EXPIRED_LEAF: LeafSpec = LeafSpec {
    dates: Dates::Expired,
    ..LEAF
};
const SERVER_AUTH_LEAF: LeafSpec = LeafSpec {
    eku: LeafEku::ServerAuthOnly,
    ..LEAF
};

const CA: CaSpec = CaSpec {
    dates: Dates::Valid,
    ku: CaKu::CertAndCrlSign,
    bc: Bc::Ca(None),
};

/// The usual shape: root, one intermediate, a client leaf, intermediates configured, no CRLs.
const BASE: Case = Case {
    name: "",
    root: CA,
    path: &[CA],
    leaf: LEAF,
    revocation: Revocation::Off,
    chain: Chain::Configured,
    openssl_accepts: true,
};

/// The generated variations, one dimension at a time from [`BASE`] (plus the path shapes).
const CASES: &[Case] = &[
    // Path shapes.
    Case {
        name: "root issues the leaf directly",
        path: &[],
        ..BASE
    },
    Case {
        name: "one intermediate",
        ..BASE
    },
    Case {
        name: "two intermediates",
        path: &[CA, CA],
        ..BASE
    },
    Case {
        name: "one intermediate presented with --chain",
        chain: Chain::Presented,
        ..BASE
    },
    Case {
        name: "two intermediates presented with --chain",
        path: &[CA, CA],
        chain: Chain::Presented,
        ..BASE
    },
    Case {
        name: "intermediate neither configured nor presented",
        chain: Chain::Withheld,
        openssl_accepts: false,
        ..BASE
    },
    // Leaf dates.
    Case {
        name: "leaf expired",
        leaf: EXPIRED_LEAF,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "leaf not yet valid",
        leaf: LeafSpec {
            dates: Dates::NotYetValid,
            ..LEAF
        },
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "leaf notBefore is the check time",
        leaf: LeafSpec {
            dates: Dates::NotBeforeIsCheckTime,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf notAfter is the check time",
        leaf: LeafSpec {
            dates: Dates::NotAfterIsCheckTime,
            ..LEAF
        },
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "leaf expired, issued by the root",
        path: &[],
        leaf: EXPIRED_LEAF,
        openssl_accepts: false,
        ..BASE
    },
    // Leaf key usage.
    Case {
        name: "leaf keyUsage absent",
        leaf: LeafSpec {
            ku: LeafKu::Absent,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf keyUsage digitalSignature and keyEncipherment",
        leaf: LeafSpec {
            ku: LeafKu::DigitalSignatureAndKeyEncipherment,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf keyUsage keyAgreement only",
        leaf: LeafSpec {
            ku: LeafKu::KeyAgreement,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf keyUsage keyEncipherment only",
        leaf: LeafSpec {
            ku: LeafKu::KeyEnciphermentOnly,
            ..LEAF
        },
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "leaf keyUsage keyCertSign only",
        leaf: LeafSpec {
            ku: LeafKu::KeyCertSignOnly,
            ..LEAF
        },
        openssl_accepts: false,
        ..BASE
    },
    // Leaf extended key usage.
    Case {
        name: "leaf EKU absent",
        leaf: LeafSpec {
            eku: LeafEku::Absent,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf EKU serverAuth only",
        leaf: SERVER_AUTH_LEAF,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "leaf EKU anyExtendedKeyUsage only",
        leaf: LeafSpec {
            eku: LeafEku::AnyOnly,
            ..LEAF
        },
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "leaf EKU clientAuth and serverAuth",
        leaf: LeafSpec {
            eku: LeafEku::ClientAndServerAuth,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf EKU serverAuth only, issued by the root",
        path: &[],
        leaf: SERVER_AUTH_LEAF,
        openssl_accepts: false,
        ..BASE
    },
    // Leaf basic constraints.
    Case {
        name: "leaf CA:FALSE",
        leaf: LeafSpec {
            bc: Bc::NotCa,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf CA:TRUE with digitalSignature and clientAuth",
        leaf: LeafSpec {
            bc: Bc::Ca(None),
            ku: LeafKu::DigitalSignatureAndCa,
            ..LEAF
        },
        ..BASE
    },
    Case {
        name: "leaf CA:TRUE with keyCertSign and cRLSign only, no EKU",
        leaf: LeafSpec {
            bc: Bc::Ca(None),
            ku: LeafKu::CaOnly,
            eku: LeafEku::Absent,
            ..LEAF
        },
        openssl_accepts: false,
        ..BASE
    },
    // The CA certificates of the path.
    Case {
        name: "intermediate keyUsage without keyCertSign",
        path: &[CaSpec {
            ku: CaKu::NoKeyCertSign,
            ..CA
        }],
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "intermediate keyUsage absent",
        path: &[CaSpec {
            ku: CaKu::Absent,
            ..CA
        }],
        ..BASE
    },
    Case {
        name: "intermediate CA:FALSE",
        path: &[CaSpec {
            bc: Bc::NotCa,
            ..CA
        }],
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "intermediate pathLen 0 issues the leaf",
        path: &[CaSpec {
            bc: Bc::Ca(Some(0)),
            ..CA
        }],
        ..BASE
    },
    Case {
        name: "intermediate pathLen 0 followed by another intermediate",
        path: &[
            CaSpec {
                bc: Bc::Ca(Some(0)),
                ..CA
            },
            CA,
        ],
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "intermediate pathLen 1 followed by another intermediate",
        path: &[
            CaSpec {
                bc: Bc::Ca(Some(1)),
                ..CA
            },
            CA,
        ],
        ..BASE
    },
    Case {
        name: "intermediate expired",
        path: &[CaSpec {
            dates: Dates::Expired,
            ..CA
        }],
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "intermediate not yet valid",
        path: &[CaSpec {
            dates: Dates::NotYetValid,
            ..CA
        }],
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "the root's side of two intermediates expired",
        path: &[
            CaSpec {
                dates: Dates::Expired,
                ..CA
            },
            CA,
        ],
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "intermediate without basicConstraints",
        path: &[CaSpec {
            bc: Bc::Absent,
            ..CA
        }],
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "root expired",
        root: CaSpec {
            dates: Dates::Expired,
            ..CA
        },
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "root keyUsage without keyCertSign",
        root: CaSpec {
            ku: CaKu::NoKeyCertSign,
            ..CA
        },
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "root pathLen 0 above an intermediate",
        root: CaSpec {
            bc: Bc::Ca(Some(0)),
            ..CA
        },
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "root pathLen 1 above an intermediate",
        root: CaSpec {
            bc: Bc::Ca(Some(1)),
            ..CA
        },
        ..BASE
    },
    // CRLs (OpenSSL's -crl_check: the leaf against its issuer's CRL).
    Case {
        name: "CRL: the issuer's only CRL is not valid yet",
        revocation: Revocation::NotYetValid,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: leaf not revoked",
        revocation: Revocation::NotRevoked,
        ..BASE
    },
    Case {
        name: "CRL: leaf revoked",
        revocation: Revocation::Revoked,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: leaf revoked, issued by the root",
        path: &[],
        revocation: Revocation::Revoked,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: leaf revoked, intermediate presented with --chain",
        revocation: Revocation::Revoked,
        chain: Chain::Presented,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: expired at the check time",
        revocation: Revocation::Expired,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: nextUpdate is the check time",
        revocation: Revocation::NextUpdateIsCheckTime,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: two from the issuer, the older listed first, only the newer revokes",
        revocation: Revocation::OlderFirstNewerRevokes,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: two from the issuer, the newer (revoking) one listed first",
        revocation: Revocation::NewerFirstNewerRevokes,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: an expired one listed before a current one",
        revocation: Revocation::ExpiredThenCurrent,
        ..BASE
    },
    Case {
        name: "CRL: a current one listed before an expired one",
        revocation: Revocation::CurrentThenExpired,
        ..BASE
    },
    // Partitioned CRLs and CRLs of the wrong issuer (issue 20).
    Case {
        name: "CRL: the issuer's only CRL is a partition for another distribution point",
        revocation: Revocation::PartitionElsewhere,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: a partition for the leaf's distribution point, leaf not listed",
        revocation: Revocation::PartitionCovering,
        ..BASE
    },
    Case {
        name: "CRL: a partition for the leaf's distribution point lists the leaf",
        revocation: Revocation::PartitionCoveringRevoked,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: the leaf's partition, and another partition that lists the leaf",
        revocation: Revocation::PartitionCoveringAndOneElsewhereListing,
        openssl_accepts: true,
        ..BASE
    },
    Case {
        name: "CRL: only one of a namesake CA with another key",
        revocation: Revocation::NamesakeCaOnly,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: only one of an unrelated CA",
        revocation: Revocation::OtherCaOnly,
        openssl_accepts: false,
        ..BASE
    },
    Case {
        name: "CRL: only the root's, none from the leaf's issuer",
        revocation: Revocation::RootOnly,
        openssl_accepts: false,
        ..BASE
    },
];

/// The PEM material of one case.
struct Material {
    root: String,
    /// The intermediates, the leaf's side first.
    intermediates: Vec<String>,
    leaf: String,
    crls: Option<Vec<String>>,
}

fn build(case: &Case) -> Material {
    let t = check_time();
    let alg = Alg::EcdsaP256;
    let root = Ca::root_with("differential root", alg, |p| case.root.apply(p));
    let mut cas: Vec<Ca> = Vec::new();
    for (i, spec) in case.path.iter().enumerate() {
        let parent = cas.last().unwrap_or(&root);
        let ca = parent.intermediate_with(&format!("differential CA {}", i + 1), alg, |p| {
            spec.apply(p);
        });
        cas.push(ca);
    }
    let issuer = cas.last().unwrap_or(&root);
    let leaf = issuer.client_with("differential client", alg, |p| {
        case.leaf.dates.apply(p);
        p.serial_number = Some(SerialNumber::from(LEAF_SERIAL));
        p.key_usages = case.leaf.ku.usages().to_vec();
        p.extended_key_usages = case.leaf.eku.purposes();
        p.is_ca = case.leaf.bc.is_ca();
        p.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
            uris: vec![LEAF_CDP.to_string()],
        }];
    });
    let shard = |uri: &str, revoked: &[u64]| {
        issuer.crl_partition(revoked, t - days(1), t + days(7), 2, uri)
    };
    let current = |ca: &Ca, revoked: &[u64]| ca.crl_between(revoked, t - days(1), t + days(7), 2);
    let older = issuer.crl_between(&[OTHER_SERIAL], t - days(3), t + days(4), 1);
    let expired = issuer.crl_between(&[OTHER_SERIAL], t - days(10), t - days(1), 1);
    let crls = match case.revocation {
        Revocation::Off => None,
        Revocation::NotRevoked => Some(vec![current(issuer, &[OTHER_SERIAL])]),
        Revocation::Revoked => Some(vec![current(issuer, &[OTHER_SERIAL, LEAF_SERIAL])]),
        Revocation::Expired => Some(vec![expired]),
        Revocation::NextUpdateIsCheckTime => {
            Some(vec![issuer.crl_between(&[OTHER_SERIAL], t - days(7), t, 1)])
        }
        Revocation::OlderFirstNewerRevokes => {
            Some(vec![older, current(issuer, &[OTHER_SERIAL, LEAF_SERIAL])])
        }
        Revocation::NewerFirstNewerRevokes => {
            Some(vec![current(issuer, &[OTHER_SERIAL, LEAF_SERIAL]), older])
        }
        Revocation::ExpiredThenCurrent => Some(vec![expired, current(issuer, &[OTHER_SERIAL])]),
        Revocation::CurrentThenExpired => Some(vec![current(issuer, &[OTHER_SERIAL]), expired]),
        Revocation::NotYetValid => Some(vec![issuer.crl_between(
            &[OTHER_SERIAL],
            t + days(1),
            t + days(8),
            1,
        )]),
        Revocation::PartitionElsewhere => Some(vec![shard(OTHER_CDP, &[OTHER_SERIAL])]),
        Revocation::PartitionCovering => Some(vec![shard(LEAF_CDP, &[OTHER_SERIAL])]),
        Revocation::PartitionCoveringRevoked => {
            Some(vec![shard(LEAF_CDP, &[OTHER_SERIAL, LEAF_SERIAL])])
        }
        Revocation::PartitionCoveringAndOneElsewhereListing => Some(vec![
            shard(LEAF_CDP, &[OTHER_SERIAL]),
            shard(OTHER_CDP, &[LEAF_SERIAL]),
        ]),
        Revocation::NamesakeCaOnly => {
            let namesake = Ca::root_with(&format!("differential CA {}", cas.len()), alg, |p| {
                CA.apply(p)
            });
            Some(vec![current(&namesake, &[OTHER_SERIAL])])
        }
        Revocation::OtherCaOnly => {
            let other = Ca::root_with("unrelated CA", alg, |p| CA.apply(p));
            Some(vec![current(&other, &[OTHER_SERIAL])])
        }
        Revocation::RootOnly => {
            assert!(
                !cas.is_empty(),
                "{}: RootOnly needs an intermediate",
                case.name
            );
            Some(vec![current(&root, &[])])
        }
    };
    Material {
        root: root.cert_pem(),
        intermediates: cas.iter().rev().map(Ca::cert_pem).collect(),
        leaf: leaf.cert_pem,
        crls,
    }
}

/// One verifier's answer.
struct Verdict {
    accepted: bool,
    /// The filter's reason, or OpenSSL's error lines.
    detail: String,
}

fn run_cli(dir: &TempDir, case: &Case, m: &Material) -> Verdict {
    let mut validation = json!({
        "validateTrust": true,
        "trustedCaCertificates": [m.root],
    });
    if case.chain == Chain::Configured {
        validation["intermediateCertificates"] = json!(m.intermediates);
    }
    if let Some(crls) = &m.crls {
        validation["validateRevocation"] = json!(true);
        validation["crls"] = json!(crls);
    }
    let config = dir.write(
        "config.json",
        &json!({"clientCertMode": "Required", "validation": validation}).to_string(),
    );
    let leaf = dir.write("leaf.pem", &m.leaf);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_client-cert-auth"));
    cmd.arg("check")
        .arg("--config")
        .arg(&config)
        .arg("--cert")
        .arg(&leaf)
        .args(["--at", CHECK_TIME_RFC3339, "--json"]);
    if case.chain == Chain::Presented {
        cmd.arg("--chain")
            .arg(dir.write("presented.pem", &m.intermediates.concat()));
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{}: client-cert-auth check exited with {code:?}: {}{}",
        case.name,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{}: --json output {stdout:?}: {e}", case.name));
    let detail = match (&v["decision"], &v["reason"]) {
        (Value::String(d), Value::String(r)) => format!("{d}: {r}"),
        (Value::String(d), _) => d.clone(),
        _ => v.to_string(),
    };
    Verdict {
        accepted: code == Some(0),
        detail,
    }
}

fn run_openssl(dir: &TempDir, case: &Case, m: &Material) -> Verdict {
    let mut cmd = Command::new("openssl");
    cmd.args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(dir.write("root.pem", &m.root));
    if !m.intermediates.is_empty() && case.chain != Chain::Withheld {
        cmd.arg("-untrusted")
            .arg(dir.write("untrusted.pem", &m.intermediates.concat()));
    }
    if let Some(crls) = &m.crls {
        cmd.arg("-crl_check")
            .arg("-CRLfile")
            .arg(dir.write("crls.pem", &crls.concat()));
    }
    cmd.args(["-attime", &CHECK_TIME.to_string()])
        .arg(dir.write("leaf.pem", &m.leaf));
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 2)),
        "{}: openssl verify exited with {code:?}: {stdout}{stderr}",
        case.name
    );
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("depth lookup:"))
        .map(str::trim)
        .collect();
    let detail = if code == Some(0) {
        "OK".to_string()
    } else if errors.is_empty() {
        stderr.trim().replace('\n', " / ")
    } else {
        errors.join("; ")
    };
    Verdict {
        accepted: code == Some(0),
        detail,
    }
}

fn require_openssl() {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`openssl version` failed ({}): this test needs a working OpenSSL command line \
             tool; install it (apt-get install openssl)",
            out.status
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "openssl is not on PATH: this differential test compares the filter with \
             `openssl verify` and does not skip; install it (apt-get install openssl)"
        ),
        Err(e) => panic!("cannot run openssl ({e}); install it (apt-get install openssl)"),
    }
}

fn verdict_word(accepted: bool) -> &'static str {
    if accepted { "accept" } else { "deny" }
}

#[test]
fn the_cli_agrees_with_openssl_verify_sslclient() {
    require_openssl();

    // The table itself: unique names, every known difference names a case, reasons classified.
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "case names must be unique");
    for (name, reason) in KNOWN_DIFFERENCES {
        assert!(
            CASES.iter().any(|c| c.name == *name),
            "KNOWN_DIFFERENCES names {name:?}, which is not a case"
        );
        assert!(
            reason.starts_with("deliberate:") || reason.starts_with("issue 11 item "),
            "the reason for {name:?} must start with \"deliberate:\" or \"issue 11 item N:\""
        );
    }

    let scratch = TempDir::new("openssl-diff");
    let mut table = String::new();
    let mut problems: Vec<String> = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let dir = TempDir(scratch.0.join(format!("case-{i:02}")));
        std::fs::create_dir_all(&dir.0).unwrap();
        let material = build(case);
        let filter = run_cli(&dir, case, &material);
        let openssl = run_openssl(&dir, case, &material);
        let known = KNOWN_DIFFERENCES.iter().find(|(n, _)| *n == case.name);
        let agree = filter.accepted == openssl.accepted;
        let mark = match (agree, known) {
            (true, None) => "agree",
            (false, Some(_)) => "known difference",
            (false, None) => {
                problems.push(format!(
                    "{:?}: the filter says {} and openssl says {}, and the case is not in \
                     KNOWN_DIFFERENCES",
                    case.name,
                    verdict_word(filter.accepted),
                    verdict_word(openssl.accepted)
                ));
                "DIFFER"
            }
            (true, Some((_, reason))) => {
                problems.push(format!(
                    "{:?}: the filter and openssl now agree ({}); the difference is fixed, \
                     remove its KNOWN_DIFFERENCES entry ({reason})",
                    case.name,
                    verdict_word(filter.accepted)
                ));
                "AGREE, but listed"
            }
        };
        if openssl.accepted != case.openssl_accepts {
            problems.push(format!(
                "{:?}: openssl says {} where the table expects {}: the harness or the openssl \
                 version behaves unlike the table assumes",
                case.name,
                verdict_word(openssl.accepted),
                verdict_word(case.openssl_accepts)
            ));
        }
        writeln!(
            table,
            "{:<74} {:<17} filter {:<6} openssl {:<6}\n    filter:  {}\n    openssl: {}",
            case.name,
            mark,
            verdict_word(filter.accepted),
            verdict_word(openssl.accepted),
            filter.detail,
            openssl.detail
        )
        .unwrap();
    }
    eprintln!("checked at {CHECK_TIME_RFC3339}\n{table}");
    assert!(
        problems.is_empty(),
        "{}\n\nall cases (checked at {CHECK_TIME_RFC3339}):\n{table}",
        problems.join("\n")
    );
}

/// `ssl-client-subject-dn` (the ingressNginx preset) is exactly what nginx forwards, OpenSSL's
/// `-nameopt RFC2253` print of the subject: for multi-valued RDNs (OpenSSL reverses the
/// attributes inside one too), escapes, UTF-8 and a comma inside a value.
#[test]
fn the_ingress_nginx_subject_header_is_openssls_rfc2253_print() {
    let dir = TempDir::new("rfc2253");
    let config = testkit::core::config(json!({"forward": {"preset": "ingressNginx"}}));
    let subjects = [
        "/O=Org/CN=alice+OU=admins",
        "/O=Org/OU=evil+CN=alice",
        "/DC=test/O=Contoso, Ltd/OU=a=b+OU= lead/CN=Jos\u{e9} #1 ",
        "/C=US/ST=CA/CN=x+UID=u1+serialNumber=42",
        "/CN=admin\\,O=Trusted",
        "/CN=#hash/emailAddress=a@b.test",
    ];
    for (i, subject) in subjects.iter().enumerate() {
        let (key, cert) = (format!("k{i}.pem"), format!("c{i}.pem"));
        openssl(
            &dir.0,
            &[
                "req",
                "-new",
                "-x509",
                "-utf8",
                "-multivalue-rdn",
                "-nodes",
                "-days",
                "1",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-subj",
                subject,
                "-keyout",
                &key,
                "-out",
                &cert,
            ],
        );
        let printed = openssl(
            &dir.0,
            &[
                "x509", "-in", &cert, "-noout", "-subject", "-nameopt", "RFC2253",
            ],
        );
        let expected = printed
            .trim_end()
            .strip_prefix("subject=")
            .unwrap()
            .to_string();
        let pem = std::fs::read_to_string(dir.0.join(&cert)).unwrap();
        let outcome = testkit::core::run_at(&config, "/", Some(&pem), testkit::core::now());
        assert_eq!(
            outcome.decision.header("ssl-client-subject-dn"),
            Some(expected.as_str()),
            "{subject}"
        );
    }
}
