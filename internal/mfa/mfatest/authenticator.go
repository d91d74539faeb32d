// Package mfatest provides a software passkey for tests: it answers the
// options MILogin sends to navigator.credentials.create and .get the way a
// platform authenticator would (ES256, "none" attestation), so passkey
// ceremonies can be tested end to end without a browser.
package mfatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator holds one credential.
type Authenticator struct {
	Origin     string // the origin the "browser" reports, https://milogin.example
	Key        *ecdsa.PrivateKey
	ID         []byte
	UserHandle []byte
	SignCount  uint32
}

// New returns an authenticator for origin with a fresh key.
func New(origin string) *Authenticator {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 16)
	rand.Read(id)
	return &Authenticator{Origin: origin, Key: key, ID: id}
}

var b64 = base64.RawURLEncoding

type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// Create answers creation options (the JSON MILogin returns) with a
// registration response (the JSON the page posts back).
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, err
	}
	if o.PublicKey.Challenge == "" || o.PublicKey.RP.ID == "" {
		return nil, errors.New("mfatest: not creation options")
	}
	uh, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, err
	}
	a.UserHandle = uh
	cd := clientData("webauthn.create", o.PublicKey.Challenge, a.Origin)
	// The uncompressed point is 0x04 || X || Y, 32 bytes each on P-256.
	point, err := a.Key.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	cose, err := webauthncbor.Marshal(map[int]any{
		1: 2, 3: -7, -1: 1,
		-2: point[1:33],
		-3: point[33:65],
	})
	if err != nil {
		return nil, err
	}
	rpHash := sha256.Sum256([]byte(o.PublicKey.RP.ID))
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, 0x45) // user present, user verified, attested credential data
	auth = binary.BigEndian.AppendUint32(auth, a.SignCount)
	auth = append(auth, make([]byte, 16)...) // AAGUID
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(a.ID)))
	auth = append(auth, a.ID...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers request options with an assertion, counting one more use.
func (a *Authenticator) Get(optionsJSON []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, err
	}
	if o.PublicKey.Challenge == "" {
		return nil, errors.New("mfatest: not request options")
	}
	a.SignCount++
	cd := clientData("webauthn.get", o.PublicKey.Challenge, a.Origin)
	rpHash := sha256.Sum256([]byte(o.PublicKey.RPID))
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, 0x05) // user present, user verified
	auth = binary.BigEndian.AppendUint32(auth, a.SignCount)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.UserHandle),
		},
	})
}
