package e2e

import "testing"

// TestNeedHelpShowsTheHelpDesk: the demo's Need Help? page gives the help
// desk of the MiLogin FAQ, not a placeholder, with a phone link.
func TestNeedHelpShowsTheHelpDesk(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := newBrowser(t, srv)
	b.visit(loginPath)
	b.follow("Need Help?")
	b.find(heading(1, "Need Help?"), `h1 "Need Help?"`)
	b.expectText("MILogin Help Desk", "888-767-6424")
	b.expectNoText("555-0100")
	b.find(`//a[@href='tel:8887676424'][normalize-space(.)='888-767-6424']`, "a tel: link to 888-767-6424")
}
