package calc_test

import (
	"errors"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

func TestCorrect(t *testing.T) {
	settled := func(lines [calc.NumLines]calc.Money, oop, burden calc.Money) *calc.Settlement {
		s := &calc.Settlement{ClaimID: "C1", PersonID: "P1", Year: 2018, Kind: calc.Inpatient, OutOfPocket: oop}
		for l := range calc.NumLines {
			s.Lines[l].Amount = lines[l]
		}
		s.Lines[calc.Critical].Base = burden
		return s
	}
	now := calc.Amounts{Lines: [calc.NumLines]calc.Money{1000, 500, 300, 0, 200}, OutOfPocket: 100, Burden: 900}
	for _, tt := range []struct {
		name string
		s    *calc.Settlement
		want calc.Adjustment
	}{
		{"unchanged", settled(now.Lines, 100, 900), calc.Adjustment{}},
		{"insurers pay less, backstop more, patient the same",
			settled([calc.NumLines]calc.Money{1000, 300, 350, 0, 350}, 100, 900),
			calc.Adjustment{Lines: [calc.NumLines]calc.Money{0, -200, 50, 0, 150}}},
		{"the patient's share falls: a refund",
			settled([calc.NumLines]calc.Money{1000, 600, 300, 0, 180}, 20, 800),
			calc.Adjustment{Lines: [calc.NumLines]calc.Money{0, 100, 0, 0, -20}, OutOfPocket: -80, Burden: -100}},
		{"the patient's share rises: the backstop pays it",
			settled([calc.NumLines]calc.Money{1000, 400, 300, 0, 140}, 260, 950),
			calc.Adjustment{Lines: [calc.NumLines]calc.Money{0, -100, 0, 0, -60 + 160}, Burden: 50, Correction: 160}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := calc.Correct(now, tt.s)
			tt.want.ClaimID, tt.want.PersonID, tt.want.Year, tt.want.Kind = "C1", "P1", 2018, calc.Inpatient
			if got != tt.want {
				t.Errorf("Correct\n got  %+v\n want %+v", got, tt.want)
			}
			var sum calc.Money
			for _, m := range got.Lines {
				sum += m
			}
			if sum+got.OutOfPocket != 0 || got.OutOfPocket > 0 {
				t.Errorf("an adjustment moves money between payers and never charges the patient: %+v", got)
			}
			// Corrected once, a claim corrects to nothing the second time.
			after := now.Plus(&got)
			if again := calc.Correct(after, tt.s); !again.Zero() {
				t.Errorf("second correction %+v", again)
			}
			if got.Zero() != (tt.name == "unchanged") {
				t.Errorf("Zero() = %v", got.Zero())
			}
		})
	}
}

func TestLedgerAdjust(t *testing.T) {
	l := calc.Ledger{Year: 2018, Claims: 1, BasicChronic: 500, CriticalBurden: 100, CriticalPaid: 50, BackstopPaid: 10, OutOfPocket: 40, Total: 700}
	d := calc.Adjustment{Year: 2018, Kind: calc.OutpatientChronic, Lines: [calc.NumLines]calc.Money{calc.Basic: 20, calc.Critical: -30, calc.Backstop: 20},
		OutOfPocket: -10, Burden: -20}
	got, err := l.Adjust(&d)
	want := calc.Ledger{Year: 2018, Claims: 1, BasicChronic: 520, CriticalBurden: 80, CriticalPaid: 20, BackstopPaid: 30, OutOfPocket: 30, Total: 700}
	if err != nil || got != want {
		t.Errorf("Adjust = %+v, %v; want %+v", got, err, want)
	}
	d.Lines[calc.Critical] = -60
	if _, err := l.Adjust(&d); !errors.Is(err, calc.ErrLedgerNegate) {
		t.Errorf("adjusting below zero: %v, want ErrLedgerNegate", err)
	}
	d.Year = 2019
	if _, err := l.Adjust(&d); !errors.Is(err, calc.ErrLedgerYear) {
		t.Errorf("another year: %v, want ErrLedgerYear", err)
	}
}
