package session

import (
	"errors"

	"peerchat/core/client"
	"peerchat/core/transfer"
	"peerchat/core/wire"
)

// MailboxAge is the age bound of a server's mailbox by default (the
// server's -mail-age): what FailureText names for an item that expired.
const MailboxAge = "7 days"

// FailureText is why our message to peer (nick; "" for a broadcast) was not
// delivered, as the UI shows it after "Not delivered: ", or why a file
// transfer with peer ended, as its card shows it after "Not sent: " or
// "Not received: ": the one place that turns the client core's errors
// into words. It tests err with
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
	case errors.Is(err, errDeclinedByUs):
		return "you declined it"
	case errors.Is(err, errCancelledByUs):
		return "you cancelled it"
	case errors.Is(err, client.ErrFileDeclined):
		return peer + " declined it"
	case errors.Is(err, client.ErrFileCancelled):
		return "cancelled"
	case errors.Is(err, client.ErrNoFiles):
		return peer + " cannot receive files (an older PeerChat, or a chat that is not end-to-end encrypted)"
	case errors.Is(err, client.ErrNoTransfer):
		return "the transfer is no longer known"
	case errors.Is(err, transfer.ErrNoSpace):
		return "the disk is full; what arrived is kept, free some space and ask again"
	case errors.Is(err, transfer.ErrHash), errors.Is(err, transfer.ErrSize):
		return "it arrived damaged (its SHA-256 did not match) and was thrown away"
	case errors.Is(err, transfer.ErrTooLarge):
		return "it is larger than allowed"
	case errors.Is(err, client.ErrNotImage):
		return "it is not a picture that can be posted (JPEG, PNG, GIF or WebP)"
	case errors.Is(err, client.ErrImageTooLarge):
		return "the picture is larger than the server takes"
	case errors.Is(err, client.ErrNoImages):
		return "this server does not take pictures"
	case errors.Is(err, ErrNotPicture):
		return "only pictures (JPEG, PNG, GIF, WebP) can be posted to Everyone"
	case errors.Is(err, client.ErrMailbox):
		return "the server's mailbox refused it"
	case errors.Is(err, errors.ErrUnsupported):
		return "this version of PeerChat cannot send files yet"
	}
	return err.Error()
}
