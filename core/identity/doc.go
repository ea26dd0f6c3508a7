// Package identity holds a PeerChat device's long-term keys, their text form
// on the wire, safety numbers, and the trust-on-first-use pin store.
//
// # Keys
//
// A device has one 32-byte secret seed. Two independent key pairs are derived
// from it with HKDF-SHA256 (RFC 5869, no salt, the seed as input key material):
//
//   - an X25519 key pair, info "peerchat identity v1 x25519", the static key
//     of the Noise handshake that encrypts private chats (package core/e2e);
//   - an Ed25519 key pair, info "peerchat identity v1 ed25519" (the 32 bytes
//     are the Ed25519 seed of RFC 8032), which signs broadcasts.
//
// One seed rather than two stored keys: there is one secret to keep, back up
// and protect, and the two public keys cannot drift apart (a file holding an
// X25519 key of one device and an Ed25519 key of another cannot exist).
// Two derived keys rather than one key used both ways (an Ed25519 key
// converted to X25519, as XEdDSA does): the signing key and the DH key never
// share a scalar, so no argument about cross-protocol reuse is needed, at the
// cost of 32 more bytes in the public identity.
//
// # Public identity
//
// The public identity is the pair of public keys, 64 bytes: the X25519 key
// then the Ed25519 key. Its text form, used on the wire and in files, is
//
//	pc1.<base64url without padding of the 64 bytes>
//
// 90 ASCII characters, no space. ParsePublic is strict: the prefix, the
// length, the alphabet and the unused bits must be exact, and the X25519 key
// must be canonical (below 2^255-19) and not of small order, so one identity
// has exactly one text form.
//
// # Identity file
//
// LoadOrCreate keeps the seed in DIR/identity.json, a JSON object:
//
//	{"version":1,"seed":"<base64url of the 32-byte seed>","public":"pc1.…"}
//
// "public" is redundant; Load checks that it matches the seed, which catches
// a damaged or hand-edited file. Unknown fields and other versions are
// refused. The file is written once, atomically (a temporary file in the same
// directory, fsync, link or rename, fsync of the directory), with mode 0600.
//
// On Unix, a key file that group or others may read, write or execute is
// refused with a *PermissionError (errors.Is ErrInsecurePermissions), the way
// OpenSSH refuses such a private key: the secret may already have leaked, so
// quietly fixing the mode would hide that. The error names the file and the
// command that fixes it (chmod 600 FILE); the app shows it. On Windows, file
// modes do not describe access and the check is skipped (the data directory
// is in the user's profile).
//
// # Safety numbers
//
// SafetyNumber follows Signal's numeric fingerprint (libsignal's
// NumericFingerprintGenerator). For each side, with key the 64-byte public
// identity: hash = version (two zero bytes) || key || stable id, then 5200
// times hash = SHA-512(hash || key). The first 30 bytes of the result give 30
// digits: six 5-byte big-endian chunks, each modulo 100000 and written as 5
// digits. The two 30-digit halves are
// concatenated in ascending order (so both sides see the same number) and
// shown as 12 groups of 5 digits. The stable id is the empty string: in
// PeerChat the key is who you are and a nickname is only a display name, so
// a rename does not change the number.
//
// # Pins
//
// A PinStore remembers, per peer, the public identity first seen for it
// (trust on first use), whether the user verified it, and when it was first
// seen; it is kept in DIR/pins.json, written atomically with mode 0600. See
// PinStore for its file format.
package identity
