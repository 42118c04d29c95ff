package api

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
)

// TestFastJSONMatchesMarshal checks the hand-written settlement encoder against
// encoding/json on every shipped claim's settlement, as a quote, a stored settlement and a
// reversal, with identifiers that need escaping.
func TestFastJSONMatchesMarshal(t *testing.T) {
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	odd := []string{"", "<script>&", "a\"b\\c", "tab\tnl\nnul\x00", "\u2028\u2029", "bad\xffutf8", "五道保障线"}
	created := time.Date(2018, 12, 1, 8, 30, 0, 123456000, time.UTC)
	for i, st := range res.Settlements {
		// Any ledger does: what is checked is its encoding.
		after := calc.Ledger{Year: st.Year, Claims: i, BasicInpatient: st.Lines[calc.Basic].Amount, CriticalBurden: -st.InPolicy,
			CriticalPaid: st.Lines[calc.Critical].Amount, CommercialPaid: st.Lines[calc.Commercial].Amount,
			AidPaid: st.Lines[calc.Aid].Amount, BackstopPaid: st.Lines[calc.Backstop].Amount, OutOfPocket: st.OutOfPocket, Total: st.Total}
		outs := []settlementJSON{
			settlementOut("quote", &st, after, d.Claims.Claims[i].ProviderID),
			settledOut(&store.SettlementRecord{ID: "S" + odd[i%len(odd)], CreatedAt: created, Settlement: st, Ledger: after}, odd[(i+1)%len(odd)]),
			settledOut(&store.SettlementRecord{ID: "R1", Reverses: "S1", Reason: odd[(i+2)%len(odd)], CreatedAt: created, Settlement: st, Ledger: after}, ""),
		}
		if i%2 == 1 {
			// An imported settlement: the same amounts, marked, explained as paid.
			imp := st
			imp.Imported = true
			outs = append(outs, settledOut(&store.SettlementRecord{ID: "SI", CreatedAt: created, Settlement: imp, Ledger: after}, ""))
		}
		outs[1].ReversedBy = odd[(i+3)%len(odd)]
		outs[2].Lines = nil
		for _, out := range outs {
			want, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendSettlementJSON(nil, &out); string(got) != string(want) {
				t.Fatalf("claim %s:\n got %s\nwant %s", st.ClaimID, got, want)
			}
		}
	}
}

// TestComputedJSONMatches checks the quote's encoder, which writes straight from calc's
// values, against appendSettlementJSON of settlementOut on every shipped claim's
// settlement, imported or not, with identifiers that need escaping and person versions
// absent or not.
func TestComputedJSONMatches(t *testing.T) {
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	odd := []string{"", "<script>&", "a\"b\\c", "tab\tnl\nnul\x00", "\u2028\u2029", "bad\xffutf8", "五道保障线"}
	for i, st := range res.Settlements {
		after := calc.Ledger{Year: st.Year, Claims: i, BasicInpatient: st.Lines[calc.Basic].Amount, CriticalBurden: -st.InPolicy,
			CriticalPaid: st.Lines[calc.Critical].Amount, CommercialPaid: st.Lines[calc.Commercial].Amount,
			AidPaid: st.Lines[calc.Aid].Amount, BackstopPaid: st.Lines[calc.Backstop].Amount, OutOfPocket: st.OutOfPocket, Total: st.Total}
		variants := []calc.Settlement{st, st, st}
		variants[1].Imported = true
		variants[2].ClaimID, variants[2].PersonID, variants[2].PolicyVersion = odd[i%len(odd)], odd[(i+1)%len(odd)], odd[(i+2)%len(odd)]
		for j := range variants {
			v := &variants[j]
			provider := []string{d.Claims.Claims[i].ProviderID, "", odd[(i+3)%len(odd)]}[j]
			// A person of no versioned register (0: absent), the first version, a later one.
			personVersion := []int32{1, 0, int32(i + 2)}[j]
			want := settlementOut("quote", v, after, provider)
			want.PersonVersion = personVersion
			if got, want := appendComputedJSON(nil, "quote", v, &after, personVersion, provider), appendSettlementJSON(nil, &want); string(got) != string(want) {
				t.Fatalf("claim %s, variant %d:\n got %s\nwant %s", st.ClaimID, j, got, want)
			}
		}
	}
}

// TestAppendJSONString checks string escaping against encoding/json on edge cases and
// random bytes, valid UTF-8 or not.
func TestAppendJSONString(t *testing.T) {
	cases := []string{"", "plain", "<>&", "\"\\/", "\b\f\n\r\t\x01\x1f\x7f", "\u2028x\u2029", "\xff", "a\xe2\x80", "€×−→"}
	r := rand.New(rand.NewPCG(7, 9))
	alphabet := []byte("ab<>&\"\\\x00\n\x7f\xc3\xa9\xe2\x80\xa8\xa9\xff")
	for range 20000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		if plain := string(want) == `"`+s+`"`; plainJSON([]byte(s)) != plain {
			t.Fatalf("plainJSON(%q) = %v; encoding/json gives %s", s, !plain, want)
		}
	}
}
