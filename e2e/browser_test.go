package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// Timeouts. A whole journey gets journeyTimeout; one navigation or one wait
// for an element gets stepTimeout, so a missing element fails in seconds with
// a message naming it, not when go test's timeout ends the run.
const (
	journeyTimeout = 3 * time.Minute
	stepTimeout    = 20 * time.Second
)

// browser is one headless Chromium (own process, fresh profile) with one tab,
// bound to one test and one server.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	noJS bool

	consoleMu sync.Mutex
	console   []string // errors and exceptions of page scripts, CSP violations
	failedReq []string // "Failed to load resource" (also a page's deliberate 4xx)

	shots int    // pages saved for E2E_WALK so far
	id    uint64 // tells apart the browsers of one test in E2E_WALK's file names
}

var browsers atomic.Uint64

type browserOption func(*browser)

// withoutJavaScript disables JavaScript in the tab (Emulation.
// setScriptExecutionDisabled) before the first page loads.
func withoutJavaScript() browserOption { return func(b *browser) { b.noJS = true } }

// newBrowser starts Chromium for the test. It is closed when the test ends.
func newBrowser(t *testing.T, srv *server, opts ...browserOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		skipOrFail(t, "Chromium is not installed at %s (apt-get install chromium)", chromiumPath)
	}
	axeSource(t) // skips or fails early when axe-core is missing

	b := &browser{t: t, base: srv.URL, id: browsers.Add(1)}
	for _, o := range opts {
		o(b)
	}

	// The flags a root, offline, headless machine needs. chromedp gives every
	// allocation a fresh --user-data-dir under $TMPDIR and removes it (and
	// kills any leftover Chromium child) when the allocator is cancelled.
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1024),
	)
	root, cancelRoot := context.WithTimeout(context.Background(), journeyTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root, allocOpts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		if t.Failed() {
			b.dumpLastPage()
		}
		b.consoleMu.Lock()
		if len(b.console) > 0 {
			t.Logf("browser console errors:\n  %s", strings.Join(b.console, "\n  "))
		}
		if len(b.failedReq) > 0 && t.Failed() {
			t.Logf("browser requests that failed:\n  %s", strings.Join(b.failedReq, "\n  "))
		}
		b.consoleMu.Unlock()
		cancelCtx()
		cancelAlloc()
		cancelRoot()
	})
	b.ctx = ctx

	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	b.collectConsole()
	if b.noJS {
		if err := setScripts(ctx, false); err != nil {
			t.Fatalf("disabling JavaScript: %v", err)
		}
	}
	return b
}

func setScripts(ctx context.Context, enabled bool) error {
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: !enabled})
	return err
}

// collectConsole keeps the page's console errors and uncaught exceptions
// (a CSP violation shows up here), printed when the test ends, and the
// failed requests, printed if the test failed.
func (b *browser) collectConsole() {
	msgs := chromedp.Console(b.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && !m.IsException() {
				continue
			}
			if strings.HasSuffix(m.URL, "/favicon.ico") {
				continue // the browser asks on its own; not a page's error
			}
			line := fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1)
			b.consoleMu.Lock()
			if strings.HasPrefix(m.Text, "Failed to load resource") {
				b.failedReq = append(b.failedReq, line)
			} else {
				b.console = append(b.console, line)
			}
			b.consoleMu.Unlock()
		}
	}()
}

// step returns a context for one browser step.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// --- navigation: every way of reaching a page ends in afterNavigate ---------

// visit loads base+path and checks the page.
func (b *browser) visit(path string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	b.afterNavigate(resp, "GET "+path)
}

// click clicks the element sel (which must be visible) and waits for the
// page it leads to, e.g. a link or a form's submit button.
func (b *browser) click(sel string, what string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("clicking %s led to no page load within %v: %v\n(on %s)", what, stepTimeout, err, b.location())
	}
	b.afterNavigate(resp, "click "+what)
}

// back is the browser's Back button.
//
// A page restored from the back/forward cache (bfcache) fires no load event
// and is not fetched again, so back waits for the frame navigation instead.
// Chromium keeps even Cache-Control: no-store pages in the bfcache, so after
// a logout, Back would show the signed-in page again without asking the
// server, unless the page reloads itself on a persisted pageshow event. Such
// a restore that stays on screen is reported as an error (the server never
// saw the request), and the page is then reloaded so the journey can go on.
func (b *browser) back() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	hist, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil {
		b.t.Fatal(err)
	}
	if hist.CurrentIndex < 1 {
		b.t.Fatal("back: no previous history entry")
	}
	prev := hist.Entries[hist.CurrentIndex-1]

	navs := make(chan page.EventFrameNavigated, 16)
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	events := chromedp.Events(evCtx, page.FrameNavigated) // subscribed from here on
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if ev.Frame.ParentID == "" {
				select {
				case navs <- ev:
				default:
				}
			}
		}
	}()
	if _, err := chromedp.Call(ctx, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: prev.ID}); err != nil {
		b.t.Fatalf("back to %s: %v", prev.URL, err)
	}
	var nav page.EventFrameNavigated
	select {
	case nav = <-navs:
	case <-ctx.Done():
		b.t.Fatalf("back to %s: no navigation within %v", prev.URL, stepTimeout)
	}
	if nav.Type == page.NavigationTypeBackForwardCacheRestore {
		select {
		case nav = <-navs: // the page reloaded itself
		case <-time.After(3 * time.Second):
			b.t.Errorf("Back restored %s from the back/forward cache and it stayed on screen: the server was not asked, "+
				"so a signed-out page can be shown again (reloading to continue)", nav.Frame.URL)
			stopEvents()
			b.reload()
			return
		}
	}
	// Polled from Go: an in-page poll needs timers (not with JavaScript
	// disabled) and dies with a navigation.
	for {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		if err == nil && state == "complete" {
			break
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("back to %s: page did not finish loading (readyState %q, %v)", prev.URL, state, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.afterNavigate(nil, "Back to "+prev.URL)
}

// reload is the browser's Reload button.
func (b *browser) reload() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Reload())
	if err != nil {
		b.t.Fatalf("reload: %v", err)
	}
	b.afterNavigate(resp, "reload")
}

// afterNavigate runs on every page a journey reaches: it rejects server
// errors and runs the accessibility check.
func (b *browser) afterNavigate(resp *network.Response, how string) {
	b.t.Helper()
	if resp != nil && resp.Status >= 500 {
		b.t.Errorf("%s: %s answered %d %s", how, resp.URL, resp.Status, resp.StatusText)
	}
	b.checkA11y()
}

// --- reading the page --------------------------------------------------------

func (b *browser) location() string {
	ctx, cancel := b.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(location unknown: " + err.Error() + ")"
	}
	return loc
}

// path is the path of the current page.
func (b *browser) path() string {
	loc := strings.TrimPrefix(b.location(), b.base)
	loc, _, _ = strings.Cut(loc, "#")
	loc, _, _ = strings.Cut(loc, "?")
	return loc
}

var spaces = regexp.MustCompile(`\s+`)

func normalize(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// text is the visible text of the page (innerText), whitespace collapsed.
func (b *browser) text() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		b.t.Fatalf("reading the page text: %v", err)
	}
	return normalize(s)
}

// expectText reports each wanted phrase that the page does not show.
func (b *browser) expectText(want ...string) {
	b.t.Helper()
	got := b.text()
	for _, w := range want {
		if !strings.Contains(got, normalize(w)) {
			b.t.Errorf("page %s does not show %q; it shows:\n%s", b.path(), w, got)
		}
	}
}

// expectNoText reports each phrase the page shows but should not.
func (b *browser) expectNoText(unwanted ...string) {
	b.t.Helper()
	got := b.text()
	for _, w := range unwanted {
		if strings.Contains(got, normalize(w)) {
			b.t.Errorf("page %s shows %q but should not; it shows:\n%s", b.path(), w, got)
		}
	}
}

// count is how many elements match the XPath now (no waiting: pages are
// server-rendered and fully loaded when a step returns).
func (b *browser) count(xpath string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(xpath, chromedp.AtLeast(0)))
	if err != nil {
		b.t.Fatalf("query %s: %v", xpath, err)
	}
	return len(nodes)
}

// find returns xpath if an element matches it, and otherwise fails the
// test, naming what was looked for and showing the page's text.
func (b *browser) find(xpath, what string) string {
	b.t.Helper()
	if b.count(xpath) == 0 {
		b.t.Fatalf("page %s has no %s\n(XPath %s)\nthe page shows:\n%s", b.path(), what, xpath, b.text())
	}
	return xpath
}

// expect reports (without stopping the test) when no element matches.
func (b *browser) expect(xpath, what string) bool {
	b.t.Helper()
	if b.count(xpath) == 0 {
		b.t.Errorf("page %s has no %s\n(XPath %s)", b.path(), what, xpath)
		return false
	}
	return true
}

// visibleText is the rendered text (CSS text-transform applied) of the first
// element matching xpath.
func (b *browser) visibleText(xpath string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(xpath))
	if err != nil {
		b.t.Fatalf("reading text of %s: %v", xpath, err)
	}
	return normalize(s)
}

// attr is an attribute of the first element matching xpath ("" if absent).
func (b *browser) attr(xpath, name string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(xpath, name))
	if err != nil {
		b.t.Fatalf("reading @%s of %s: %v", name, xpath, err)
	}
	return res.Value
}

// --- acting on the page -------------------------------------------------------

// field finds the input labelled label (asterisks marking required fields
// ignored) and checks its name attribute. It returns an XPath for it.
func (b *browser) field(label, name string) string {
	b.t.Helper()
	sel := b.find(labelledControl(label), fmt.Sprintf("input labelled %q", label))
	if got := b.attr(sel, "name"); got != name {
		b.t.Errorf("the input labelled %q has name=%q, want %q", label, got, name)
	}
	return sel
}

// fill types value into the input labelled label (clearing it first).
func (b *browser) fill(label, name, value string) {
	b.t.Helper()
	sel := b.field(label, name)
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Clear(sel), chromedp.SendKeys(sel, value)); err != nil {
		b.t.Fatalf("typing into %q: %v", label, err)
	}
}

// choose clicks the radio button or checkbox labelled label.
func (b *browser) choose(label string) {
	b.t.Helper()
	sel := b.find(labelledControl(label), fmt.Sprintf("option labelled %q", label))
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(sel, chromedp.NodeVisible)); err != nil {
		b.t.Fatalf("choosing %q: %v", label, err)
	}
}

// button finds the button whose rendered text is text and returns its
// XPath; the match is case-insensitive in the DOM (a stylesheet may upper-
// case "Login"), but the text the user sees must be exactly text.
func (b *browser) button(text string) string {
	b.t.Helper()
	sel := b.find(buttonNamed(text), fmt.Sprintf("button %q", text))
	if got := b.visibleText(sel); got != text && b.attr(sel, "value") != text {
		b.t.Errorf("button %q is shown as %q", text, got)
	}
	return sel
}

// press clicks the button with the text and waits for the resulting page.
func (b *browser) press(text string) {
	b.t.Helper()
	b.click(b.button(text), "button "+text)
}

// link finds the link whose rendered text is text (matched as button is).
func (b *browser) link(text string) string {
	b.t.Helper()
	sel := b.find(linkNamed(text), fmt.Sprintf("link %q", text))
	if got := b.visibleText(sel); got != text {
		b.t.Errorf("link %q is shown as %q", text, got)
	}
	return sel
}

// follow clicks the link with the text and waits for the resulting page.
func (b *browser) follow(text string) {
	b.t.Helper()
	b.click(b.link(text), "link "+text)
}

// dumpLastPage logs the URL of the current page and, with E2E_ARTIFACTS
// set, saves a screenshot and its HTML there.
func (b *browser) dumpLastPage() {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	b.t.Logf("browser was on %s", loc)
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Log(err)
		return
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".html"), []byte(html), 0o644)
	}
	b.t.Logf("saved %s.png and .html in %s", name, dir)
}

// walkShot saves a screenshot of the current page in $E2E_WALK, when it is
// set, as TEST-bID-NNN-WIDTH.png (ID tells the test's browsers apart),
// numbered in the order the browser reached its pages, so that a person can look through what the journey saw at
// desktop and at phone width (checkA11y takes both).
func (b *browser) walkShot(ctx context.Context, width string) {
	dir := os.Getenv("E2E_WALK")
	if dir == "" {
		return
	}
	if width == "desktop" {
		b.shots++
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Log(err)
		return
	}
	name := fmt.Sprintf("%s-b%d-%03d-%s.png", strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()), b.id, b.shots, width)
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil { // 100: PNG
		_ = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
}

// --- XPath builders -------------------------------------------------------------

// xq quotes s as an XPath 1.0 string literal (which has no escapes).
func xq(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	parts := strings.Split(s, "'")
	return "concat('" + strings.Join(parts, `', "'", '`) + "')"
}

const (
	lower = "abcdefghijklmnopqrstuvwxyz"
	upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// textIs matches the context node's whitespace-normalized text, ignoring
// the asterisks of required-field markers.
func textIs(s string) string {
	return fmt.Sprintf("normalize-space(translate(., '*', ''))=%s", xq(s))
}

// textIsFold is textIs, case-insensitive.
func textIsFold(s string) string {
	return fmt.Sprintf("translate(normalize-space(.), '%s', '%s')=%s", lower, upper, xq(strings.ToUpper(s)))
}

// labelledControl is an input (or select/textarea) whose <label> has the
// text: by for/id, or wrapped in the label.
func labelledControl(label string) string {
	l := textIs(label)
	return fmt.Sprintf("//*[self::input or self::select or self::textarea][@id = //label[%[1]s]/@for or ancestor::label[%[1]s]]", l)
}

// buttonNamed is a <button> or an input button with the text.
func buttonNamed(text string) string {
	return fmt.Sprintf("//button[%s] | //input[@type='submit' or @type='button' or @type='reset'][translate(normalize-space(@value), '%s', '%s')=%s]",
		textIsFold(text), lower, upper, xq(strings.ToUpper(text)))
}

// linkNamed is an <a href> with the text (case-insensitive, see button).
func linkNamed(text string) string {
	return fmt.Sprintf("//a[@href][%s]", textIsFold(text))
}

// heading is an h1…h6 with exactly the text.
func heading(level int, text string) string {
	if level == 0 {
		return fmt.Sprintf("//*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6][%s]", textIs(text))
	}
	return fmt.Sprintf("//h%d[%s]", level, textIs(text))
}
