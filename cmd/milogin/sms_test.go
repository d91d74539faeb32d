package main

import (
	"context"
	"log/slog"
	"testing"

	"milogin"
)

func TestSMSSenderChoice(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if s, err := smsSender("", "", "json", false, log); err != nil || s != nil {
		t.Errorf("no URL, not demo: %v, %v (texts must stay queued)", s, err)
	}
	s, err := smsSender("", "", "json", true, log)
	if err != nil || s == nil {
		t.Fatalf("demo: %v, %v", s, err)
	}
	if err := s.Send(context.Background(), &milogin.Message{Channel: milogin.ChannelSMS, To: "5175550100", Text: "x"}); err != nil {
		t.Errorf("outbox provider: %v", err)
	}
	if s, err := smsSender("https://sms.example.gov/send", "t", "form", false, log); err != nil || s == nil {
		t.Errorf("HTTP provider: %v, %v", s, err)
	}
	for _, c := range []struct{ url, format string }{{"https://sms.example.gov/send", "xml"}, {"http://sms.example.gov/send", "json"}} {
		if _, err := smsSender(c.url, "", c.format, false, log); err == nil {
			t.Errorf("%s %s accepted", c.url, c.format)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("%s %s: %T, want a usage error", c.url, c.format, err)
		}
	}
}
