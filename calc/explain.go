package calc

// Explain returns a one-line human explanation of what line l did, e.g.
// "basic: 85% × (6,000.00 − 200.00) = 4,930.00". It is built on demand from the
// settlement's recorded workings, so settling allocates nothing.
func (s *Settlement) Explain(l Line) string {
	var buf [160]byte
	return string(s.AppendExplanation(buf[:0], l))
}

// AppendExplanation appends what Explain returns. Every quote answer carries five
// explanations, so they are appended rather than formatted. The text holds nothing a JSON
// string escapes (no quote, backslash, <, >, & or control character): the API's answers
// copy it between quotes as it is (api's TestExplanationsNeedNoEscaping).
func (s *Settlement) AppendExplanation(b []byte, l Line) []byte {
	r := &s.Lines[l]
	b = append(b, l.String()...)
	if s.Imported {
		return appendImported(b, s, l)
	}
	switch l {
	case Basic:
		if s.Kind == OutpatientChronic {
			b = append(b, " (outpatient_chronic)"...)
		}
		b = append(b, ": "...)
		switch {
		case r.Base < r.Deductible:
			b = append(b, "in-policy "...)
			b = r.Base.AppendGrouped(b)
			b = append(b, " is under the deductible "...)
			b = r.Deductible.AppendGrouped(b)
		case r.Deductible > 0:
			b = r.Rate.AppendPercent(b)
			b = append(b, " × ("...)
			b = r.Base.AppendGrouped(b)
			b = append(b, " − "...)
			b = r.Deductible.AppendGrouped(b)
			b = append(b, ')')
		default:
			b = appendProduct(b, r.Rate, r.Base)
		}
		b = appendResult(b, r.Computed)
	case Critical:
		after := s.BurdenBefore + r.Base
		b = append(b, ": burden "...)
		b = s.BurdenBefore.AppendGrouped(b)
		b = append(b, " → "...)
		b = after.AppendGrouped(b)
		if s.NumBands == 0 {
			switch {
			case r.Base == 0:
				b = append(b, ", no in-policy cost left after basic"...)
			case after <= r.Deductible:
				b = append(b, " stays under the annual deductible "...)
				b = r.Deductible.AppendGrouped(b)
			default:
				b = append(b, " falls in no paying band"...)
			}
			b = appendResult(b, r.Computed)
			break
		}
		if s.BurdenBefore < r.Deductible {
			b = append(b, " crosses the annual deductible "...)
			b = r.Deductible.AppendGrouped(b)
		}
		b = append(b, "; "...)
		for i := range s.NumBands {
			if i > 0 {
				b = append(b, " + "...)
			}
			u := s.Bands[i]
			b = u.Rate.AppendPercent(b)
			b = append(b, " × "...)
			b = (u.To - u.From).AppendGrouped(b)
		}
		b = appendResult(b, r.Computed)
	case Commercial:
		if !r.Applies {
			return append(b, ": not registered poor = 0.00"...)
		}
		b = append(b, ": "...)
		b = appendProduct(b, r.Rate, r.Base)
		b = append(b, " + "...)
		b = appendProduct(b, r.RateOut, r.BaseOut)
		b = appendResult(b, r.Computed)
	case Aid:
		if !r.Applies {
			return append(b, ": no aid category = 0.00"...)
		}
		b = append(b, " ("...)
		b = append(b, s.Aid.String()...)
		b = append(b, "): "...)
		b = appendProduct(b, r.Rate, r.Base)
		b = appendResult(b, r.Computed)
	case Backstop:
		if !r.Applies {
			b = append(b, ": not registered poor = 0.00; patient pays "...)
			return s.OutOfPocket.AppendGrouped(b)
		}
		b = append(b, ": share "...)
		b = r.Base.AppendGrouped(b)
		if r.Amount == 0 {
			b = append(b, " is within the ceiling "...)
		} else {
			b = append(b, " − ceiling "...)
		}
		b = appendProduct(b, r.Rate, s.Total)
		if r.Amount == 0 {
			b = appendResult(b, r.Deductible)
			return append(b, ": pays 0.00"...)
		}
		b = append(b, " ("...)
		b = r.Deductible.AppendGrouped(b)
		b = append(b, ") = "...)
		return r.Amount.AppendGrouped(b)
	}
	if r.Capped() {
		b = append(b, ", limited to the cap room "...)
		b = r.CapRoom.AppendGrouped(b)
		if r.Amount != r.CapRoom {
			b = appendResult(b, r.Amount)
		}
	}
	return b
}

// appendProduct appends "r × m", as the explanations write a rate applied to an amount.
func appendProduct(b []byte, r Rate, m Money) []byte {
	b = r.AppendPercent(b)
	b = append(b, " × "...)
	return m.AppendGrouped(b)
}

// appendResult appends " = m".
func appendResult(b []byte, m Money) []byte {
	b = append(b, " = "...)
	return m.AppendGrouped(b)
}

// appendImported explains a line of an imported settlement: what was paid, and for
// critical illness the burden slice the ledger took from it.
func appendImported(b []byte, s *Settlement, l Line) []byte {
	b = append(b, ": "...)
	b = s.Lines[l].Amount.AppendGrouped(b)
	b = append(b, " as paid by the system before hpcalc (imported)"...)
	switch l {
	case Critical:
		b = append(b, "; burden "...)
		b = s.BurdenBefore.AppendGrouped(b)
		b = append(b, " → "...)
		b = (s.BurdenBefore + s.Lines[Critical].Base).AppendGrouped(b)
	case Backstop:
		b = append(b, "; patient paid "...)
		b = s.OutOfPocket.AppendGrouped(b)
	}
	return b
}
