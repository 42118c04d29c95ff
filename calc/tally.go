package calc

// Tally sums settlements: the total cost, what each line paid and what patients paid.
type Tally struct {
	Claims      int
	Total       Money
	Lines       [NumLines]Money
	OutOfPocket Money
}

// Add counts one settlement.
func (t *Tally) Add(s *Settlement) {
	t.Claims++
	t.Total += s.Total
	for l := range NumLines {
		t.Lines[l] += s.Lines[l].Amount
	}
	t.OutOfPocket += s.OutOfPocket
}

// Merge adds another tally into t.
func (t *Tally) Merge(o Tally) {
	t.Claims += o.Claims
	t.Total += o.Total
	for l := range NumLines {
		t.Lines[l] += o.Lines[l]
	}
	t.OutOfPocket += o.OutOfPocket
}
