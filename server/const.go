package server

import (
	"time"

	"golang.org/x/time/rate"

	"peerchat/core/wire"
)

// Defaults used for the zero values of Config.
const (
	// DefaultPayloadLimit is the largest payload a client may send.
	DefaultPayloadLimit = wire.DefaultServerPayload

	// DefaultRegisterTimeout bounds the time from accept to a complete
	// REGISTER + PORT.
	DefaultRegisterTimeout = 10 * time.Second

	// DefaultFrameTimeout bounds the rest of a frame once its first byte
	// has arrived.
	DefaultFrameTimeout = wire.DefaultFrameTimeout

	// DefaultMaxClients is the maximum number of simultaneous connections.
	DefaultMaxClients = 10_000

	// DefaultMaxPerIP is the maximum number of simultaneous connections
	// from one IP address.
	DefaultMaxPerIP = 64

	// DefaultBroadcastRate is the sustained number of broadcasts per second
	// one client may send.
	DefaultBroadcastRate rate.Limit = 20

	// DefaultBroadcastBurst is the number of broadcasts one client may send
	// at once above DefaultBroadcastRate.
	DefaultBroadcastBurst = 40

	// DefaultHeartbeatInterval is how often the server PINGs v2 clients that
	// negotiated the heartbeat feature.
	DefaultHeartbeatInterval = 10 * time.Second

	// DefaultHeartbeatTimeout is how long a heartbeat client may stay silent
	// before it is evicted.
	DefaultHeartbeatTimeout = 30 * time.Second

	// DefaultWriteTimeout bounds one write to a client.
	DefaultWriteTimeout = 10 * time.Second

	// DefaultQueueBytes is the size of a client's outbound queue; a client
	// whose queue would exceed it is disconnected.
	DefaultQueueBytes = 1 << 20

	// DefaultShutdownGrace is how long Serve lets queues drain when its
	// context is cancelled.
	DefaultShutdownGrace = 2 * time.Second

	// DefaultName is the server name when Config.Name is empty.
	DefaultName = "peerchat"

	// DefaultReplaceGrace is how long a REGISTER for a nick held by a
	// heartbeat client from the same IP address waits for the holder to
	// answer a PING before the holder is replaced (see Config.ReplaceGrace).
	DefaultReplaceGrace = time.Second

	// DefaultNickHold is how long a nick stays held by the key that proved
	// it after its holder was last connected (see Config.NickHold).
	DefaultNickHold = 7 * 24 * time.Hour

	// DefaultRelayRate is the bytes per second one client may relay
	// (Config.RelayRate): about a gigabit link's worth, so that a file
	// through the relay runs at LAN speed, while a client that floods is
	// still cut off. PeerChat clients pace themselves below it
	// (core/client).
	DefaultRelayRate rate.Limit = 128 << 20

	// DefaultRelayBurst is the bytes one client may relay at once above
	// DefaultRelayRate (Config.RelayBurst).
	DefaultRelayBurst = 8 << 20

	// DefaultMailItems bounds the items stored for one recipient
	// (Config.MailItems).
	DefaultMailItems = 1000

	// DefaultMailBytes bounds the bytes stored for one recipient
	// (Config.MailBytes).
	DefaultMailBytes = 16 << 20

	// DefaultMailTotal bounds the bytes of the whole mailbox
	// (Config.MailTotal).
	DefaultMailTotal = 1 << 30

	// DefaultMailAge is how long an item waits for its recipient
	// (Config.MailAge).
	DefaultMailAge = 7 * 24 * time.Hour

	// DefaultReplayCount is how many broadcasts are kept for SINCE
	// (Config.ReplayCount).
	DefaultReplayCount = 1000

	// DefaultReplayAge is how long a broadcast is kept for SINCE
	// (Config.ReplayAge).
	DefaultReplayAge = 24 * time.Hour

	// DefaultImageBytes is the largest picture a client may post to
	// Everyone (Config.ImageBytes).
	DefaultImageBytes = 8 << 20

	// DefaultKeepAlive is the TCP keepalive idle time set on every connection.
	DefaultKeepAlive = 15 * time.Second
)

// Internal limits.
const (
	// broadcastOverhead bounds what a relayed broadcast adds to the text
	// besides the sender's nick ("BCAST <seq> <unix_ms> ", separators).
	broadcastOverhead = 64
	// signedOverhead is what a relayed signed broadcast (SBCAST) adds to
	// BCAST: " <sent_ms> <sig>", a time of up to 20 characters and a
	// signature of 86.
	signedOverhead = 112
	// nonceLen is the size of the server's SKEY challenge.
	nonceLen = 16
	// maxSeenEvery bounds how often the last-seen time of every connected
	// holder of a nick is written (at most NickHold/8 apart), so a crash
	// loses little of it.
	maxSeenEvery = time.Hour
	// mailSweepEvery bounds the time between two sweeps of expired
	// mailbox items.
	mailSweepEvery = time.Minute
	// maxPendingMail bounds the MBOX_PUTs and MBOX_ACKs waiting to be
	// written (the readers that bring more wait); maxMailBatch bounds
	// those written in one transaction.
	maxPendingMail = 4096
	maxMailBatch   = 1024
	// maxFeatures and maxFeatureLen bound what a HELLO may list.
	maxFeatures   = 32
	maxFeatureLen = 32

	// closeLinger and lingerBytes bound how long and how much the server
	// keeps reading from a client it is closing after a last frame
	// (ERROR, NICKNAME_TAKEN), so the client can read that frame.
	closeLinger = time.Second
	lingerBytes = 256 << 10
	// maxRefusing bounds the refused connections in a lingering close at
	// once; beyond it, refused connections are closed at once.
	maxRefusing = 256
)

// features is what the server announces in WELCOME.
var features = []string{wire.FeatureHeartbeat, wire.FeatureBcast, wire.FeatureCaps, wire.FeatureNotice, wire.FeatureImages}
