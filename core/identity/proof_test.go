package identity

import (
	"crypto/rand"
	"testing"
	"time"
)

func TestRegistrationSignatures(t *testing.T) {
	srv, _ := Generate(rand.Reader)
	cli, _ := Generate(rand.Reader)
	other, _ := Generate(rand.Reader)
	r := Registration{
		ServerNonce: []byte("0123456789abcdef"),
		ClientNonce: []byte("fedcba9876543210"),
		Nick:        "alice",
		Server:      srv.Public(),
		Client:      cli.Public(),
	}
	cs, ss := r.SignClient(cli), r.SignServer(srv)
	if !r.VerifyClient(cs) || !r.VerifyServer(ss) {
		t.Fatal("valid signatures refused")
	}
	if r.VerifyServer(cs) || r.VerifyClient(ss) {
		t.Fatal("a signature is valid in the other role")
	}
	if r.VerifyClient(r.SignClient(other)) {
		t.Fatal("another key's signature accepted")
	}
	for name, m := range map[string]func(*Registration){
		"nick":         func(r *Registration) { r.Nick = "alicf" },
		"server nonce": func(r *Registration) { r.ServerNonce = []byte("0123456789abcdeF") },
		"client nonce": func(r *Registration) { r.ClientNonce = []byte("fedcba987654321F") },
		"server key":   func(r *Registration) { r.Server = other.Public() },
		"field shift":  func(r *Registration) { r.Nick = "alice" + string(r.ClientNonce[:1]); r.ClientNonce = r.ClientNonce[1:] },
	} {
		c := r
		m(&c)
		if c.VerifyClient(cs) || c.VerifyServer(ss) {
			t.Errorf("%s changed and the signatures still verify", name)
		}
	}
}

func TestBroadcastSignature(t *testing.T) {
	srv, _ := Generate(rand.Reader)
	bob, _ := Generate(rand.Reader)
	b := SignedBroadcast{Server: srv.Public(), From: "bob", Sent: time.UnixMilli(1764100000123), Text: "hi all"}
	sig := b.Sign(bob)
	if !b.Verify(bob.Public(), sig) {
		t.Fatal("valid signature refused")
	}
	if b.Verify(srv.Public(), sig) {
		t.Fatal("verified with another key")
	}
	for name, c := range map[string]SignedBroadcast{
		"text":   {b.Server, b.From, b.Sent, "hi all!"},
		"from":   {b.Server, "bob2", b.Sent, b.Text},
		"time":   {b.Server, b.From, b.Sent.Add(time.Millisecond), b.Text},
		"server": {bob.Public(), b.From, b.Sent, b.Text},
	} {
		if c.Verify(bob.Public(), sig) {
			t.Errorf("%s changed and the signature still verifies", name)
		}
	}
}
