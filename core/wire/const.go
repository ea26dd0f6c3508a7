package wire

import "time"

// Defaults of the protocol. Each one is documented in docs/PROTOCOL.md; the
// server and the client expose the configurable ones as options.
const (
	// HeaderLen is the size of a frame header: the payload length in decimal,
	// left-aligned and padded with spaces.
	HeaderLen = 10

	// MaxHeaderValue is the largest length a header can express.
	MaxHeaderValue = 9_999_999_999

	// DefaultServerPayload is the payload limit on client-server connections.
	DefaultServerPayload = 64 << 10

	// DefaultPeerPayload is the payload limit on peer-to-peer chat connections.
	DefaultPeerPayload = 1 << 20

	// MaxDatagram is the largest UDP datagram PeerChat sends or accepts.
	MaxDatagram = 512

	// DefaultServerPort is the server's TCP port, and the UDP port on which
	// servers answer discovery probes.
	DefaultServerPort = 12345

	// DiscoveryPort is the UDP port servers listen on for discovery probes.
	DiscoveryPort = DefaultServerPort

	// DefaultFrameTimeout bounds how long the rest of a frame may take once
	// its first byte has arrived.
	DefaultFrameTimeout = 10 * time.Second

	// DefaultInviteTTL is how long a CHAT_INVITE nonce stays valid.
	DefaultInviteTTL = 30 * time.Second

	// MaxNickLen is the longest nickname, in characters (runes).
	MaxNickLen = 32

	// Version is the protocol version that v2 peers announce in WELCOME and HELLO.
	Version = 2

	// MDNSService is the DNS-SD service type servers announce.
	MDNSService = "_peerchat._tcp"
)

// Features announced in WELCOME and HELLO (and relayed in CAPS). A v2 payload
// tied to a feature is only sent once both sides listed it.
const (
	// FeatureHeartbeat: PING and PONG on the server connection.
	FeatureHeartbeat = "heartbeat"
	// FeatureBcast: broadcasts as BCAST with sequence, sender and timestamp.
	FeatureBcast = "bcast"
	// FeatureCaps: the server relays peers' features with CAPS.
	FeatureCaps = "caps"
	// FeatureNotice: non-fatal errors as NOTICE instead of ERROR.
	FeatureNotice = "notice"
	// FeatureAck: on chat sockets, CHAT_MSG2 with ids and CHAT_ACK.
	FeatureAck = "ack"
	// FeatureKeys: device identities on the server link: SKEY, IDENT,
	// SIDENT, KEY, SBROADCAST and SBCAST (docs/PROTOCOL.md §2.6).
	FeatureKeys = "keys"
	// FeatureE2E: (peer to peer, relayed in CAPS) chat sockets opened by an
	// invite are encrypted end to end with core/e2e after CHAT_ACCEPT.
	FeatureE2E = "e2e"
	// FeatureE2EAES: (peer to peer, relayed in CAPS, only beside "e2e") this
	// device has hardware AES, so an e2e chat dialled by a peer that lists it
	// too uses AES-256-GCM instead of ChaCha20-Poly1305 (core/e2e).
	FeatureE2EAES = "e2e-aesgcm"
	// FeatureKeepalive: the peer answers PING with PONG on a chat socket
	// (docs/PROTOCOL.md §3.6), so a silent chat can be told from a dead one.
	FeatureKeepalive = "keepalive"
	// FeatureRead: (peer to peer, relayed in CAPS) the peer's user turned
	// read receipts on: it sends CHAT_READ, and takes ours (§3.6). A peer
	// that did not list it never receives one.
	FeatureRead = "read"
)

// Sizes of the keys feature's fields.
const (
	// NonceMin and NonceMax bound a challenge of SKEY or IDENT, in bytes.
	NonceMin = 16
	NonceMax = 32
	// SigLen is the size of an Ed25519 signature.
	SigLen = 64
	// MaxKeyText bounds the text form of a public identity in a frame.
	MaxKeyText = 128
)

// Codes of NOTICE, the v2 server's non-fatal refusals (docs/PROTOCOL.md §2.4).
const (
	// NoticeRateLimited: a broadcast was dropped for going over the rate.
	NoticeRateLimited = "rate_limited"
	// NoticeTooLong: a broadcast was dropped for being too long.
	NoticeTooLong = "too_long"
	// NoticeUnknownCommand: a payload with an unknown verb was dropped.
	NoticeUnknownCommand = "unknown_command"
	// NoticeBadCommand: a malformed payload (or an empty broadcast) was dropped.
	NoticeBadCommand = "bad_command"
)
