// Package e2e encrypts a PeerChat private chat end to end: a Noise handshake
// that authenticates both devices' identities (package core/identity), then
// every chat payload sealed as Noise transport messages inside PeerChat's
// usual 10-byte framing (package core/wire).
//
// # Pattern: Noise_XX_25519_ChaChaPoly_BLAKE2s or Noise_XX_25519_AESGCM_BLAKE2s
//
// The handshake is Noise XX (three messages, -> e; <- e, ee, s, es;
// -> s, se). XX rather than KK or IK, because:
//
//   - Each side learns the other's static key inside the handshake, before
//     it is committed to, so the application can compare it with the key the
//     server announced and with the key it pinned, and say precisely what is
//     wrong: "new, unverified key", "key changed", "not the key the server
//     announced". With KK (both keys known beforehand) or IK (the responder's
//     key known beforehand), a changed or wrong key is only a failed MAC: the
//     same error as a corrupted packet, and no new key to show or pin.
//   - It needs no key before first contact, so it works with a base server
//     that announces no keys (trust on first use only) and with a stale
//     announcement.
//   - Identity hiding: the initiator's static key travels encrypted to an
//     authenticated responder (message 3), so a man in the middle never
//     learns who dialled; the responder's static key is encrypted against
//     passive listeners (message 2). The initiator checks the responder's key
//     before it sends its own.
//   - Its cost, one more half round trip than IK (and one more for the
//     confirmation below), is a fraction of a millisecond on a LAN, paid
//     once per chat connection.
//
// Forward secrecy of the live session comes from the ephemeral keys (ee):
// a device key stolen later does not decrypt a recorded chat.
//
// The default cipher suite is the one WireGuard uses. 25519: 32-byte keys,
// constant time, the key type of core/identity. ChaChaPoly: constant time
// and fast in software on every target, including Android phones without
// AES instructions; golang.org/x/crypto has assembly for amd64 and arm64.
// BLAKE2s: fast in software on 32-bit ARM; the hash only runs during the
// handshake, so it does not bear on throughput.
//
// # Cipher suites
//
// The AEAD is negotiated as TLS 1.3 stacks do: AES-256-GCM (Cipher AESGCM,
// crypto/aes and crypto/cipher) when both devices have hardware AES and
// carry-less multiplication (HardwareAES: AES-NI and PCLMULQDQ, or ARMv8 AES
// and PMULL), ChaCha20-Poly1305 (ChaChaPoly) otherwise. With the
// instructions, AES-GCM is constant time and several times faster than
// ChaChaPoly (1 KiB: ~3 GB/s against ~1 GB/s per core on the reference
// machine); without them it is slow and, in software, not constant time.
// Only the AEAD changes: 25519, BLAKE2s, the pattern and the framing are the
// same.
//
// The initiator chooses (Config.Cipher; the client core picks AESGCM when
// both devices announced the feature "e2e-aesgcm") and sends the suite as
// the first byte of message 1. The responder accepts it only if it is in
// Config.Ciphers, else the handshake fails with ErrCipher. The suite is in
// the Noise protocol name, hashed into the transcript before message 1, so
// a suite byte changed on the way gives the two sides different keys: the
// initiator cannot read message 2 and the handshake fails. A downgrade to
// ChaChaPoly is no weaker.
//
// The responder's default (Config.Ciphers nil, DefaultCiphers) is
// ChaChaPoly, plus AESGCM only with HardwareAES: a device without the
// instructions refuses to run software AES (slow, and its table lookups
// leak timing), even when a feature list, which the server relays and could
// alter, claims it has them. Such a refusal ends the chat set-up; the
// client core proposes AESGCM only when the peer announced it, which it
// does only with the instructions, so honest peers never meet it.
//
// The Noise prologue is "PeerChat E2E v1\n" followed by Config.Prologue,
// which binds the handshake to its context (the caller passes, for example,
// the invite's nonce and both nicknames; both sides must pass the same bytes).
// Each side's handshake payload (message 2 for the responder, message 3 for
// the initiator, both encrypted and authenticated by the sender's static key)
// is its 64-byte public identity, X25519 key || Ed25519 key; its X25519 half
// must equal the Noise static key.
//
// After message 3 the responder sends an empty transport message as
// confirmation, and the initiator's Handshake returns only once it has
// arrived: Noise lets the initiator finish first, and without the
// confirmation it could not tell a responder that refused its key (and
// closed) from one that accepted. So neither side gets a session unless both
// accepted the other; the cost is half a round trip.
//
// # Frames
//
// Handshake messages and transport messages are frame payloads of the usual
// framing. Payloads must be valid UTF-8, so binary bytes are packed 7 bits
// per byte ("pack7", see below) after a verb:
//
//	E2E_HS <pack7 of suite (1 byte) || Noise handshake message 1>
//	E2E_HS <pack7 of Noise handshake message 2 or 3>
//	E2E <pack7 of seq (8 bytes, big-endian) || flag (1 byte) || ciphertext>
//
// suite, only in the initiator's first frame, is the Cipher: 0 ChaChaPoly,
// 1 AESGCM, any other value refused. Message 1 is then 33 bytes (the suite
// and the 32-byte ephemeral key), 38 bytes packed.
//
// seq is the Noise nonce of the transport message (0, 1, 2, … per
// direction); flag is 0 for the last fragment of an application message and 1
// when more fragments follow. seq and flag (9 bytes) are the AEAD's associated
// data, so both are authenticated. A message longer than MaxFragment bytes is
// split into several transport messages (Noise's limit is 65,535 bytes,
// ciphertext and 16-byte tag included); a message may be at most MaxMessage
// bytes. The Noise nonce orders every fragment, so a receiver never accepts a
// replayed, reordered or dropped fragment; the explicit seq only lets it say
// which of those happened. The AEAD's 96-bit nonce is the Noise
// specification's: 32 zero bits, then seq little-endian (ChaChaPoly) or
// big-endian (AESGCM).
//
// pack7: every 7 bytes, read as a 56-bit little-endian integer v, become 8
// bytes, byte i being (v >> 7i) & 0x7f; a last group of k < 7 bytes becomes
// k+1 bytes the same way, its 7-k unused high bits zero. Every byte is below
// 0x80: ASCII, valid UTF-8 (control characters included, which frame
// payloads allow). Unpacking refuses bytes of 0x80 or more, a last group of
// one byte and non-zero unused bits, so each binary string has one packed
// form. Example: ff 00 01 02 03 04 05 80 packs to 7f 01 04 10 30 00 41 02 00 01.
//
// Why not base64: pack7 costs 14% instead of 33%, and packs and unpacks
// 2–3 times faster than encoding/base64 encodes and decodes (1 KiB on the
// reference machine: 1.6–3 GB/s against 0.7–1 GB/s). With base64, the
// receiver's decoding was the largest cost after the cipher.
//
// Cost: a message of n bytes in k fragments becomes a frame payload of
// 4 + m + ⌈m/7⌉ bytes, m = n + 25k: a 1,024-byte chat payload becomes 1,203
// bytes (+17.5%); a 60-byte chat line becomes 102.
//
// A session relayed through a server (docs/PROTOCOL.md §2.7) must keep
// every frame within the server's payload limit: Session.SetMaxFragment
// with RelayFragment (55 KiB) does. Only the sender splits differently; the
// receiver reassembles fragments of any size.
//
// # Two ways to use a session
//
// Session.WriteMessage and Session.ReadMessage do the I/O. Session.Seal and
// Session.Open only transform: Seal appends the frames of one message to a
// buffer, for a writer that batches frames of many messages into one write
// (the client core's link does); Open takes the payloads its caller's own
// wire.Reader returns.
//
// # Mailbox items
//
// SealTo and OpenFrom seal a message for a device that is away, stored by
// the server (docs/PROTOCOL.md §2.8, Item format). An item is one Noise
// message of the one-way pattern X, Noise_X_25519_ChaChaPoly_BLAKE2s
// (-> e, es, s, ss; the recipient's static key known in advance), packed
// with pack7. Its prologue is "PeerChat MBOX v1\n" followed by the
// caller's context; its payload is the sender's 64-byte public identity
// followed by the plaintext, and the identity's X25519 half must equal the
// Noise static key the message carries. Only the recipient can open it,
// and the es and ss DHs prove the sender's key. What a one-way pattern
// cannot give: forward secrecy for the recipient (its key, stolen later,
// opens stored items), resistance to key-compromise impersonation (that
// key also forges items to it), and replay detection (the caller
// deduplicates by the ids inside).
//
// # Errors
//
// The session ends at the first error; every later call returns it. A frame
// that breaks the session's integrity gives an error wrapping one of
// ErrReplayed, ErrReordered, ErrTruncated, ErrAltered, ErrNotEncrypted or
// ErrMalformed. A handshake refused by Config.Expect gives a *RejectedError
// (errors.Is ErrRejected) carrying the remote identity; other handshake
// failures wrap ErrHandshake.
//
// The end of a chat is not authenticated by this package: the clean end of
// the stream between two messages is io.EOF. An application that must tell
// a deliberate end from a cut sends its goodbye (LEFT_CHAT) inside the
// session.
package e2e
