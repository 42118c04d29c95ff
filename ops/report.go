package ops

import (
	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
)

// Money is an amount in a report's JSON: a string of yuan with two decimals, "1234.50".
type Money calc.Money

// MarshalJSON writes the amount as a JSON string.
func (m Money) MarshalJSON() ([]byte, error) {
	return []byte(`"` + calc.Money(m).String() + `"`), nil
}

// AuditReport is an audit as JSON: what POST /v1/replays answers and
// `hpcalc audit --format json` prints, byte for byte.
type AuditReport struct {
	Claims      int               `json:"claims"`
	Reversed    int               `json:"reversed"`
	Paid        Totals            `json:"paid"`
	Replayed    Totals            `json:"replayed"`
	Differences []AuditDifference `json:"differences"`
}

// Totals are a tally as JSON: the claims, their total cost, each line's amount by line
// name, and the out-of-pocket.
type Totals struct {
	Claims      int              `json:"claims"`
	Total       Money            `json:"total"`
	Lines       map[string]Money `json:"lines"`
	OutOfPocket Money            `json:"out_of_pocket"`
}

// AuditDifference is a claim whose replay differs from what was paid, as JSON.
type AuditDifference struct {
	ClaimID         string           `json:"claim_id"`
	PersonID        string           `json:"person_id"`
	PaidVersion     string           `json:"paid_version"`
	ReplayedVersion string           `json:"replayed_version"`
	Delta           map[string]Money `json:"delta"` // replayed − paid, per line and out_of_pocket
	Causes          []string         `json:"causes"`
}

// TotalsOf encodes a tally.
func TotalsOf(t calc.Tally) Totals {
	out := Totals{Claims: t.Claims, Total: Money(t.Total), Lines: map[string]Money{}, OutOfPocket: Money(t.OutOfPocket)}
	for _, l := range calc.Lines() {
		out.Lines[l.String()] = Money(t.Lines[l])
	}
	return out
}

// NewAuditReport encodes an audit.
func NewAuditReport(a *batch.Audit) AuditReport {
	r := AuditReport{Claims: a.Claims, Reversed: a.Reversed, Paid: TotalsOf(a.Stored), Replayed: TotalsOf(a.Replayed), Differences: []AuditDifference{}}
	for _, d := range a.Differences {
		x := AuditDifference{ClaimID: d.ClaimID, PersonID: d.PersonID, PaidVersion: d.StoredVersion, ReplayedVersion: d.ReplayedVersion,
			Delta: map[string]Money{"out_of_pocket": Money(d.ReplayedOOP - d.StoredOutOfPocket)}, Causes: d.Causes}
		for _, l := range calc.Lines() {
			x.Delta[l.String()] = Money(d.Delta(l))
		}
		r.Differences = append(r.Differences, x)
	}
	return r
}
