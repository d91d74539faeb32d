package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The WCAG 2.1 AA conformance level, as axe-core tags its rules.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
	.then(r => r.violations.map(v => ({
		id: v.id,
		impact: v.impact || '',
		help: v.help,
		helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({
			target: n.target.map(t => Array.isArray(t) ? t.join(' >>> ') : String(t)).join(', '),
			html: n.html,
			summary: n.failureSummary || '',
		})),
	})))`

type axeViolation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"`
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []axeNode `json:"nodes"`
}

type axeNode struct {
	Target  string `json:"target"`
	HTML    string `json:"html"`
	Summary string `json:"summary"`
}

var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

// axeSource is the contents of e2e/node_modules/axe-core/axe.min.js (npm ci
// in e2e/). When it is missing the test skips, or fails in CI.
func axeSource(t testing.TB) string {
	t.Helper()
	axeOnce.Do(func() {
		var b []byte
		b, axeErr = os.ReadFile(filepath.Join(moduleDir, "e2e", "node_modules", "axe-core", "axe.min.js"))
		axeJS = string(b)
	})
	if axeErr != nil {
		skipOrFail(t, "axe-core is not installed: %v (run npm ci in e2e/)", axeErr)
	}
	return axeJS
}

// checkA11y injects axe-core into the current page of ctx and fails the test
// with every WCAG 2.0/2.1 level A and AA violation it finds.
func checkA11y(t testing.TB, ctx context.Context) {
	t.Helper()
	src := axeSource(t)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	present, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		t.Fatalf("a11y on %s: %v", loc, err)
	}
	if !present {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			t.Fatalf("a11y on %s: injecting axe-core: %v", loc, err)
		}
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("a11y on %s: axe.run: %v", loc, err)
	}
	for _, v := range violations {
		var nodes strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&nodes, "\n    %s\n      %s", n.Target, n.HTML)
			if n.Summary != "" {
				fmt.Fprintf(&nodes, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
			}
		}
		t.Errorf("a11y on %s: %s (%s): %s\n  %s%s", loc, v.ID, v.Impact, v.Help, v.HelpURL, nodes.String())
	}
}

// checkA11y runs the accessibility check on the browser's current page. With
// JavaScript disabled, axe-core (whose promises need timers) runs with
// scripts switched on for the check only: it audits the DOM that was
// rendered without them, and page scripts that were skipped stay skipped.
func (b *browser) checkA11y() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if b.noJS {
		if err := setScripts(ctx, true); err != nil {
			b.t.Fatalf("a11y: enabling scripts: %v", err)
		}
		defer func() {
			if err := setScripts(b.ctx, false); err != nil {
				b.t.Fatalf("a11y: disabling scripts again: %v", err)
			}
		}()
	}
	checkA11y(b.t, ctx)
	b.walkShot(ctx, "desktop")
	checkPhoneWidth(b.t, ctx, func() { b.walkShot(ctx, "phone") })
}

// phoneWidth is the narrowest screen every page must fit without sideways
// scrolling (WCAG 2.1 1.4.10 Reflow: 320 CSS pixels).
const phoneWidth = 320

// overflowJS measures the page and names the elements that stick out.
const overflowJS = `(() => {
	const d = document.documentElement, w = d.clientWidth, out = [];
	for (const el of document.body.querySelectorAll('*')) {
		const r = el.getBoundingClientRect();
		// Sticking out itself, or holding text that does (a long word).
		if ((r.right > w + 0.5 || (r.right <= w && el.scrollWidth > el.clientWidth + 0.5 && getComputedStyle(el).overflowX === 'visible')) && out.length < 5) {
			out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' (right edge ' + Math.round(r.right) + 'px)');
		}
	}
	return {scrollWidth: d.scrollWidth, clientWidth: w, offenders: out};
})()`

type overflow struct {
	ScrollWidth int      `json:"scrollWidth"`
	ClientWidth int      `json:"clientWidth"`
	Offenders   []string `json:"offenders"`
}

// checkPhoneWidth lays the current page of ctx out in a window 320 CSS px
// wide (what WCAG's reflow criterion means: 1280 px at 400% zoom; a page's
// meta viewport plays no part) with scrollbars hidden as on a phone, and
// fails the test if the page scrolls sideways; then it restores the window.
// atPhoneWidth, if not nil, runs while the window is narrow.
// Chromium applies a new size asynchronously, so each change is waited for:
// measuring too early would pass a page that overflows, and clicking while
// the window grows back would miss the button.
func checkPhoneWidth(t testing.TB, ctx context.Context, atPhoneWidth func()) {
	t.Helper()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil {
		t.Fatalf("phone width on %s: %v", loc, err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: phoneWidth, Height: 640, DeviceScaleFactor: 1,
	}); err != nil {
		t.Fatalf("phone width on %s: %v", loc, err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: true}); err != nil {
		t.Fatalf("phone width on %s: %v", loc, err)
	}
	defer func() {
		if _, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
			t.Fatalf("phone width on %s: restoring the window: %v", loc, err)
		}
		if _, err := chromedp.Call(ctx, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: false}); err != nil {
			t.Fatalf("phone width on %s: restoring the scrollbars: %v", loc, err)
		}
		if err := waitInnerWidth(ctx, before); err != nil {
			t.Fatalf("phone width on %s: the window did not grow back to %d px: %v", loc, before, err)
		}
	}()
	if err := waitInnerWidth(ctx, phoneWidth); err != nil {
		t.Fatalf("phone width on %s: the window did not become %d px wide: %v", loc, phoneWidth, err)
	}
	if atPhoneWidth != nil {
		atPhoneWidth()
	}
	o, err := chromedp.Run(ctx, chromedp.Evaluate[overflow](overflowJS))
	if err != nil {
		t.Fatalf("phone width on %s: %v", loc, err)
	}
	if o.ScrollWidth > o.ClientWidth {
		t.Errorf("phone width on %s: the page is %d px wide in a %d px window, so it scrolls sideways; sticking out: %s",
			loc, o.ScrollWidth, o.ClientWidth, strings.Join(o.Offenders, ", "))
	}
}

// waitInnerWidth polls (from Go: in-page timers may be off) until the
// window's width is want CSS px, for up to 5 seconds.
func waitInnerWidth(ctx context.Context, want int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
		if err != nil {
			return err
		}
		if w == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still %d px", w)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
