// Package e2e drives real user journeys through MILogin in headless Chromium.
//
// The tests build cmd/milogin (and cmd/cars, the CARS e-Services relying
// party of cars_test.go) once, start it per test on a free port with a
// fresh SQLite data folder, demo accounts and an in-process SMTP server
// (internal/notify/smtptest), and walk the pages the way a person would: by
// labels, headings and button texts, the wording of the seed documents. Every
// page a journey reaches is checked with axe-core (WCAG 2.0/2.1 A and AA).
//
// Requirements: Debian's chromium at /usr/bin/chromium and
// e2e/node_modules/axe-core (npm ci in e2e/). Without them the tests skip,
// except when CI=true, where they fail. .ci/run installs both.
//
// Set E2E_ARTIFACTS to a folder to keep a screenshot and the HTML of the last
// page of every failed test there, and E2E_WALK to a folder to keep every
// page a journey reaches, at desktop and at phone width, numbered in order
// (to look through a journey as a person would).
package e2e
