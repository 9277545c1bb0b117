//! The keys that protect patient identity: named AEAD keys (XChaCha20-Poly1305, one of them active
//! for new values) and a separate key for the keyed hash that finds "the same patient" without
//! decrypting. They come from the environment or a file, never from the database or the
//! repository; `Keyring::from_config` refuses anything less than 32 random-looking bytes.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::config::{Config, PatientIdentity};

const NONCE: usize = 24;

pub struct Keyring {
    keys: Vec<(String, XChaCha20Poly1305)>,
    active: String,
    hash_key: Vec<u8>,
}

/// A value sealed for one deviation: the key it was sealed with, and nonce ‖ ciphertext as hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub ciphertext: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Sealed with a key this server no longer has (removed before a rotation finished).
    UnknownKey(String),
    /// Changed, moved to another deviation, or sealed with another key under the same name.
    Tampered,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::UnknownKey(id) => write!(f, "patient identity sealed with unknown key «{id}»"),
            OpenError::Tampered => f.write_str("patient identity does not decrypt: changed or moved"),
        }
    }
}

/// 32 bytes as 64 hex digits, or as standard base64 (44 characters).
fn key_bytes(setting: &str, value: &str) -> Result<Vec<u8>, String> {
    let value = value.trim();
    let bytes = hex::decode(value).map_err(|_| {
        format!("{setting}: en nøkkel må være 32 tilfeldige byte skrevet som 64 heksadesimale tegn (for eksempel `openssl rand -hex 32`)")
    })?;
    let distinct: std::collections::BTreeSet<&u8> = bytes.iter().collect();
    if bytes.len() != 32 || distinct.len() < 16 {
        return Err(format!("{setting}: en nøkkel må være 32 tilfeldige byte (`openssl rand -hex 32`)"));
    }
    Ok(bytes)
}

/// `value`, or the contents of the file `file` names; the setting's name for messages.
fn setting_or_file(name: &str, value: &str, file: &str) -> Result<String, String> {
    match (value.trim().is_empty(), file.trim().is_empty()) {
        (false, _) => Ok(value.to_owned()),
        (true, false) => std::fs::read_to_string(file.trim()).map_err(|e| format!("{name}_FILE {file}: {e}")),
        (true, true) => Ok(String::new()),
    }
}

impl Keyring {
    /// The keyring the configuration names, or None when patient identity is off. Settings:
    /// `SAMAVVIK_PATIENT_KEYS` (or `_FILE`): `id=hex` entries separated by commas or lines;
    /// `SAMAVVIK_PATIENT_ACTIVE_KEY` (default: the last one); `SAMAVVIK_PATIENT_HASH_KEY` (or `_FILE`).
    pub fn from_config(config: &Config) -> Result<Option<Keyring>, String> {
        if config.patient_identity == PatientIdentity::Off {
            return Ok(None);
        }
        let listed = setting_or_file("SAMAVVIK_PATIENT_KEYS", &config.patient_keys, &config.patient_keys_file)?;
        let mut keys = Vec::new();
        let mut raw_keys = Vec::new();
        for entry in listed.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty() && !e.starts_with('#')) {
            let (id, hex) =
                entry.split_once('=').ok_or("SAMAVVIK_PATIENT_KEYS: skriv hver nøkkel som navn=heksadesimal")?;
            let id = id.trim();
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err("SAMAVVIK_PATIENT_KEYS: et nøkkelnavn kan ha bokstaver a–z, sifre, - og _".into());
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(format!("SAMAVVIK_PATIENT_KEYS: nøkkelen «{id}» står to ganger"));
            }
            let raw = key_bytes("SAMAVVIK_PATIENT_KEYS", hex)?;
            let cipher = XChaCha20Poly1305::new_from_slice(&raw)
                .map_err(|_| "SAMAVVIK_PATIENT_KEYS: nøkkelen har feil lengde".to_owned())?;
            raw_keys.push(raw);
            keys.push((id.to_owned(), cipher));
        }
        let Some((last, _)) = keys.last() else {
            return Err(
                "SAMAVVIK_PATIENT_IDENTITY er slått på, men SAMAVVIK_PATIENT_KEYS (eller SAMAVVIK_PATIENT_KEYS_FILE) \
                        har ingen nøkkel"
                    .into(),
            );
        };
        let active = match config.patient_active_key.trim() {
            "" => last.clone(),
            id if keys.iter().any(|(k, _)| k == id) => id.to_owned(),
            id => return Err(format!("SAMAVVIK_PATIENT_ACTIVE_KEY: «{id}» er ikke blant SAMAVVIK_PATIENT_KEYS")),
        };
        let Some(hash_key) = hash_key(config)? else {
            return Err(
                "SAMAVVIK_PATIENT_IDENTITY er slått på, men SAMAVVIK_PATIENT_HASH_KEY (eller _FILE) mangler".into()
            );
        };
        // One key for two purposes would let whoever has the hash key open the identities too.
        if raw_keys.contains(&hash_key) {
            return Err("SAMAVVIK_PATIENT_HASH_KEY må være en annen nøkkel enn nøklene i SAMAVVIK_PATIENT_KEYS".into());
        }
        Ok(Some(Keyring { keys, active, hash_key }))
    }

    pub fn active(&self) -> &str {
        &self.active
    }

    /// Seals `plaintext` for the deviation `bound_to` with the active key and a fresh nonce: the
    /// deviation id is authenticated with it, so a value copied to another row does not open.
    pub fn seal(&self, bound_to: &str, plaintext: &[u8]) -> Result<Sealed, anyhow::Error> {
        let (id, cipher) =
            self.keys.iter().find(|(id, _)| *id == self.active).ok_or_else(|| anyhow::anyhow!("active key missing"))?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: bound_to.as_bytes() })
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        Ok(Sealed { key_id: id.clone(), ciphertext: hex::encode([nonce.as_slice(), &sealed].concat()) })
    }

    pub fn open(&self, bound_to: &str, sealed: &Sealed) -> Result<Vec<u8>, OpenError> {
        let cipher = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .map(|(_, c)| c)
            .ok_or_else(|| OpenError::UnknownKey(sealed.key_id.clone()))?;
        let bytes = hex::decode(&sealed.ciphertext).map_err(|_| OpenError::Tampered)?;
        if bytes.len() < NONCE {
            return Err(OpenError::Tampered);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: bound_to.as_bytes() })
            .map_err(|_| OpenError::Tampered)
    }

    /// The keyed hash (HMAC-SHA256, hex) of a normalised national id: equal for the same patient,
    /// useless without the hash key.
    pub fn hash(&self, national_id: &str) -> String {
        hash_with(&self.hash_key, national_id)
    }
}

pub fn hash_with(key: &[u8], national_id: &str) -> String {
    crate::keyed::tag(key, b"samavvik-patient:", national_id.as_bytes())
}

/// The hash key, if one is configured: also with patient identity off, so the access log kept
/// from when it was on can still answer innsyn.
pub fn hash_key(config: &Config) -> Result<Option<Vec<u8>>, String> {
    let hash = setting_or_file("SAMAVVIK_PATIENT_HASH_KEY", &config.patient_hash_key, &config.patient_hash_key_file)?;
    match hash.trim() {
        "" => Ok(None),
        h => key_bytes("SAMAVVIK_PATIENT_HASH_KEY", h).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn config(keys: &str, active: &str) -> Config {
        Config {
            patient_identity: PatientIdentity::Optional,
            patient_keys: keys.into(),
            patient_active_key: active.into(),
            patient_hash_key: "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0".into(),
            ..Config::default()
        }
    }

    const A: &str = "a=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const B: &str = "b=f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101";

    #[test]
    fn a_value_opens_only_for_its_own_deviation_and_unchanged() {
        let ring = Keyring::from_config(&config(A, "")).unwrap().unwrap();
        let sealed = ring.seal("dev-1", b"01017012345").unwrap();
        assert_eq!(ring.open("dev-1", &sealed).unwrap(), b"01017012345");
        assert_ne!(ring.seal("dev-1", b"01017012345").unwrap(), sealed, "a fresh nonce every time");
        assert_eq!(ring.open("dev-2", &sealed), Err(OpenError::Tampered), "moved to another row");
        let mut changed = sealed.clone();
        let flip = if changed.ciphertext.ends_with('0') { "1" } else { "0" };
        changed.ciphertext.replace_range(changed.ciphertext.len() - 1.., flip);
        assert_eq!(ring.open("dev-1", &changed), Err(OpenError::Tampered));
        let short = Sealed { key_id: "a".into(), ciphertext: "00ff".into() };
        assert_eq!(ring.open("dev-1", &short), Err(OpenError::Tampered));
        let unknown = Sealed { key_id: "gone".into(), ..sealed };
        assert_eq!(ring.open("dev-1", &unknown), Err(OpenError::UnknownKey("gone".into())));
    }

    #[test]
    fn the_active_key_seals_and_older_keys_still_open() {
        let old = Keyring::from_config(&config(A, "")).unwrap().unwrap();
        let sealed = old.seal("dev-1", b"x").unwrap();
        let both = Keyring::from_config(&config(&format!("{A},{B}"), "")).unwrap().unwrap();
        assert_eq!(both.active(), "b", "the last listed is active unless named");
        assert_eq!(both.seal("dev-1", b"x").unwrap().key_id, "b");
        assert_eq!(both.open("dev-1", &sealed).unwrap(), b"x");
        let named = Keyring::from_config(&config(&format!("{A}\n{B}"), "a")).unwrap().unwrap();
        assert_eq!(named.active(), "a");
        assert_eq!(both.hash("01017012345"), old.hash("01017012345"), "the hash key is apart from the keys");
    }

    #[test]
    fn missing_or_weak_keys_stop_start_up_naming_the_setting() {
        let err = |keys: &str, active: &str| Keyring::from_config(&config(keys, active)).err().unwrap();
        assert!(err("", "").contains("SAMAVVIK_PATIENT_KEYS"));
        assert!(err("a=00", "").contains("32"));
        assert!(err(&format!("a={}", "11".repeat(32)), "").contains("tilfeldige"));
        assert!(err(A, "c").contains("SAMAVVIK_PATIENT_ACTIVE_KEY"));
        assert!(err(&format!("{A},{A}"), "").contains("to ganger"));
        let mut no_hash = config(A, "");
        no_hash.patient_hash_key = String::new();
        assert!(Keyring::from_config(&no_hash).err().unwrap().contains("SAMAVVIK_PATIENT_HASH_KEY"));
        let off = Config::default();
        assert!(Keyring::from_config(&off).unwrap().is_none(), "off needs no keys");
        let mut same = config(A, "");
        same.patient_hash_key = A.trim_start_matches("a=").into();
        assert!(
            Keyring::from_config(&same).err().unwrap().contains("annen nøkkel"),
            "the hash key is a key of its own"
        );
    }
}
