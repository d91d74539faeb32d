package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestHarnessPhoneWidthReportsOverflow: the 320 px pass fails a page that
// scrolls sideways on a phone (a 440 px table, as Request Access had, or a
// long unbreakable word) and passes one that reflows.
func TestHarnessPhoneWidthReportsOverflow(t *testing.T) {
	t.Parallel()
	const head = `<!DOCTYPE html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>t</title></head><body><main><h1>t</h1>`
	srv := fixtureServer(t, map[string]string{
		"/table": head + `<table style="width:440px"><caption>c</caption><tr><th scope="col">A</th></tr></table></main></body></html>`,
		"/word":  head + `<p>` + strings.Repeat("x", 80) + `</p></main></body></html>`,
		"/fits":  head + `<p>Short text that wraps as it should on a narrow screen.</p><table style="width:100%"><caption>c</caption><tr><th scope="col">A</th></tr></table></main></body></html>`,
	})
	b := newBrowser(t, srv)
	for _, path := range []string{"/table", "/word"} {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{TB: t}
		checkPhoneWidth(rec, b.ctx, nil)
		if len(rec.errs) == 0 || !strings.Contains(rec.errs[0], "scrolls sideways") {
			t.Errorf("%s: the phone-width pass did not report the overflow (%v)", path, rec.errs)
		}
	}
	// After the pass the window is back to its size: the next page is laid
	// out as before, and a page that reflows passes.
	b.visit("/fits")
	w, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if w <= phoneWidth {
		t.Errorf("the window stayed %d px wide after the phone-width pass", w)
	}
}
