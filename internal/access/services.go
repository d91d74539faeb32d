package access

import (
	"context"

	"milogin"
)

// Services returns the state services a resident may use from the citizen
// home page, grouped like Home: the applications acct has access to, and
// the open applications of the portal it may enrol in (every resident may
// use them; the Terms & Conditions, if any, are asked on first launch).
// Applications that need an approval appear once granted; a revoked or
// denied open application does not appear.
func (s *Service) Services(ctx context.Context, acct *milogin.Account) ([]Group, error) {
	return s.groups(ctx, "access.Services", acct, func(a *milogin.Application, g *milogin.Grant) bool {
		return Launchable(g) || (a.Approval == milogin.ApprovalOpen && CanEnrol(g))
	})
}
