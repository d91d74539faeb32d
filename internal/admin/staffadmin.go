package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"milogin"
	"milogin/internal/authn"
)

// Changes a security administrator makes to a staff account.
const (
	StaffRemoveRole = "remove-role"
	StaffDeactivate = "deactivate"
	StaffReactivate = "reactivate"
	StaffReenrol    = "reenrol" // lost authenticator: a new enrolment link
)

// ChangeStaff applies a change to another staff account: remove one role,
// deactivate (its sessions end), reactivate, or start enrolment again
// (password and authenticator app cleared, sessions ended, a new link
// returned). No one changes their own account here, so the last security
// administrator cannot lock everyone out by mistake.
func (s *Service) ChangeStaff(ctx context.Context, actor Actor, accountID, change string, role milogin.StaffGrant) (string, error) {
	const op = "admin.ChangeStaff"
	if accountID == actor.ID {
		return "", milogin.Errorf(op, milogin.EFORBIDDEN, "You cannot change your own staff account; ask another security administrator.")
	}
	now := s.now()
	link := ""
	unusable, err := s.unusableHash(ctx)
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	err = s.Store.Write(ctx, func(tx milogin.Tx) error {
		a, err := tx.Accounts().Get(ctx, accountID)
		if err != nil {
			return err
		}
		if a.Portal != milogin.Staff {
			return milogin.Errorf(op, milogin.ENOTFOUND, "Staff account not found.")
		}
		detail := map[string]string{"change": change}
		typ := milogin.EventStaffRolesChanged
		endSessions := func() error {
			_, err := tx.Sessions().DeleteByAccount(ctx, a.ID, "")
			return err
		}
		switch change {
		case StaffRemoveRole:
			have, err := tx.Staff().Roles(ctx, a.ID)
			if err != nil {
				return err
			}
			keep := slices.DeleteFunc(slices.Clone(have), func(g milogin.StaffGrant) bool { return g.Role == role.Role && g.AppID == role.AppID })
			if len(keep) == len(have) {
				return milogin.Errorf(op, milogin.ECONFLICT, "The staff member does not hold that role.")
			}
			if err := tx.Staff().SetRoles(ctx, a.ID, keep); err != nil {
				return err
			}
			detail["roles"] = RolesText(keep)
		case StaffDeactivate, StaffReactivate:
			status, typ2 := milogin.StatusDeactivated, milogin.EventAccountDeactivated
			if change == StaffReactivate {
				status, typ2 = milogin.StatusActive, milogin.EventReactivated
			}
			if a.Status == status {
				return milogin.Errorf(op, milogin.ECONFLICT, "The staff account is already %s.", status)
			}
			typ = typ2
			if _, err := tx.Accounts().Update(ctx, a.ID, func(x *milogin.Account) error {
				x.Status, x.UpdatedAt = status, now
				x.Unlock()
				return nil
			}); err != nil {
				return err
			}
			if err := endSessions(); err != nil {
				return err
			}
		case StaffReenrol:
			typ = milogin.EventStaffCreated
			detail["reenrol"] = "yes"
			if _, err := tx.Accounts().Update(ctx, a.ID, func(x *milogin.Account) error {
				x.PasswordHash, x.PasswordChangedAt, x.UpdatedAt = unusable, time.Time{}, now
				x.Unlock()
				return nil
			}); err != nil {
				return err
			}
			if err := tx.TOTP().Delete(ctx, a.ID); err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
				return err
			}
			if err := endSessions(); err != nil {
				return err
			}
			token, id := authn.NewToken()
			if err := tx.Flows().Create(ctx, &milogin.Flow{ID: id, Kind: milogin.FlowStaffEnrol, Portal: milogin.Staff, Subject: a.ID,
				State: []byte("{}"), CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(EnrolLife)}); err != nil {
				return err
			}
			link = s.BaseURL + "/admin/enrol?t=" + url.QueryEscape(token)
		default:
			return milogin.Errorf(op, milogin.ENOTFOUND, "No such change.")
		}
		return appendAudit(ctx, tx, now, typ, milogin.Staff, actor, a.ID, "", detail)
	})
	if err != nil {
		return "", milogin.Wrap(op, err)
	}
	return link, nil
}

func (s *Server) handleStaffChange(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	st := staffOf(r)
	change := r.PathValue("change")
	role := milogin.StaffGrant{Role: milogin.StaffRole(r.PostFormValue("role")), AppID: r.PostFormValue("app")}
	link, err := s.svc.ChangeStaff(r.Context(), Actor{ID: st.Account.ID, Meta: meta(r)}, r.PathValue("id"), change, role)
	if err != nil {
		switch milogin.ErrorKind(err) {
		case milogin.ECONFLICT, milogin.EFORBIDDEN:
			s.staffPage(w, r, milogin.HTTPStatus(err), &page{Error: milogin.ErrorMessage(err)}, "")
		default:
			s.fail(w, r, err)
		}
		return
	}
	notice := map[string]string{
		StaffRemoveRole: "The role was removed.",
		StaffDeactivate: "The staff account was deactivated and its sessions ended.",
		StaffReactivate: "The staff account was reactivated.",
		StaffReenrol:    "The staff member's password and authenticator app were cleared. Send them the new enrolment link.",
	}[change]
	s.staffPage(w, r, http.StatusOK, &page{Notice: notice}, link)
}
