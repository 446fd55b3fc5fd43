//! The simulator's own certificate authority: a CA and a server certificate for the loopback
//! names, made fresh at every start. Clients trust the simulator by trusting the CA file it writes,
//! so TLS verification stays on everywhere, tests included.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// A freshly made CA and the server configuration it signs.
#[derive(Clone)]
pub struct SimCertificates {
    /// The CA certificate in PEM, for clients to trust.
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Makes a CA and a certificate for `localhost`, `127.0.0.1`, `::1` and any `extra_names`.
pub fn make(extra_names: &[String]) -> Result<SimCertificates, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| format!("cannot make the simulator's certificates: {e}");

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "posd gateway simulator CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(extra_names.iter().cloned());
    let mut leaf_params = CertificateParams::new(names).map_err(err)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "posd gateway simulator");
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(err)?;

    let chain = vec![
        leaf.der().clone(),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let server_config =
        rustls::ServerConfig::builder_with_provider(crate::gateway::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("cannot use the simulator's certificate: {e}"))?;
    Ok(SimCertificates {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(server_config),
    })
}
