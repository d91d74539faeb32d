package access_test

import (
	"testing"

	"milogin"
)

// A resident's home lists the portal's open services without enrolment,
// approval services once granted, and not an open service whose access was
// revoked.
func TestServices(t *testing.T) {
	f := newFixture(t)
	resident := &milogin.Account{ID: "res-1", Portal: milogin.Citizen, UserID: "mary.sj", FirstName: "Mary", LastName: "Lee",
		Email: "mary@example.org", Status: milogin.StatusActive, CreatedAt: f.now}
	apps := []*milogin.Application{
		{ID: "sos", Name: "Secretary of State Online Services", Category: "Driver and Vehicle", Portals: []milogin.PortalID{milogin.Citizen}, Approval: milogin.ApprovalOpen},
		{ID: "uia", Name: "Unemployment Insurance", Category: "Jobs and Unemployment", Portals: []milogin.PortalID{milogin.Citizen}, Approval: milogin.ApprovalOpen},
		{ID: "mibridges", Name: "MI Bridges", Category: "Benefits", Portals: []milogin.PortalID{milogin.Citizen}, Approval: milogin.ApprovalRequired},
		{ID: "tax", Name: "Treasury Online", Category: "Taxes", Portals: []milogin.PortalID{milogin.Citizen}, Approval: milogin.ApprovalRequired},
	}
	err := f.store.Write(t.Context(), func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(t.Context(), resident); err != nil {
			return err
		}
		for _, a := range apps {
			if err := tx.Apps().Create(t.Context(), a); err != nil {
				return err
			}
		}
		for _, g := range []*milogin.Grant{
			{AppID: "mibridges", AccountID: resident.ID, Status: milogin.GrantActive, RequestedAt: f.now, DecidedAt: f.now},
			{AppID: "uia", AccountID: resident.ID, Status: milogin.GrantRevoked, RequestedAt: f.now, DecidedAt: f.now},
			{AppID: "tax", AccountID: resident.ID, Status: milogin.GrantPending, RequestedAt: f.now},
		} {
			if err := tx.Grants().Put(t.Context(), g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := f.svc.Services(t.Context(), resident)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		for _, a := range g.Apps {
			got = append(got, g.Category+"/"+a.ID)
		}
	}
	// cars is open and offered to citizens too (the fixture's catalog).
	want := []string{"Benefits/mibridges", "Business Services/cars", "Driver and Vehicle/sos"}
	if len(got) != len(want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("services = %v, want %v", got, want)
		}
	}
}
