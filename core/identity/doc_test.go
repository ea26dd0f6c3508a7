package identity

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"peerchat/core/wire"
)

// The signatures in the keys examples of docs/PROTOCOL.md §2.6 are valid
// for the seeds and nonces the text gives.
func TestProtocolDocSignatures(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]wire.Message{}
	re := regexp.MustCompile(`\|[0-9]+␠+((SKEY|IDENT|SIDENT|KEY|SBROADCAST|SBCAST)␠[^|]*)\|`)
	for _, m := range re.FindAllStringSubmatch(string(doc), -1) {
		msg, err := wire.Parse([]byte(strings.ReplaceAll(m[1], "␠", " ")))
		if err != nil {
			t.Fatalf("%s: %v", m[2], err)
		}
		msgs[m[2]] = msg
	}
	if len(msgs) != 6 {
		t.Fatalf("found %d of the 6 keys examples", len(msgs))
	}
	seed := func(b byte) *Identity {
		id, err := FromSeed(bytes.Repeat([]byte{b}, SeedSize))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	srv, alice, bob := seed(1), seed(2), seed(3)
	sk := msgs["SKEY"].(wire.ServerKey)
	id := msgs["IDENT"].(wire.Ident)
	if sk.Key != srv.Public().String() || id.Key != alice.Public().String() ||
		msgs["KEY"].(wire.Key).Key != bob.Public().String() {
		t.Fatal("the example keys are not the seeds' keys")
	}
	r := Registration{ServerNonce: sk.Nonce, ClientNonce: id.Nonce, Nick: "alice", Server: srv.Public(), Client: alice.Public()}
	if string(sk.Nonce) != "server-nonce-16b" || string(id.Nonce) != "client-nonce-16b" {
		t.Fatal("the example nonces are not the ones the text gives")
	}
	if !r.VerifyClient(id.Sig) || !r.VerifyServer(msgs["SIDENT"].(wire.ServerIdent).Sig) {
		t.Fatal("the example IDENT or SIDENT signature does not verify")
	}
	sb := msgs["SBROADCAST"].(wire.SignedBroadcast)
	sc := msgs["SBCAST"].(wire.SignedBcast)
	b := SignedBroadcast{Server: srv.Public(), From: "alice", Sent: sb.Time, Text: sb.Text}
	if !b.Verify(alice.Public(), sb.Sig) {
		t.Fatal("the example SBROADCAST signature does not verify")
	}
	if !(SignedBroadcast{srv.Public(), sc.From, sc.Sent, sc.Text}).Verify(alice.Public(), sc.Sig) {
		t.Fatal("the example SBCAST signature does not verify")
	}
}
