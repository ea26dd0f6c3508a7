package client

import (
	"errors"
	"slices"
	"testing"

	"peerchat/core/e2e"
	"peerchat/core/wire"
)

// chatCipher returns the suite of c's open encrypted chat with nick.
func (c *tc) chatCipher(nick string) (e2e.Cipher, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.chats[foldKey(nick)]
	if ch == nil || ch.state != ChatOpen || ch.l == nil || ch.l.sess == nil {
		return 0, false
	}
	return ch.l.sess.Cipher(), true
}

// features returns the features c knows for nick.
func (c *tc) features(nick string) []string {
	for _, p := range c.Peers() {
		if p.Nick == nick {
			return p.Features
		}
	}
	return nil
}

// checkChat fails t unless a's chat with b and b's with a are open,
// encrypted with want, and carry a message each way.
func checkChat(t *testing.T, a, b *tc, want e2e.Cipher) {
	t.Helper()
	for _, p := range [][2]*tc{{a, b}, {b, a}} {
		if got, ok := p[0].chatCipher(p[1].Nick()); !ok || got != want {
			t.Fatalf("%s: chat with %s: suite %v (encrypted %v), want %v", p[0].Nick(), p[1].Nick(), got, ok, want)
		}
		text := "hello from " + p[0].Nick() + " with " + want.String()
		if _, err := p[0].Send(p[1].Nick(), text); err != nil {
			t.Fatal(err)
		}
		p[1].wait(EventChatMsg, func(e Event) bool { return e.Text == text })
	}
}

// TestChatCipherAES: two keyed clients with hardware AES both announce
// "e2e-aesgcm", and their chat runs AES-256-GCM.
func TestChatCipherAES(t *testing.T) {
	if !e2e.HardwareAES() {
		t.Skip("no hardware AES on this machine")
	}
	checkGoroutines(t)
	ts := startServer(t)
	a, b := dial(t, keyedConfig(ts.Addr, "alice")), dial(t, keyedConfig(ts.Addr, "bob"))
	a.waitKey("bob")
	b.waitKey("alice")
	if !slices.Contains(a.features("bob"), wire.FeatureE2EAES) || !slices.Contains(b.features("alice"), wire.FeatureE2EAES) {
		t.Fatalf("features %v / %v, want %q", a.features("bob"), b.features("alice"), wire.FeatureE2EAES)
	}
	openChat(t, a, b)
	checkChat(t, a, b, e2e.AESGCM)
}

// TestChatCipherNoAES: a keyed client without hardware AES does not
// announce "e2e-aesgcm", and its chats with a client that has it run
// ChaChaPoly, whichever side dials.
func TestChatCipherNoAES(t *testing.T) {
	checkGoroutines(t)
	ts := startServer(t)
	bcfg := keyedConfig(ts.Addr, "bob")
	bcfg.hooks = &hooks{noAES: true}
	bcfg.NoRelay = true // one path: the direct one, whose handshake must fail
	a, b := dial(t, keyedConfig(ts.Addr, "alice")), dial(t, bcfg)
	a.waitKey("bob")
	b.waitKey("alice")
	if slices.Contains(a.features("bob"), wire.FeatureE2EAES) {
		t.Fatalf("bob without AES announced %v", a.features("bob"))
	}
	if got := slices.Contains(b.features("alice"), wire.FeatureE2EAES); got != e2e.HardwareAES() {
		t.Fatalf("alice announced %v with HardwareAES %v", b.features("alice"), e2e.HardwareAES())
	}
	openChat(t, a, b) // bob dials: he proposes ChaChaPoly
	checkChat(t, a, b, e2e.ChaChaPoly)
	a.LeaveChat("bob")
	a.wait(EventChatClosed, nil)
	b.wait(EventChatClosed, nil)
	openChat(t, b, a) // alice dials: bob did not announce e2e-aesgcm
	checkChat(t, a, b, e2e.ChaChaPoly)
}

// TestChatCipherForgedCaps: a server that adds "e2e-aesgcm" to the CAPS of
// a peer without hardware AES makes the dialer propose AESGCM; that peer
// refuses it (e2e.ErrCipher) and no chat opens.
func TestChatCipherForgedCaps(t *testing.T) {
	if !e2e.HardwareAES() {
		t.Skip("no hardware AES on this machine: the dialer never proposes AESGCM")
	}
	checkGoroutines(t)
	ts := startServer(t)
	bcfg := keyedConfig(ts.Addr, "bob")
	bcfg.hooks = &hooks{noAES: true}
	bcfg.NoRelay = true // one path: the direct one, whose handshake must fail
	a, b := dial(t, keyedConfig(ts.Addr, "alice")), dial(t, bcfg)
	a.waitKey("bob")
	b.waitKey("alice")
	a.mu.Lock() // what a forged CAPS would have said
	p := a.peers[foldKey("bob")]
	p.Features = append(slices.Clip(p.Features), wire.FeatureE2EAES)
	a.mu.Unlock()
	if err := b.Invite("alice"); err != nil {
		t.Fatal(err)
	}
	a.wait(EventInvite, peerIs("bob"))
	if err := a.Accept("bob"); err != nil {
		t.Fatal(err)
	}
	e := b.wait(EventChatClosed, peerIs("alice"))
	if !errors.Is(e.Err, e2e.ErrCipher) {
		t.Fatalf("bob: chat closed with %v, want e2e.ErrCipher", e.Err)
	}
	a.wait(EventChatClosed, peerIs("bob"))
	if b.count(EventChatOpen) != 0 || a.count(EventChatOpen) != 0 {
		t.Fatal("a chat opened")
	}
}
