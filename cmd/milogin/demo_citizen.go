package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"

	"milogin"
	"milogin/internal/records"
)

// The citizen portal's demo data: a few Secretary of State card records to
// sign up with (a hyphenated name, an apostrophe, accents, a suspended, an
// expired and a revoked card) and the state services a resident's home page
// links to.

//go:embed demo-cards.csv
var demoCards []byte

// demoCardHint is printed at start so a person trying the demo knows what
// to type at identity verification.
const demoCardHint = "Citizen sign-up demo cards: S 123 456 789 012 Mary Ann Smith-Jones (valid), D 123 456 789 013 John Q Doe (suspended); more in cmd/milogin/demo-cards.csv"

func demoCitizenServices() []*milogin.Application {
	svc := func(id, name, category, url string) *milogin.Application {
		return &milogin.Application{ID: id, Name: name, Category: category, Portals: []milogin.PortalID{milogin.Citizen},
			LaunchURL: url, Approval: milogin.ApprovalOpen, MFA: milogin.MFANone}
	}
	return []*milogin.Application{
		svc("sos-online", "Secretary of State Online Services", "Driver and Vehicle Services", "https://www.michigan.gov/sos"),
		svc("uia-miwam", "Unemployment Insurance (MiWAM)", "Jobs and Unemployment", "https://www.michigan.gov/leo/bureaus-agencies/uia"),
		svc("mi-bridges", "MI Bridges: Food, Health Care and Cash Assistance", "Benefits", "https://www.michigan.gov/mdhhs/assistance-programs"),
	}
}

// seedDemoCitizen imports the demo cards (an import is idempotent: a
// restart changes nothing) and adds the services that do not exist yet.
func seedDemoCitizen(ctx context.Context, e *env) error {
	im := &records.Importer{Store: e.store, Now: e.auth.Now}
	var rejected []string
	im.OnReject = func(r records.Reject) { rejected = append(rejected, fmt.Sprintf("line %d: %s", r.Line, r.Reason)) }
	if _, err := im.Import(ctx, bytes.NewReader(demoCards)); err != nil {
		return fmt.Errorf("demo cards: %w", err)
	}
	if len(rejected) > 0 {
		return fmt.Errorf("demo cards rejected: %v", rejected)
	}
	for _, a := range demoCitizenServices() {
		err := e.store.Write(ctx, func(tx milogin.Tx) error {
			if _, err := tx.Apps().Get(ctx, a.ID); err == nil {
				return nil
			} else if !milogin.IsKind(err, milogin.ENOTFOUND) {
				return err
			}
			now := e.auth.Now().UTC()
			a.CreatedAt, a.UpdatedAt = now, now
			return tx.Apps().Create(ctx, a)
		})
		if err != nil {
			return fmt.Errorf("demo service %s: %w", a.ID, err)
		}
	}
	return nil
}
