package wire

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The keys feature's payloads (docs/PROTOCOL.md §2.6): SKEY, IDENT, SIDENT,
// KEY, SBROADCAST and SBCAST. Keys travel in their text form, checked here
// for shape only (core/identity parses them); nonces and signatures in
// base64url without padding.

// ServerKey is the keys feature's `SKEY <server_key> <nonce>`, the server's
// first keys frame, sent once the client's HELLO listed "keys": the server's
// public identity (identity.TextPrefix form, parsed by core/identity) and a
// fresh challenge (base64url, unpadded, NonceMin to NonceMax bytes).
type ServerKey struct {
	Key   string
	Nonce []byte
}

// Ident is the client's answer `IDENT <client_key> <nonce> <sig>`: its public
// identity, its own challenge to the server, and its Ed25519 signature
// (SigLen bytes, base64url) over the registration transcript
// (identity.SignRegistration).
type Ident struct {
	Key   string
	Nonce []byte
	Sig   []byte
}

// ServerIdent is `SIDENT <sig>`: the server's signature over the same
// transcript, proving it holds the key of its SKEY. It also says the
// client's key is accepted and, for a held nick, that registration is
// complete.
type ServerIdent struct{ Sig []byte }

// Key is `KEY <nick> <key>`: the public identity peer Nick proved it holds,
// sent to keys clients after the peer's JOINED.
type Key struct {
	Nick string
	Key  string
}

// SignedBroadcast is the keys client's `SBROADCAST <unix_ms> <sig> <text>`:
// a broadcast signed by its sender (identity.SignBroadcast) at Time.
type SignedBroadcast struct {
	Time time.Time
	Sig  []byte
	Text string
}

// SignedBcast is `SBCAST <seq> <unix_ms> <from> <sent_ms> <sig> <text>`: a
// signed broadcast as relayed to keys clients; Seq and Time as in Bcast,
// Sent and Sig as the sender gave them.
type SignedBcast struct {
	Seq  uint64
	Time time.Time
	From string
	Sent time.Time
	Sig  []byte
	Text string
}

func (ServerKey) Verb() string       { return VerbServerKey }
func (Ident) Verb() string           { return VerbIdent }
func (ServerIdent) Verb() string     { return VerbServerIdent }
func (Key) Verb() string             { return VerbKey }
func (SignedBroadcast) Verb() string { return VerbSignedBroadcast }
func (SignedBcast) Verb() string     { return VerbSignedBcast }

func b64(dst, b []byte) []byte {
	dst = append(dst, ' ')
	return base64.RawURLEncoding.AppendEncode(dst, b)
}
func ms(dst []byte, t time.Time) []byte { return spi(dst, t.UnixMilli()) }

func (m ServerKey) AppendPayload(b []byte) []byte {
	return b64(sp(append(b, VerbServerKey...), m.Key), m.Nonce)
}
func (m Ident) AppendPayload(b []byte) []byte {
	return b64(b64(sp(append(b, VerbIdent...), m.Key), m.Nonce), m.Sig)
}
func (m ServerIdent) AppendPayload(b []byte) []byte { return b64(append(b, VerbServerIdent...), m.Sig) }
func (m Key) AppendPayload(b []byte) []byte {
	return sp(sp(append(b, VerbKey...), m.Nick), m.Key)
}
func (m SignedBroadcast) AppendPayload(b []byte) []byte {
	return sp(b64(ms(append(b, VerbSignedBroadcast...), m.Time), m.Sig), m.Text)
}
func (m SignedBcast) AppendPayload(b []byte) []byte {
	b = sp(ms(spu(append(b, VerbSignedBcast...), m.Seq), m.Time), m.From)
	return sp(b64(ms(b, m.Sent), m.Sig), m.Text)
}

// parseKeys parses the payloads of the keys feature; ok is false for
// another verb.
func parseKeys(verb, s string) (m Message, err error, ok bool) {
	switch verb {
	case VerbServerKey, VerbIdent, VerbServerIdent, VerbKey, VerbSignedBroadcast, VerbSignedBcast:
		m, err = parseKeysFrame(verb, s)
		return m, err, true
	}
	return nil, nil, false
}

func parseKeysFrame(verb, s string) (Message, error) {
	switch verb {
	case VerbServerKey:
		f := strings.Split(s, " ")
		if len(f) != 2 {
			return nil, malformed(VerbServerKey, "want a key and a nonce")
		}
		key, err := keyField(f[0])
		if err != nil {
			return nil, malformed(VerbServerKey, err.Error())
		}
		nonce, err := nonceField(f[1])
		if err != nil {
			return nil, malformed(VerbServerKey, err.Error())
		}
		return ServerKey{key, nonce}, nil
	case VerbIdent:
		f := strings.Split(s, " ")
		if len(f) != 3 {
			return nil, malformed(VerbIdent, "want a key, a nonce and a signature")
		}
		key, err := keyField(f[0])
		if err != nil {
			return nil, malformed(VerbIdent, err.Error())
		}
		nonce, err := nonceField(f[1])
		if err != nil {
			return nil, malformed(VerbIdent, err.Error())
		}
		sig, err := sigField(f[2])
		if err != nil {
			return nil, malformed(VerbIdent, err.Error())
		}
		return Ident{key, nonce, sig}, nil
	case VerbServerIdent:
		sig, err := sigField(s)
		if err != nil {
			return nil, malformed(VerbServerIdent, err.Error())
		}
		return ServerIdent{sig}, nil
	case VerbKey:
		f := strings.Split(s, " ")
		if len(f) != 2 || f[0] == "" {
			return nil, malformed(VerbKey, "want a nick and a key")
		}
		key, err := keyField(f[1])
		if err != nil {
			return nil, malformed(VerbKey, err.Error())
		}
		return Key{f[0], key}, nil
	case VerbSignedBroadcast:
		a, rest, _ := strings.Cut(s, " ")
		b, text, _ := strings.Cut(rest, " ")
		t, err := msField(a)
		if err != nil {
			return nil, malformed(VerbSignedBroadcast, err.Error())
		}
		sig, err := sigField(b)
		if err != nil {
			return nil, malformed(VerbSignedBroadcast, err.Error())
		}
		return SignedBroadcast{t, sig, text}, nil
	case VerbSignedBcast:
		seq, t, tail, err := idTime(s)
		if err != nil {
			return nil, malformed(VerbSignedBcast, err.Error())
		}
		from, tail, _ := strings.Cut(tail, " ")
		a, tail, _ := strings.Cut(tail, " ")
		b, text, _ := strings.Cut(tail, " ")
		if from == "" {
			return nil, malformed(VerbSignedBcast, "no sender")
		}
		sent, err := msField(a)
		if err != nil {
			return nil, malformed(VerbSignedBcast, err.Error())
		}
		sig, err := sigField(b)
		if err != nil {
			return nil, malformed(VerbSignedBcast, err.Error())
		}
		return SignedBcast{seq, t, from, sent, sig, text}, nil
	}
	return nil, nil // not reached: parseKeys knows the verb
}

// keyField checks the shape of a public identity in text form: one word
// of at most MaxKeyText bytes. core/identity parses it.
func keyField(s string) (string, error) {
	if s == "" || len(s) > MaxKeyText || strings.ContainsAny(s, " \t") {
		return "", errors.New("bad key")
	}
	return s, nil
}

func b64Field(s string, min, max int, what string) ([]byte, error) {
	if len(s) > base64.RawURLEncoding.EncodedLen(max) {
		return nil, errors.New(what + " too long")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < min || len(b) > max {
		return nil, errors.New("bad " + what)
	}
	return b, nil
}

func nonceField(s string) ([]byte, error) { return b64Field(s, NonceMin, NonceMax, "nonce") }
func sigField(s string) ([]byte, error)   { return b64Field(s, SigLen, SigLen, "signature") }

func msField(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("bad time")
	}
	return time.UnixMilli(n), nil
}
