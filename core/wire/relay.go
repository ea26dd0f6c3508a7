package wire

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Verbs of the relay, mailbox and replay features (docs/PROTOCOL.md §2.7–§2.9).
const (
	VerbRelay     = "RELAY"
	VerbRelayed   = "RELAYED"
	VerbRelayFail = "RELAY_FAIL"

	VerbMboxPut       = "MBOX_PUT"
	VerbMboxOK        = "MBOX_OK"
	VerbMboxRefused   = "MBOX_REFUSED"
	VerbMbox          = "MBOX"
	VerbMboxAck       = "MBOX_ACK"
	VerbMboxDelivered = "MBOX_DELIVERED"
	VerbMboxReceipt   = "MBOX_RECEIPT"

	VerbBroadcastID = "BID"
	VerbSince       = "SINCE"
	VerbSinceEnd    = "SINCE_END"
)

// Features of the server link that need the keys feature too (a client
// must have proved its key to use them).
const (
	// FeatureRelay: RELAY, RELAYED and RELAY_FAIL (docs/PROTOCOL.md §2.7).
	FeatureRelay = "relay"
	// FeatureMailbox: MBOX_PUT, MBOX_OK, MBOX_REFUSED, MBOX, MBOX_ACK and
	// MBOX_DELIVERED (docs/PROTOCOL.md §2.8).
	FeatureMailbox = "mailbox"
	// FeatureReplay: BID, SINCE and SINCE_END (docs/PROTOCOL.md §2.9).
	FeatureReplay = "replay"
)

// Reasons of RELAY_FAIL.
const (
	// RelayOffline: no registered client has that nick.
	RelayOffline = "offline"
	// RelayUnsupported: the recipient did not list relay or has not proved
	// a key.
	RelayUnsupported = "unsupported"
	// RelayOverflow: the recipient's queue holds too much already; the
	// frame was dropped.
	RelayOverflow = "overflow"
	// RelayRate: the sender is over its relay rate; the frame was dropped.
	RelayRate = "rate"
	// RelayTooLong: the RELAYED frame would pass the payload limit.
	RelayTooLong = "too_long"
)

// Reasons of MBOX_REFUSED.
const (
	// MboxUnknown: the nick is not held by a key.
	MboxUnknown = "unknown"
	// MboxFull: a bound of the recipient's mailbox or of the server's
	// total was reached.
	MboxFull = "full"
	// MboxTooLarge: the item is larger than one item may be.
	MboxTooLarge = "too_large"
	// MboxExpired: the item was stored but passed the age bound before
	// the recipient acknowledged it; it was deleted.
	MboxExpired = "expired"
)

// MaxChanLen is the longest relay chat stream name (RELAY's <chan>).
const MaxChanLen = 32

// Relay is the client's `RELAY <to> <chan> <data>`: forward Data (the rest
// of the payload, possibly empty, opaque to the server) to registered
// client To on the chat stream Chan (1 to MaxChanLen bytes of
// [A-Za-z0-9_-]).
type Relay struct {
	To   string
	Chan string
	Data string
}

// Relayed is `RELAYED <from> <chan> <data>`: a Relay from peer From.
type Relayed struct {
	From string
	Chan string
	Data string
}

// RelayFail is `RELAY_FAIL <to> <chan> <reason>`: a Relay to To on Chan was
// not forwarded, for Reason (RelayOffline, …). The stream is broken.
type RelayFail struct {
	To     string
	Chan   string
	Reason string
}

// MboxPut is the client's `MBOX_PUT <to> <id> <data>`: store Data for the
// key that holds nick To. ID is unique per sender; a repeat is answered
// like the first.
type MboxPut struct {
	To   string
	ID   uint64
	Data string
}

// MboxOK is `MBOX_OK <to> <id>`: the item is stored on disk.
type MboxOK struct {
	To string
	ID uint64
}

// MboxRefused is `MBOX_REFUSED <to> <id> <reason>`: the item was not
// stored, or was deleted unacknowledged (MboxExpired).
type MboxRefused struct {
	To     string
	ID     uint64
	Reason string
}

// Mbox is `MBOX <from> <id> <unix_ms> <data>`: an item from From, stored at
// Time, delivered to its recipient.
type Mbox struct {
	From string
	ID   uint64
	Time time.Time
	Data string
}

// MboxAck is the recipient's `MBOX_ACK <from> <id>`: it has the item.
type MboxAck struct {
	From string
	ID   uint64
}

// MboxDelivered is `MBOX_DELIVERED <to> <id>`: To acknowledged the item.
type MboxDelivered struct {
	To string
	ID uint64
}

// MboxReceipt is the sender's `MBOX_RECEIPT <to> <id>`: it has the
// receipt (MBOX_DELIVERED, or MBOX_REFUSED expired) of its item ID to To;
// the server forgets it. Until then the server keeps it and sends it again
// after each registration.
type MboxReceipt struct {
	To string
	ID uint64
}

// BroadcastID is `BID <id>`: the server-wide id of the BCAST or SBCAST that
// follows it.
type BroadcastID struct{ ID uint64 }

// Since is the client's `SINCE <id>`: send the kept broadcasts after ID.
type Since struct{ ID uint64 }

// SinceEnd is `SINCE_END <last_id>`: the end of a SINCE answer; Last is
// the id of the newest broadcast so far (0 if none).
type SinceEnd struct{ Last uint64 }

func (Relay) Verb() string         { return VerbRelay }
func (Relayed) Verb() string       { return VerbRelayed }
func (RelayFail) Verb() string     { return VerbRelayFail }
func (MboxPut) Verb() string       { return VerbMboxPut }
func (MboxOK) Verb() string        { return VerbMboxOK }
func (MboxRefused) Verb() string   { return VerbMboxRefused }
func (Mbox) Verb() string          { return VerbMbox }
func (MboxAck) Verb() string       { return VerbMboxAck }
func (MboxDelivered) Verb() string { return VerbMboxDelivered }
func (MboxReceipt) Verb() string   { return VerbMboxReceipt }
func (BroadcastID) Verb() string   { return VerbBroadcastID }
func (Since) Verb() string         { return VerbSince }
func (SinceEnd) Verb() string      { return VerbSinceEnd }

func (m Relay) AppendPayload(b []byte) []byte {
	return sp(sp(sp(append(b, VerbRelay...), m.To), m.Chan), m.Data)
}
func (m Relayed) AppendPayload(b []byte) []byte {
	return sp(sp(sp(append(b, VerbRelayed...), m.From), m.Chan), m.Data)
}
func (m RelayFail) AppendPayload(b []byte) []byte {
	return sp(sp(sp(append(b, VerbRelayFail...), m.To), m.Chan), m.Reason)
}
func (m MboxPut) AppendPayload(b []byte) []byte {
	return sp(spu(sp(append(b, VerbMboxPut...), m.To), m.ID), m.Data)
}
func (m MboxOK) AppendPayload(b []byte) []byte {
	return spu(sp(append(b, VerbMboxOK...), m.To), m.ID)
}
func (m MboxRefused) AppendPayload(b []byte) []byte {
	return sp(spu(sp(append(b, VerbMboxRefused...), m.To), m.ID), m.Reason)
}
func (m Mbox) AppendPayload(b []byte) []byte {
	return sp(ms(spu(sp(append(b, VerbMbox...), m.From), m.ID), m.Time), m.Data)
}
func (m MboxAck) AppendPayload(b []byte) []byte {
	return spu(sp(append(b, VerbMboxAck...), m.From), m.ID)
}
func (m MboxDelivered) AppendPayload(b []byte) []byte {
	return spu(sp(append(b, VerbMboxDelivered...), m.To), m.ID)
}
func (m MboxReceipt) AppendPayload(b []byte) []byte {
	return spu(sp(append(b, VerbMboxReceipt...), m.To), m.ID)
}
func (m BroadcastID) AppendPayload(b []byte) []byte { return spu(append(b, VerbBroadcastID...), m.ID) }
func (m Since) AppendPayload(b []byte) []byte       { return spu(append(b, VerbSince...), m.ID) }
func (m SinceEnd) AppendPayload(b []byte) []byte    { return spu(append(b, VerbSinceEnd...), m.Last) }

// ValidChan reports whether s is a relay stream name: 1 to MaxChanLen bytes
// of ASCII letters, digits, '_' and '-'.
func ValidChan(s string) bool {
	if s == "" || len(s) > MaxChanLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// word cuts the next space-separated word off s; it must not be empty.
func word(s, what string) (w, rest string, err error) {
	w, rest, _ = strings.Cut(s, " ")
	if w == "" {
		return "", "", errors.New("no " + what)
	}
	return w, rest, nil
}

// lastWord is word for the last field: nothing may follow it.
func lastWord(s, what string) (string, error) {
	w, rest, err := word(s, what)
	if err == nil && rest != "" {
		err = errors.New("unexpected text after " + what)
	}
	if err == nil && strings.ContainsAny(w, "\t") {
		err = errors.New("bad " + what)
	}
	return w, err
}

func uintField(s, what string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("bad " + what)
	}
	return n, nil
}

// parseRelay parses the payloads of the relay, mailbox and replay
// features; ok is false for another verb.
func parseRelay(verb, s string) (m Message, err error, ok bool) {
	switch verb {
	case VerbRelay, VerbRelayed, VerbRelayFail:
		m, err = parseRelayFrame(verb, s)
	case VerbMboxPut, VerbMboxOK, VerbMboxRefused, VerbMboxAck, VerbMboxDelivered, VerbMboxReceipt:
		m, err = parseMboxFrame(verb, s)
	case VerbMbox:
		m, err = parseMbox(s)
	case VerbBroadcastID, VerbSince, VerbSinceEnd:
		var id uint64
		var w string
		if w, err = lastWord(s, "id"); err == nil {
			id, err = uintField(w, "id")
		}
		switch verb {
		case VerbBroadcastID:
			m = BroadcastID{id}
		case VerbSince:
			m = Since{id}
		default:
			m = SinceEnd{id}
		}
	default:
		return nil, nil, false
	}
	if err != nil {
		return nil, malformed(verb, err.Error()), true
	}
	return m, nil, true
}

func parseRelayFrame(verb, s string) (Message, error) {
	nick, rest, err := word(s, "nick")
	if err != nil {
		return nil, err
	}
	ch, rest, _ := strings.Cut(rest, " ")
	if !ValidChan(ch) {
		return nil, errors.New("bad chan")
	}
	switch verb {
	case VerbRelay:
		return Relay{nick, ch, rest}, nil
	case VerbRelayed:
		return Relayed{nick, ch, rest}, nil
	}
	reason, err := lastWord(rest, "reason")
	if err != nil {
		return nil, err
	}
	return RelayFail{nick, ch, reason}, nil
}

func parseMboxFrame(verb, s string) (Message, error) {
	nick, rest, err := word(s, "nick")
	if err != nil {
		return nil, err
	}
	w, rest, _ := strings.Cut(rest, " ")
	id, err := uintField(w, "id")
	if err != nil {
		return nil, err
	}
	if verb == VerbMboxPut {
		return MboxPut{nick, id, rest}, nil
	}
	if verb == VerbMboxRefused {
		reason, err := lastWord(rest, "reason")
		if err != nil {
			return nil, err
		}
		return MboxRefused{nick, id, reason}, nil
	}
	if rest != "" {
		return nil, errors.New("unexpected text after id")
	}
	switch verb {
	case VerbMboxOK:
		return MboxOK{nick, id}, nil
	case VerbMboxAck:
		return MboxAck{nick, id}, nil
	case VerbMboxReceipt:
		return MboxReceipt{nick, id}, nil
	}
	return MboxDelivered{nick, id}, nil
}

func parseMbox(s string) (Message, error) {
	from, rest, err := word(s, "nick")
	if err != nil {
		return nil, err
	}
	id, t, data, err := idTime(rest)
	if err != nil {
		return nil, err
	}
	return Mbox{from, id, t, data}, nil
}
