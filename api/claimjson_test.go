package api

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
)

// TestQuickClaimAgrees checks the one-pass claim decoder against decodeClaimSlow, the general
// path: on every body it accepts, the general path finds no fault and the same claim; it
// accepts every shipped claim as clients send it; and it leaves to the general path the
// bodies that path refuses, mutated at random from good ones (whitespace, escapes,
// duplicates, unknown or missing members, wrong types, bad values, broken JSON).
func TestQuickClaimAgrees(t *testing.T) {
	for k, name := range claimOK {
		for _, s := range []string{`"` + name + `"`, ` "` + name + `" :`} {
			at := strings.IndexByte(s, '"')
			if got, end := memberAt([]byte(s), at); got != k || end != at+len(name)+1 {
				t.Fatalf("memberAt(%q, %d) = %d, %d; want %d, %d", s, at, got, end, k, at+len(name)+1)
			}
		}
		for _, s := range []string{name, `"` + name, `"` + name[:len(name)-1] + `"`, `"` + name + `x"`, `"\u00` + name + `"`, `"` + strings.ToUpper(name) + `"`, `""`, `"`} {
			if got, _ := memberAt([]byte(s), 0); got >= 0 {
				t.Fatalf("memberAt(%q) = %d, want -1", s, got)
			}
		}
	}
	if got := claimOK[:idMembers]; !slices.Equal(got, []string{"claim_id", "person_id", "provider_id"}) {
		t.Fatalf("claimOK's first %d members are %q, not the claim's ids", idMembers, got)
	}
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var good []string
	for _, c := range d.Claims.Claims {
		b, err := json.Marshal(map[string]string{
			"claim_id": c.ID, "person_id": c.PersonID, "provider_id": c.ProviderID, "kind": c.Kind.String(),
			"admitted_on": c.AdmittedOn.String(), "discharged_on": c.DischargedOn.String(),
			"total": c.Total.String(), "in_policy": c.InPolicy.String(),
		})
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, string(b))
		if _, ok := quickClaim(b); !ok {
			t.Errorf("the fast path refused %s", b)
		}
	}
	bodies := append([]string{
		``, `{}`, `[]`, `null`, `{"claim_id":"C1"}`,
		"\t{ \"claim_id\" : \"C1\" ,\n\"person_id\":\"P00003\",\"provider_id\":\"CTY01\",\"kind\":\"inpatient\",\"admitted_on\":\"2018-05-27\",\"discharged_on\":\"2018-06-01\",\"total\":\"20000.00\",\"in_policy\":\"16000.00\"}\r\n",
	}, good...)
	// Every printable ASCII byte, and some others, in each id of a good body: the scan's
	// classes of bytes against calc.ValidID's.
	for c := 0x00; c <= 0xff; c++ {
		for _, id := range []string{`"claim_id":"`, `"person_id":"`, `"provider_id":"`} {
			bodies = append(bodies, strings.Replace(good[0], id, id+string([]byte{byte(c)}), 1))
		}
	}
	r := rand.New(rand.NewPCG(12, 13))
	swaps := [][2]string{
		{`"C`, `"\u0043`}, {`"P`, `"P\u00e9`}, {`inpatient`, `outpatient_chronic`}, {`inpatient`, `Inpatient`},
		{`":"`, `" : "`}, {`,"`, ` , "`}, {`"total":"`, `"total":"-`}, {`"total":"`, `"total":"1`},
		{`"in_policy":"`, `"in_policy":"9`}, {`.`, `.0`}, {`"2018-`, `"2019-`}, {`-0`, `-1`},
		{`"kind"`, `"level"`}, {`"kind"`, `"claim_id"`}, {`"total":"`, `"total":`}, {`"}`, `",}`},
		{`}`, `}}`}, {`}`, `} `}, {`{`, `[{`}, {`"person_id"`, `"person_id":"X","person_id"`},
		{`"P`, `"P<`}, {`"P`, "\"P\t"}, {`"P`, "\"P\xff"}, {`"C`, `"C C`}, {`"C`, `""`},
		{`"provider_id":"`, `"provider_id":"` + strings.Repeat("x", 70)}, {`"total":"`, `"total":"99999999999999`},
		{`"`, `'`}, {`,`, ``}, {`:`, ``}, {`"`, ``}, {`"in_policy":"`, `"in_policy":null,"x":"`},
	}
	for range 20000 {
		b := good[r.IntN(len(good))]
		for range 1 + r.IntN(3) {
			sw := swaps[r.IntN(len(swaps))]
			if n := strings.Count(b, sw[0]); n > 0 {
				b = strings.Replace(b, sw[0], sw[1], 1+r.IntN(n))
			}
		}
		bodies = append(bodies, b)
	}
	fast := 0
	for _, body := range bodies {
		qc, ok := quickClaim([]byte(body))
		var f fields
		sc, err := decodeClaimSlow([]byte(body), &f)
		if !ok {
			continue
		}
		fast++
		if err != nil || len(f.errs) > 0 {
			t.Fatalf("the fast path accepted %s, which the general path refuses: %v %v", body, err, f.errs)
		}
		if qc != sc {
			t.Fatalf("%s:\n fast %+v\n slow %+v", body, qc, sc)
		}
	}
	if fast == len(good) || fast == len(bodies) {
		t.Fatalf("the fast path took %d of %d bodies: the mutations should give both kinds", fast, len(bodies))
	}
}

// TestQuickDateAgrees checks quickDate against calc.ParseDate on every day, month and
// year number around those of its table (every month and day number from 0 to 13 and 32,
// in and out of the table's years), and on random strings of digits, dashes and others.
func TestQuickDateAgrees(t *testing.T) {
	var cases []string
	for y := firstYear - 10; y < firstYear+len(firstDays)+10; y++ {
		for m := range 14 {
			for d := range 33 {
				cases = append(cases, fmt.Sprintf("%04d-%02d-%02d", y, m, d))
			}
		}
	}
	r := rand.New(rand.NewPCG(8, 9))
	alphabet := "0123456789012345678901234567890123456789-- x/:"
	for range 50000 {
		b := []byte(fmt.Sprintf("%04d-%02d-%02d", r.IntN(10000), r.IntN(14), r.IntN(33)))
		for range r.IntN(3) {
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b[:8+r.IntN(3)]), string(b))
	}
	cases = append(cases, "", "2018-6-1", "2018-06-1 ", "02018-06-01", "+018-06-01", "-018-06-01", "2018_06_01")
	accepted := 0
	for _, s := range cases {
		got, ok := quickDate([]byte(s))
		want, err := calc.ParseDate(s)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("quickDate(%q) = %v, %v; ParseDate gives %v, %v", s, got, ok, want, err)
		}
		if ok {
			accepted++
		}
	}
	if accepted < 90000 {
		t.Fatalf("only %d of %d dates were good: the cases should be mostly dates", accepted, len(cases))
	}
}

// TestQuickKindAgrees checks quickKind against calc.ParseKind.
func TestQuickKindAgrees(t *testing.T) {
	cases := []string{"", "x", "Inpatient", "inpatient ", "outpatient", "outpatient_chronicx"}
	for k := range calc.NumKinds + 1 {
		cases = append(cases, k.String())
	}
	for _, s := range cases {
		got, ok := quickKind([]byte(s))
		want, err := calc.ParseKind(s)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("quickKind(%q) = %v, %v; ParseKind gives %v, %v", s, got, ok, want, err)
		}
	}
}
