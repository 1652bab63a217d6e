//! The local certificate authority: an ECDSA P-256 key and a self-signed certificate, made on
//! first use in the folder [`atlas_ports_native::local_ca::folder`] names, and checked every
//! time it is loaded. Its name constraints permit only `localhost` and the names under it,
//! 127.0.0.1 and ::1: even trusted by a browser, it cannot vouch for any other site.

use atlas_ports_core::{Error, Result};
use atlas_ports_native::local_ca::{self, CERT_FILE, KEY_FILE};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// How long the CA is valid: about ten years.
const CA_VALIDITY: Duration = Duration::days(3652);

/// The local CA, loaded and checked.
pub struct Ca {
    /// Its folder.
    pub folder: PathBuf,
    /// The certificate, PEM (public: this is what is trusted).
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: CertificateDer<'static>,
    /// SHA-256 of the certificate's DER, in lower-case hex.
    pub fingerprint: String,
    /// Its subject's common name.
    pub name: String,
    /// Signs leaves. Never printed: `Ca`'s `Debug` leaves it out.
    pub(super) issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("folder", &self.folder)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// The certificate's path.
    pub fn cert_path(&self) -> PathBuf {
        self.folder.join(CERT_FILE)
    }

    /// The first 16 hex digits of the fingerprint: the CA's short name in the stores.
    pub fn short_fingerprint(&self) -> &str {
        &self.fingerprint[..16]
    }

    /// Loads the CA from its folder, creating it when there is none. Two processes creating at
    /// once end with one CA: creation holds the folder's lock, and the second finds the first's.
    pub fn load_or_create() -> Result<Ca> {
        let folder = local_ca::folder()?;
        local_ca::ensure_folder(&folder)?;
        if let Some(ca) = Ca::load_from(&folder)? {
            return Ok(ca);
        }
        let _lock = local_ca::lock(&folder)?;
        if let Some(ca) = Ca::load_from(&folder)? {
            return Ok(ca);
        }
        create(&folder)?;
        Ca::load_from(&folder)?.ok_or_else(|| unusable(&folder.join(CERT_FILE), "vanished right after it was written"))
    }

    /// Loads the CA when it exists, without creating it.
    pub fn load() -> Result<Option<Ca>> {
        let folder = local_ca::folder()?;
        if !folder.exists() {
            return Ok(None);
        }
        local_ca::ensure_folder(&folder)?;
        Ca::load_from(&folder)
    }

    fn load_from(folder: &Path) -> Result<Option<Ca>> {
        let cert_path = folder.join(CERT_FILE);
        let key_path = folder.join(KEY_FILE);
        // The key first: it is written before the certificate, so a certificate means a key.
        let key_pem = local_ca::read_checked(&key_path, "local CA's private key", true)?;
        let Some(cert_pem) = local_ca::read_checked(&cert_path, "local CA's certificate", false)? else {
            return Ok(None);
        };
        let Some(key_pem) = key_pem else {
            return Err(unusable(
                &key_path,
                "is missing while the certificate beside it is there; remove the folder to make a new CA (and run `atlas-ports trust` again)",
            ));
        };
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| unusable(&key_path, &format!("is not a private key this program can read ({e})")))?;
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| unusable(&cert_path, &format!("holds no PEM certificate ({e:?})")))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|e| unusable(&cert_path, &format!("is not a certificate this program can read ({e})")))?;
        if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(unusable(
                &cert_path,
                &format!("does not match the private key {} beside it", key_path.display()),
            ));
        }
        if !parsed.is_ca() {
            return Err(unusable(&cert_path, "is not a CA certificate"));
        }
        if !parsed.validity().is_valid() {
            return Err(unusable(
                &cert_path,
                "has expired (or is not valid yet); remove the folder to make a new CA, and run `atlas-ports trust` again",
            ));
        }
        let name = parsed
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or("atlas-ports local CA")
            .to_owned();
        let issuer = Issuer::from_ca_cert_der(&cert_der, key)
            .map_err(|e| unusable(&cert_path, &format!("cannot sign with it ({e})")))?;
        let fingerprint = ring::digest::digest(&ring::digest::SHA256, &cert_der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Some(Ca { folder: folder.to_owned(), cert_pem, cert_der, fingerprint, name, issuer }))
    }
}

/// Makes a new CA in `folder` (whose lock the caller holds): the key, then the certificate.
fn create(folder: &Path) -> Result<()> {
    let failed = |e: rcgen::Error| Error::System { action: "make the local CA", source: std::io::Error::other(e) };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, format!("atlas-ports local CA ({})", user_at_host()));
    params.distinguished_name.push(DnType::OrganizationName, "atlas-ports");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".to_owned()),
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([127, 0, 0, 1], 32)),
            GeneralSubtree::IpAddress(CidrSubnet::from_v6_prefix(std::net::Ipv6Addr::LOCALHOST.octets(), 128)),
        ],
        excluded_subtrees: Vec::new(),
    });
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + CA_VALIDITY;
    params.serial_number = Some(super::issue::serial()?);
    let cert = params.self_signed(&key).map_err(failed)?;
    local_ca::write_private(folder, KEY_FILE, key.serialize_pem().as_bytes())?;
    local_ca::write_private(folder, CERT_FILE, cert.pem().as_bytes())?;
    Ok(())
}

/// `user@host`, for the CA's name: whose CA a trust store is showing.
fn user_at_host() -> String {
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "user".to_owned());
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    format!("{user}@{host}")
}

fn unusable(path: &Path, reason: &str) -> Error {
    Error::UnusableWorktreeFile { what: "local CA's file", path: path.to_owned(), reason: reason.to_owned() }
}
