package identity

import (
	"encoding/binary"
	"time"
)

// Signature contexts. Each signed message starts with one, so a signature
// made for one purpose is never valid for another.
const (
	contextClient    = "PeerChat IDENT v1\n"
	contextServer    = "PeerChat SIDENT v1\n"
	contextBroadcast = "PeerChat SBROADCAST v1\n"
)

// Registration is what the two signatures of a keys registration cover
// (docs/PROTOCOL.md §2.6): the server's and the client's challenges, the
// nick the client registered (as it sent it), and both public identities.
// Both sides build it from the SKEY and IDENT frames and the REGISTER.
type Registration struct {
	ServerNonce []byte
	ClientNonce []byte
	Nick        string
	Server      PublicIdentity
	Client      PublicIdentity
}

func (r Registration) message(context string) []byte {
	b := make([]byte, 0, len(context)+4*5+len(r.ServerNonce)+len(r.ClientNonce)+len(r.Nick)+2*PublicSize)
	b = append(b, context...)
	b = field(b, r.ServerNonce)
	b = field(b, r.ClientNonce)
	b = field(b, []byte(r.Nick))
	b = field(b, r.Server.Bytes())
	return field(b, r.Client.Bytes())
}

// field appends p with its length as 4 bytes big-endian, so that no two
// different lists of fields give the same bytes.
func field(b, p []byte) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(p))), p...)
}

// SignClient returns the client's signature of r (the IDENT signature);
// id must be r.Client's identity.
func (r Registration) SignClient(id *Identity) []byte { return id.Sign(r.message(contextClient)) }

// VerifyClient reports whether sig is r.Client's IDENT signature of r.
func (r Registration) VerifyClient(sig []byte) bool {
	return r.Client.Verify(r.message(contextClient), sig)
}

// SignServer returns the server's signature of r (the SIDENT signature);
// id must be r.Server's identity.
func (r Registration) SignServer(id *Identity) []byte { return id.Sign(r.message(contextServer)) }

// VerifyServer reports whether sig is r.Server's SIDENT signature of r.
func (r Registration) VerifyServer(sig []byte) bool {
	return r.Server.Verify(r.message(contextServer), sig)
}

// SignedBroadcast is what a broadcast signature covers: the server's public
// identity (so a signed broadcast cannot be replayed on another server), the
// sender's nick, the time the sender gives, and the text.
type SignedBroadcast struct {
	Server PublicIdentity
	From   string
	Sent   time.Time
	Text   string
}

func (s SignedBroadcast) message() []byte {
	b := make([]byte, 0, len(contextBroadcast)+4*4+PublicSize+len(s.From)+8+len(s.Text))
	b = append(b, contextBroadcast...)
	b = field(b, s.Server.Bytes())
	b = field(b, []byte(s.From))
	b = field(b, binary.BigEndian.AppendUint64(nil, uint64(s.Sent.UnixMilli())))
	return field(b, []byte(s.Text))
}

// Sign returns the sender's signature of s; id is the sender's identity.
func (s SignedBroadcast) Sign(id *Identity) []byte { return id.Sign(s.message()) }

// Verify reports whether sig is key's signature of s.
func (s SignedBroadcast) Verify(key PublicIdentity, sig []byte) bool {
	return key.Verify(s.message(), sig)
}
