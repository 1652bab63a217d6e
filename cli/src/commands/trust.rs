//! `atlas-ports trust` / `untrust`: the local CA behind https named URLs, put in (or taken out
//! of) the stores the system and the browsers read. One line per store; `--format json` prints
//! `{ "ca": PATH, "fingerprint": SHA256, "stores": [{ store, outcome, reason? }] }`.

use super::{Exit, Invocation};
use crate::args::TrustArgs;
use atlas_ports_core::Result;

#[cfg(feature = "tls")]
pub fn run(inv: &Invocation<'_>, args: TrustArgs, add: bool) -> Result<Exit> {
    use crate::args::TrustStore;
    use crate::output;
    use atlas_ports_server::tls::Ca;
    use atlas_ports_server::tls::trust::{self, Store};
    let json = inv.json()?;
    let stores: Vec<Store> = match args.store.is_empty() {
        true => trust::ALL_STORES.to_vec(),
        false => args
            .store
            .iter()
            .map(|s| match s {
                TrustStore::System => Store::System,
                TrustStore::Nss => Store::Nss,
                TrustStore::Keychain => Store::Keychain,
                TrustStore::Windows => Store::Windows,
            })
            .collect(),
    };
    let ca = if add {
        Ca::load_or_create()?
    } else {
        match Ca::load()? {
            Some(ca) => ca,
            None => {
                let folder = atlas_ports_native::local_ca::folder()?;
                if json {
                    output::text(&format!("{}\n", serde_json::json!({ "ca": null, "stores": [] })))?;
                } else {
                    output::text(&format!("no local CA in {}: nothing to remove\n", folder.display()))?;
                }
                return Ok(Exit::Success);
            }
        }
    };
    // One trust or untrust at a time changes the stores: certutil on one NSS database from two
    // processes at once can corrupt it, and both would say "trusted".
    let _lock = atlas_ports_native::local_ca::lock(&atlas_ports_native::local_ca::folder()?)?;
    let stores = if add { trust::trust(&ca, &stores) } else { trust::untrust(&ca, &stores) };
    if json {
        let value = serde_json::json!({
            "ca": ca.cert_path(),
            "fingerprint": ca.fingerprint,
            "stores": stores,
        });
        output::text(&format!("{value}\n"))?;
    } else {
        let mut text = format!("local CA: {} ({})\n", ca.cert_path().display(), ca.name);
        for s in &stores {
            text.push_str(&s.line());
            text.push('\n');
        }
        if stores.is_empty() {
            text.push_str("no store found on this system\n");
        }
        output::text(&text)?;
    }
    Ok(if stores.iter().any(|s| s.failed()) { Exit::No } else { Exit::Success })
}

#[cfg(not(feature = "tls"))]
pub fn run(_inv: &Invocation<'_>, _args: TrustArgs, add: bool) -> Result<Exit> {
    Err(atlas_ports_core::Error::InvalidArgument {
        what: "command",
        value: if add { "trust" } else { "untrust" }.to_owned(),
        reason: "this build of atlas-ports has no HTTPS (built without TLS, the `tls` feature)".to_owned(),
    })
}
