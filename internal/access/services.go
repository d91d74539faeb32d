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
	const op = "access.Services"
	var apps []*milogin.Application
	var grants []*milogin.Grant
	err := s.Store.Read(ctx, func(tx milogin.Tx) error {
		var err error
		if apps, err = tx.Apps().List(ctx, acct.Portal); err != nil {
			return err
		}
		grants, err = tx.Grants().ListByAccount(ctx, acct.ID)
		return err
	})
	if err != nil {
		return nil, milogin.Wrap(op, err)
	}
	byApp := map[string]*milogin.Grant{}
	for _, g := range grants {
		byApp[g.AppID] = g
	}
	var list []*milogin.Application
	for _, a := range apps {
		g := byApp[a.ID]
		if Launchable(g) || (a.Approval == milogin.ApprovalOpen && CanEnrol(g)) {
			list = append(list, a)
		}
	}
	return groupByCategory(list), nil
}
