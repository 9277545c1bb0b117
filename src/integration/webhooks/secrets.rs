//! Endpoint signing secrets: made here (`whsec_` and 32 random bytes in base64, as Standard
//! Webhooks writes them), shown once, and kept sealed. Signing needs the secret itself, not a
//! hash, so it is encrypted (XChaCha20-Poly1305, bound to its endpoint) under a key derived from
//! `SAMAVVIK_SECRET`: a copy of the database alone does not sign. Changing `SAMAVVIK_SECRET` makes
//! the stored secrets unreadable; deliveries then fail with that reason until each endpoint's
//! secret is rotated.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::ids::WebhookId;

const NONCE: usize = 24;

pub fn generate() -> String {
    format!("whsec_{}", STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng)))
}

pub struct Sealer(XChaCha20Poly1305);

impl Sealer {
    pub fn new(server_secret: &str) -> Self {
        let key = crate::keyed::raw(server_secret.as_bytes(), b"samavvik-webhook-secret:", b"");
        Sealer(XChaCha20Poly1305::new(&key.into()))
    }

    pub fn seal(&self, endpoint: &WebhookId, secret: &str) -> anyhow::Result<String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(&nonce, Payload { msg: secret.as_bytes(), aad: endpoint.as_str().as_bytes() })
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        Ok(hex::encode([nonce.as_slice(), &sealed].concat()))
    }

    pub fn open(&self, endpoint: &WebhookId, sealed: &str) -> Result<String, &'static str> {
        const UNREADABLE: &str = "hemmeligheten kan ikke leses (er SAMAVVIK_SECRET byttet?); lag en ny hemmelighet";
        let bytes = hex::decode(sealed).map_err(|_| UNREADABLE)?;
        if bytes.len() < NONCE {
            return Err(UNREADABLE);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE);
        let plain = self
            .0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: endpoint.as_str().as_bytes() })
            .map_err(|_| UNREADABLE)?;
        String::from_utf8(plain).map_err(|_| UNREADABLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_endpoint_and_server_secret() {
        let (a, b) = (WebhookId::generate(), WebhookId::generate());
        let secret = generate();
        assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() == 32);
        let sealer = Sealer::new("server secret of some length and variety");
        let sealed = sealer.seal(&a, &secret).unwrap();
        assert!(!sealed.contains(&secret[6..]));
        assert_eq!(sealer.open(&a, &sealed).unwrap(), secret);
        assert!(sealer.open(&b, &sealed).is_err());
        assert!(Sealer::new("another server secret, also long enough").open(&a, &sealed).is_err());
    }
}
