// A relying party built on openid-client (a certified OpenID Connect RP
// library), driven by e2e/oidc_test.go. It speaks JSON lines:
//
//   node rp.mjs ISSUER CLIENT_ID REDIRECT_URI POST_LOGOUT_URI [CLIENT_SECRET]
//
//   stdout  {"authorization_url": "..."}          discovery + PKCE (S256) + state + nonce
//   stdin   the URL the browser was sent back to  (a line)
//   stdout  {"claims": …, "userinfo": …, "refreshed": …, "logout_url": "..."}
//
// The code exchange validates the ID token (signature against the JWKS,
// iss, aud, exp, nonce, at_hash) and the authorization response (state, iss
// per RFC 9207); userinfo checks sub; the refresh checks the new ID token.
// Any failure is printed as {"error": "..."} with exit status 1.
import * as client from 'openid-client'
import { createInterface } from 'node:readline'

const [issuer, clientId, redirectUri, postLogoutUri, clientSecret] = process.argv.slice(2)

function out (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

async function main () {
  if (!issuer || !clientId || !redirectUri || !postLogoutUri) {
    throw new Error('usage: node rp.mjs ISSUER CLIENT_ID REDIRECT_URI POST_LOGOUT_URI [CLIENT_SECRET]')
  }
  const auth = clientSecret ? client.ClientSecretBasic(clientSecret) : client.None()
  const options = issuer.startsWith('http://') ? { execute: [client.allowInsecureRequests] } : undefined
  const config = await client.discovery(new URL(issuer), clientId, undefined, auth, options)

  const meta = config.serverMetadata()
  if (!meta.code_challenge_methods_supported?.includes('S256') || meta.code_challenge_methods_supported.includes('plain')) {
    throw new Error('discovery: want PKCE S256 only, got ' + JSON.stringify(meta.code_challenge_methods_supported))
  }
  if (JSON.stringify(meta.response_types_supported) !== '["code"]') {
    throw new Error('discovery: want response_types_supported ["code"], got ' + JSON.stringify(meta.response_types_supported))
  }

  const verifier = client.randomPKCECodeVerifier()
  const challenge = await client.calculatePKCECodeChallenge(verifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email phone offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce
  })
  out({ authorization_url: url.href })

  const rl = createInterface({ input: process.stdin })
  const line = await new Promise((resolve, reject) => {
    rl.once('line', resolve)
    rl.once('close', () => reject(new Error('stdin closed before the callback URL')))
  })
  rl.close()

  const tokens = await client.authorizationCodeGrant(config, new URL(line.trim()), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true
  })
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  if (!tokens.refresh_token) {
    throw new Error('no refresh token for offline_access')
  }
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  const logoutUrl = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: postLogoutUri,
    state: 'bye-' + state
  })
  out({
    claims,
    userinfo,
    scope: tokens.scope,
    refreshed: {
      claims: refreshed.claims() ?? null,
      rotated: !!refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token,
      new_access_token: refreshed.access_token !== tokens.access_token
    },
    logout_url: logoutUrl.href,
    logout_state: 'bye-' + state
  })
}

main().catch((err) => {
  out({ error: String(err && err.stack ? err.stack : err), cause: err && err.cause ? String(JSON.stringify(err.cause)) : undefined })
  process.exit(1)
})
