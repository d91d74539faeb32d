package oidc

import (
	"encoding/json"
	"net/http"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"milogin"
	"milogin/internal/keys"
)

// Discovery is the provider metadata (OpenID Connect Discovery 1.0, RFC
// 8414). It advertises exactly what is enabled: the code flow with PKCE
// S256, refresh, client credentials; no implicit, hybrid or password grant,
// no request objects, no JWT client authentication.
type Discovery struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	BackchannelLogoutSupported                 bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported          bool     `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSupported                bool     `json:"frontchannel_logout_supported"`
}

// Discovery returns the metadata of portal's issuer.
func (p *Provider) Discovery(portal milogin.PortalID) *Discovery {
	iss := p.Issuer(portal)
	var algs []string
	for _, a := range p.cfg.Keys.Algorithms() {
		algs = append(algs, string(a))
	}
	return &Discovery{
		Issuer:                                 iss,
		AuthorizationEndpoint:                  iss + "/authorize",
		TokenEndpoint:                          iss + "/oauth/token",
		UserinfoEndpoint:                       iss + "/userinfo",
		JWKSURI:                                iss + "/keys",
		RevocationEndpoint:                     iss + "/revoke",
		IntrospectionEndpoint:                  iss + "/introspect",
		EndSessionEndpoint:                     iss + "/end_session",
		ScopesSupported:                        supportedScopes,
		ResponseTypesSupported:                 []string{"code"},
		ResponseModesSupported:                 []string{"query"},
		GrantTypesSupported:                    []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials},
		SubjectTypesSupported:                  []string{"public"},
		IDTokenSigningAlgValuesSupported:       algs,
		TokenEndpointAuthMethodsSupported:      []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		// The library's introspection reads client credentials from the
		// Authorization header only.
		IntrospectionEndpointAuthMethodsSupported:  []string{"client_secret_basic"},
		CodeChallengeMethodsSupported:              []string{"S256"},
		ClaimsSupported:                            supportedClaims,
		ACRValuesSupported:                         []string{ACRPassword, ACRMFA},
		PromptValuesSupported:                      []string{"none", "login", "consent"},
		AuthorizationResponseIssParameterSupported: true,
		BackchannelLogoutSupported:                 true,
		BackchannelLogoutSessionSupported:          true,
	}
}

func (p *Provider) handleDiscovery(portal milogin.PortalID) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.Discovery(portal))
	})
}

// handleKeys serves the JWKS: every key in service, about to be, or retired
// less than keys.Manager.Retain ago. The same on every node.
func (p *Provider) handleKeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pubs, err := p.cfg.Keys.PublicKeys(r.Context())
		if err != nil {
			p.cfg.Logger.Error("jwks", "err", err)
			tokenError(w, http.StatusInternalServerError, "server_error", "Keys are unavailable.")
			return
		}
		body, err := p.jwksBody(pubs)
		if err != nil {
			p.cfg.Logger.Error("jwks", "err", err)
			tokenError(w, http.StatusInternalServerError, "server_error", "Keys are unavailable.")
			return
		}
		// Relying parties may cache the set briefly: a new key is published
		// well before it signs, and they refetch on an unknown kid.
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// jwksDoc is an encoded JWKS document and the key IDs it holds, in order.
type jwksDoc struct {
	ids  string
	body []byte
}

// jwksBody returns the JWKS document of pubs, encoded once for each set of
// keys: a key's ID names its content, so the same IDs are the same
// document.
func (p *Provider) jwksBody(pubs []keys.PublicKey) ([]byte, error) {
	var ids strings.Builder
	for _, k := range pubs {
		ids.WriteString(k.KeyID)
		ids.WriteByte(' ')
	}
	if d := p.jwks.Load(); d != nil && d.ids == ids.String() {
		return d.body, nil
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range pubs {
		set.Keys = append(set.Keys, k.JWK())
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	p.jwks.Store(&jwksDoc{ids: ids.String(), body: body})
	return body, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
