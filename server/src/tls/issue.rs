//! Leaf certificates, one per host name, signed by the local CA when a browser first asks for
//! the name, and kept in memory (a bounded number) for the server's life. A leaf names exactly
//! one DNS name (browsers ignore a wildcard `*.localhost`), or, for the dashboard reached by
//! address, 127.0.0.1 and `localhost`.

use super::ca::Ca;
use atlas_ports_core::{Error, Result};
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use time::{Duration, OffsetDateTime};

/// The most leaves kept; past it, the oldest goes.
pub const MAX_CACHED: usize = 1024;
/// How long a leaf is valid (browsers refuse more than 398 days).
const LEAF_VALIDITY: Duration = Duration::days(397);
/// How long a cached leaf is served before a fresh one is made (well inside its validity).
const REISSUE_AFTER: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// What a leaf is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The dashboard by address or as `localhost`: IP 127.0.0.1 and DNS `localhost`.
    Dashboard,
    /// One routed name, exactly.
    Name(String),
}

/// The leaves issued so far, as ready-made TLS configurations.
#[derive(Debug, Default)]
pub struct Leaves {
    issued: Mutex<HashMap<Subject, (Instant, Arc<ServerConfig>)>>,
}

impl Leaves {
    /// The TLS configuration for `subject`, issuing its leaf when there is none yet.
    pub fn config(&self, ca: &Ca, subject: &Subject) -> Result<Arc<ServerConfig>> {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, config)) = issued.get(subject)
            && at.elapsed() < REISSUE_AFTER
        {
            return Ok(config.clone());
        }
        let config = Arc::new(server_config(ca, subject)?);
        if issued.len() >= MAX_CACHED
            && let Some(oldest) = issued.iter().min_by_key(|(_, (at, _))| *at).map(|(s, _)| s.clone())
        {
            issued.remove(&oldest);
        }
        issued.insert(subject.clone(), (Instant::now(), config.clone()));
        Ok(config)
    }
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::System { action: "issue a certificate from the local CA", source: std::io::Error::other(e.to_string()) }
}

/// A leaf for `subject` and the rustls configuration serving it, with ALPN `h2` then
/// `http/1.1`.
fn server_config(ca: &Ca, subject: &Subject) -> Result<ServerConfig> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let mut params = CertificateParams::default();
    params.subject_alt_names = match subject {
        Subject::Dashboard => vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::DnsName("localhost".try_into().map_err(failed)?),
        ],
        Subject::Name(name) => vec![SanType::DnsName(name.as_str().try_into().map_err(failed)?)],
    };
    let common_name = match subject {
        Subject::Dashboard => "localhost",
        Subject::Name(name) => name,
    };
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + LEAF_VALIDITY - Duration::hours(1);
    params.serial_number = Some(serial()?);
    let cert = params.signed_by(&key, &ca.issuer).map_err(failed)?;
    // ring, not aws-lc-rs: it cross-builds for every target with a plain C compiler. It has no
    // post-quantum key exchange, which traffic that never leaves the machine does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
        .map_err(failed)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A random positive 128-bit serial number.
pub fn serial() -> Result<rcgen::SerialNumber> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(failed)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}
