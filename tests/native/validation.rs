//! APIM-grade validation: trust chains for every key type, CA and EKU rules, revocation,
//! identities, date policy, and the configuration errors around them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::CertError;
use client_cert_auth::ValidationConfigError;
use client_cert_auth::{Config, ConfigError};
use client_cert_auth::{Decision, DenyReason};
use rcgen::{ExtendedKeyUsagePurpose, SanType, SerialNumber};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use testkit::core::{now, run_at};
use testkit::pki::{Alg, Ca, Leaf};
use time::{Duration, OffsetDateTime};

fn config(validation: Value) -> Config {
    let json = json!({"clientCertMode": "Required", "validation": validation});
    Config::from_json(json.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn config_error(validation: Value) -> ConfigError {
    let json = json!({"validation": validation});
    Config::from_json(json.to_string().as_bytes()).unwrap_err()
}

/// Ok when the filter would forward the certificate, the reason when it denies it.
fn judge(config: &Config, leaf: &Leaf, at: i64) -> Result<(), CertError> {
    match run_at(config, "/", Some(&leaf.cert_pem), at).decision {
        Decision::Forward { .. } => Ok(()),
        Decision::Deny(DenyReason::CertificateInvalid(e)) => Err(e),
        other => panic!("unexpected {other:?}"),
    }
}

fn trust(cas: &[&Ca], intermediates: &[&Ca]) -> Value {
    json!({
        "validateTrust": true,
        "trustedCaCertificates": cas.iter().map(|c| c.cert_pem()).collect::<Vec<_>>(),
        "intermediateCertificates": intermediates.iter().map(|c| c.cert_pem()).collect::<Vec<_>>(),
    })
}

fn is_untrusted(r: &Result<(), CertError>) -> bool {
    matches!(r, Err(CertError::Untrusted { .. }))
}

#[test]
fn chains_of_every_key_type_verify_through_an_intermediate() {
    for alg in Alg::ALL {
        let root = Ca::root("root", alg);
        let inter = root.intermediate("issuing", alg);
        let leaf = inter.client_with("alice", alg, |_| {});
        let with_intermediate = config(trust(&[&root], &[&inter]));
        assert_eq!(judge(&with_intermediate, &leaf, now()), Ok(()), "{alg:?}");
        // Without the intermediate there is no path.
        let without = config(trust(&[&root], &[]));
        assert!(
            is_untrusted(&judge(&without, &leaf, now())),
            "{alg:?} without intermediate"
        );
        // The intermediate itself is not a trust anchor.
        let only_intermediate = config(trust(&[&inter], &[]));
        assert_eq!(
            judge(&only_intermediate, &leaf, now()),
            Ok(()),
            "{alg:?} anchored at the issuing CA"
        );
    }
    // Mixed key types along one path.
    let root = Ca::root("root", Alg::Rsa2048);
    let inter = root.intermediate("issuing", Alg::EcdsaP384);
    let leaf = inter.client_with("bob", Alg::Ed25519, |_| {});
    assert_eq!(
        judge(&config(trust(&[&root], &[&inter])), &leaf, now()),
        Ok(())
    );
}

#[test]
fn untrusted_and_look_alike_issuers_are_rejected() {
    let root = Ca::new("Contoso Root");
    let other = Ca::new("Other Root");
    let look_alike = Ca::new("Contoso Root"); // same subject, different key
    let cfg = config(trust(&[&root], &[]));
    assert!(is_untrusted(&judge(&cfg, &other.client("x"), now())));
    assert!(is_untrusted(&judge(&cfg, &look_alike.client("x"), now())));
    assert_eq!(judge(&cfg, &root.client("x"), now()), Ok(()));
}

#[test]
fn a_ca_certificate_presented_as_a_leaf_fails_and_a_leaf_cannot_sign() {
    let root = Ca::new("root");
    let inter = root.intermediate("issuing", Alg::EcdsaP256);
    let cfg = config(trust(&[&root], &[]));
    let ca_as_leaf = Leaf {
        cert_pem: inter.cert_pem(),
        key_pem: String::new(),
        der: inter.der(),
    };
    assert!(is_untrusted(&judge(&cfg, &ca_as_leaf, now())), "CA as leaf");

    // A leaf (not a CA) used as the issuer of another certificate.
    let fake_ca = root.leaf_acting_as_ca("leaf-as-ca");
    let child = fake_ca.client("child");
    let cfg = config(trust(&[&root], &[&fake_ca]));
    assert!(is_untrusted(&judge(&cfg, &child, now())), "leaf used as CA");
}

#[test]
fn extended_key_usage_follows_rfc_5280_with_trust_and_is_required_on_request() {
    let root = Ca::new("root");
    let server_only = root.client_with("srv", Alg::EcdsaP256, |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    });
    let no_eku = root.client_with("plain", Alg::EcdsaP256, |p| p.extended_key_usages = vec![]);
    let client = root.client("alice");
    let trusted = config(trust(&[&root], &[]));
    assert!(
        matches!(
            judge(&trusted, &server_only, now()),
            Err(CertError::WrongUsage { .. })
        ),
        "EKU present without clientAuth fails the path check"
    );
    assert_eq!(
        judge(&trusted, &no_eku, now()),
        Ok(()),
        "no EKU extension: any usage"
    );
    assert_eq!(judge(&trusted, &client, now()), Ok(()));

    let required = config(json!({"requireClientAuthEku": true}));
    assert!(matches!(
        judge(&required, &no_eku, now()),
        Err(CertError::WrongUsage { .. })
    ));
    assert!(matches!(
        judge(&required, &server_only, now()),
        Err(CertError::WrongUsage { .. })
    ));
    assert_eq!(
        judge(&required, &client, now()),
        Ok(()),
        "without validateTrust too"
    );

    let neither = config(json!({}));
    assert_eq!(
        judge(&neither, &server_only, now()),
        Ok(()),
        "Azure parity: usage unchecked"
    );

    // anyExtendedKeyUsage alone does not make a client, with or without the trust check.
    let any = root.client_with("any", Alg::EcdsaP256, |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Any];
    });
    let any_and_client = root.client_with("any+client", Alg::EcdsaP256, |p| {
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::Any,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
    });
    let trusted_and_required = {
        let mut v = trust(&[&root], &[]);
        v["requireClientAuthEku"] = json!(true);
        config(v)
    };
    for cfg in [&trusted, &required, &trusted_and_required] {
        assert!(
            matches!(judge(cfg, &any, now()), Err(CertError::WrongUsage { .. })),
            "anyExtendedKeyUsage alone"
        );
        assert_eq!(judge(cfg, &any_and_client, now()), Ok(()));
    }
    assert_eq!(judge(&neither, &any, now()), Ok(()), "Azure parity");
}

fn with_serial(ca: &Ca, serial: u64) -> Leaf {
    ca.client_with(&format!("serial-{serial}"), Alg::EcdsaP256, |p| {
        p.serial_number = Some(SerialNumber::from(serial));
    })
}

fn revocation(root: &Ca, intermediates: &[&Ca], crls: &[String]) -> Config {
    let mut v = trust(&[root], intermediates);
    v["validateRevocation"] = json!(true);
    v["crls"] = json!(crls);
    config(v)
}

#[test]
fn revoked_certificates_are_rejected_and_unknown_status_fails_closed() {
    let root = Ca::new("root");
    let later = OffsetDateTime::now_utc() + Duration::days(7);
    let cfg = revocation(&root, &[], &[root.crl(&[42], later)]);
    assert_eq!(
        judge(&cfg, &with_serial(&root, 42), now()),
        Err(CertError::Revoked)
    );
    assert_eq!(judge(&cfg, &with_serial(&root, 43), now()), Ok(()));

    // An expired CRL (nextUpdate passed) cannot vouch for anything: fail closed.
    let expired = revocation(
        &root,
        &[],
        &[root.crl(&[], OffsetDateTime::now_utc() - Duration::hours(1))],
    );
    assert!(matches!(
        judge(&expired, &with_serial(&root, 43), now()),
        Err(CertError::RevocationUnknown { .. })
    ));

    // No CRL from the leaf's issuer: unknown status, fail closed.
    let inter = root.intermediate("issuing", Alg::EcdsaP256);
    let cfg = revocation(&root, &[&inter], &[root.crl(&[], later)]);
    assert!(matches!(
        judge(&cfg, &with_serial(&inter, 7), now()),
        Err(CertError::RevocationUnknown { .. })
    ));
    // With the intermediate's CRL, the same leaf is fine, and a revoked one is caught.
    let cfg = revocation(
        &root,
        &[&inter],
        &[root.crl(&[], later), inter.crl(&[8], later)],
    );
    assert_eq!(judge(&cfg, &with_serial(&inter, 7), now()), Ok(()));
    assert_eq!(
        judge(&cfg, &with_serial(&inter, 8), now()),
        Err(CertError::Revoked)
    );
}

#[test]
fn date_checks_follow_their_switches_and_the_clock_skew() {
    let root = Ca::new("root");
    let t = OffsetDateTime::now_utc();
    let expired = root.client_between("old", t - Duration::days(10), t - Duration::days(1));
    let early = root.client_between("early", t + Duration::seconds(30), t + Duration::days(10));

    assert!(matches!(
        judge(&config(json!({})), &expired, now()),
        Err(CertError::Expired { .. })
    ));
    assert!(matches!(
        judge(&config(json!({})), &early, now()),
        Err(CertError::NotYetValid { .. })
    ));

    let no_after = config(json!({"validateNotAfter": false}));
    assert_eq!(judge(&no_after, &expired, now()), Ok(()));
    assert!(matches!(
        judge(&no_after, &early, now()),
        Err(CertError::NotYetValid { .. })
    ));
    let no_before = config(json!({"validateNotBefore": false}));
    assert_eq!(judge(&no_before, &early, now()), Ok(()));

    let skew = config(json!({"clockSkewSeconds": 60}));
    assert_eq!(
        judge(&skew, &early, now()),
        Ok(()),
        "30 s early is within 60 s of skew"
    );

    // With trust on, a disabled leaf date check still lets the chain verify.
    let mut v = trust(&[&root], &[]);
    v["validateNotAfter"] = json!(false);
    assert_eq!(judge(&config(v), &expired, now()), Ok(()));
    assert!(matches!(
        judge(&config(trust(&[&root], &[])), &expired, now()),
        Err(CertError::Expired { .. })
    ));
}

fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

#[test]
fn identities_match_every_attribute_with_its_normalization() {
    let root = Ca::new("Contoso Issuing CA");
    let leaf = root.client_with("alice", Alg::EcdsaP256, |p| {
        p.serial_number = Some(SerialNumber::from_slice(&[0x00, 0x0a, 0xbc]));
        p.distinguished_name
            .push(rcgen::DnType::OrganizationalUnitName, "Ops, West");
        p.subject_alt_names = vec![
            SanType::DnsName("Device-42.contoso.com".try_into().unwrap()),
            SanType::URI("spiffe://contoso/alice".try_into().unwrap()),
            SanType::Rfc822Name("Alice@Contoso.COM".try_into().unwrap()),
        ];
    });
    let sha1 = Sha1::digest(&leaf.der);
    let sha256 = Sha256::digest(&leaf.der);
    let (_, parsed) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
    let spki = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(parsed.public_key().raw),
    );
    let root_sha1 = Sha1::digest(root.der());

    let matching: Vec<Value> = vec![
        json!({"thumbprint": hex(&sha1, "")}),
        json!({"thumbprint": hex(&sha1, ":").to_lowercase()}),
        json!({"thumbprint": hex(&sha1, " ")}),
        json!({"thumbprintSha256": hex(&sha256, ":")}),
        json!({"spkiSha256": spki}),
        json!({"serialNumber": "0abc"}),
        json!({"serialNumber": "00:00:0A:BC"}),
        json!({"commonName": "alice"}),
        json!({"subject": "CN=alice, O=client-cert-auth demo, OU=\"Ops, West\""}),
        json!({"subject": "OU=Ops\\, West,O=client-cert-auth demo,CN=alice"}),
        json!({"subject": "cn=alice;o=client-cert-auth demo;2.5.4.11=Ops\\2C West"}),
        json!({"dnsName": "device-42.CONTOSO.com"}),
        json!({"uri": "spiffe://contoso/alice"}),
        json!({"email": "Alice@contoso.com"}),
        json!({"issuerSubject": "O=client-cert-auth demo, CN=Contoso Issuing CA"}),
        json!({"issuerThumbprint": hex(&root_sha1, "")}),
        json!({"commonName": "alice", "issuerSubject": "CN=Contoso Issuing CA,O=client-cert-auth demo"}),
    ];
    let not_matching: Vec<Value> = vec![
        json!({"thumbprint": hex(&Sha1::digest(b"other"), "")}),
        json!({"thumbprintSha256": hex(&Sha256::digest(b"other"), "")}),
        json!({"serialNumber": "0abd"}),
        json!({"commonName": "Alice"}),
        json!({"commonName": "alic"}),
        json!({"subject": "CN=alice, O=client-cert-auth demo"}),
        json!({"subject": "CN=alice, O=client-cert-auth demo, OU=Ops"}),
        json!({"dnsName": "device-43.contoso.com"}),
        json!({"uri": "spiffe://contoso/Alice"}),
        json!({"email": "alice@contoso.com"}),
        json!({"issuerSubject": "CN=Other CA, O=client-cert-auth demo"}),
        json!({"issuerThumbprint": hex(&Sha1::digest(b"x"), "")}),
        json!({"commonName": "alice", "dnsName": "nope.contoso.com"}),
    ];
    let with = |identities: Vec<Value>| {
        let mut v = trust(&[&root], &[]);
        v["identities"] = json!(identities);
        config(v)
    };
    for identity in &matching {
        assert_eq!(
            judge(&with(vec![identity.clone()]), &leaf, now()),
            Ok(()),
            "{identity}"
        );
    }
    for identity in &not_matching {
        assert_eq!(
            judge(&with(vec![identity.clone()]), &leaf, now()),
            Err(CertError::IdentityNotMatched),
            "{identity}"
        );
    }
    // At least one identity must match.
    let any = with(vec![not_matching[0].clone(), matching[7].clone()]);
    assert_eq!(judge(&any, &leaf, now()), Ok(()));
    let none = with(vec![not_matching[0].clone(), not_matching[3].clone()]);
    assert_eq!(
        judge(&none, &leaf, now()),
        Err(CertError::IdentityNotMatched)
    );
}

#[test]
fn validation_configuration_errors_name_the_field() {
    let root = Ca::new("root");
    let cases: Vec<(Value, ValidationConfigError, &str)> = vec![
        (
            json!({"validateTrust": true}),
            ValidationConfigError::TrustWithoutCa,
            "validation.trustedCaCertificates: validateTrust is true but no trusted CA",
        ),
        (
            json!({"validateRevocation": true, "crls": [root.crl(&[], OffsetDateTime::now_utc())]}),
            ValidationConfigError::RevocationWithoutTrust,
            "validation.validateRevocation: validateRevocation needs validateTrust",
        ),
        (
            json!({"validateTrust": true, "trustedCaCertificates": [root.cert_pem()], "validateRevocation": true}),
            ValidationConfigError::RevocationWithoutCrl,
            "validation.crls: validateRevocation is true but no CRL or revocationSources",
        ),
        (
            json!({"validateTrust": false, "trustedCaCertificates": [root.cert_pem()]}),
            ValidationConfigError::CasWithoutTrust,
            "validation.validateTrust: false contradicts the configured trustedCaCertificates",
        ),
        (
            json!({"intermediateCertificates": [root.cert_pem()]}),
            ValidationConfigError::IntermediatesWithoutTrust,
            "validation.intermediateCertificates: intermediate certificates are configured but the trust check is off",
        ),
        (
            json!({"clockSkewSeconds": 86_401}),
            ValidationConfigError::ClockSkew { value: 86_401 },
            "validation.clockSkewSeconds: 86401 is more than the 86400 seconds (one day) allowed",
        ),
        (
            json!({"identities": [{"issuerThumbprint": "00".repeat(20)}]}),
            ValidationConfigError::Identity {
                index: 0,
                problem: client_cert_auth::IdentityError::IssuerThumbprintNeedsTrust,
            },
            "validation.identities[0].issuerThumbprint: needs validation.validateTrust",
        ),
    ];
    for (v, variant, message) in cases {
        let err = config_error(v.clone());
        assert_eq!(err, ConfigError::Validation(variant), "{v}");
        assert!(err.to_string().starts_with(message), "{v}: {err}");
    }
}

const HTTPS_REFUSED_CRL: &str = "\"https://crl.test/x.crl\" is an https:// URL, but the module \
    sends plain HTTP to the cluster and cannot see whether the cluster speaks TLS: write http:// \
    and give the cluster a TLS transport socket (the TLS is the cluster's)";
const HTTPS_REFUSED_OCSP: &str = "\"HTTPS://ocsp.test:8443/\" is an https:// URL, but the module \
    sends plain HTTP to the cluster and cannot see whether the cluster speaks TLS: write http:// \
    and give the cluster a TLS transport socket (the TLS is the cluster's)";

#[test]
fn revocation_sources_are_checked_field_by_field() {
    let root = Ca::new("root");
    let with = |sources: Value| {
        json!({
            "trustedCaCertificates": [root.cert_pem()],
            "validateRevocation": true,
            "revocationSources": sources,
        })
    };
    let crl = |url: &str, cluster: &str, refresh: Value| json!({"crls": [{"url": url, "cluster": cluster, "refreshSeconds": refresh}]});
    let sources_error = |field: &str, message: &str| {
        (
            ValidationConfigError::Sources(client_cert_auth::revocation::SourceError {
                field: field.to_string(),
                problem: String::new(),
            }),
            format!("{field}: {message}"),
        )
    };
    let cases: Vec<(Value, (ValidationConfigError, String))> = vec![
        (
            with(crl("ftp://crl.test/x.crl", "c", json!(60))),
            sources_error(
                "validation.revocationSources.crls[0].url",
                "\"ftp://crl.test/x.crl\" is not an http:// URL",
            ),
        ),
        (
            // Issue 20: the module cannot see the cluster's transport; https:// would pretend.
            with(crl("https://crl.test/x.crl", "c", json!(60))),
            sources_error(
                "validation.revocationSources.crls[0].url",
                HTTPS_REFUSED_CRL,
            ),
        ),
        (
            with(json!({"ocsp": {"cluster": "o", "url": "HTTPS://ocsp.test:8443/"}})),
            sources_error("validation.revocationSources.ocsp.url", HTTPS_REFUSED_OCSP),
        ),
        (
            with(crl("http://user@crl.test/x.crl", "c", json!(60))),
            sources_error(
                "validation.revocationSources.crls[0].url",
                "\"http://user@crl.test/x.crl\" has user information",
            ),
        ),
        (
            with(crl("http://crl.test/x.crl", "", json!(60))),
            sources_error(
                "validation.revocationSources.crls[0].cluster",
                "\"\" is not an Envoy cluster name",
            ),
        ),
        (
            with(crl("http://crl.test/x.crl", "c", json!(0))),
            sources_error(
                "validation.revocationSources.crls[0].refreshSeconds",
                "0 is outside 1 to 604800 seconds",
            ),
        ),
        (
            with(json!({"crls": [
                {"url": "http://crl.test/x.crl", "cluster": "c"},
                {"url": "http://crl.test/x.crl", "cluster": "c"}
            ]})),
            sources_error(
                "validation.revocationSources.crls[1].url",
                "the same URL and cluster as crls[0]",
            ),
        ),
        (
            with(json!({"ocsp": {"cluster": "o", "timeoutMs": 0}})),
            sources_error(
                "validation.revocationSources.ocsp.timeoutMs",
                "0 is outside 100 to 30000 milliseconds",
            ),
        ),
        (
            // Issue 20: so small a wait that every request soft-fails under `allow`.
            with(json!({"ocsp": {"cluster": "o", "timeoutMs": 99}})),
            sources_error(
                "validation.revocationSources.ocsp.timeoutMs",
                "99 is outside 100 to 30000 milliseconds",
            ),
        ),
        (
            with(json!({"ocsp": {"cluster": "o", "cacheSeconds": 86_401}})),
            sources_error(
                "validation.revocationSources.ocsp.cacheSeconds",
                "86401 is outside 0 to 86400 seconds",
            ),
        ),
        (
            with(json!({"ocsp": {"cluster": "o", "url": "http://ocsp.test/#x"}})),
            sources_error(
                "validation.revocationSources.ocsp.url",
                "\"http://ocsp.test/#x\" has a fragment",
            ),
        ),
        (
            with(json!({})),
            sources_error(
                "validation.revocationSources",
                "names no source (crls or ocsp)",
            ),
        ),
    ];
    for (v, (variant, message)) in cases {
        let err = config_error(v.clone());
        let ConfigError::Validation(ValidationConfigError::Sources(got)) = &err else {
            panic!("{v}: {err:?}");
        };
        let ValidationConfigError::Sources(want) = variant else {
            unreachable!()
        };
        assert_eq!(got.field, want.field, "{v}");
        assert_eq!(err.to_string(), message, "{v}");
    }
    // Sources or a failure policy without revocation would be ignored: refused.
    for (v, field) in [
        (
            json!({"trustedCaCertificates": [root.cert_pem()], "revocationSources": {"ocsp": {"cluster": "o"}}}),
            "revocationSources",
        ),
        (
            json!({"trustedCaCertificates": [root.cert_pem()], "revocationFailure": "allow"}),
            "revocationFailure",
        ),
    ] {
        let err = config_error(v.clone());
        assert_eq!(
            err,
            ConfigError::Validation(ValidationConfigError::SourcesWithoutRevocation { field }),
            "{v}"
        );
        assert!(
            err.to_string().starts_with(&format!(
                "validation.{field}: given but validateRevocation is not true"
            )),
            "{err}"
        );
    }
    // Sources alone are enough for revocation (no pasted CRL needed); defaults fill in.
    let config = config(with(json!({
        "crls": [{"url": "http://crl.test/issuing.crl", "cluster": "crl_test"}],
        "ocsp": {"cluster": "ocsp_test"}
    })));
    let sources = config
        .validation
        .online_sources()
        .expect("sources compiled");
    assert_eq!(sources.crls[0].refresh_seconds, 3600);
    assert_eq!(sources.crls[0].url.authority, "crl.test");
    assert_eq!(sources.crls[0].url.path, "/issuing.crl");
    let ocsp = sources.ocsp.as_ref().unwrap();
    assert_eq!(
        (ocsp.timeout_ms, ocsp.cache_seconds, ocsp.url.is_none()),
        (1000, 300, true)
    );
    assert_eq!(sources.failure, client_cert_auth::RevocationFailure::Deny);
    // The bounds are inclusive; one past them is refused.
    let ok = |sources: Value| {
        let v = json!({"validation": with(sources.clone())});
        match Config::from_json(v.to_string().as_bytes()) {
            Ok(_) => true,
            Err(e) => {
                eprintln!("{sources}: {e}");
                false
            }
        }
    };
    let crl_with = |cluster: &str, refresh: u64| json!({"crls": [{"url": "http://crl.test/a.crl", "cluster": cluster, "refreshSeconds": refresh}]});
    assert!(ok(crl_with("c", 1)) && ok(crl_with("c", 604_800)));
    assert!(!ok(crl_with("c", 604_801)));
    assert!(ok(crl_with(&"c".repeat(255), 60)) && !ok(crl_with(&"c".repeat(256), 60)));
    assert!(!ok(crl_with("a b", 60)) && !ok(crl_with("a\tb", 60)));
    assert!(ok(crl_with("outbound|80||crl.contoso.test", 60)));
    let ocsp_with = |timeout: u64, cache: u64| json!({"ocsp": {"cluster": "o", "timeoutMs": timeout, "cacheSeconds": cache}});
    assert!(ok(ocsp_with(100, 0)) && ok(ocsp_with(30_000, 86_400)));
    assert!(!ok(ocsp_with(1, 0)) && !ok(ocsp_with(99, 0)) && !ok(ocsp_with(30_001, 0)));
    // The same URL through another cluster is another source.
    assert!(ok(json!({"crls": [
        {"url": "http://crl.test/a.crl", "cluster": "one"},
        {"url": "http://crl.test/a.crl", "cluster": "two"}
    ]})));
    // An unknown key inside the sources is refused by name.
    let err = config_error(with(json!({"ocsp": {"cluster": "o", "timeout": 5}})));
    assert!(err.to_string().contains("revocationSources.ocsp"), "{err}");

    let messages: Vec<(Value, &str)> = vec![
        (
            json!({"validateTrust": true, "trustedCaCertificates": [root.cert_pem(), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"]}),
            "validation.trustedCaCertificates[1]: certificate DER does not parse",
        ),
        (
            json!({"trustedCaCertificates": [root.cert_pem()], "intermediateCertificates": ["junk"]}),
            "validation.intermediateCertificates[0]: certificate is not a single PEM",
        ),
        (
            json!({"validateTrust": true, "trustedCaCertificates": [root.cert_pem()], "validateRevocation": true, "crls": ["-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----"]}),
            "validation.crls[0]: does not parse",
        ),
        (
            json!({"identities": [{}]}),
            "validation.identities[0]: an identity needs at least one attribute",
        ),
        (
            json!({"identities": [{"commonName": "a"}, {"thumbprint": "abcd"}]}),
            "validation.identities[1].thumbprint: \"abcd\" is not 40 hex digits",
        ),
        (
            json!({"identities": [{"thumbprintSha256": "00".repeat(20)}]}),
            "validation.identities[0].thumbprintSha256: \"0000000000000000000000000000000000000000\" is not 64 hex digits",
        ),
        (
            json!({"identities": [{"spkiSha256": "AAAA"}]}),
            "validation.identities[0].spkiSha256: \"AAAA\" is not the base64 of a 32-byte SHA-256",
        ),
        (
            json!({"identities": [{"serialNumber": "xyz"}]}),
            "validation.identities[0].serialNumber: \"xyz\" is not hexadecimal",
        ),
        (
            json!({"identities": [{"subject": "CN=a, Q=b"}]}),
            "validation.identities[0].subject: \"CN=a, Q=b\" has the unknown attribute type \"Q\"",
        ),
        (
            json!({"identities": [{"subject": "CN=\"a"}]}),
            "validation.identities[0].subject: \"CN=\\\"a\" has an unterminated quoted value",
        ),
        (
            json!({"identities": [{"commonName": "  "}]}),
            "validation.identities[0].commonName: is empty",
        ),
        (
            json!({"identities": [{"subjectPattern": "CN=(a|b"}]}),
            "validation.identities[0].subjectPattern: \"CN=(a|b\" is not a usable regular expression: unclosed group: '(' without ')' (at offset 7)",
        ),
        (
            json!({"identities": [{"subjectPattern": "(?i)cn=a"}]}),
            "validation.identities[0].subjectPattern: \"(?i)cn=a\" is not a usable regular expression: only (?:...) groups are supported",
        ),
        (
            json!({"identities": [{"cn": "a"}]}),
            "validation.identities[0].cn: unknown field `cn`",
        ),
        (
            json!({"validateTrust": "yes"}),
            "validation.validateTrust: invalid type",
        ),
        (
            json!({"clockSkewSeconds": -1}),
            "validation.clockSkewSeconds: invalid value",
        ),
    ];
    for (v, message) in messages {
        let err = config_error(v.clone()).to_string();
        assert!(
            err.starts_with(message),
            "{v}:\n  got      {err}\n  expected {message}"
        );
    }
    // The boundaries are accepted.
    for v in [
        json!({"clockSkewSeconds": 86_400}),
        json!({"trustedCaCertificates": [root.cert_pem()], "validateRevocation": true, "crls": [root.crl(&[], OffsetDateTime::now_utc() + Duration::days(1))]}),
        json!({"validateTrust": false}),
    ] {
        let json = json!({"validation": v});
        assert!(
            Config::from_json(json.to_string().as_bytes()).is_ok(),
            "{v}"
        );
    }
}

#[test]
fn configured_cas_turn_the_trust_check_on() {
    let root = Ca::new("the only trusted CA");
    let self_signed = Ca::new("alice").client("alice");
    let issued = root.client("alice");
    let c = config(json!({
        "trustedCaCertificates": [root.cert_pem()],
        "identities": [{"commonName": "alice"}]
    }));
    assert!(c.validation.trust_enabled());
    assert_eq!(judge(&c, &issued, now()), Ok(()));
    assert!(
        is_untrusted(&judge(&c, &self_signed, now())),
        "a certificate anyone can make with CN=alice is not alice"
    );
}

#[test]
fn a_disabled_leaf_date_check_does_not_excuse_an_expired_crl_or_ca() {
    let root = Ca::new("root");
    let t = OffsetDateTime::now_utc();
    let old = root.client_with("old", Alg::EcdsaP256, |p| {
        p.not_before = t - Duration::days(30);
        p.not_after = t - Duration::days(20);
        p.serial_number = Some(SerialNumber::from(5u64));
    });
    let mut v = trust(&[&root], &[]);
    v["validateNotAfter"] = json!(false);
    assert_eq!(
        judge(&config(v.clone()), &old, now()),
        Ok(()),
        "dates off, no revocation"
    );
    // The issuer's CRL was valid when the leaf was, but has expired since.
    v["validateRevocation"] = json!(true);
    v["crls"] = json!([root.crl(&[], t - Duration::days(10))]);
    assert!(
        matches!(
            judge(&config(v.clone()), &old, now()),
            Err(CertError::RevocationUnknown { .. })
        ),
        "an expired CRL still fails closed"
    );
    v["crls"] = json!([root.crl(&[], t + Duration::days(10))]);
    assert_eq!(
        judge(&config(v), &old, now()),
        Ok(()),
        "a current CRL vouches for it"
    );
}

#[test]
fn names_padded_with_unicode_spaces_are_other_names() {
    let root = Ca::new("root");
    let padded = root.client("ops\u{00a0}");
    let plain = root.client("ops");
    let c = config(json!({"identities": [{"commonName": "ops"}]}));
    assert_eq!(judge(&c, &plain, now()), Ok(()));
    assert_eq!(
        judge(&c, &padded, now()),
        Err(CertError::IdentityNotMatched)
    );
    let dn = config(json!({"identities": [{"subject": "CN=ops, O=client-cert-auth demo"}]}));
    assert_eq!(
        judge(&dn, &padded, now()),
        Err(CertError::IdentityNotMatched)
    );
}

#[test]
fn a_revocation_in_any_valid_crl_of_the_issuer_counts_whatever_the_order() {
    let root = Ca::new("root with two CRLs");
    let t = OffsetDateTime::now_utc();
    // The older CRL is still valid and lists nothing; the newer one revokes serial 42.
    let older = root.crl_between(&[], t - Duration::days(2), t + Duration::days(5), 1);
    let newer = root.crl_between(&[42], t - Duration::hours(2), t + Duration::days(6), 2);
    let expired = root.crl_between(&[43], t - Duration::days(9), t - Duration::days(1), 0);
    for crls in [
        vec![older.clone(), newer.clone()],
        vec![newer.clone(), older.clone()],
    ] {
        let cfg = revocation(&root, &[], &crls);
        assert_eq!(
            judge(&cfg, &with_serial(&root, 42), now()),
            Err(CertError::Revoked),
            "order of the CRLs does not matter"
        );
        assert_eq!(judge(&cfg, &with_serial(&root, 44), now()), Ok(()));
    }
    // An expired CRL of the issuer vouches for nothing, but what it lists stays revoked (a
    // revocation is permanent): a valid CRL beside it that no longer lists it does not undo it.
    let cfg = revocation(&root, &[], &[expired.clone(), older.clone()]);
    assert_eq!(
        judge(&cfg, &with_serial(&root, 43), now()),
        Err(CertError::Revoked)
    );
    assert_eq!(judge(&cfg, &with_serial(&root, 44), now()), Ok(()));
    let only_expired = revocation(&root, &[], &[expired]);
    assert!(matches!(
        judge(&only_expired, &with_serial(&root, 44), now()),
        Err(CertError::RevocationUnknown { .. })
    ));
}

#[test]
fn key_usage_follows_rfc_5280_with_the_trust_check() {
    use rcgen::{IsCa, KeyUsagePurpose as Ku};
    let root = Ca::new("ku root");
    let leaf_with = |ca: &Ca, usages: Vec<Ku>| {
        ca.client_with("ku leaf", Alg::EcdsaP256, move |p| p.key_usages = usages)
    };
    let cfg = config(trust(&[&root], &[]));
    let cases: Vec<(&str, Vec<Ku>, bool)> = vec![
        ("no keyUsage extension", vec![], true),
        ("digitalSignature", vec![Ku::DigitalSignature], true),
        ("keyAgreement", vec![Ku::KeyAgreement], true),
        ("keyEncipherment only", vec![Ku::KeyEncipherment], false),
        ("keyCertSign only", vec![Ku::KeyCertSign], false),
        ("contentCommitment only", vec![Ku::ContentCommitment], false),
    ];
    for (name, usages, accepted) in cases {
        let r = judge(&cfg, &leaf_with(&root, usages), now());
        if accepted {
            assert_eq!(r, Ok(()), "{name}");
        } else {
            assert!(
                matches!(r, Err(CertError::WrongUsage { .. })),
                "{name}: {r:?}"
            );
        }
    }
    // Without the trust check, App Service parity: usage is not looked at.
    let no_trust = config(json!({}));
    assert_eq!(
        judge(
            &no_trust,
            &leaf_with(&root, vec![Ku::KeyEncipherment]),
            now()
        ),
        Ok(())
    );

    // A CA that cannot sign certificates cannot issue, whether intermediate or anchor.
    let cannot_sign = root.intermediate_with("no keyCertSign", Alg::EcdsaP256, |p| {
        p.key_usages = vec![Ku::CrlSign, Ku::DigitalSignature];
    });
    let cfg = config(trust(&[&root], &[&cannot_sign]));
    let r = judge(
        &cfg,
        &cannot_sign.client("via a CA without keyCertSign"),
        now(),
    );
    assert!(matches!(r, Err(CertError::WrongUsage { .. })), "{r:?}");
    let can_sign = root.intermediate_with("keyCertSign", Alg::EcdsaP256, |p| {
        p.key_usages = vec![Ku::KeyCertSign];
    });
    let cfg = config(trust(&[&root], &[&can_sign]));
    assert_eq!(judge(&cfg, &can_sign.client("fine"), now()), Ok(()));
    let anchor = Ca::root_with("anchor without keyCertSign", Alg::EcdsaP256, |p| {
        p.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![Ku::DigitalSignature];
    });
    let cfg = config(trust(&[&anchor], &[]));
    let r = judge(&cfg, &anchor.client("from it"), now());
    assert!(matches!(r, Err(CertError::WrongUsage { .. })), "{r:?}");
}

#[test]
fn the_common_name_is_the_most_specific_one() {
    use rcgen::{DistinguishedName, DnType};
    let ca = Ca::new("cn CA");
    let with_subject = |attrs: &[(DnType, &str)]| {
        let attrs: Vec<(DnType, String)> = attrs
            .iter()
            .map(|(t, v)| (t.clone(), v.to_string()))
            .collect();
        ca.client_with("unused", Alg::EcdsaP256, move |p| {
            let mut dn = DistinguishedName::new();
            for (t, v) in attrs {
                dn.push(t, v);
            }
            p.distinguished_name = dn;
        })
    };
    let cn = |name: &str| config(json!({"identities": [{"commonName": name}]}));
    let two = with_subject(&[
        (DnType::CommonName, "alice"),
        (DnType::CommonName, "mallory"),
    ]);
    let ad = with_subject(&[
        (
            DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
            "com",
        ),
        (
            DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
            "contoso",
        ),
        (DnType::CommonName, "Users"),
        (DnType::CommonName, "mallory"),
    ]);
    for (leaf, name, matches) in [
        (&two, "mallory", true),
        (&two, "alice", false),
        (&ad, "mallory", true),
        (&ad, "Users", false),
    ] {
        let r = judge(&cn(name), leaf, now());
        assert_eq!(r.is_ok(), matches, "commonName {name}: {r:?}");
    }
}

#[test]
fn serial_numbers_compare_as_signed_integers() {
    use base64::Engine;
    let ca = Ca::new("serial CA");
    let positive = ca.client_with("serial", Alg::EcdsaP256, |p| {
        p.serial_number = Some(SerialNumber::from_slice(&[0x01, 0x85]));
    });
    // rcgen writes only positive serials: turn the DER INTEGER 01 85 (+389) into 81 85
    // (-32379, magnitude 7E7B) in place. The signature no longer holds, which the identity
    // check (without the trust check) does not look at.
    let mut der = positive.der.clone();
    let at = der
        .windows(4)
        .position(|w| w == [0x02, 0x02, 0x01, 0x85])
        .expect("the serial's encoding");
    der[at + 2] = 0x81;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let negative = Leaf {
        cert_pem: format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"),
        key_pem: String::new(),
        der,
    };
    let serial = |hex: &str| config(json!({"identities": [{"serialNumber": hex}]}));
    assert_eq!(judge(&serial("0185"), &positive, now()), Ok(()));
    assert_eq!(judge(&serial("00:01:85"), &positive, now()), Ok(()));
    for configured in ["8185", "7E7B", "FFFF8185"] {
        assert_eq!(
            judge(&serial(configured), &negative, now()),
            Err(CertError::IdentityNotMatched),
            "a negative serial never matches the positive {configured}"
        );
    }
    // The informational header shows the sign.
    let c = testkit::core::config(json!({"forward": {"infoHeaders": true}}));
    let header = |leaf: &Leaf| {
        run_at(&c, "/", Some(&leaf.cert_pem), now())
            .decision
            .header("x-client-cert-serial")
            .map(str::to_string)
    };
    assert_eq!(header(&positive).as_deref(), Some("0185"));
    assert_eq!(header(&negative).as_deref(), Some("-7E7B"));
}

#[test]
fn a_new_leaf_under_a_known_intermediate_costs_one_signature_check() {
    for alg in [Alg::EcdsaP256, Alg::Rsa2048] {
        let root = Ca::root("memo root", alg);
        let inter = root.intermediate("memo issuing", alg);
        let cfg = config(trust(&[&root], &[&inter]));
        let memo = cfg.validation.signature_memo().unwrap();
        assert!(memo.is_empty());
        // The first leaf: its own signature and the intermediate's are verified and remembered.
        assert_eq!(judge(&cfg, &inter.client("first"), now()), Ok(()));
        assert_eq!((memo.len(), memo.hits()), (2, 0), "{alg:?}");
        assert!(!memo.is_empty());
        // The next leaf under it: only its own signature is new.
        assert_eq!(judge(&cfg, &inter.client("second"), now()), Ok(()));
        assert_eq!((memo.len(), memo.hits()), (3, 1), "{alg:?}");
        // A leaf whose signature does not verify is refused every time, and never remembered.
        // (P-256: the tests share one RSA key, so an RSA impostor would be the real issuer.)
        let impostor = Ca::root("memo issuing", Alg::EcdsaP256).client("impostor");
        for _ in 0..2 {
            assert!(is_untrusted(&judge(&cfg, &impostor, now())), "{alg:?}");
        }
        assert_eq!(memo.len(), 3, "{alg:?}");
    }
}

/// `maxChainDepth` counts as OpenSSL >= 1.1 counts its verify depth (and so nginx's
/// `ssl_verify_depth`, checked with `openssl s_server -verify_depth`): the intermediates
/// between the leaf and the trusted CA, neither of them counted.
#[test]
fn max_chain_depth_counts_the_intermediates_as_openssl_does() {
    let root = Ca::root("depth root", Alg::EcdsaP256);
    let upper = root.intermediate("depth upper", Alg::EcdsaP256);
    let lower = upper.intermediate("depth lower", Alg::EcdsaP256);
    let direct = root.client("direct");
    let one = upper.client("one");
    let two = lower.client("two");
    let at_most = |depth: Option<u32>| {
        let mut v = trust(&[&root], &[&upper, &lower]);
        if let Some(depth) = depth {
            v["maxChainDepth"] = json!(depth);
        }
        config(v)
    };
    let too_long =
        |intermediates: usize, max: u32| Err(CertError::ChainTooLong { intermediates, max });
    let table = [
        (Some(0), &direct, Ok(())),
        (Some(0), &one, too_long(1, 0)),
        (Some(0), &two, too_long(2, 0)),
        (Some(1), &direct, Ok(())),
        (Some(1), &one, Ok(())),
        (Some(1), &two, too_long(2, 1)),
        (Some(2), &two, Ok(())),
        (None, &two, Ok(())),
    ];
    for (depth, leaf, expected) in table {
        assert_eq!(judge(&at_most(depth), leaf, now()), expected, "{depth:?}");
    }
    // The reason has its own name, reply key and sentence.
    let decided = run_at(&at_most(Some(1)), "/", Some(&two.cert_pem), now());
    let reason = decided.decision.deny_reason().unwrap();
    assert_eq!(reason.name(), "chain_too_long");
    assert_eq!(
        reason.describe(),
        "client certificate invalid (chain_too_long): certificate chain is too long: 2 \
         intermediate CA(s) between it and the trusted CA, more than validation.maxChainDepth \
         1 allows"
    );
}

/// A limit refuses a path, not a certificate: when a shorter path exists (here the lower
/// intermediate is trusted too), it is found.
#[test]
fn max_chain_depth_accepts_a_shorter_path_where_one_exists() {
    let root = Ca::root("short root", Alg::EcdsaP256);
    let upper = root.intermediate("short upper", Alg::EcdsaP256);
    let lower = upper.intermediate("short lower", Alg::EcdsaP256);
    let leaf = lower.client("leaf");
    let mut v = trust(&[&root, &lower], &[&upper]);
    v["maxChainDepth"] = json!(0);
    assert_eq!(judge(&config(v), &leaf, now()), Ok(()));
}

#[test]
fn max_chain_depth_without_the_trust_check_is_refused() {
    let e = config_error(json!({"maxChainDepth": 1}));
    assert_eq!(
        e.to_string(),
        "validation.maxChainDepth: 1 is given but the trust check is off, so there is no chain to count"
    );
}

/// `subjectPattern` is ingress-nginx's `auth-tls-match-cn`: a regular expression searched,
/// unanchored, in the subject as nginx's `$ssl_client_s_dn` prints it (RFC 2253, most specific
/// first, OpenSSL's escapes).
#[test]
fn subject_pattern_is_searched_unanchored_in_the_subject_as_nginx_prints_it() {
    let root = Ca::new("Pattern CA");
    // Encoded most general first, as CAs do: printed `CN=...,OU=...,O=Contoso`.
    let subject = |cn: &str| {
        root.client_with(cn, Alg::EcdsaP256, |p| {
            let mut dn = rcgen::DistinguishedName::new();
            dn.push(rcgen::DnType::OrganizationName, "Contoso, Ltd");
            dn.push(rcgen::DnType::OrganizationalUnitName, "dev");
            dn.push(rcgen::DnType::CommonName, cn);
            p.distinguished_name = dn;
        })
    };
    let alice = subject("alice");
    let evil = subject("alice-evil");
    let bob = subject("bob");
    let with = |pattern: &str| {
        let mut v = trust(&[&root], &[]);
        v["identities"] = json!([{ "subjectPattern": pattern }]);
        config(v)
    };
    let table = [
        ("CN=alice", &alice, true),
        // The trap ingress-nginx users know: unanchored.
        ("CN=alice", &evil, true),
        ("^CN=alice(,|$)", &evil, false),
        ("^CN=alice(,|$)", &alice, true),
        ("^CN=alice,OU=dev,O=Contoso\\\\, Ltd$", &alice, true),
        ("CN=(alice|bob|carol)", &bob, true),
        ("CN=(carol|dave)", &bob, false),
        ("O=Contoso, Ltd", &alice, false),
        ("O=Contoso\\\\, Ltd", &alice, true),
    ];
    for (pattern, leaf, matches) in table {
        let r = judge(&with(pattern), leaf, now());
        let expected = if matches {
            Ok(())
        } else {
            Err(CertError::IdentityNotMatched)
        };
        assert_eq!(r, expected, "{pattern:?}");
    }
    // With another attribute, both must hold.
    let mut v = trust(&[&root], &[]);
    v["identities"] = json!([{ "subjectPattern": "CN=alice", "commonName": "alice" }]);
    assert_eq!(
        judge(&config(v), &evil, now()),
        Err(CertError::IdentityNotMatched)
    );
    // A rule's identities search the same text.
    let rules = json!({
        "clientCertMode": "Required",
        "validation": trust(&[&root], &[]),
        "rules": [{"pathPrefix": "/bob", "mode": "Required", "identities": [{"subjectPattern": "CN=bob,"}]}],
    });
    let rules = Config::from_json(rules.to_string().as_bytes()).unwrap();
    assert!(matches!(
        run_at(&rules, "/bob/x", Some(&bob.cert_pem), now()).decision,
        Decision::Forward { .. }
    ));
    assert!(matches!(
        run_at(&rules, "/bob/x", Some(&alice.cert_pem), now()).decision,
        Decision::Deny(DenyReason::CertificateInvalid(
            CertError::IdentityNotMatched
        ))
    ));
}
