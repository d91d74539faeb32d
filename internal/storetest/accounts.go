package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"milogin"
)

func testAccounts(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("CreateMany", func(t *testing.T) {
		s := open(t)
		// More than one multi-row INSERT's worth, with a taken user ID (in
		// another account) and an email taken inside the batch: those are
		// skipped, the rest inserted, and each reads back whole.
		taken := account(1, milogin.Citizen)
		createAccounts(t, s, taken)
		var list []*milogin.Account
		for i := range 1203 {
			a := account(i+2, milogin.Citizen)
			a.Seeded = true
			list = append(list, a)
		}
		dupUser := account(1, milogin.Citizen)
		dupUser.ID, dupUser.Email = "other-1", "other@example.org"
		dupEmail := account(5000, milogin.Citizen)
		dupEmail.Email = list[0].Email
		list = append(list, dupUser, dupEmail)
		var n int
		write(t, s, func(tx milogin.Tx) error {
			var err error
			n, err = tx.Accounts().CreateMany(ctx(t), list)
			return err
		})
		if n != 1203 {
			t.Errorf("CreateMany inserted %d, want 1203", n)
		}
		for _, i := range []int{0, 499, 500, 1202} {
			wantEqual(t, "seeded account", getAccount(t, s, list[i].ID), normAccount(list[i]))
		}
		if getAccount(t, s, taken.ID).Seeded {
			t.Error("an account made by Create reads back seeded")
		}
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Accounts().Get(ctx(t), dupEmail.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		want := normAccount(a)
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "Get", must(tx.Accounts().Get(ctx(t), a.ID)), want)
			// User IDs and emails are looked up case-insensitively, ignoring
			// surrounding space; the stored spelling is kept.
			wantEqual(t, "GetByUserID", must(tx.Accounts().GetByUserID(ctx(t), milogin.Citizen, " USER001 ")), want)
			wantEqual(t, "GetByEmail", must(tx.Accounts().GetByEmail(ctx(t), milogin.Citizen, "john.smith001@EXAMPLE.ORG")), want)
			return nil
		})
	})

	t.Run("ZeroTimes", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		a.PasswordChangedAt, a.LockedUntil, a.FailureWindow = time.Time{}, time.Time{}, time.Time{}
		a.LastLoginAt, a.CreatedAt, a.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
		a.PasswordHistory = nil
		createAccounts(t, s, a)
		got := getAccount(t, s, a.ID)
		for name, tm := range map[string]time.Time{
			"PasswordChangedAt": got.PasswordChangedAt, "LockedUntil": got.LockedUntil,
			"FailureWindow": got.FailureWindow, "LastLoginAt": got.LastLoginAt,
			"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt,
		} {
			if !tm.IsZero() {
				t.Errorf("%s = %v, want the zero time", name, tm)
			}
		}
		wantEqual(t, "account", got, normAccount(a))
		if got.Locked(t0) {
			t.Error("an account with a zero LockedUntil reads back locked")
		}
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		got := getAccount(t, s, a.ID)
		if got.UpdatedAt.Location() != time.UTC {
			t.Errorf("UpdatedAt location = %v, want UTC", got.UpdatedAt.Location())
		}
		if !got.UpdatedAt.Equal(t0.Truncate(time.Microsecond)) || got.UpdatedAt.Nanosecond()%1000 != 0 {
			t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, t0.Truncate(time.Microsecond))
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		noEmail := account(1, milogin.Citizen)
		noEmail.Email = ""
		createAccounts(t, s, noEmail)
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Accounts().Get(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Accounts().GetByUserID(ctx(t), milogin.Citizen, "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Accounts().GetByEmail(ctx(t), milogin.Citizen, "missing@example.org")
			wantKind(t, err, milogin.ENOTFOUND)
			// The account exists, but in another portal.
			_, err = tx.Accounts().GetByUserID(ctx(t), milogin.ThirdParty, noEmail.UserID)
			wantKind(t, err, milogin.ENOTFOUND)
			// An empty email names no account, even when some have none.
			_, err = tx.Accounts().GetByEmail(ctx(t), milogin.Citizen, "")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Accounts().Update(ctx(t), "missing", func(*milogin.Account) error {
				t.Error("fn called for a missing account")
				return nil
			})
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
	})

	t.Run("CreateConflicts", func(t *testing.T) {
		s := open(t)
		first := account(1, milogin.Citizen)
		first.UserID, first.Email = "JSmith", "John.Smith@Example.org"
		createAccounts(t, s, first)
		tests := []struct {
			name          string
			id            string
			portal        milogin.PortalID
			userID, email string
			wantKind      milogin.Kind // "" for success
			wantMsg       string
		}{
			{"same user ID, other case", "a2", milogin.Citizen, "jSMITH", "other1@example.org", milogin.ECONFLICT, MsgUserIDTaken},
			{"same user ID, surrounding space", "a3", milogin.Citizen, " jsmith ", "other2@example.org", milogin.ECONFLICT, MsgUserIDTaken},
			{"same email, other case", "a4", milogin.Citizen, "other4", "JOHN.SMITH@example.ORG", milogin.ECONFLICT, MsgEmailTaken},
			{"same ID", first.ID, milogin.Citizen, "other5", "other5@example.org", milogin.ECONFLICT, ""},
			{"same user ID, other portal", "a6", milogin.ThirdParty, "JSmith", "other6@example.org", "", ""},
			{"same email, other portal", "a7", milogin.Workforce, "other7", "john.smith@example.org", "", ""},
			{"no email", "a8", milogin.Citizen, "other8", "", "", ""},
			{"no email again", "a9", milogin.Citizen, "other9", "", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := account(100, tt.portal)
				a.ID, a.UserID, a.Email = tt.id, tt.userID, tt.email
				err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Accounts().Create(ctx(t), a) })
				if tt.wantKind == "" {
					if err != nil {
						t.Fatalf("Create: %v", err)
					}
					return
				}
				wantKind(t, err, tt.wantKind)
				if tt.wantMsg != "" && milogin.ErrorMessage(err) != tt.wantMsg {
					t.Errorf("message = %q, want %q", milogin.ErrorMessage(err), tt.wantMsg)
				}
			})
		}
		// The first account is untouched.
		wantEqual(t, "first", getAccount(t, s, first.ID), normAccount(first))
	})

	// A failed Create does not spoil the transaction around it (PostgreSQL
	// aborts a transaction on any error unless the statement had a savepoint):
	// a caller may catch the conflict and go on.
	t.Run("ConflictLeavesWriteUsable", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.Citizen), account(2, milogin.Citizen)
		dup := account(3, milogin.Citizen)
		dup.UserID = a.UserID
		write(t, s, func(tx milogin.Tx) error {
			if err := tx.Accounts().Create(ctx(t), a); err != nil {
				return err
			}
			err := tx.Accounts().Create(ctx(t), dup)
			wantKind(t, err, milogin.ECONFLICT)
			_, err = tx.Accounts().Update(ctx(t), a.ID, func(x *milogin.Account) error { x.Email = "taken@example.org"; return nil })
			if err != nil {
				return err
			}
			b.Email = "TAKEN@example.org"
			wantKind(t, tx.Accounts().Create(ctx(t), b), milogin.ECONFLICT)
			b.Email = "free@example.org"
			return tx.Accounts().Create(ctx(t), b)
		})
		a.Email = "taken@example.org"
		wantEqual(t, "a", getAccount(t, s, a.ID), normAccount(a))
		wantEqual(t, "b", getAccount(t, s, b.ID), normAccount(b))
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Accounts().Get(ctx(t), dup.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		later := t0.Add(time.Hour + 1234*time.Nanosecond)
		var returned *milogin.Account
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.Accounts().Update(ctx(t), a.ID, func(x *milogin.Account) error {
				wantEqual(t, "fn receives", x, normAccount(a))
				x.UserID = "Renamed1"
				x.Email = "New.Address@Example.org"
				x.Mobile = "517-555-7777"
				x.EmailVerified = false
				x.MobileVerified = true
				x.SetPassword("$argon2id$new", milogin.DefaultPolicy(), later)
				x.RecordSuccess(later)
				x.Status = milogin.StatusDeactivated
				x.UpdatedAt = later
				return nil
			})
			return err
		})
		got := getAccount(t, s, a.ID)
		wantEqual(t, "Update's result", returned, got)
		want := normAccount(a)
		want.UserID, want.Email, want.Mobile, want.EmailVerified = "Renamed1", "New.Address@Example.org", "517-555-7777", false
		want.PasswordHistory = []string{a.PasswordHash, "$argon2id$old1", "$argon2id$old2"} // policy keeps 3
		want.PasswordHash, want.PasswordChangedAt = "$argon2id$new", norm(later)
		want.FailedLogins, want.LockedUntil, want.LastLoginAt = 0, time.Time{}, norm(later)
		want.Status, want.UpdatedAt = milogin.StatusDeactivated, norm(later)
		wantEqual(t, "stored", got, want)
		// The normalized keys moved with the values.
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "by new user ID", must(tx.Accounts().GetByUserID(ctx(t), milogin.Citizen, "renamed1")).ID, a.ID)
			wantEqual(t, "by new email", must(tx.Accounts().GetByEmail(ctx(t), milogin.Citizen, "new.address@example.org")).ID, a.ID)
			wantEqual(t, "by new mobile", must(tx.Accounts().CountByMobile(ctx(t), milogin.Citizen, "5175557777")), 1)
			_, err := tx.Accounts().GetByUserID(ctx(t), milogin.Citizen, a.UserID)
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Accounts().GetByEmail(ctx(t), milogin.Citizen, a.Email)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	// Update writes what fn changed, each field on its own, and leaves the
	// others as stored (it writes only changed columns); a fn that changes
	// nothing leaves the row as it was.
	t.Run("UpdateEachField", func(t *testing.T) {
		s := open(t)
		later := t0.Add(3*time.Hour + 5678*time.Nanosecond)
		for i, tt := range []struct {
			field string
			set   func(x *milogin.Account)
		}{
			{"nothing", func(x *milogin.Account) {}},
			{"Portal", func(x *milogin.Account) { x.Portal = milogin.ThirdParty }},
			{"UserID", func(x *milogin.Account) { x.UserID = "Other1" }},
			{"FirstName", func(x *milogin.Account) { x.FirstName = "Changed" }},
			{"MiddleInitial", func(x *milogin.Account) { x.MiddleInitial = "Q" }},
			{"LastName", func(x *milogin.Account) { x.LastName = "Changed" }},
			{"Suffix", func(x *milogin.Account) { x.Suffix = "III" }},
			{"Email", func(x *milogin.Account) { x.Email = "Changed.Field@Example.org" }},
			{"EmailVerified", func(x *milogin.Account) { x.EmailVerified = !x.EmailVerified }},
			{"WorkPhone", func(x *milogin.Account) { x.WorkPhone = "517-555-0101" }},
			{"Mobile", func(x *milogin.Account) { x.Mobile = "517-555-0102" }},
			{"MobileVerified", func(x *milogin.Account) { x.MobileVerified = !x.MobileVerified }},
			{"RecoverByEmail", func(x *milogin.Account) { x.RecoverByEmail = !x.RecoverByEmail }},
			{"RecoverByMobile", func(x *milogin.Account) { x.RecoverByMobile = !x.RecoverByMobile }},
			{"PasswordHash", func(x *milogin.Account) { x.PasswordHash = "$argon2id$changed" }},
			{"PasswordChangedAt", func(x *milogin.Account) { x.PasswordChangedAt = later }},
			{"PasswordHistory", func(x *milogin.Account) { x.PasswordHistory = []string{"$argon2id$h1"} }},
			{"Status", func(x *milogin.Account) { x.Status = milogin.StatusDisabled }},
			{"FailedLogins", func(x *milogin.Account) { x.FailedLogins = 4 }},
			{"LockedUntil", func(x *milogin.Account) { x.LockedUntil = later }},
			{"FailureWindow", func(x *milogin.Account) { x.FailureWindow = later }},
			{"WindowFailures", func(x *milogin.Account) { x.WindowFailures = 7 }},
			{"LastLoginAt", func(x *milogin.Account) { x.LastLoginAt = later }},
			{"CreatedAt", func(x *milogin.Account) { x.CreatedAt = later }},
			{"UpdatedAt", func(x *milogin.Account) { x.UpdatedAt = later }},
		} {
			t.Run(tt.field, func(t *testing.T) {
				a := account(100+i, milogin.Citizen)
				createAccounts(t, s, a)
				want := normAccount(getAccount(t, s, a.ID))
				tt.set(want)
				want = normAccount(want)
				write(t, s, func(tx milogin.Tx) error {
					_, err := tx.Accounts().Update(ctx(t), a.ID, func(x *milogin.Account) error { tt.set(x); return nil })
					return err
				})
				wantEqual(t, "stored", getAccount(t, s, a.ID), want)
			})
		}
	})

	// fn's error comes back unchanged and nothing fn did is saved, even when
	// the surrounding Write commits.
	t.Run("UpdateFnErrorWritesNothing", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		write(t, s, func(tx milogin.Tx) error {
			got, err := tx.Accounts().Update(ctx(t), a.ID, func(x *milogin.Account) error {
				x.FailedLogins = 42
				x.Email = "changed@example.org"
				return errBoom
			})
			if err != errBoom {
				t.Errorf("Update returned %v, want fn's error unchanged", err)
			}
			if got != nil {
				t.Errorf("Update returned an account with an error: %+v", got)
			}
			return nil
		})
		wantEqual(t, "account", getAccount(t, s, a.ID), normAccount(a))
	})

	// UpdateByUserID finds the account as GetByUserID does (case and
	// spaces aside, in its portal only) and updates it as Update does.
	t.Run("UpdateByUserID", func(t *testing.T) {
		s := open(t)
		a, other := account(1, milogin.Citizen), account(2, milogin.Citizen)
		createAccounts(t, s, a, other)
		later := t0.Add(2*time.Hour + 987*time.Nanosecond)
		var returned *milogin.Account
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.Accounts().UpdateByUserID(ctx(t), milogin.Citizen, " "+strings.ToUpper(a.UserID)+" ", func(x *milogin.Account) error {
				wantEqual(t, "fn receives", x, normAccount(a))
				x.FailedLogins, x.UpdatedAt = 2, later
				x.ID = "hijacked"
				return nil
			})
			return err
		})
		want := normAccount(a)
		want.FailedLogins, want.UpdatedAt = 2, norm(later)
		wantEqual(t, "stored", getAccount(t, s, a.ID), want)
		wantEqual(t, "UpdateByUserID's result", returned, want)
		wantEqual(t, "the other account", getAccount(t, s, other.ID), normAccount(other))

		for _, tt := range []struct {
			name   string
			portal milogin.PortalID
			userID string
		}{
			{"unknown user ID", milogin.Citizen, "missing"},
			{"another portal's", milogin.ThirdParty, a.UserID},
			{"empty", milogin.Citizen, ""},
		} {
			err := s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.Accounts().UpdateByUserID(ctx(t), tt.portal, tt.userID, func(*milogin.Account) error {
					t.Errorf("%s: fn called", tt.name)
					return nil
				})
				return err
			})
			wantKind(t, err, milogin.ENOTFOUND)
		}
		// fn's error comes back unchanged, and nothing is saved.
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Accounts().UpdateByUserID(ctx(t), milogin.Citizen, a.UserID, func(x *milogin.Account) error {
				x.FailedLogins = 5
				return errBoom
			})
			if err != errBoom {
				t.Errorf("UpdateByUserID returned %v, want fn's error unchanged", err)
			}
			return nil
		})
		wantEqual(t, "after fn's error", getAccount(t, s, a.ID), want)
	})

	t.Run("UpdateKeepsID", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Accounts().Update(ctx(t), a.ID, func(x *milogin.Account) error { x.ID = "hijacked"; x.FirstName = "Jane"; return nil })
			return err
		})
		if got := getAccount(t, s, a.ID); got.FirstName != "Jane" {
			t.Errorf("FirstName = %q, want the update saved under the original ID", got.FirstName)
		}
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Accounts().Get(ctx(t), "hijacked")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("UpdateConflicts", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.Citizen), account(2, milogin.Citizen)
		createAccounts(t, s, a, b)
		for _, tt := range []struct {
			name string
			fn   func(*milogin.Account)
			msg  string
		}{
			{"email", func(x *milogin.Account) { x.Email = "  " + a.Email + "  " }, MsgEmailTaken},
			{"user ID", func(x *milogin.Account) { x.UserID = "USER001" }, MsgUserIDTaken},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := s.Write(ctx(t), func(tx milogin.Tx) error {
					_, err := tx.Accounts().Update(ctx(t), b.ID, func(x *milogin.Account) error { tt.fn(x); x.FirstName = "Changed"; return nil })
					return err
				})
				wantKind(t, err, milogin.ECONFLICT)
				if got := milogin.ErrorMessage(err); got != tt.msg {
					t.Errorf("message = %q, want %q", got, tt.msg)
				}
				wantEqual(t, "b", getAccount(t, s, b.ID), normAccount(b))
			})
		}
	})

	t.Run("CountByMobile", func(t *testing.T) {
		s := open(t)
		var as []*milogin.Account
		for i, m := range []struct {
			portal   milogin.PortalID
			mobile   string
			verified bool
		}{
			{milogin.Citizen, "(517) 555-1234", true},
			{milogin.Citizen, "517.555.1234", true},
			{milogin.Citizen, "517-555-9999", true},
			{milogin.Citizen, "", false},
			{milogin.ThirdParty, "5175551234", true},
			// Typed in without its PIN: counted for no one (the number
			// would otherwise switch off its holder's Forgot Password).
			{milogin.Citizen, "517-555-1234", false},
			{milogin.Citizen, "517-555-4321", false},
		} {
			a := account(i+1, m.portal)
			a.Mobile, a.MobileVerified = m.mobile, m.verified
			as = append(as, a)
		}
		createAccounts(t, s, as...)
		for _, tt := range []struct {
			portal milogin.PortalID
			mobile string
			want   int
		}{
			{milogin.Citizen, "517 555 1234", 2},
			{milogin.Citizen, "5175559999", 1},
			{milogin.Citizen, "5170000000", 0},
			{milogin.Citizen, "5175554321", 0}, // only unproven holders
			{milogin.Citizen, "", 0},           // "no mobile" is not a shared mobile
			{milogin.ThirdParty, "(517) 555-1234", 1},
			{milogin.Workforce, "(517) 555-1234", 0},
		} {
			read(t, s, func(tx milogin.Tx) error {
				if got := must(tx.Accounts().CountByMobile(ctx(t), tt.portal, tt.mobile)); got != tt.want {
					t.Errorf("CountByMobile(%s, %q) = %d, want %d", tt.portal, tt.mobile, got, tt.want)
				}
				return nil
			})
		}
	})

	// Guessing at a user ID that names no account counts like guessing at
	// a real one: the counters live under the ID's hash, per portal, case
	// folded, and concurrent reservations are exact.
	t.Run("UnknownUserIDCounters", func(t *testing.T) {
		s := open(t)
		p := milogin.Policy{LockoutThreshold: 5, LockoutDuration: 30 * time.Minute}
		reserve := func(portal milogin.PortalID, id string, now time.Time) (bool, *milogin.Account) {
			var ok bool
			var got *milogin.Account
			write(t, s, func(tx milogin.Tx) (err error) {
				got, err = tx.Accounts().UpdateUnknown(ctx(t), portal, id, now, func(a *milogin.Account) error {
					_, ok = a.ReserveAttempt(p, now)
					return nil
				})
				return err
			})
			return ok, got
		}
		for i := 1; i <= 5; i++ {
			ok, a := reserve(milogin.Citizen, "Nobody0001", t0)
			if !ok || a.FailedLogins != i {
				t.Fatalf("attempt %d: reserved=%v failures=%d", i, ok, a.FailedLogins)
			}
		}
		ok, a := reserve(milogin.Citizen, "NOBODY0001", t0.Add(time.Minute))
		if ok || !a.LockedUntil.Equal(norm(t0.Add(30*time.Minute))) {
			t.Errorf("sixth attempt (other case): reserved=%v locked until %v", ok, a.LockedUntil)
		}
		if ok, a := reserve(milogin.ThirdParty, "nobody0001", t0); !ok || a.FailedLogins != 1 {
			t.Errorf("another portal shares the counters: %v %d", ok, a.FailedLogins)
		}
		// Concurrent guesses at a fresh unknown ID: exactly five reserved.
		const n = 16
		oks := make([]bool, n)
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.Accounts().UpdateUnknown(ctx(t), milogin.Citizen, "ghost0001", t0, func(a *milogin.Account) error {
					_, oks[i] = a.ReserveAttempt(p, t0)
					return nil
				})
				return err
			})
		})
		granted := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("goroutine %d: %v", i, errs[i])
			}
			if oks[i] {
				granted++
			}
		}
		wantEqual(t, "concurrent reservations", granted, 5)
		// Forgotten once untouched and unlocked.
		var del int
		write(t, s, func(tx milogin.Tx) (err error) {
			del, err = tx.Accounts().DeleteUnknownBefore(ctx(t), t0.Add(10*time.Minute))
			return err
		})
		wantEqual(t, "deleted: only the unlocked one", del, 1)
		write(t, s, func(tx milogin.Tx) (err error) {
			del, err = tx.Accounts().DeleteUnknownBefore(ctx(t), t0.Add(2*time.Hour))
			return err
		})
		wantEqual(t, "deleted once the locks ended", del, 2)
	})

	t.Run("UserIDsWithPrefix", func(t *testing.T) {
		s := open(t)
		var as []*milogin.Account
		for i, u := range []struct {
			portal milogin.PortalID
			userID string
		}{
			{milogin.ThirdParty, "SmithJ0001"},
			{milogin.ThirdParty, "smithj0002"},
			{milogin.ThirdParty, "smithjx"},
			{milogin.ThirdParty, "smith_j"},
			{milogin.ThirdParty, "smithk0001"},
			{milogin.ThirdParty, "SMITHJ%1"},
			{milogin.ThirdParty, `smith\j`},
			{milogin.Citizen, "smithj0003"},
		} {
			a := account(i+1, u.portal)
			a.UserID = u.userID
			as = append(as, a)
		}
		createAccounts(t, s, as...)
		for _, tt := range []struct {
			prefix string
			want   []string
		}{
			{"smithj", []string{"SMITHJ%1", "SmithJ0001", "smithj0002", "smithjx"}},
			{"SMITHJ0", []string{"SmithJ0001", "smithj0002"}},
			{"smith_", []string{"smith_j"}},   // _ is not a wildcard
			{"smithj%", []string{"SMITHJ%1"}}, // nor is %
			{`smith\`, []string{`smith\j`}},   // nor the escape character
			{"jones", nil},
		} {
			read(t, s, func(tx milogin.Tx) error {
				got := must(tx.Accounts().UserIDsWithPrefix(ctx(t), milogin.ThirdParty, tt.prefix))
				slices.Sort(got)
				want := slices.Clone(tt.want)
				slices.Sort(want)
				if len(got) != 0 || len(want) != 0 {
					wantEqual(t, "UserIDsWithPrefix("+tt.prefix+")", got, want)
				}
				return nil
			})
		}
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		day := 24 * time.Hour
		mk := func(n int, portal milogin.PortalID, status milogin.AccountStatus, created, lastLogin time.Time) *milogin.Account {
			a := account(n, portal)
			a.Status, a.CreatedAt, a.LastLoginAt = status, created, lastLogin
			return a
		}
		cutoff := t0.Add(-30 * day)
		as := []*milogin.Account{
			// created long ago, never signed in: inactive
			mk(1, milogin.Citizen, milogin.StatusActive, t0.Add(-400*day), time.Time{}),
			// created long ago, signed in recently: active
			mk(2, milogin.Citizen, milogin.StatusActive, t0.Add(-300*day), t0.Add(-day)),
			// created long ago, last sign-in long ago: inactive
			mk(3, milogin.Citizen, milogin.StatusActive, t0.Add(-200*day), t0.Add(-100*day)),
			// created recently, never signed in: active
			mk(4, milogin.Citizen, milogin.StatusActive, t0.Add(-day), time.Time{}),
			// disabled, inactive
			mk(5, milogin.Citizen, milogin.StatusDisabled, t0.Add(-150*day), t0.Add(-90*day)),
			// other portal, inactive
			mk(6, milogin.ThirdParty, milogin.StatusActive, t0.Add(-100*day), time.Time{}),
			// exactly at the cutoff: not before it
			mk(7, milogin.Citizen, milogin.StatusActive, t0.Add(-250*day), cutoff),
		}
		createAccounts(t, s, as...)
		ids := func(list []*milogin.Account) []string {
			var out []string
			for _, a := range list {
				out = append(out, a.ID)
			}
			return out
		}
		for _, tt := range []struct {
			name string
			f    milogin.AccountFilter
			want []int // account numbers, oldest first
		}{
			{"all", milogin.AccountFilter{}, []int{1, 2, 7, 3, 5, 6, 4}},
			{"portal", milogin.AccountFilter{Portal: milogin.ThirdParty}, []int{6}},
			{"status", milogin.AccountFilter{Status: milogin.StatusDisabled}, []int{5}},
			{"last active before", milogin.AccountFilter{LastActiveBefore: cutoff}, []int{1, 3, 5, 6}},
			{"inactivity sweep", milogin.AccountFilter{Portal: milogin.Citizen, Status: milogin.StatusActive, LastActiveBefore: cutoff}, []int{1, 3}},
			{"limit", milogin.AccountFilter{Limit: 2}, []int{1, 2}},
			{"limit with filter", milogin.AccountFilter{LastActiveBefore: cutoff, Limit: 3}, []int{1, 3, 5}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for _, n := range tt.want {
					want = append(want, as[n-1].ID)
				}
				read(t, s, func(tx milogin.Tx) error {
					got := must(tx.Accounts().List(ctx(t), tt.f))
					wantEqual(t, "List", ids(got), want)
					if len(got) > 0 {
						wantEqual(t, "first account", got[0], normAccount(as[tt.want[0]-1]))
					}
					return nil
				})
			})
		}
	})
}
