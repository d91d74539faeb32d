package milogin

import "time"

// Channel is how a message reaches a person.
type Channel string

const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	// ChannelBackchannel is an OpenID Connect back-channel logout: To is the
	// application's logout URI, Text the logout token's claims (signed when sent).
	ChannelBackchannel Channel = "backchannel"
	// ChannelDecoy is a message composed and queued for a person who does
	// not exist (Forgot User ID for an unknown address, a PIN for an unknown
	// user ID), so that the request does the same work either way and its
	// timing does not tell whether an account exists. Workers mark it sent
	// without delivering it.
	ChannelDecoy Channel = "decoy"
)

// DecoyTo is the recipient of decoy messages: a reserved name that never
// receives mail.
const DecoyTo = "decoy@decoy.invalid"

// Message is one email or text in the outbox. It is written in the same
// transaction as the change that causes it and delivered later by a worker, so
// a crash between the two loses nothing and sends nothing for a change that
// did not happen.
type Message struct {
	ID            int64
	Channel       Channel
	To            string
	Subject       string
	Text          string
	HTML          string
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time // when a worker may next try (also its claim lease)
	SentAt        time.Time // zero until delivered
	FailedAt      time.Time // set when it was given up
	LastError     string
}

// MessageFilter selects outbox messages for the development mailbox.
type MessageFilter struct {
	To    string
	Limit int
}
