//! The DN rule: order-insensitive attribute sets, keywords or OIDs, RFC 4514 quoting/escapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use client_cert_auth::{Dn, DnError};

fn attrs(text: &str) -> Vec<(String, String)> {
    Dn::parse(text).unwrap().attributes().to_vec()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn net_and_rfc4514_forms_parse_to_the_same_set() {
    let expected = pairs(&[("2.5.4.3", "alice"), ("2.5.4.10", "Contoso")]);
    for text in [
        "CN=alice, O=Contoso",
        "O=Contoso,CN=alice",
        "cn=alice;o=Contoso",
        "  CN = alice ,  O = Contoso  ",
        "2.5.4.3=alice+2.5.4.10=Contoso",
        "OID.2.5.4.3=alice, o=Contoso",
        r#"CN="alice"  ,  O = "Contoso"  "#,
        r#"CN="alice";O="Contoso""#,
    ] {
        assert_eq!(attrs(text), expected, "{text}");
    }
}

#[test]
fn quoting_and_escapes_follow_rfc4514() {
    let table = [
        (r#"O="Contoso, Ltd""#, "Contoso, Ltd"),
        (r#"O="say \"hi\"""#, "say \"hi\""),
        (r"O=Contoso\, Ltd", "Contoso, Ltd"),
        (r"O=a\+b", "a+b"),
        (r"O=back\\slash", "back\\slash"),
        (r"O=\ lead", " lead"),
        (r"O=trail\ ", "trail "),
        (r"O=caf\C3\A9", "café"),
        (r"O=semi\;colon", "semi;colon"),
        ("O=", ""),
        ("O=   ", ""),
        (r#"O="""#, ""),
    ];
    for (text, value) in table {
        assert_eq!(attrs(text), pairs(&[("2.5.4.10", value)]), "{text}");
    }
}

#[test]
fn values_are_case_sensitive_and_types_are_not() {
    assert_eq!(attrs("cn=Alice"), attrs("CN=Alice"));
    assert_ne!(attrs("CN=Alice"), attrs("CN=alice"));
    assert_eq!(attrs("E=a@b.c"), attrs("emailAddress=a@b.c"));
    assert_eq!(attrs("S=WA"), attrs("ST=WA"));
}

#[test]
fn malformed_names_are_refused_with_a_reason() {
    let table = [
        ("", DnError::Empty),
        ("CN", DnError::MissingEquals("CN".into())),
        ("CN=a,", DnError::MissingEquals(String::new())),
        ("XX=a", DnError::UnknownType("XX".into())),
        ("1.2=a, 3=b", DnError::UnknownType("3".into())),
        ("1..2=a", DnError::UnknownType("1..2".into())),
        ("2.5.4.3.=a", DnError::UnknownType("2.5.4.3.".into())),
        ("OID.=a", DnError::UnknownType("OID.".into())),
        ("OID.2.x=a", DnError::UnknownType("OID.2.x".into())),
        (r"CN=a\", DnError::BadEscape),
        (r"CN=a\zz", DnError::BadEscape),
        (r#"CN="a"#, DnError::UnterminatedQuote),
        (r#"CN="a" b"#, DnError::TextAfterQuote),
        ("CN=#0403616263", DnError::HexValue),
        (r"CN=\FF", DnError::NotUtf8),
    ];
    for (text, err) in table {
        assert_eq!(Dn::parse(text), Err(err), "{text:?}");
    }
}
