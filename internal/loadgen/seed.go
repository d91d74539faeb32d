package loadgen

import "fmt"

// DefaultSeedPassword is the password "milogin users seed" gives seeded
// accounts unless told another. Seeded accounts are refused by a server
// not started with --allow-seeded, so a shared, published password is safe.
const DefaultSeedPassword = "Seeded-Load-Test-2026"

// DefaultSeedPrefix starts the user ID of every seeded account.
const DefaultSeedPrefix = "seed"

// SeedUserID is the user ID of seeded account i (0-based) under prefix:
// seed0000042. The seeder and the load generator agree on it, so that
// "bench --users N" signs in as the first N seeded accounts.
func SeedUserID(prefix string, i int) string {
	return fmt.Sprintf("%s%07d", prefix, i)
}

var (
	seedFirst = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
		"David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
		"Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret"}
	seedLast = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
		"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
		"Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark"}
)

// SeedPerson is the made-up person of seeded account i: a name from common
// first and last names, an email and a mobile number unique to i.
type SeedPerson struct {
	UserID, FirstName, LastName, Email, Mobile string
}

// Seed returns seeded account i's person under prefix.
func Seed(prefix string, i int) SeedPerson {
	first := seedFirst[i%len(seedFirst)]
	last := seedLast[(i/len(seedFirst))%len(seedLast)]
	id := SeedUserID(prefix, i)
	return SeedPerson{
		UserID:    id,
		FirstName: first,
		LastName:  last,
		Email:     fmt.Sprintf("%s.%s.%s@example.org", first, last, id),
		Mobile:    fmt.Sprintf("(%03d) %03d-%04d", 200+(i/10_000_000)%800, (i/10_000)%1000, i%10_000),
	}
}
