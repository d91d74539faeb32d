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
)

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
