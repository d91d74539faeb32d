package main

import (
	"flag"
	"fmt"

	"milogin"
	"milogin/internal/authn"
)

// demoHelpPhone is the number the MiLogin FAQ gives residents; the demo
// shows it where no help desk phone is configured.
const demoHelpPhone = "888-767-6424"

// helpDeskFlags are the help desk settings: --help-desk-name, -phone,
// -hours and -email for every portal, and --PORTAL-help-desk-… (for
// example --thirdparty-help-desk-phone) for one portal, which win.
type helpDeskFlags struct {
	all    helpDeskValues
	portal map[milogin.PortalID]*helpDeskValues
}

type helpDeskValues struct{ name, phone, hours, email string }

func registerHelpDesk(fs *flag.FlagSet) *helpDeskFlags {
	h := &helpDeskFlags{portal: map[milogin.PortalID]*helpDeskValues{}}
	reg := func(prefix, whose string, v *helpDeskValues) {
		fs.StringVar(&v.name, prefix+"help-desk-name", "", "name of the help desk shown on Need Help?, Access Denied and error pages"+whose+" (default: the portal's, e.g. MILogin Help Desk)")
		fs.StringVar(&v.phone, prefix+"help-desk-phone", "", "help desk phone number, as written, e.g. 888-767-6424"+whose)
		fs.StringVar(&v.hours, prefix+"help-desk-hours", "", "help desk opening hours, e.g. \"Monday to Friday, 8 a.m. to 5 p.m.\""+whose)
		fs.StringVar(&v.email, prefix+"help-desk-email", "", "help desk email address"+whose)
	}
	reg("", ", for every portal", &h.all)
	for _, p := range milogin.DefaultPortals() {
		v := &helpDeskValues{}
		h.portal[p.ID] = v
		reg(string(p.ID)+"-", ", for "+p.Name+" only (overrides --help-desk-…)", v)
	}
	return h
}

// apply sets each portal's help desk: its own flags, then the shared ones,
// then the portal's default name; the URL is the portal's Need Help? page
// under baseURL. In demo mode a portal without a phone number gets the FAQ's.
func (h *helpDeskFlags) apply(portals map[milogin.PortalID]milogin.Portal, baseURL string, demo bool) error {
	for id, p := range portals {
		own := h.portal[id]
		if own == nil {
			own = &helpDeskValues{}
		}
		pick := func(one, all, def string) string {
			if one != "" {
				return one
			}
			if all != "" {
				return all
			}
			return def
		}
		d := p.HelpDesk
		d.Name = pick(own.name, h.all.name, d.Name)
		d.Phone = pick(own.phone, h.all.phone, d.Phone)
		d.Hours = pick(own.hours, h.all.hours, d.Hours)
		d.Email = pick(own.email, h.all.email, d.Email)
		if d.Email != "" && !authn.ValidEmail(d.Email) {
			return usageError{msg: fmt.Sprintf("--help-desk-email for %s: %q is not an email address", id, d.Email)}
		}
		if d.Phone == "" && demo {
			d.Phone = demoHelpPhone
		}
		d.URL = baseURL + "/" + string(id) + "/help"
		p.HelpDesk = d
		portals[id] = p
	}
	return nil
}
