package client

import (
	"errors"
	"fmt"
	"strconv"

	"peerchat/core/identity"
)

// This file is the public face of device identities: what the Client tells
// a UI about keys, pins, safety numbers and encryption, and how the UI
// answers a key change. The contract is in the package doc, "Identities and
// encryption".

// Errors of identities and encryption. Test with errors.Is.
var (
	// ErrServerKeyChanged: the server proved a key other than the one
	// pinned for its address; nothing is broadcast and no invite is sent
	// until AcceptServerKey.
	ErrServerKeyChanged = errors.New("the server's key changed")
	// ErrServerIdent: the server's SIDENT signature (or its SKEY) is not
	// valid: it does not hold the key it announced. The link is dropped.
	ErrServerIdent = errors.New("the server failed to prove its key")
	// ErrKeyChanged: a peer proved (or the server announced) a key other
	// than the one pinned for that peer; its chat waits for AcceptKey.
	ErrKeyChanged = errors.New("the peer's key changed")
	// ErrKeyMismatch: a peer without a pin proved a key other than the one
	// the server announced for it.
	ErrKeyMismatch = errors.New("the peer's key is not the one the server announced")
	// ErrNoKey: no identity is configured, or the peer has no known key.
	ErrNoKey = errors.New("no key")
	// ErrNotEncrypted: a chat that would not be end-to-end encrypted (a
	// base peer, a peer without "e2e", a base server) was refused: by
	// Config.RequireEncryption, or because the peer has a pinned key (a
	// downgrade: the peer, or the server that strips "e2e" from its CAPS,
	// must not turn an encrypted peer into a plaintext one silently;
	// ForgetKey lets the user chat in plaintext).
	ErrNotEncrypted = errors.New("chat would not be encrypted")
	// ErrNoKeyChange: AcceptKey or AcceptServerKey was called with no
	// changed key waiting.
	ErrNoKeyChange = errors.New("no key change to accept")
)

// SigState is what the core found about a broadcast's signature.
type SigState int

// Signature states of EventBroadcast.
const (
	// SigNone: the sender has no known key; the broadcast is plain, as
	// from a base client. Nothing is wrong.
	SigNone SigState = iota
	// SigValid: the sender's signature verifies against its key (pinned,
	// else announced by the server).
	SigValid
	// SigMissing: a sender with a known key sent an unsigned broadcast (a
	// server or client that forges it would do so).
	SigMissing
	// SigBad: the signature does not verify, or the signer's key is unknown.
	SigBad
)

var sigNames = [...]string{SigNone: "none", SigValid: "valid", SigMissing: "missing", SigBad: "bad"}

// String returns "none", "valid", "missing" or "bad".
func (s SigState) String() string {
	if s >= 0 && int(s) < len(sigNames) {
		return sigNames[s]
	}
	return "SigState(" + strconv.Itoa(int(s)) + ")"
}

// ServerKind is what the Client knows of the server it registered with
// (EventRegistered and EventReconnected carry it in Event.Server).
type ServerKind int

// Server kinds.
const (
	// ServerUnconfirmed: the port accepted REGISTER and PORT but has said
	// nothing within DefaultRegisterGrace. It may be a base server with
	// nobody else registered, or something that only swallows bytes: an
	// empty room is not proved. It becomes ServerBase at its first PeerChat
	// payload; broadcasts whose echo does not come within DefaultEchoTimeout
	// fail (EventSendFailed).
	ServerUnconfirmed ServerKind = iota + 1
	// ServerBase: a base server (it spoke, but never said WELCOME).
	ServerBase
	// ServerV2: a v2 server (WELCOME).
	ServerV2
)

var serverKindNames = [...]string{ServerUnconfirmed: "unconfirmed", ServerBase: "base", ServerV2: "v2"}

// String returns "unconfirmed", "base" or "v2".
func (k ServerKind) String() string {
	if k > 0 && int(k) < len(serverKindNames) {
		return serverKindNames[k]
	}
	return "ServerKind(" + strconv.Itoa(int(k)) + ")"
}

// KeyInfo is what the Client knows of a peer's key.
type KeyInfo struct {
	// Key is the pinned key, or, for a peer without a pin, the key the
	// server announced.
	Key identity.PublicIdentity
	// Verified: Key is pinned and the user marked it verified.
	Verified bool
	// Changed: a different key was proved or announced; sending to the peer
	// waits for AcceptKey. Key is still the old (pinned) key.
	Changed bool
}

// SafetyNumber returns the safety number (identity.SafetyNumber) of our key
// and the key pinned for peer, for the user to compare with the peer's.
// The error wraps ErrNoKey when no Identity is configured or peer has no
// pin yet. It costs a few milliseconds: call it when the dialog opens.
func (c *Client) SafetyNumber(peer string) (string, error) {
	if c.cfg.Identity == nil {
		return "", fmt.Errorf("safety number for %q: %w", peer, ErrNoKey)
	}
	p, ok := c.pins.Get(foldKey(peer))
	if !ok {
		return "", fmt.Errorf("safety number for %q: %w", peer, ErrNoKey)
	}
	return identity.SafetyNumber(c.cfg.Identity.Public(), p.Key), nil
}

// SetVerified marks the key pinned for peer verified (or not): the user
// compared the safety number. The error wraps ErrNoKey when peer has no pin,
// or is the pin store's write error.
func (c *Client) SetVerified(peer string, verified bool) error {
	key := foldKey(peer)
	p, ok := c.pins.Get(key)
	if c.cfg.Identity == nil || !ok {
		return fmt.Errorf("verify %q: %w", peer, ErrNoKey)
	}
	if err := c.pins.SetVerified(key, p.Key, verified); err != nil {
		return fmt.Errorf("verify %q: %w", peer, err)
	}
	return nil
}

// ForgetKey forgets the key pinned for peer (identity.PinStore.Forget): the
// next key it proves is pinned as new, and a chat that would not be
// encrypted is no longer refused as a downgrade. A changed key waiting for
// AcceptKey is dropped too. The error is the pin store's.
func (c *Client) ForgetKey(peer string) error {
	key := foldKey(peer)
	if err := c.pins.Forget(key); err != nil {
		return fmt.Errorf("forget the key of %q: %w", peer, err)
	}
	c.mu.Lock()
	defer c.unlock()
	if ch := c.chats[key]; ch != nil && !ch.newKey.IsZero() {
		ch.newKey = identity.PublicIdentity{}
		c.release(ch)
	}
	return nil
}

// mustEncrypt reports whether a chat with nick must be encrypted:
// Config.RequireEncryption, or a key pinned for nick (see
// ErrNotEncrypted). The caller may hold c.mu.
func (c *Client) mustEncrypt(nick string) bool {
	if c.cfg.RequireEncryption {
		return true
	}
	if c.cfg.Identity == nil {
		return false
	}
	_, pinned := c.pins.Get(foldKey(nick))
	return pinned
}

// PeerKey returns what is known of peer's key: its pin, else the key the
// server announced. ok is false when neither exists.
func (c *Client) PeerKey(peer string) (KeyInfo, bool) {
	key := foldKey(peer)
	c.mu.Lock()
	var announced identity.PublicIdentity
	if p := c.peers[key]; p != nil {
		announced = p.Key
	}
	changed := false
	if ch := c.chats[key]; ch != nil && !ch.newKey.IsZero() {
		changed = true
	}
	c.mu.Unlock()
	if p, ok := c.pins.Get(key); ok {
		return KeyInfo{Key: p.Key, Verified: p.Verified, Changed: changed}, true
	}
	if announced.IsZero() {
		return KeyInfo{}, false
	}
	return KeyInfo{Key: announced, Changed: changed}, true
}

// Encrypted reports whether the open chat with peer is end-to-end
// encrypted. It is false when no chat is open.
func (c *Client) Encrypted(peer string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.chats[foldKey(peer)]
	return ch != nil && ch.state == ChatOpen && ch.l != nil && ch.l.sess != nil
}

// ServerKind returns what is known of the server (see ServerKind); 0 while
// the link is down.
func (c *Client) ServerKind() ServerKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv == nil {
		return 0
	}
	return c.srvKind
}

// AcceptKey accepts peer's changed key (EventKeyChanged): it is pinned,
// unverified, and the messages held for peer are sent (the chat is
// invited again). The error wraps ErrNoKeyChange when no changed key is
// waiting for peer, or is the pin store's write error.
func (c *Client) AcceptKey(peer string) error {
	key := foldKey(peer)
	c.mu.Lock()
	ch := c.chats[key]
	if ch == nil || ch.newKey.IsZero() {
		c.mu.Unlock()
		return fmt.Errorf("accept key of %q: %w", peer, ErrNoKeyChange)
	}
	newKey := ch.newKey
	c.mu.Unlock()
	if err := c.pins.Accept(key, newKey, c.now()); err != nil {
		return fmt.Errorf("accept key of %q: %w", peer, err)
	}
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return ErrClosed
	}
	ch = c.chats[key]
	if ch == nil || ch.newKey != newKey {
		return nil // changed again meanwhile: a new EventKeyChanged was sent
	}
	ch.newKey = identity.PublicIdentity{}
	c.release(ch)
	return nil
}

// AcceptServerKey accepts the server's changed key (EventServerKey with
// KeyResult identity.Changed): it is pinned for the server's address and
// broadcasts and invites go again (held messages are sent). The error
// wraps ErrNoKeyChange when no change waits, or is the pin store's error.
func (c *Client) AcceptServerKey() error {
	c.mu.Lock()
	k := c.srvNewKey
	c.mu.Unlock()
	if k.IsZero() {
		return fmt.Errorf("accept the server's key: %w", ErrNoKeyChange)
	}
	if err := c.srvPins.Accept(c.cfg.Server, k, c.now()); err != nil {
		return fmt.Errorf("accept the server's key: %w", err)
	}
	c.mu.Lock()
	defer c.unlock()
	if c.closed {
		return ErrClosed
	}
	if c.srvNewKey != k {
		return nil
	}
	c.srvNewKey = identity.PublicIdentity{}
	for _, ch := range c.chats {
		c.release(ch)
	}
	return nil
}

// release restarts what was held for ch (a changed key, or the server's):
// the retry window of its messages starts again and, if it has messages
// and no chat under way, the peer is invited. The caller holds c.mu.
func (c *Client) release(ch *chat) {
	if !ch.newKey.IsZero() || !c.srvNewKey.IsZero() || len(ch.outbox) == 0 {
		return
	}
	deadline := c.now().Add(c.cfg.RetryWindow)
	for i := range ch.outbox {
		if ch.outbox[i].deadline.Before(deadline) {
			ch.outbox[i].deadline = deadline
		}
	}
	if p := c.peers[ch.key]; p != nil && ch.state == ChatNone {
		c.startInvite(ch, p)
	}
	c.wake()
}

// keyChanged records that peer ch proved (or was announced with) newKey
// while old is pinned, and reports it: EventKeyChanged. Sending to ch is
// held until AcceptKey. The caller holds c.mu.
func (c *Client) keyChanged(ch *chat, old identity.Pin, newKey identity.PublicIdentity) {
	if ch.newKey == newKey {
		return
	}
	ch.newKey = newKey
	c.emit(Event{Kind: EventKeyChanged, Peer: ch.nick, Key: newKey, OldKey: old.Key, Verified: old.Verified,
		Err: fmt.Errorf("%q: %w", ch.nick, ErrKeyChanged)})
}

// held reports whether sending to ch waits for the user (a changed key of
// the peer or of the server). The caller holds c.mu.
func (c *Client) held(ch *chat) bool { return !ch.newKey.IsZero() || !c.srvNewKey.IsZero() }

// newMemPins returns an in-memory pin store for a Config without one.
func newMemPins() *identity.PinStore { return identity.NewMemoryPins() }
