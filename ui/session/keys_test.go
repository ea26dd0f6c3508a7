package session

import (
	"errors"
	"slices"
	"testing"
	"time"

	"peerchat/core/client"
	"peerchat/core/identity"
	"peerchat/ui/model"
)

// keyConn is a fakeConn with device identities.
type keyConn struct {
	*fakeConn
	verified map[string]bool // guarded by fakeConn.mu
}

func (c *keyConn) SafetyNumber(peer string) (string, error) { return "12345 " + peer, nil }
func (c *keyConn) SetVerified(peer string, v bool) error {
	c.call("verified %s %v", peer, v)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verified[peer] = v
	return nil
}
func (c *keyConn) PeerKey(peer string) (client.KeyInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return client.KeyInfo{Verified: c.verified[peer]}, true
}
func (c *keyConn) AcceptKey(peer string) error { c.call("acceptkey %s", peer); return nil }
func (c *keyConn) AcceptServerKey() error      { c.call("acceptserverkey"); return nil }

// newKeyRig is newRig over a keyConn.
func newKeyRig(t *testing.T) *rig {
	r := &rig{t: t, inval: make(chan struct{}, 1)}
	r.conn = &fakeConn{sig: NewSignal(), nick: "ana", peers: []string{"Bruno"}}
	r.svc = New(Config{
		Conn: &keyConn{fakeConn: r.conn, verified: map[string]bool{}}, Signal: r.conn.sig,
		Notify: func(title, text string) {
			r.mu.Lock()
			r.notes = append(r.notes, title+": "+text)
			r.mu.Unlock()
		},
		Invalidate: func() {
			select {
			case r.inval <- struct{}{}:
			default:
			}
		},
		Now: func() time.Time { return t0 },
	})
	t.Cleanup(func() { r.svc.Close() })
	r.m = model.New("ana", "127.0.0.1:1", func() time.Time { return t0 })
	return r
}

// TestKeyEvents turns the events of identities into the threads' Security
// and the server-key warning, and the user's answers into calls.
func TestKeyEvents(t *testing.T) {
	r := newKeyRig(t)
	r.conn.push(client.Event{Kind: client.EventChatOpen, Peer: "Bruno", Encrypted: true, KeyResult: identity.New})
	r.sync()
	th := r.m.Thread("bruno")
	if want := (model.Security{Known: true, Encrypted: true}); th.Sec != want {
		t.Fatalf("after an encrypted chat opened: %+v, want %+v", th.Sec, want)
	}
	number, verified, err := r.svc.Safety("bruno")
	if err != nil || number != "12345 Bruno" || verified {
		t.Fatalf("Safety: %q %v %v", number, verified, err)
	}
	if err := r.svc.SetVerified("bruno", true); err != nil {
		t.Fatal(err)
	}
	r.sync()
	if !th.Sec.Verified {
		t.Fatalf("not verified after SetVerified: %+v", th.Sec)
	}
	if _, verified, _ := r.svc.Safety("bruno"); !verified {
		t.Fatal("Safety does not report the key verified")
	}

	r.conn.push(client.Event{Kind: client.EventKeyChanged, Peer: "Bruno", Verified: true})
	r.sync()
	if want := (model.Security{Known: true, Encrypted: true, KeyChanged: true, WasVerified: true}); th.Sec != want {
		t.Fatalf("after the key changed: %+v, want %+v", th.Sec, want)
	}
	if m := r.lastMsg("bruno"); m.Kind != model.KindSystem {
		t.Fatalf("no system line for the key change: %+v", m)
	}
	if notes := r.takeNotes(); !slices.Contains(notes, "Bruno's key changed: Open PeerChat to check it.") {
		t.Fatalf("notes %q", notes)
	}
	if err := r.svc.AcceptKey("bruno"); err != nil {
		t.Fatal(err)
	}
	r.sync()
	if th.Sec.KeyChanged || th.Sec.Verified || th.Sec.WasVerified {
		t.Fatalf("after AcceptKey: %+v", th.Sec)
	}

	r.conn.push(client.Event{Kind: client.EventServerKey, KeyResult: identity.Changed},
		client.Event{Kind: client.EventBroadcast, From: "Bruno", Text: "hi", Signature: client.SigBad})
	r.sync()
	if !r.m.ServerKeyChanged {
		t.Fatal("no server-key warning")
	}
	if m := r.lastMsg(model.Everyone); m.Signature != client.SigBad {
		t.Fatalf("broadcast signature %v", m.Signature)
	}
	if err := r.svc.AcceptServerKey(); err != nil {
		t.Fatal(err)
	}
	r.sync()
	if r.m.ServerKeyChanged {
		t.Fatal("warning kept after AcceptServerKey")
	}
	want := []string{"verified Bruno true", "acceptkey Bruno", "acceptserverkey"}
	if got := r.calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

// TestNoKeys: a Conn without identities says nothing of encryption, and
// the key methods fail with client.ErrNoKey.
func TestNoKeys(t *testing.T) {
	r := newRig(t, nil, "bruno")
	r.conn.push(client.Event{Kind: client.EventChatOpen, Peer: "bruno"})
	r.sync()
	if sec := r.m.Thread("bruno").Sec; sec.Known {
		t.Fatalf("Security %+v without keys", sec)
	}
	if _, _, err := r.svc.Safety("bruno"); !errors.Is(err, client.ErrNoKey) {
		t.Fatalf("Safety: %v, want ErrNoKey", err)
	}
	if err := r.svc.AcceptKey("bruno"); !errors.Is(err, client.ErrNoKey) {
		t.Fatalf("AcceptKey: %v, want ErrNoKey", err)
	}
}
