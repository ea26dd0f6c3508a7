package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed is wrapped by every *ProtocolError the codec returns.
var ErrMalformed = errors.New("malformed payload")

// Message is one typed payload. AppendPayload appends the payload's bytes
// (without a frame header) to dst; Verb returns its first word.
type Message interface {
	Verb() string
	AppendPayload(dst []byte) []byte
}

// Verbs of the base and v2 vocabularies.
const (
	VerbRegister      = "REGISTER"
	VerbPort          = "PORT"
	VerbNicknameTaken = "NICKNAME_TAKEN"
	VerbJoined        = "JOINED"
	VerbLeft          = "LEFT"
	VerbBroadcast     = "BROADCAST"
	VerbError         = "ERROR"

	VerbWelcome = "WELCOME"
	VerbHello   = "HELLO"
	VerbPing    = "PING"
	VerbPong    = "PONG"
	VerbBcast   = "BCAST"
	VerbCaps    = "CAPS"
	VerbNotice  = "NOTICE"

	VerbChatInvite  = "CHAT_INVITE"
	VerbChatAccept  = "CHAT_ACCEPT"
	VerbChatReject  = "CHAT_REJECT"
	VerbChatRequest = "CHAT_REQUEST"
	VerbChatMsg     = "CHAT_MSG"
	VerbLeftChat    = "LEFT_CHAT"
	VerbChatMsg2    = "CHAT_MSG2"
	VerbChatAck     = "CHAT_ACK"
	VerbChatRead    = "CHAT_READ"

	VerbServerKey       = "SKEY"
	VerbIdent           = "IDENT"
	VerbServerIdent     = "SIDENT"
	VerbKey             = "KEY"
	VerbSignedBroadcast = "SBROADCAST"
	VerbSignedBcast     = "SBCAST"

	VerbDiscover = "PEERCHAT_DISCOVER"
	VerbServer   = "PEERCHAT_SERVER"
)

// Register is `REGISTER "<nick>" <udp_port>`, the first frame a client sends.
// Parse refuses a port outside 1..65535.
type Register struct {
	Nick    string
	UDPPort int
}

// Port is `PORT <nick> <tcp_port>`, the client's second frame. Parse refuses
// a port outside 1..65535.
type Port struct {
	Nick    string
	TCPPort int
}

// NicknameTaken is `NICKNAME_TAKEN`; the server closes after it.
type NicknameTaken struct{}

// Joined is `JOINED <nick> <ip> <udp_port> <tcp_port>`.
type Joined struct {
	Nick    string
	IP      netip.Addr
	UDPPort int
	TCPPort int
}

// Left is `LEFT <nick>`.
type Left struct{ Nick string }

// Broadcast is `BROADCAST <text>` in either direction.
type Broadcast struct{ Text string }

// Error is `ERROR <reason>`.
type Error struct{ Reason string }

// Welcome is the v2 server's `WELCOME <version> <features…>`.
type Welcome struct {
	Version  int
	Features []string
}

// Hello is the v2 client's answer `HELLO <version> <features…>`.
type Hello struct {
	Version  int
	Features []string
}

// Ping is `PING <token>`; the receiver answers Pong with the same token.
type Ping struct{ Token string }

// Pong is `PONG <token>`.
type Pong struct{ Token string }

// Bcast is the v2 broadcast `BCAST <seq> <unix_ms> <from> <text>`: Seq is the
// server's broadcast sequence number (consecutive on one connection, so a gap
// shows a loss), Time the moment the server accepted it.
type Bcast struct {
	Seq  uint64
	Time time.Time
	From string
	Text string
}

// Caps is the v2 `CAPS <nick> <features…>`: the features peer Nick announced.
type Caps struct {
	Nick     string
	Features []string
}

// Notice is the v2 non-fatal error `NOTICE <code> <text>`.
type Notice struct {
	Code string
	Text string
}

// ChatInvite is the UDP datagram `CHAT_INVITE <nick> <tcp_port> <nonce>`.
type ChatInvite struct {
	Nick    string
	TCPPort int
	Nonce   string
}

// ChatAccept is `CHAT_ACCEPT <nick> [<nonce>]`: the first frame on a chat
// socket opened for an invite (with the nonce), or the base answer to
// CHAT_REQUEST (without).
type ChatAccept struct {
	Nick  string
	Nonce string
}

// ChatReject is `CHAT_REJECT <nick> [<nonce>]`: a UDP datagram declining an
// invite (with the nonce), or the base answer to CHAT_REQUEST (without).
type ChatReject struct {
	Nick  string
	Nonce string
}

// ChatRequest is the base flow's `CHAT_REQUEST <nick>`.
type ChatRequest struct{ Nick string }

// ChatMsg is `CHAT_MSG "<nick>" <text>`.
type ChatMsg struct {
	Nick string
	Text string
}

// LeftChat is `LEFT_CHAT <nick>`, sent before a side closes a chat on purpose.
type LeftChat struct{ Nick string }

// ChatMsg2 is the v2 chat message `CHAT_MSG2 <id> <unix_ms> "<nick>" <text>`.
// The receiver answers ChatAck with the same id, and delivers an id once.
type ChatMsg2 struct {
	ID   uint64
	Time time.Time
	Nick string
	Text string
}

// ChatAck is the v2 `CHAT_ACK <id>`: message id was received.
type ChatAck struct{ ID uint64 }

// ChatRead is `CHAT_READ <id>` (feature read): the peer's user has seen
// message id, and every earlier message of the chat.
type ChatRead struct{ ID uint64 }

// Discover is the discovery probe datagram `PEERCHAT_DISCOVER <version> <nonce>`.
type Discover struct {
	Version int
	Nonce   string
}

// ServerInfo is the discovery reply datagram
// `PEERCHAT_SERVER <version> <nonce> <tcp_port> <peers> <name>`.
type ServerInfo struct {
	Version int
	Nonce   string
	TCPPort int
	Peers   int
	Name    string
}

func (Register) Verb() string      { return VerbRegister }
func (Port) Verb() string          { return VerbPort }
func (NicknameTaken) Verb() string { return VerbNicknameTaken }
func (Joined) Verb() string        { return VerbJoined }
func (Left) Verb() string          { return VerbLeft }
func (Broadcast) Verb() string     { return VerbBroadcast }
func (Error) Verb() string         { return VerbError }
func (Welcome) Verb() string       { return VerbWelcome }
func (Hello) Verb() string         { return VerbHello }
func (Ping) Verb() string          { return VerbPing }
func (Pong) Verb() string          { return VerbPong }
func (Bcast) Verb() string         { return VerbBcast }
func (Caps) Verb() string          { return VerbCaps }
func (Notice) Verb() string        { return VerbNotice }
func (ChatInvite) Verb() string    { return VerbChatInvite }
func (ChatAccept) Verb() string    { return VerbChatAccept }
func (ChatReject) Verb() string    { return VerbChatReject }
func (ChatRequest) Verb() string   { return VerbChatRequest }
func (ChatMsg) Verb() string       { return VerbChatMsg }
func (LeftChat) Verb() string      { return VerbLeftChat }
func (ChatMsg2) Verb() string      { return VerbChatMsg2 }
func (ChatAck) Verb() string       { return VerbChatAck }
func (ChatRead) Verb() string      { return VerbChatRead }
func (Discover) Verb() string      { return VerbDiscover }
func (ServerInfo) Verb() string    { return VerbServer }

func sp(dst []byte, s string) []byte { return append(append(dst, ' '), s...) }
func spi(dst []byte, n int64) []byte { return strconv.AppendInt(append(dst, ' '), n, 10) }
func spu(dst []byte, n uint64) []byte {
	return strconv.AppendUint(append(dst, ' '), n, 10)
}
func quoted(dst []byte, s string) []byte { return append(append(append(dst, " \""...), s...), '"') }
func words(dst []byte, ws []string) []byte {
	for _, w := range ws {
		dst = sp(dst, w)
	}
	return dst
}

func (m Register) AppendPayload(b []byte) []byte {
	return spi(quoted(append(b, VerbRegister...), m.Nick), int64(m.UDPPort))
}
func (m Port) AppendPayload(b []byte) []byte {
	return spi(sp(append(b, VerbPort...), m.Nick), int64(m.TCPPort))
}
func (NicknameTaken) AppendPayload(b []byte) []byte { return append(b, VerbNicknameTaken...) }
func (m Joined) AppendPayload(b []byte) []byte {
	b = sp(append(b, VerbJoined...), m.Nick)
	b = m.IP.AppendTo(append(b, ' '))
	return spi(spi(b, int64(m.UDPPort)), int64(m.TCPPort))
}
func (m Left) AppendPayload(b []byte) []byte      { return sp(append(b, VerbLeft...), m.Nick) }
func (m Broadcast) AppendPayload(b []byte) []byte { return sp(append(b, VerbBroadcast...), m.Text) }
func (m Error) AppendPayload(b []byte) []byte     { return sp(append(b, VerbError...), m.Reason) }
func (m Welcome) AppendPayload(b []byte) []byte {
	return words(spi(append(b, VerbWelcome...), int64(m.Version)), m.Features)
}
func (m Hello) AppendPayload(b []byte) []byte {
	return words(spi(append(b, VerbHello...), int64(m.Version)), m.Features)
}
func (m Ping) AppendPayload(b []byte) []byte { return sp(append(b, VerbPing...), m.Token) }
func (m Pong) AppendPayload(b []byte) []byte { return sp(append(b, VerbPong...), m.Token) }
func (m Bcast) AppendPayload(b []byte) []byte {
	b = spi(spu(append(b, VerbBcast...), m.Seq), m.Time.UnixMilli())
	return sp(sp(b, m.From), m.Text)
}
func (m Caps) AppendPayload(b []byte) []byte {
	return words(sp(append(b, VerbCaps...), m.Nick), m.Features)
}
func (m Notice) AppendPayload(b []byte) []byte {
	return sp(sp(append(b, VerbNotice...), m.Code), m.Text)
}
func (m ChatInvite) AppendPayload(b []byte) []byte {
	return sp(spi(sp(append(b, VerbChatInvite...), m.Nick), int64(m.TCPPort)), m.Nonce)
}
func (m ChatAccept) AppendPayload(b []byte) []byte {
	b = sp(append(b, VerbChatAccept...), m.Nick)
	if m.Nonce != "" {
		b = sp(b, m.Nonce)
	}
	return b
}
func (m ChatReject) AppendPayload(b []byte) []byte {
	b = sp(append(b, VerbChatReject...), m.Nick)
	if m.Nonce != "" {
		b = sp(b, m.Nonce)
	}
	return b
}
func (m ChatRequest) AppendPayload(b []byte) []byte { return sp(append(b, VerbChatRequest...), m.Nick) }
func (m ChatMsg) AppendPayload(b []byte) []byte {
	return sp(quoted(append(b, VerbChatMsg...), m.Nick), m.Text)
}
func (m LeftChat) AppendPayload(b []byte) []byte { return sp(append(b, VerbLeftChat...), m.Nick) }
func (m ChatMsg2) AppendPayload(b []byte) []byte {
	b = spi(spu(append(b, VerbChatMsg2...), m.ID), m.Time.UnixMilli())
	return sp(quoted(b, m.Nick), m.Text)
}
func (m ChatAck) AppendPayload(b []byte) []byte { return spu(append(b, VerbChatAck...), m.ID) }
func (m ChatRead) AppendPayload(b []byte) []byte {
	return spu(append(b, VerbChatRead...), m.ID)
}
func (m Discover) AppendPayload(b []byte) []byte {
	return sp(spi(append(b, VerbDiscover...), int64(m.Version)), m.Nonce)
}
func (m ServerInfo) AppendPayload(b []byte) []byte {
	b = sp(spi(append(b, VerbServer...), int64(m.Version)), m.Nonce)
	b = spi(spi(b, int64(m.TCPPort)), int64(m.Peers))
	return sp(b, m.Name)
}

// Payload returns m's payload as a string (for logs and tests).
func Payload(m Message) string { return string(m.AppendPayload(nil)) }

// SplitVerb splits a payload into its first word and the rest (after one
// space). It does not allocate.
func SplitVerb(p []byte) (verb, rest []byte) {
	if i := bytes.IndexByte(p, ' '); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, nil
}

// ErrUnknownVerb is wrapped by the error Parse returns for a payload whose
// verb it does not know. Base peers ignore such payloads; v2 peers may too.
var ErrUnknownVerb = errors.New("unknown verb")

// Parse decodes one payload (a frame's or a datagram's). The returned error
// is a *ProtocolError wrapping ErrMalformed or ErrUnknownVerb, and its reason
// says what was wrong.
func Parse(p []byte) (Message, error) {
	verb, rest := SplitVerb(p)
	s := string(rest)
	switch string(verb) {
	case VerbRegister:
		nick, tail, err := nickField(s)
		if err != nil {
			return nil, malformed(VerbRegister, err.Error())
		}
		port, err := listenPortField(tail)
		if err != nil {
			return nil, malformed(VerbRegister, "udp port: "+err.Error())
		}
		return Register{nick, port}, nil
	case VerbPort:
		nick, tail, err := nickField(s)
		if err != nil {
			return nil, malformed(VerbPort, err.Error())
		}
		port, err := listenPortField(tail)
		if err != nil {
			return nil, malformed(VerbPort, "tcp port: "+err.Error())
		}
		return Port{nick, port}, nil
	case VerbNicknameTaken:
		return NicknameTaken{}, nil
	case VerbJoined:
		f := strings.Fields(s)
		if len(f) != 4 {
			return nil, malformed(VerbJoined, fmt.Sprintf("want 4 fields, got %d", len(f)))
		}
		ip, err := netip.ParseAddr(f[1])
		if err != nil {
			return nil, malformed(VerbJoined, "bad ip "+strconv.Quote(f[1]))
		}
		udp, err1 := portField(f[2])
		tcp, err2 := portField(f[3])
		if err1 != nil || err2 != nil {
			return nil, malformed(VerbJoined, "bad port")
		}
		return Joined{unquote(f[0]), ip.Unmap(), udp, tcp}, nil
	case VerbLeft:
		nick, err := oneWord(s)
		if err != nil {
			return nil, malformed(VerbLeft, err.Error())
		}
		return Left{unquote(nick)}, nil
	case VerbBroadcast:
		return Broadcast{s}, nil
	case VerbError:
		return Error{s}, nil
	case VerbWelcome, VerbHello:
		f := strings.Fields(s)
		if len(f) == 0 {
			return nil, malformed(string(verb), "no version")
		}
		v, err := strconv.Atoi(f[0])
		if err != nil || v < 1 {
			return nil, malformed(string(verb), "bad version "+strconv.Quote(f[0]))
		}
		if string(verb) == VerbWelcome {
			return Welcome{v, f[1:]}, nil
		}
		return Hello{v, f[1:]}, nil
	case VerbPing:
		return Ping{s}, nil
	case VerbPong:
		return Pong{s}, nil
	case VerbBcast:
		seq, t, tail, err := idTime(s)
		if err != nil {
			return nil, malformed(VerbBcast, err.Error())
		}
		from, text, _ := strings.Cut(tail, " ")
		if from == "" {
			return nil, malformed(VerbBcast, "no sender")
		}
		return Bcast{seq, t, from, text}, nil
	case VerbCaps:
		f := strings.Fields(s)
		if len(f) == 0 {
			return nil, malformed(VerbCaps, "no nick")
		}
		return Caps{f[0], f[1:]}, nil
	case VerbNotice:
		code, text, _ := strings.Cut(s, " ")
		if code == "" {
			return nil, malformed(VerbNotice, "no code")
		}
		return Notice{code, text}, nil
	case VerbChatInvite:
		f := strings.Fields(s)
		if len(f) != 3 {
			return nil, malformed(VerbChatInvite, fmt.Sprintf("want 3 fields, got %d", len(f)))
		}
		port, err := portField(f[1])
		if err != nil {
			return nil, malformed(VerbChatInvite, "tcp port: "+err.Error())
		}
		return ChatInvite{unquote(f[0]), port, f[2]}, nil
	case VerbChatAccept, VerbChatReject:
		f := strings.Fields(s)
		if len(f) < 1 || len(f) > 2 {
			return nil, malformed(string(verb), "want a nick and an optional nonce")
		}
		nonce := ""
		if len(f) == 2 {
			nonce = f[1]
		}
		if string(verb) == VerbChatAccept {
			return ChatAccept{unquote(f[0]), nonce}, nil
		}
		return ChatReject{unquote(f[0]), nonce}, nil
	case VerbChatRequest:
		nick, err := oneWord(s)
		if err != nil {
			return nil, malformed(VerbChatRequest, err.Error())
		}
		return ChatRequest{unquote(nick)}, nil
	case VerbChatMsg:
		nick, text, err := nickField(s)
		if err != nil {
			return nil, malformed(VerbChatMsg, err.Error())
		}
		return ChatMsg{nick, text}, nil
	case VerbLeftChat:
		nick, err := oneWord(s)
		if err != nil {
			return nil, malformed(VerbLeftChat, err.Error())
		}
		return LeftChat{unquote(nick)}, nil
	case VerbChatMsg2:
		id, t, tail, err := idTime(s)
		if err != nil {
			return nil, malformed(VerbChatMsg2, err.Error())
		}
		nick, text, err := nickField(tail)
		if err != nil {
			return nil, malformed(VerbChatMsg2, err.Error())
		}
		return ChatMsg2{id, t, nick, text}, nil
	case VerbChatAck:
		id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, malformed(VerbChatAck, "bad id")
		}
		return ChatAck{id}, nil
	case VerbChatRead:
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, malformed(VerbChatRead, "bad id")
		}
		return ChatRead{id}, nil
	case VerbDiscover:
		f := strings.Fields(s)
		if len(f) != 2 {
			return nil, malformed(VerbDiscover, "want a version and a nonce")
		}
		v, err := strconv.Atoi(f[0])
		if err != nil || v < 1 {
			return nil, malformed(VerbDiscover, "bad version")
		}
		return Discover{v, f[1]}, nil
	case VerbServer:
		f := strings.SplitN(s, " ", 5)
		if len(f) != 5 {
			return nil, malformed(VerbServer, "want version, nonce, port, peers and name")
		}
		v, err := strconv.Atoi(f[0])
		if err != nil || v < 1 {
			return nil, malformed(VerbServer, "bad version")
		}
		port, err := portField(f[2])
		if err != nil {
			return nil, malformed(VerbServer, "tcp port: "+err.Error())
		}
		peers, err := strconv.Atoi(f[3])
		if err != nil || peers < 0 {
			return nil, malformed(VerbServer, "bad peer count")
		}
		return ServerInfo{v, f[1], port, peers, f[4]}, nil
	}
	if m, err, ok := parseKeys(string(verb), s); ok {
		return m, err
	}
	if m, err, ok := parseRelay(string(verb), s); ok {
		return m, err
	}
	if m, err, ok := parseImage(string(verb), s); ok { // bfile.go
		return m, err
	}
	return nil, &ProtocolError{ErrUnknownVerb, "unknown verb " + strconv.Quote(clip(string(verb), 32))}
}

func malformed(verb, why string) error {
	return &ProtocolError{ErrMalformed, "malformed " + verb + ": " + why}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// nickField reads a nick, quoted or not, from the start of s and returns it
// with what follows it, less one separating space.
func nickField(s string) (nick, rest string, err error) {
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return "", "", errors.New("unterminated quoted nick")
		}
		nick, rest = s[1:1+end], strings.TrimPrefix(s[2+end:], " ")
	} else {
		nick, rest, _ = strings.Cut(s, " ")
	}
	if nick == "" {
		return "", "", errors.New("empty nick")
	}
	if strings.ContainsRune(nick, '"') {
		return "", "", errors.New("quote in nick")
	}
	return nick, rest, nil
}

func oneWord(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty nick")
	}
	if strings.ContainsAny(s, " \t") {
		return "", errors.New("unexpected text after nick")
	}
	return s, nil
}

// unquote strips the quotes around a nick that a peer quoted; a nick with
// any other quote is returned as is, to be refused by ValidateNick.
func unquote(s string) string {
	if len(s) >= 3 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func portField(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("not a number: %q", clip(s, 16))
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("out of range: %d", n)
	}
	return n, nil
}

// listenPortField is portField for a port someone must be able to reach:
// 1 to 65535 (REGISTER and PORT name the ports the client listens on, and
// nobody can send to port 0).
func listenPortField(s string) (int, error) {
	n, err := portField(s)
	if err == nil && n == 0 {
		return 0, fmt.Errorf("out of range: %d", n)
	}
	return n, err
}

// idTime reads "<uint> <unix_ms> " from the start of s.
func idTime(s string) (uint64, time.Time, string, error) {
	a, rest, ok := strings.Cut(s, " ")
	if !ok {
		return 0, time.Time{}, "", errors.New("want id and time")
	}
	b, rest, _ := strings.Cut(rest, " ")
	id, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return 0, time.Time{}, "", errors.New("bad id")
	}
	ms, err := strconv.ParseInt(b, 10, 64)
	if err != nil {
		return 0, time.Time{}, "", errors.New("bad time")
	}
	return id, time.UnixMilli(ms), rest, nil
}
