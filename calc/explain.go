package calc

import (
	"fmt"
	"strings"
)

// Explain returns a one-line human explanation of what line l did, e.g.
// "basic: 85% × (6,000.00 − 200.00) = 4,930.00". It is built on demand from the
// settlement's recorded workings, so settling allocates nothing.
func (s *Settlement) Explain(l Line) string {
	r := &s.Lines[l]
	var b strings.Builder
	b.WriteString(l.String())
	switch l {
	case Basic:
		if s.Kind == OutpatientChronic {
			b.WriteString(" (outpatient_chronic)")
		}
		b.WriteString(": ")
		switch {
		case r.Base < r.Deductible:
			fmt.Fprintf(&b, "in-policy %s is under the deductible %s", r.Base.Grouped(), r.Deductible.Grouped())
		case r.Deductible > 0:
			fmt.Fprintf(&b, "%s × (%s − %s)", r.Rate, r.Base.Grouped(), r.Deductible.Grouped())
		default:
			fmt.Fprintf(&b, "%s × %s", r.Rate, r.Base.Grouped())
		}
		fmt.Fprintf(&b, " = %s", r.Computed.Grouped())
	case Critical:
		after := s.BurdenBefore + r.Base
		fmt.Fprintf(&b, ": burden %s → %s", s.BurdenBefore.Grouped(), after.Grouped())
		if s.NumBands == 0 {
			switch {
			case r.Base == 0:
				b.WriteString(", no in-policy cost left after basic")
			case after <= r.Deductible:
				fmt.Fprintf(&b, " stays under the annual deductible %s", r.Deductible.Grouped())
			default:
				b.WriteString(" falls in no paying band")
			}
			fmt.Fprintf(&b, " = %s", r.Computed.Grouped())
			break
		}
		if s.BurdenBefore < r.Deductible {
			fmt.Fprintf(&b, " crosses the annual deductible %s", r.Deductible.Grouped())
		}
		b.WriteString("; ")
		for i := range s.NumBands {
			if i > 0 {
				b.WriteString(" + ")
			}
			u := s.Bands[i]
			fmt.Fprintf(&b, "%s × %s", u.Rate, (u.To - u.From).Grouped())
		}
		fmt.Fprintf(&b, " = %s", r.Computed.Grouped())
	case Commercial:
		if !r.Applies {
			b.WriteString(": not registered poor = 0.00")
			break
		}
		fmt.Fprintf(&b, ": %s × %s + %s × %s = %s", r.Rate, r.Base.Grouped(), r.RateOut, r.BaseOut.Grouped(), r.Computed.Grouped())
	case Aid:
		if !r.Applies {
			b.WriteString(": no aid category = 0.00")
			break
		}
		fmt.Fprintf(&b, " (%s): %s × %s = %s", s.Aid, r.Rate, r.Base.Grouped(), r.Computed.Grouped())
	case Backstop:
		if !r.Applies {
			fmt.Fprintf(&b, ": not registered poor = 0.00; patient pays %s", s.OutOfPocket.Grouped())
			break
		}
		fmt.Fprintf(&b, ": share %s", r.Base.Grouped())
		if r.Amount == 0 {
			fmt.Fprintf(&b, " is within the ceiling %s × %s = %s: pays 0.00", r.Rate, s.Total.Grouped(), r.Deductible.Grouped())
		} else {
			fmt.Fprintf(&b, " − ceiling %s × %s (%s) = %s", r.Rate, s.Total.Grouped(), r.Deductible.Grouped(), r.Amount.Grouped())
		}
		return b.String()
	}
	if r.Capped() {
		fmt.Fprintf(&b, ", limited to the cap room %s", r.CapRoom.Grouped())
		if r.Amount != r.CapRoom {
			fmt.Fprintf(&b, " = %s", r.Amount.Grouped())
		}
	}
	return b.String()
}
