package api

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

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

// TestAppendAmountAgrees checks appendAmount against calc.Money.Append on every power of
// ten and its neighbours, both signs, the extremes and random amounts of every length, each
// appended after some bytes that must stay and into buffers with and without the room
// for its fast path; and eightDigits against fmt on every number it takes near a power
// of ten and at random, fourDigits on every number it takes.
func TestAppendAmountAgrees(t *testing.T) {
	cases := []calc.Money{0, 1, 5, 9, 10, 99, 100, 101, 999, 1000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1,
		calc.MaxAmount, calc.NoCap, 100_000_000*calc.Yuan - 1, 100_000_000 * calc.Yuan}
	for p := calc.Money(1); p <= math.MaxInt64/10; p *= 10 {
		cases = append(cases, p-1, p, p+1, 10*p-1)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		cases = append(cases, calc.Money(r.Int64N(math.MaxInt64)>>r.IntN(63)))
	}
	for _, m := range cases {
		for _, v := range []calc.Money{m, -m} {
			want := v.Append([]byte("x:"))
			for room := range 20 { // spare capacity: under, at and over what the fast path needs
				got := appendAmount(append(make([]byte, 0, 2+room), "x:"...), v)
				if string(got) != string(want) {
					t.Fatalf("appendAmount(%d) with %d bytes to spare = %q, want %q", int64(v), room, got, want)
				}
			}
			if got := appendAmount(append(make([]byte, 0, 4096), "x:"...), v); string(got) != string(want) {
				t.Fatalf("appendAmount(%d) = %q, want %q", int64(v), got, want)
			}
		}
	}
	check := func(v uint64) {
		d := eightDigits(v)
		var got [8]byte
		for i := range got {
			got[i] = byte(d>>(8*i)) + '0'
		}
		if want := fmt.Sprintf("%08d", v); string(got[:]) != want {
			t.Fatalf("eightDigits(%d) = %q, want %s", v, got, want)
		}
	}
	for v := range uint64(20000) {
		check(v)
		if v < 10000 {
			d := fourDigits(v)
			if got, want := fmt.Sprintf("%c%c%c%c", byte(d)+'0', byte(d>>8)+'0', byte(d>>16)+'0', byte(d>>24)+'0'), fmt.Sprintf("%04d", v); got != want {
				t.Fatalf("fourDigits(%d) = %q, want %s", v, got, want)
			}
		}
	}
	for p := uint64(10); p <= 100_000_000; p *= 10 {
		for v := p - 1000; v < p+1000 && v < 100_000_000; v++ {
			check(v)
		}
	}
	for range 200000 {
		check(r.Uint64N(100_000_000))
	}
}

// TestAppendSmallIntAgrees checks appendSmallInt against strconv.AppendInt.
func TestAppendSmallIntAgrees(t *testing.T) {
	cases := []int{math.MinInt, math.MaxInt, -10000, -9999, -1}
	for v := range 100_001 {
		cases = append(cases, v)
	}
	for _, v := range cases {
		if got, want := appendSmallInt([]byte("x:"), v), strconv.AppendInt([]byte("x:"), int64(v), 10); string(got) != string(want) {
			t.Fatalf("appendSmallInt(%d) = %q, want %q", v, got, want)
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

// plainJSON reports whether appendJSONString would copy s unchanged between its quotes.
func plainJSON(s []byte) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !plainASCII[c] {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// TestExplanationsNeedNoEscaping checks what appendComputedLine counts on when it appends
// an explanation between quotes as it is: no piece of text calc's explanations are made of
// needs escaping in a JSON string. The pieces are the string and character literals of
// calc/explain.go, the names of lines and aid categories and numbers; the explanations of
// every shipped settlement, imported or not, are checked whole too.
func TestExplanationsNeedNoEscaping(t *testing.T) {
	fset := gotoken.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", "calc", "explain.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	literals := 0
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != gotoken.STRING && lit.Kind != gotoken.CHAR {
			return true
		}
		literals++
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
		}
		if !plainJSON([]byte(s)) {
			t.Errorf("%s: %s would be escaped in a JSON string", fset.Position(lit.Pos()), lit.Value)
		}
		return true
	})
	if literals < 20 {
		t.Fatalf("only %d literals in calc/explain.go: is it still where the explanations are written?", literals)
	}
	var names []string
	for _, l := range calc.Lines() {
		names = append(names, l.String())
	}
	for a := range calc.NumAidCategories + 1 { // and one past the end: its name is made up
		names = append(names, a.String())
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		v := r.Int64() >> r.IntN(64)
		names = append(names, string(calc.Money(v).AppendGrouped(nil)), string(calc.Rate(v).AppendPercent(nil)))
	}
	for _, s := range names {
		if !plainJSON([]byte(s)) {
			t.Errorf("%q would be escaped in a JSON string", s)
		}
	}

	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Settlements {
		for _, imported := range []bool{false, true} {
			st.Imported = imported
			for _, l := range calc.Lines() {
				if e := st.AppendExplanation(nil, l); !plainJSON(e) {
					t.Fatalf("claim %s: the explanation %q would be escaped in a JSON string", st.ClaimID, e)
				}
			}
		}
	}
}
