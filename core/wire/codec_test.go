package wire

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.UnixMilli(1764100000123)

// Every payload of the vocabulary, with its exact bytes.
// testKey has the shape of a public identity; core/wire does not parse keys.
const testKey = "pc1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"

// testSig is seq(64) in base64url.
const testSig = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

var vocabulary = []struct {
	payload string
	msg     Message
}{
	{`REGISTER "alice" 5000`, Register{"alice", 5000}},
	{`PORT alice 6000`, Port{"alice", 6000}},
	{`NICKNAME_TAKEN`, NicknameTaken{}},
	{`JOINED bob 192.168.1.7 5001 6001`, Joined{"bob", netip.MustParseAddr("192.168.1.7"), 5001, 6001}},
	{`JOINED bob ::1 5001 6001`, Joined{"bob", netip.MustParseAddr("::1"), 5001, 6001}},
	{`LEFT bob`, Left{"bob"}},
	{`SKEY ` + testKey + ` AAECAwQFBgcICQoLDA0ODw`, ServerKey{testKey, seq(16)}},
	{`IDENT ` + testKey + ` AAECAwQFBgcICQoLDA0ODw ` + testSig, Ident{testKey, seq(16), seq(64)}},
	{`SIDENT ` + testSig, ServerIdent{seq(64)}},
	{`KEY bob ` + testKey, Key{"bob", testKey}},
	{`SBROADCAST 1764100000123 ` + testSig + ` hi  all`, SignedBroadcast{time.UnixMilli(1764100000123), seq(64), "hi  all"}},
	{`SBROADCAST 1764100000123 ` + testSig + ` `, SignedBroadcast{time.UnixMilli(1764100000123), seq(64), ""}},
	{`SBCAST 7 1764100000200 bob 1764100000123 ` + testSig + ` hi`, SignedBcast{7, time.UnixMilli(1764100000200), "bob", time.UnixMilli(1764100000123), seq(64), "hi"}},
	{`BROADCAST hello  everyone`, Broadcast{"hello  everyone"}},
	{`BROADCAST `, Broadcast{""}},
	{`ERROR nickname taken`, Error{"nickname taken"}},
	{`WELCOME 2 heartbeat bcast`, Welcome{2, []string{"heartbeat", "bcast"}}},
	{`HELLO 2 ack`, Hello{2, []string{"ack"}}},
	{`PING 17`, Ping{"17"}},
	{`PONG 17`, Pong{"17"}},
	{`BCAST 42 1764100000123 alice hi there 👋`, Bcast{42, t0, "alice", "hi there 👋"}},
	{`CAPS alice heartbeat ack`, Caps{"alice", []string{"heartbeat", "ack"}}},
	{`NOTICE rate_limited slow down`, Notice{"rate_limited", "slow down"}},
	{`CHAT_INVITE alice 6000 n0nc3`, ChatInvite{"alice", 6000, "n0nc3"}},
	{`CHAT_ACCEPT bob n0nc3`, ChatAccept{"bob", "n0nc3"}},
	{`CHAT_ACCEPT bob`, ChatAccept{"bob", ""}},
	{`CHAT_REJECT bob n0nc3`, ChatReject{"bob", "n0nc3"}},
	{`CHAT_REJECT bob`, ChatReject{"bob", ""}},
	{`CHAT_REQUEST alice`, ChatRequest{"alice"}},
	{`CHAT_MSG "alice" hi "you"`, ChatMsg{"alice", `hi "you"`}},
	{`LEFT_CHAT alice`, LeftChat{"alice"}},
	{`CHAT_MSG2 7 1764100000123 "alice" line one` + "\nline two", ChatMsg2{7, t0, "alice", "line one\nline two"}},
	{`CHAT_ACK 7`, ChatAck{7}},
	{`CHAT_READ 7`, ChatRead{7}},
	{`PEERCHAT_DISCOVER 2 abc`, Discover{2, "abc"}},
	{`RELAY bob c-7_x sealed bytes  here`, Relay{"bob", "c-7_x", "sealed bytes  here"}},
	{`RELAY bob c7 `, Relay{"bob", "c7", ""}},
	{`RELAYED alice c7 AAEC`, Relayed{"alice", "c7", "AAEC"}},
	{`RELAY_FAIL bob c7 overflow`, RelayFail{"bob", "c7", RelayOverflow}},
	{`MBOX_PUT bob 18446744073709551615 sealed item`, MboxPut{"bob", 1<<64 - 1, "sealed item"}},
	{`MBOX_PUT bob 1 `, MboxPut{"bob", 1, ""}},
	{`MBOX_OK bob 1`, MboxOK{"bob", 1}},
	{`MBOX_REFUSED bob 1 too_large`, MboxRefused{"bob", 1, MboxTooLarge}},
	{`MBOX alice 1 1764100000123 sealed item`, Mbox{"alice", 1, t0, "sealed item"}},
	{`MBOX_ACK alice 1`, MboxAck{"alice", 1}},
	{`MBOX_DELIVERED bob 1`, MboxDelivered{"bob", 1}},
	{`MBOX_RECEIPT bob 1`, MboxReceipt{"bob", 1}},
	{`BID 42`, BroadcastID{42}},
	{`SINCE 0`, Since{0}},
	{`SINCE_END 42`, SinceEnd{42}},
	{`PEERCHAT_SERVER 2 abc 12345 17 Office server`, ServerInfo{2, "abc", 12345, 17, "Office server"}},
}

func TestVocabularyRoundTrip(t *testing.T) {
	for _, tt := range vocabulary {
		if got := Payload(tt.msg); got != tt.payload {
			t.Errorf("Payload(%#v) = %q, want %q", tt.msg, got, tt.payload)
		}
		m, err := Parse([]byte(tt.payload))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.payload, err)
			continue
		}
		if !reflect.DeepEqual(m, tt.msg) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.payload, m, tt.msg)
		}
	}
}

// What base peers send, which differs from what we send.
func TestParseBaseForms(t *testing.T) {
	tests := []struct {
		payload string
		want    Message
	}{
		{`REGISTER alice 5000`, Register{"alice", 5000}},
		{`PORT "alice" 6000`, Port{"alice", 6000}},
		{`CHAT_MSG alice hi`, ChatMsg{"alice", "hi"}},
		{`CHAT_MSG "alice"`, ChatMsg{"alice", ""}},
		{`JOINED "bob" 10.0.0.2 1 2`, Joined{"bob", netip.MustParseAddr("10.0.0.2"), 1, 2}},
		{`JOINED bob ::ffff:10.0.0.2 1 2`, Joined{"bob", netip.MustParseAddr("10.0.0.2"), 1, 2}},
		{`LEFT_CHAT "alice"`, LeftChat{"alice"}},
		{`ERROR`, Error{""}},
		{`BROADCAST`, Broadcast{""}},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.payload))
		if err != nil || !reflect.DeepEqual(m, tt.want) {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", tt.payload, m, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		payload string
		want    error
		reason  string
	}{
		{`HELLOO`, ErrUnknownVerb, "unknown verb"},
		{``, ErrUnknownVerb, "unknown verb"},
		{`register alice 1`, ErrUnknownVerb, "unknown verb"},
		{`REGISTER`, ErrMalformed, "empty nick"},
		{`REGISTER "alice 5000`, ErrMalformed, "unterminated"},
		{`REGISTER alice`, ErrMalformed, "udp port"},
		{`REGISTER alice 70000`, ErrMalformed, "out of range"},
		{`REGISTER alice -1`, ErrMalformed, "out of range"},
		{`REGISTER alice 0`, ErrMalformed, "udp port: out of range: 0"},
		{`REGISTER "alice" 00`, ErrMalformed, "udp port: out of range: 0"},
		{`PORT alice 0`, ErrMalformed, "tcp port: out of range: 0"},
		{`PORT alice 65536`, ErrMalformed, "tcp port: out of range"},
		{`PORT alice x`, ErrMalformed, "tcp port"},
		{`JOINED bob 1.2.3.4 1`, ErrMalformed, "want 4 fields"},
		{`JOINED bob 1.2.3.400 1 2`, ErrMalformed, "bad ip"},
		{`JOINED bob 1.2.3.4 1 99999`, ErrMalformed, "bad port"},
		{`LEFT`, ErrMalformed, "empty nick"},
		{`SKEY ` + testKey, ErrMalformed, "want a key and a nonce"},
		{`SKEY ` + testKey + ` AAEC`, ErrMalformed, "bad nonce"},
		{`SKEY ` + testKey + ` AAECAwQFBgcICQoLDA0ODw=`, ErrMalformed, "bad nonce"},
		{`SKEY ` + testKey + ` ` + testSig, ErrMalformed, "nonce too long"},
		{`IDENT ` + testKey + ` AAECAwQFBgcICQoLDA0ODw AAEC`, ErrMalformed, "bad signature"},
		{`SIDENT `, ErrMalformed, "bad signature"},
		{`KEY bob`, ErrMalformed, "want a nick and a key"},
		{`KEY bob ` + testKey + testKey, ErrMalformed, "bad key"},
		{`SBROADCAST x ` + testSig + ` hi`, ErrMalformed, "bad time"},
		{`SBCAST 1 2 bob 3 AAEC hi`, ErrMalformed, "bad signature"},
		{`LEFT a b`, ErrMalformed, "unexpected text"},
		{`WELCOME`, ErrMalformed, "no version"},
		{`HELLO zero`, ErrMalformed, "bad version"},
		{`BCAST 1`, ErrMalformed, "want id and time"},
		{`BCAST x 1 a b`, ErrMalformed, "bad id"},
		{`BCAST 1 x a b`, ErrMalformed, "bad time"},
		{`BCAST 1 2`, ErrMalformed, "no sender"},
		{`CAPS`, ErrMalformed, "no nick"},
		{`NOTICE`, ErrMalformed, "no code"},
		{`CHAT_INVITE alice 6000`, ErrMalformed, "want 3 fields"},
		{`CHAT_INVITE alice port n`, ErrMalformed, "tcp port"},
		{`CHAT_ACCEPT`, ErrMalformed, "nick"},
		{`CHAT_REJECT a b c`, ErrMalformed, "nick"},
		{`CHAT_REQUEST`, ErrMalformed, "empty nick"},
		{`CHAT_MSG`, ErrMalformed, "empty nick"},
		{`CHAT_MSG2 1 2`, ErrMalformed, "empty nick"},
		{`CHAT_ACK -1`, ErrMalformed, "bad id"},
		{`CHAT_READ 7 8`, ErrMalformed, "bad id"},
		{`PEERCHAT_DISCOVER 2`, ErrMalformed, "version and a nonce"},
		{`PEERCHAT_SERVER 2 n 1 x name`, ErrMalformed, "peer count"},
		{`PEERCHAT_SERVER 2 n 1`, ErrMalformed, "want version"},
		{`RELAY`, ErrMalformed, "malformed RELAY: no nick"},
		{`RELAY bob`, ErrMalformed, "bad chan"},
		{`RELAY bob  data`, ErrMalformed, "bad chan"},
		{`RELAY bob c.7 data`, ErrMalformed, "bad chan"},
		{`RELAYED alice ` + strings.Repeat("c", 33) + ` data`, ErrMalformed, "bad chan"},
		{`RELAY_FAIL bob c7`, ErrMalformed, "no reason"},
		{`RELAY_FAIL bob c7 rate now`, ErrMalformed, "unexpected text after reason"},
		{`MBOX_PUT bob`, ErrMalformed, "bad id"},
		{`MBOX_PUT bob -1 x`, ErrMalformed, "bad id"},
		{`MBOX_PUT bob 18446744073709551616 x`, ErrMalformed, "bad id"},
		{`MBOX_OK bob 1 x`, ErrMalformed, "unexpected text after id"},
		{`MBOX_REFUSED bob 1`, ErrMalformed, "no reason"},
		{`MBOX alice 1`, ErrMalformed, "want id and time"},
		{`MBOX alice 1 x data`, ErrMalformed, "bad time"},
		{`MBOX_ACK`, ErrMalformed, "no nick"},
		{`MBOX_DELIVERED bob x`, ErrMalformed, "bad id"},
		{`BID`, ErrMalformed, "no id"},
		{`SINCE 1 2`, ErrMalformed, "unexpected text after id"},
		{`SINCE_END x`, ErrMalformed, "bad id"},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.payload))
		if !errors.Is(err, tt.want) || !IsProtocolError(err) {
			t.Errorf("Parse(%q) = %#v, %v; want %v", tt.payload, m, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("Parse(%q) error %q does not say %q", tt.payload, err, tt.reason)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, v := range vocabulary {
		f.Add([]byte(v.payload))
	}
	f.Add([]byte(`CHAT_MSG ""`))
	f.Add([]byte(`JOINED a b c d`))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := Parse(p)
		if err != nil {
			if m != nil || !IsProtocolError(err) {
				t.Fatalf("Parse(%q) = %#v, %v", p, m, err)
			}
			return
		}
		// Whatever parses must survive a round trip unchanged, except that
		// the re-encoding is canonical (quoted nicks, single spaces).
		again, err := Parse(m.AppendPayload(nil))
		if err != nil {
			t.Fatalf("re-parse of %q (%q): %v", p, Payload(m), err)
		}
		if canon := Payload(again); canon != Payload(m) {
			t.Fatalf("not canonical: %q -> %q -> %q", p, Payload(m), canon)
		}
	})
}

func BenchmarkParseChatMsg(b *testing.B) {
	p := []byte(Payload(ChatMsg{"alice", strings.Repeat("x", 1024)}))
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := Parse(p); err != nil {
			b.Fatal(err)
		}
	}
}
