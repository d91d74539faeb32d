package passkeyweb

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"milogin"
)

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr string
	}{
		{"fits", MaxBody, ""},
		{"too large", MaxBody + 1, "The request was too large."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", tc.size)))
			b, err := ReadBody(httptest.NewRecorder(), r, "test.readBody")
			if tc.wantErr == "" {
				if err != nil || len(b) != tc.size {
					t.Fatalf("ReadBody = %d bytes, %v", len(b), err)
				}
				return
			}
			if milogin.ErrorKind(err) != milogin.EINVALID || milogin.ErrorMessage(err) != tc.wantErr {
				t.Fatalf("ReadBody error = %v, want EINVALID %q", err, tc.wantErr)
			}
		})
	}
}

func TestError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		code     string
		logged   bool
		noDetail string // must not reach the answer
	}{
		{"invalid", milogin.Errorf("t", milogin.EINVALID, "That password is not right."), http.StatusBadRequest, "invalid", false, ""},
		{"internal", errors.New("database on fire"), http.StatusInternalServerError, "internal", true, "database on fire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			Error(rec, httptest.NewRequest(http.MethodPost, "/p", nil), slog.New(slog.NewTextHandler(&logs, nil)), "step failed", tc.err)
			var out map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || out["code"] != tc.code || out["message"] == "" {
				t.Errorf("answer = %d %v, want %d code %q", rec.Code, out, tc.status, tc.code)
			}
			if tc.noDetail != "" && strings.Contains(rec.Body.String(), tc.noDetail) {
				t.Errorf("answer shows the internal detail: %s", rec.Body)
			}
			if got := strings.Contains(logs.String(), "step failed"); got != tc.logged {
				t.Errorf("logged = %v, want %v: %s", got, tc.logged, logs.String())
			}
		})
	}
}
