//! Keyed hashes (HMAC-SHA256). Each use names its purpose in the first bytes it hashes, so a tag made
//! for one purpose (a CSRF token, a sealed cookie, a patient's hash) never passes for another under the
//! same key. The purposes' bytes are part of stored hashes: never change one.

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(key: &[u8], purpose: &[u8], message: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(purpose);
    mac.update(message);
    mac
}

/// The tag of `message` for `purpose`, as 64 hex digits.
pub fn tag(key: &[u8], purpose: &[u8], message: &[u8]) -> String {
    hex::encode(mac(key, purpose, message).finalize().into_bytes())
}

/// The tag as 32 bytes, for use as a key derived from `key` for `purpose`.
pub fn raw(key: &[u8], purpose: &[u8], message: &[u8]) -> [u8; 32] {
    mac(key, purpose, message).finalize().into_bytes().into()
}

/// Whether `tag` (hex) is the tag of `message` for `purpose`, compared in constant time; anything
/// that is not hex is simply wrong.
pub fn verify(key: &[u8], purpose: &[u8], message: &[u8], tag: &str) -> bool {
    hex::decode(tag).is_ok_and(|bytes| mac(key, purpose, message).verify_slice(&bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_verifies_only_for_its_purpose_key_and_message() {
        let t = tag(b"key", b"csrf:", b"browser");
        assert!(verify(b"key", b"csrf:", b"browser", &t));
        assert!(!verify(b"key", b"cookie:", b"browser", &t));
        assert!(!verify(b"other", b"csrf:", b"browser", &t));
        assert!(!verify(b"key", b"csrf:", b"browsers", &t));
        assert!(!verify(b"key", b"csrf:", b"browser", "not hex"));
    }

    #[test]
    fn the_purpose_is_hashed_before_the_message_so_stored_hashes_stay_valid() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        assert_eq!(
            tag(b"Jefe", b"what do ya want ", b"for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
