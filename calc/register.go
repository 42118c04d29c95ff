package calc

import (
	"errors"
	"math"
	"slices"
)

// The days a register version holds when it names no start or no end: a version
// "from the beginning" holds from Beginning, one "with no end" to End. Both are dates
// ISO 8601 can write, so that they are stored and shown as any other date.
var (
	Beginning = NewDate(1, 1, 1)
	End       = NewDate(9999, 12, 31)
)

// NoDate is a date not given: an upsert's valid_from left empty (the store then starts
// the version today, or from the beginning for a new person) or valid_to left empty (no
// end). It is never a day a claim is discharged on.
const NoDate Date = math.MinInt32

// ErrNotRegistered is a claim discharged on a day when no version of its person's
// register entry holds.
var ErrNotRegistered = errors.New("not on the register on the discharge day")

// PersonVersion is what the register says of a person on the days From to To inclusive.
// Person.Version numbers it.
type PersonVersion struct {
	Person
	From, To Date
}

// Holds reports whether the version holds on day d.
func (v *PersonVersion) Holds(d Date) bool { return v.From <= d && d <= v.To }

// History is a person's register versions in the order they were recorded. A later
// version overrides the earlier ones on the days it holds: the register keeps every
// version ever recorded (a settlement names the one it used) and never rewrites one, so
// a change, even one that reaches back, is a new version over the old.
type History []PersonVersion

// At returns the attributes in force on day d: those of the last recorded version that
// holds on d, or nil if none does.
func (h History) At(d Date) *Person {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Holds(d) {
			return &h[i].Person
		}
	}
	return nil
}

// Version returns the version numbered v, or nil.
func (h History) Version(v int32) *PersonVersion {
	for i := range h {
		if h[i].Version == v {
			return &h[i]
		}
	}
	return nil
}

// Last returns the attributes in force on the last day any version holds: the person as
// the register now stands, looking forward.
func (h History) Last() *Person {
	if len(h) == 0 {
		return nil
	}
	last := Beginning
	for i := range h {
		last = max(last, h[i].To)
	}
	return h.At(last)
}

// Timeline is the days of a History cut into spans of one version each, in date order:
// what is in force when, with the days no version holds left out.
func (h History) Timeline() []PersonVersion {
	var cuts []Date
	for i := range h {
		cuts = append(cuts, h[i].From, h[i].To+1)
	}
	slices.Sort(cuts)
	var out []PersonVersion
	for i := 0; i+1 < len(cuts); i++ {
		from, to := cuts[i], cuts[i+1]-1
		if from > to {
			continue
		}
		p := h.At(from)
		if p == nil {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Version == p.Version && out[n-1].To+1 == from {
			out[n-1].To = to
			continue
		}
		out = append(out, PersonVersion{Person: *p, From: from, To: to})
	}
	return out
}

// SameAttributes reports whether two versions say the same of a person: the same
// household, registered-poor flag and aid category.
func SameAttributes(a, b *Person) bool {
	return a.HouseholdID == b.HouseholdID && a.RegisteredPoor == b.RegisteredPoor && a.Aid == b.Aid
}

// SameTimeline reports whether two histories put the same attributes in force on every
// day, whatever their versions' numbers.
func SameTimeline(a, b History) bool {
	ta, tb := mergeSame(a.Timeline()), mergeSame(b.Timeline())
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i].From != tb[i].From || ta[i].To != tb[i].To || !SameAttributes(&ta[i].Person, &tb[i].Person) {
			return false
		}
	}
	return true
}

// mergeSame joins adjacent spans with the same attributes.
func mergeSame(t []PersonVersion) []PersonVersion {
	var out []PersonVersion
	for _, v := range t {
		if n := len(out); n > 0 && out[n-1].To+1 == v.From && SameAttributes(&out[n-1].Person, &v.Person) {
			out[n-1].To = v.To
			continue
		}
		out = append(out, v)
	}
	return out
}
