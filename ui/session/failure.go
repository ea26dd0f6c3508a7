package session

import (
	"errors"

	"peerchat/core/client"
	"peerchat/core/wire"
)

// MailboxAge is the age bound of a server's mailbox by default (the
// server's -mail-age): what FailureText names for an item that expired.
const MailboxAge = "7 days"

// FailureText is why our message to peer (nick; "" for a broadcast) was not
// delivered, as the UI shows it after "Not delivered: ": the one place
// that turns the client core's errors into words. It tests err with
// errors.Is and errors.As, never by its text; an error it does not know is
// shown as its text.
func FailureText(err error, peer string) string {
	if peer == "" {
		peer = "the recipient"
	}
	var mbox *client.MailboxError
	var relay *client.RelayError
	switch {
	case err == nil:
		return "not delivered"
	case errors.As(err, &mbox):
		switch mbox.Reason {
		case wire.MboxFull:
			return "the server's mailbox is full"
		case wire.MboxExpired:
			return peer + " did not come back within " + MailboxAge + " (the server's limit)"
		case wire.MboxTooLarge:
			return "too long for the server's mailbox"
		case wire.MboxUnknown:
			return "the server does not know " + peer + "'s key"
		}
		return "the server's mailbox refused it (" + mbox.Reason + ")"
	case errors.Is(err, client.ErrNoKey):
		return peer + " is away and this device never learnt their key"
	case errors.As(err, &relay):
		return "the server could not pass it on to " + peer
	case errors.Is(err, client.ErrPeerSilent):
		return peer + " stopped answering"
	case errors.Is(err, client.ErrKeyChanged):
		return peer + "'s key changed and you did not accept the new one"
	}
	return err.Error()
}
