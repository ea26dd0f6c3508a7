package server

import (
	"errors"

	"peerchat/core/wire"
)

// Close and refusal reasons. Each is used both in "ERROR <reason>" (or
// "NOTICE <code> <reason>") sent to the client and in the server's logs and
// Stats.
const (
	ReasonClientClosed    = "client closed"
	ReasonReset           = "connection reset"
	ReasonRegisterTimeout = "registration timeout"
	ReasonNicknameTaken   = "nickname taken"
	ReasonQueueOverflow   = "queue overflow"
	ReasonWriteTimeout    = "write timeout"
	ReasonTimedOut        = "connection timed out" // ETIMEDOUT: TCP keepalive or retransmissions gave up
	ReasonReplaced        = "replaced by a new connection"
	ReasonWriteFailed     = "write failed"
	ReasonReadFailed      = "read failed"
	ReasonHeartbeat       = "heartbeat timeout"
	ReasonRateLimited     = "rate limited"
	ReasonTooMany         = "too many clients"
	ReasonTooManyFromIP   = "too many connections from your address"
	ReasonBadFrame        = "bad frame"
	ReasonBadNick         = "bad nickname"
	ReasonRegisterFirst   = "register first"
	ReasonBadCommand      = "bad command"
	ReasonPortMismatch    = "PORT nickname does not match REGISTER"
	ReasonShutdown        = "server shutting down"
	ReasonNickHeld        = "nickname held by another key"
	ReasonBadIdentity     = "bad identity"
)

// Notice codes sent to v2 clients in "NOTICE <code> <text>"; package wire
// owns them.
const (
	NoticeRateLimited = wire.NoticeRateLimited
	NoticeUnknown     = wire.NoticeUnknownCommand
	NoticeBadCommand  = wire.NoticeBadCommand
	NoticeTooLong     = wire.NoticeTooLong
)

// Errors returned by the Server's methods.
var (
	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("server: closed")
	// ErrServing is returned by Serve when the server is already serving.
	ErrServing = errors.New("server: already serving")
)

// errBadSignature: an IDENT whose signature does not verify.
var (
	errBadSignature = errors.New("signature does not verify")
)
