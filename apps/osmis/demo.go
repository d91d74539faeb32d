package osmis

import (
	"context"
	"errors"

	"milogin/apps/osmis/internal/store"
)

// The demo agency and staff. Their MILogin accounts (same IDs and emails,
// the demo password) are created by `milogin demo`.
const (
	DemoMWA    = "Capital Area Michigan Works!"
	DemoDomain = "miworks.example.org"
)

// DemoStaff are the demo staff accounts: an administrator and a staff member.
var DemoStaff = []store.Staff{
	{FirstName: "Lee", LastName: "Parker", LoginID: "parkerl0001", Email: "lee.parker@miworks.example.org", IsAdmin: true},
	{FirstName: "Tran", LastName: "Nguyen", LoginID: "nguyent0001", Email: "tran.nguyen@miworks.example.org"},
}

// DemoParticipants is how many participant records the demo agency has,
// by program and status: 3,000 in all.
var demoParticipants = []struct {
	p store.Participant
	n int
}{
	{store.Participant{Program: store.WagnerPeyser, Status: store.Enrolled}, 2140},
	{store.Participant{Program: store.WagnerPeyser, Status: store.Exited}, 318},
	{store.Participant{Program: store.WIOA, Status: store.Enrolled, Training: true}, 42},
	{store.Participant{Program: store.WIOA, Status: store.Enrolled}, 479},
	{store.Participant{Program: store.WIOA, Status: store.Exited}, 21},
}

// demoLinks are the systems of "Please select the system you want to go to ...".
var demoLinks = [][2]string{
	{"Wagner-Peyser ISS", "https://osmis.example.org/wagner-peyser"},
	{"Welfare Reform Case Notes", "https://osmis.example.org/case-notes"},
	{"WIOA Reports", "https://osmis.example.org/wioa-reports"},
	{"TAA BRN", "https://osmis.example.org/taa"},
	{"WDA POLICIES", "https://osmis.example.org/policies"},
	{"Setup My Environment to test Library Upgrades", "https://osmis.example.org/environment/test"},
	{"Restore My Environment to regular OSMIS", "https://osmis.example.org/environment/restore"},
}

// SeedDemo creates what is missing of the demo data: the agency with its
// domain, the two staff accounts (their grants queued for MILogin), the
// participant records and the system links. A second run changes nothing.
func SeedDemo(ctx context.Context, db *store.DB) error {
	if done, err := db.GetSetting(ctx, "demo_seeded"); err != nil || done != "" {
		return err
	}
	m, err := db.MWAByName(ctx, DemoMWA)
	if errors.Is(err, store.ErrNotFound) {
		m, err = db.CreateMWA(ctx, DemoMWA, []string{DemoDomain})
	}
	if err != nil {
		return err
	}
	if !m.HasDomain("x@" + DemoDomain) {
		if err := db.AddDomain(ctx, m.ID, DemoDomain); err != nil {
			return err
		}
	}
	for _, s := range DemoStaff {
		if _, err := db.StaffByLoginID(ctx, s.LoginID); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.MWAID, s.Status = m.ID, store.Active
		if err := db.CreateStaff(ctx, &s); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	if n, err := db.CountParticipants(ctx, m.ID); err != nil {
		return err
	} else if n == 0 {
		var ps []store.Participant
		for _, d := range demoParticipants {
			for range d.n {
				ps = append(ps, d.p)
			}
		}
		if err := db.AddParticipants(ctx, m.ID, ps); err != nil {
			return err
		}
	}
	links, err := db.Links(ctx)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		for _, l := range demoLinks {
			if err := db.AddLink(ctx, l[0], l[1]); err != nil {
				return err
			}
		}
	}
	return db.SetSetting(ctx, "demo_seeded", "1")
}
