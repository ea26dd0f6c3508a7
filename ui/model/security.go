package model

// Security is what a private thread shows of end-to-end encryption and of
// its peer's key (the session service reports it with OpSecurity).
type Security struct {
	// Known says that the session has device identities, so that the
	// fields below mean something; without it (a fake, an old core) the
	// UI says nothing about encryption.
	Known bool
	// Encrypted: the chat that opened last is end-to-end encrypted.
	Encrypted bool
	// Verified: the peer's key is pinned and the user marked it verified.
	Verified bool
	// KeyChanged: the peer proved (or the server announced) another key
	// than the one pinned; sending waits until the user accepts it.
	KeyChanged bool
	// WasVerified, with KeyChanged: the key being replaced was verified,
	// so the change is shown loudly.
	WasVerified bool
}
