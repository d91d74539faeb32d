// Package loadgen drives a running MILogin deployment over HTTP the way
// browsers and applications do, for "milogin bench": each virtual user has
// its own cookie jar and runs one scenario in a loop (the sign-in form, the
// whole OpenID Connect code flow, a signed-in page, userinfo, client
// credentials, JWKS) while latencies, errors by kind and, on the same
// machine, the server's CPU time and memory are recorded.
//
// It also names the accounts "milogin users seed" creates, so that the
// generator can sign in as them.
package loadgen
