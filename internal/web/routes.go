package web

import (
	"context"
	"net/http"
	"strings"
)

// routes is the whole URL surface of the pages, in one place: the checklist
// for a security review. s.portal registers a route under every portal's
// prefix (/citizen, /thirdparty, /workforce).
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.handleRoot)
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(Static())))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	m.HandleFunc("GET /readyz", s.handleReady)
	// No /metrics here: it is served on the operations listener
	// (milogin serve --metrics-addr), never to the public.

	s.portal("GET /{$}", s.handlePortalRoot)
	s.portal("GET /login", s.handleLoginPage)
	s.portal("POST /login", s.handleLogin)
	s.portal("GET /login/active-session", s.handleTakeoverPage)
	s.portal("POST /login/active-session", s.handleTakeover)
	s.portal("POST /logout", s.handleLogout)
	s.portal("GET /help", s.handleHelp)

	s.portal("GET /continue", s.handleContinue)
	// The steps of the application gate (gate.go): terms, second factor.
	s.portal("POST /continue/terms", s.handleContinueTerms)
	s.portal("POST /continue/mfa", s.handleContinueMFA)
	s.portal("GET /continue/mfa/passcode", s.handlePasscodePage)
	s.portal("POST /continue/mfa/passcode", s.handlePasscode)
	s.portal("POST /continue/mfa/passkey/begin", s.handlePasskeyLoginBegin)
	s.portal("POST /continue/mfa/passkey/finish", s.handlePasskeyLoginFinish)

	s.portal("GET /home", s.requireSession(s.handleHome))
	s.portal("GET /change-password", s.handleChangePasswordPage)
	s.portal("POST /change-password", s.handleChangePassword)
	s.portal("GET /change-password/done", s.requireSession(s.handleChangePasswordDone))

	// Self-service (signup.go, recovery.go, profile.go). Multi-page flows
	// keep their state server-side behind a cookie; sign-up is offered
	// where authn.SignupEnabled says (MILogin for Third Party, and the
	// citizen portal with identity verification: citizen.go).
	s.portal("GET /signup", s.handleSignupPage)
	s.portal("POST /signup", s.handleSignup)
	s.portal("GET /signup/security", s.handleSignupSecurityPage)
	s.portal("POST /signup/security", s.handleSignupSecurity)
	s.portal("GET /signup/pin", s.handleSignupPINPage)
	s.portal("POST /signup/pin", s.handleSignupPIN)
	s.portal("POST /signup/pin/resend", s.handleSignupResend)
	s.portal("GET /signup/done", s.handleSignupDone)
	// Citizen identity verification, the last step of citizen sign-up (citizen.go).
	s.portal("GET /signup/verify", s.handleCitizenVerifyPage)
	s.portal("POST /signup/verify", s.handleCitizenVerify)
	s.portal("GET /forgot-user-id", s.handleForgotUserIDPage)
	s.portal("POST /forgot-user-id", s.handleForgotUserID)
	s.portal("GET /forgot-user-id/done", s.handleForgotUserIDDone)
	s.portal("GET /forgot-password", s.handleForgotPasswordPage)
	s.portal("POST /forgot-password", s.handleForgotPassword)
	s.portal("GET /forgot-password/options", s.handleResetOptionsPage)
	s.portal("POST /forgot-password/options", s.handleResetOptions)
	s.portal("GET /forgot-password/verify", s.handleResetVerifyPage)
	s.portal("POST /forgot-password/verify", s.handleResetVerify)
	s.portal("POST /forgot-password/verify/resend", s.handleResetResend)
	s.portal("GET /forgot-password/new-password", s.handleResetNewPage)
	s.portal("POST /forgot-password/new-password", s.handleResetNew)
	s.portal("GET /forgot-password/done", s.handleResetDone)
	// A reset link the help desk emailed (internal/admin): opens 4 New Password.
	s.portal("GET /forgot-password/link", s.handleResetLink)
	s.portal("GET /update-profile", s.requireSession(s.handleProfilePage))
	s.portal("POST /update-profile", s.requireSession(s.handleProfile))
	s.portal("GET /update-profile/verify", s.requireSession(s.handleProfilePINPage))
	s.portal("POST /update-profile/verify", s.requireSession(s.handleProfilePIN))
	s.portal("POST /update-profile/verify/resend", s.requireSession(s.handleProfileResend))
	s.portal("GET /security-options", s.requireSession(s.handleSecurityOptionsPage))
	s.portal("POST /security-options", s.requireSession(s.handleSecurityOptions))
	s.portal("GET /security-options/verify", s.requireSession(s.handleSecurityOptionsPINPage))
	s.portal("POST /security-options/verify", s.requireSession(s.handleSecurityOptionsPIN))
	s.portal("POST /security-options/verify/resend", s.requireSession(s.handleSecurityOptionsResend))

	s.portal("GET /request-access", s.requireSession(s.handleRequestAccess))
	s.portal("POST /request-access", s.requireSession(s.handleRequestAccessPost))
	s.portal("GET /request-access/terms", s.requireSession(s.handleRequestTerms))
	s.portal("POST /request-access/terms", s.requireSession(s.handleRequestTermsPost))
	s.portal("GET /security-options/authenticator", s.requireSession(s.handleAuthenticatorPage))
	s.portal("POST /security-options/authenticator", s.requireSession(s.handleAuthenticator))
	s.portal("GET /security-options/passkeys", s.requireSession(s.handlePasskeysPage))
	s.portal("POST /security-options/passkeys/begin", s.requireSession(s.handlePasskeyRegisterBegin))
	s.portal("POST /security-options/passkeys/finish", s.requireSession(s.handlePasskeyRegisterFinish))
	s.portal("POST /security-options/passkeys/remove", s.requireSession(s.handlePasskeyRemove))

	// Your Activity and Download your data (activity.go).
	s.portal("GET /activity", s.requireSession(s.handleActivity))
	s.portal("GET /activity/download", s.requireSession(s.handleDownload))

	if s.cfg.Demo {
		m.HandleFunc("GET /dev/mailbox", s.handleMailbox)
	}
}

// portal registers pattern ("GET /login") under each portal's path prefix,
// with the portal in the request context.
func (s *Server) portal(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	if method == http.MethodGet {
		s.pages[path] = true
	}
	for id := range s.cfg.Auth.Portals {
		s.mux.HandleFunc(method+" /"+string(id)+path, func(w http.ResponseWriter, r *http.Request) {
			// Per request: the portal's policy is the one in force now
			// (a change saved in the console reaches a running node).
			p, err := s.cfg.Auth.Portal(id)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			h(w, r.WithContext(context.WithValue(r.Context(), portalKey, p)))
		})
	}
}
