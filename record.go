package milogin

import "time"

// CardStatus is where a driver's license or state ID card stands in the
// Secretary of State's records. Only a valid card verifies an identity.
type CardStatus string

const (
	CardValid     CardStatus = "valid"
	CardExpired   CardStatus = "expired"
	CardSuspended CardStatus = "suspended"
	CardRevoked   CardStatus = "revoked"
	CardDeceased  CardStatus = "deceased"
)

// CardStatuses lists every status, in the order reports print them.
var CardStatuses = []CardStatus{CardValid, CardExpired, CardSuspended, CardRevoked, CardDeceased}

// CardRecord is one Michigan driver's license or state ID card as the
// Secretary of State's records hold it. The records are loaded by
// `milogin records import`; citizen sign-up reads them to verify a resident.
type CardRecord struct {
	// Number is the normalised card number: one upper-case letter and 12
	// digits, "S123456789012" (records.NormalizeCard).
	Number      string
	FirstName   string
	MiddleName  string
	LastName    string
	Suffix      string
	DateOfBirth string // YYYY-MM-DD
	Status      CardStatus
	// AccountID is the citizen account this card verified, "" when none. A
	// card verifies only one active account.
	AccountID  string
	ImportedAt time.Time
	UpdatedAt  time.Time
}

// SameData reports whether r and o hold the same card data (everything an
// import sets), so a re-import of an unchanged row writes nothing.
func (r *CardRecord) SameData(o *CardRecord) bool {
	return r.Number == o.Number && r.FirstName == o.FirstName && r.MiddleName == o.MiddleName &&
		r.LastName == o.LastName && r.Suffix == o.Suffix && r.DateOfBirth == o.DateOfBirth && r.Status == o.Status
}
