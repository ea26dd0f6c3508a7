package server

import "fmt"

// ClosedState is why the server closed a connection. Every connection gets
// exactly one, the first that applied; it names the connection's end in the
// "closed" log line and is the key of Stats.Closed. Its String is the Reason
// constant of the same name (the text of the ERROR the client heard, if it
// heard one).
type ClosedState uint8

// The reasons a connection ends.
const (
	ClosedUnknown         ClosedState = iota // not closed (or not yet known)
	ClosedClient                             // the client closed it: ReasonClientClosed
	ClosedReset                              // the client reset it: ReasonReset
	ClosedRegisterTimeout                    // no REGISTER + PORT in time: ReasonRegisterTimeout
	ClosedNicknameTaken                      // NICKNAME_TAKEN: ReasonNicknameTaken
	ClosedQueueOverflow                      // slow consumer, pending bytes over QueueBytes: ReasonQueueOverflow
	ClosedWriteTimeout                       // slow consumer, a write over WriteTimeout: ReasonWriteTimeout
	ClosedTimedOut                           // ETIMEDOUT (keepalive, retransmissions): ReasonTimedOut
	ClosedReplaced                           // a silent holder of a nick replaced: ReasonReplaced
	ClosedWriteFailed                        // another write error: ReasonWriteFailed
	ClosedReadFailed                         // another read error: ReasonReadFailed
	ClosedHeartbeat                          // a heartbeat client went silent: ReasonHeartbeat
	ClosedTooMany                            // refused at accept, MaxClients: ReasonTooMany
	ClosedTooManyFromIP                      // refused at accept, MaxPerIP: ReasonTooManyFromIP
	ClosedBadFrame                           // a malformed frame: ReasonBadFrame
	ClosedBadNick                            // an invalid nickname: ReasonBadNick
	ClosedRegisterFirst                      // something before REGISTER: ReasonRegisterFirst
	ClosedBadCommand                         // a malformed command during registration: ReasonBadCommand
	ClosedPortMismatch                       // PORT for another nick: ReasonPortMismatch
	ClosedShutdown                           // the server shut down: ReasonShutdown
	ClosedNickHeld                           // a held nick not proved (NICKNAME_TAKEN sent): ReasonNickHeld
	ClosedBadIdentity                        // an IDENT that does not verify: ReasonBadIdentity
	numClosedStates
)

var closedText = [numClosedStates]string{
	ClosedUnknown:         "unknown",
	ClosedClient:          ReasonClientClosed,
	ClosedReset:           ReasonReset,
	ClosedRegisterTimeout: ReasonRegisterTimeout,
	ClosedNicknameTaken:   ReasonNicknameTaken,
	ClosedQueueOverflow:   ReasonQueueOverflow,
	ClosedWriteTimeout:    ReasonWriteTimeout,
	ClosedTimedOut:        ReasonTimedOut,
	ClosedReplaced:        ReasonReplaced,
	ClosedWriteFailed:     ReasonWriteFailed,
	ClosedReadFailed:      ReasonReadFailed,
	ClosedHeartbeat:       ReasonHeartbeat,
	ClosedTooMany:         ReasonTooMany,
	ClosedTooManyFromIP:   ReasonTooManyFromIP,
	ClosedBadFrame:        ReasonBadFrame,
	ClosedBadNick:         ReasonBadNick,
	ClosedRegisterFirst:   ReasonRegisterFirst,
	ClosedBadCommand:      ReasonBadCommand,
	ClosedPortMismatch:    ReasonPortMismatch,
	ClosedShutdown:        ReasonShutdown,
	ClosedNickHeld:        ReasonNickHeld,
	ClosedBadIdentity:     ReasonBadIdentity,
}

// String returns the reason's text, one of the Reason constants.
func (s ClosedState) String() string {
	if s < numClosedStates {
		return closedText[s]
	}
	return fmt.Sprintf("ClosedState(%d)", uint8(s))
}

// MarshalText returns String, so that Stats.Closed encodes (as JSON, say)
// with the reasons' texts as keys.
func (s ClosedState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
