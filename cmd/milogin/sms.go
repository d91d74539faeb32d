package main

import (
	"log/slog"

	"milogin/internal/notify"
	"milogin/internal/notify/sms"
)

// smsSender chooses how texts are delivered: to an HTTP provider
// when --sms-url is set; in demo mode without one, the outbox provider marks
// them delivered so that /dev/mailbox shows them; otherwise none, and texts
// stay queued until a provider is configured.
func smsSender(endpoint, token, format string, demo bool, logger *slog.Logger) (notify.Sender, error) {
	if endpoint == "" {
		if demo {
			logger.Warn("no --sms-url given: text messages are kept in the outbox (see /dev/mailbox)")
			return sms.Sender(sms.Outbox{Logger: logger}), nil
		}
		logger.Warn("no --sms-url given: text messages stay queued")
		return nil, nil
	}
	f, err := sms.ParseFormat(format)
	if err != nil {
		return nil, usageError{msg: "--sms-format: " + err.Error()}
	}
	h, err := sms.NewHTTP(endpoint, sms.WithToken(token), sms.WithFormat(f))
	if err != nil {
		return nil, usageError{msg: "--sms-url: " + err.Error()}
	}
	return sms.Sender(h), nil
}
