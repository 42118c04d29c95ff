package csvdata_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
)

var fuzzPersons = map[string]calc.Person{
	"P00001": {ID: "P00001", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao},
	"P00002": {ID: "P00002", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun},
	"P00003": {ID: "P00003", HouseholdID: "H2", RegisteredPoor: true},
	"P00004": {ID: "P00004", HouseholdID: "H3"},
}

const fuzzHeader = "claim_id,person_id,provider_id,level,kind,admitted_on,discharged_on,total,in_policy\n"

// FuzzReadAndSettle feeds arbitrary bytes to the claims reader and settles whatever it
// accepts: nothing may panic, and every settlement must keep POLICY.md's invariants.
func FuzzReadAndSettle(f *testing.F) {
	raw, err := os.ReadFile("../fixtures/policies/pingxiang-2018.yaml")
	if err != nil {
		f.Fatal(err)
	}
	policy, err := policyfile.Parse("pingxiang-2018.yaml", raw)
	if err != nil {
		f.Fatal(err)
	}
	policies, err := calc.NewPolicySet(policy)
	if err != nil {
		f.Fatal(err)
	}
	for _, rows := range []string{
		"C1,P00001,PRV01,provincial,inpatient,2018-01-02,2018-01-20,38000.00,30000.00\nC2,P00001,CTY01,county,inpatient,2018-03-01,2018-03-08,5000.00,4500.00\n",
		"C1,P00002,TWN01,township,outpatient_chronic,2018-05-05,2018-05-05,1500.00,1450.00\n",
		"C1,P00004,MUN01,municipal,inpatient,2018-02-01,2018-02-11,12000,9000.5\n",
		"C1,P00003,OOP01,out_of_province,inpatient,2018-06-01,2018-06-20,100000000.00,100000000.00\n",
		"C1,P00003,TWN01,township,inpatient,2018-06-01,2018-06-02,0.05,0.05\n",
		"C1,P00003,TWN01,township,inpatient,2018-06-01,2018-06-02,100.00,100.01\n",
		"C1,P00009,TWN01,township,inpatient,2018-06-01,2018-06-02,1.00,1.00\n",
		"C1,P00003,TWN01,village,dental,2018-06-05,2018-06-02,-1.00,1.234\n",
		"C1,P00003,TWN01,township,inpatient,2019-06-01,2019-06-02,1.00,1.00\n",
		"C1,P00003,TWN01,township,inpatient,2018-06-01,2018-06-02,\"1,00\",1\nC1,P00003\n",
	} {
		f.Add([]byte(fuzzHeader + rows))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		claims, err := csvdata.ReadClaims("fuzz.csv", bytes.NewReader(data), csvdata.ClaimChecks{Persons: fuzzPersons, Policies: policies})
		if err != nil {
			if claims != nil {
				t.Fatalf("claims returned with an error: %v", err)
			}
			return
		}
		res, err := replay.Run(policies, fuzzPersons, claims.Claims)
		if err != nil {
			t.Fatalf("claims that read cleanly do not settle: %v", err)
		}
		var tally calc.Tally
		for i := range res.Settlements {
			s := &res.Settlements[i]
			sum := s.OutOfPocket
			if s.OutOfPocket < 0 {
				t.Fatalf("claim %s: out-of-pocket %s < 0", s.ClaimID, s.OutOfPocket)
			}
			for l := range calc.NumLines {
				if a := s.Lines[l].Amount; a < 0 || a > s.Total {
					t.Fatalf("claim %s: %s pays %s of %s", s.ClaimID, l, a, s.Total)
				}
				sum += s.Lines[l].Amount
			}
			if sum != claims.Claims[i].Total {
				t.Fatalf("claim %s: amounts add to %s, total %s", s.ClaimID, sum, claims.Claims[i].Total)
			}
			if p := fuzzPersons[s.PersonID]; p.RegisteredPoor && s.OutOfPocket > calc.MulRate(s.Total, policy.Backstop.OOPCeiling) {
				t.Fatalf("claim %s: out-of-pocket %s over the ceiling", s.ClaimID, s.OutOfPocket)
			}
			tally.Add(s)
		}
		if tally != res.Tally {
			t.Fatalf("tally %+v, want %+v", res.Tally, tally)
		}
	})
}
