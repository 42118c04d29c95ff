package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/xuri/excelize/v2"
)

// shippedPaid is the paid file of the shipped claims as the rules pay them (computed by
// the reference engine), each row passed through edit if it is not nil.
func shippedPaid(t testing.TB, edit func(rows []csvdata.SettlementRow) []csvdata.SettlementRow) []byte {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]csvdata.SettlementRow, len(res.Settlements))
	for i, s := range res.Settlements {
		rows[i] = csvdata.SettlementRow{ClaimID: s.ClaimID, OutOfPocket: s.OutOfPocket}
		for l := range calc.NumLines {
			rows[i].Lines[l] = s.Lines[l].Amount
		}
	}
	if edit != nil {
		rows = edit(rows)
	}
	var b bytes.Buffer
	if err := csvdata.WriteSettlementRows(&b, rows); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartBody is a multipart/form-data body with a file part per name, and its
// content type.
func multipartBody(t testing.TB, parts map[string][]byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, name := range []string{"claims", "paid", "persons", "providers", "other"} {
		if body, ok := parts[name]; ok {
			f, err := w.CreateFormFile(name, name+".csv")
			if err != nil {
				t.Fatal(err)
			}
			f.Write(body)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

// auditRequest is a POST /v1/audits of the shipped claims with the paid file paid.
func auditRequest(t testing.TB, v *env, as string, paid []byte, header ...string) *http.Request {
	t.Helper()
	claims, err := fixtures.FS.ReadFile(fixtures.ClaimsFile)
	if err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(t, map[string][]byte{"claims": claims, "paid": paid})
	return v.request(http.MethodPost, "/v1/audits", as, ct, body, header...)
}

// TestAuditsFromFiles: the shipped claims with the paid file the rules give show no
// difference against the stored register; a claim paid with the township deductible at a
// county hospital is reported with its root and cause, as JSON and as a workbook.
func TestAuditsFromFiles(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		var rep struct {
			Claims      int            `json:"claims"`
			ByKind      map[string]int `json:"by_kind"`
			Differences []struct {
				ClaimID string `json:"claim_id"`
				Root    string `json:"root"`
				Kind    string `json:"kind"`
				Causes  []struct {
					Kind, Detail string
				} `json:"causes"`
			} `json:"differences"`
			NotPaid    []string `json:"not_paid"`
			NotClaimed []string `json:"not_claimed"`
		}
		want(t, v.serve(auditRequest(t, v, asAuditor, shippedPaid(t, nil))), http.StatusOK, &rep)
		if rep.Claims != 559 || len(rep.Differences) != 0 || len(rep.NotPaid) != 0 || len(rep.NotClaimed) != 0 {
			t.Fatalf("paid as the rules give: %+v", rep)
		}

		// A county inpatient claim, the first of its person's year, settled by the legacy
		// system with the township deductible.
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		var target string
		faulty := func(rows []csvdata.SettlementRow) []csvdata.SettlementRow {
			seen := map[string]bool{}
			for _, i := range replay.Order(d.Claims.Claims) {
				c := d.Claims.Claims[i]
				first := !seen[c.PersonID+c.DischargedOn.String()[:4]]
				seen[c.PersonID+c.DischargedOn.String()[:4]] = true
				if !first || c.Level != calc.County || c.Kind != calc.Inpatient || c.InPolicy < 50000 {
					continue
				}
				p := d.Policies.At(c.DischargedOn).Clone()
				p.Basic.Deductible[calc.Inpatient][calc.County] = 0
				s, _, err := calc.Settle(p, d.Persons[c.PersonID], calc.Ledger{}, c)
				if err != nil {
					t.Fatal(err)
				}
				target = c.ID
				rows[i].OutOfPocket = s.OutOfPocket
				for l := range calc.NumLines {
					rows[i].Lines[l] = s.Lines[l].Amount
				}
				return rows
			}
			t.Fatal("no county claim")
			return nil
		}
		paid := shippedPaid(t, faulty)
		rep.Differences = nil
		want(t, v.serve(auditRequest(t, v, asAuditor, paid)), http.StatusOK, &rep)
		if len(rep.Differences) < 1 || rep.Differences[0].ClaimID != target || rep.ByKind["deductible"] != 1 {
			t.Fatalf("differences %+v", rep.Differences)
		}
		for _, diff := range rep.Differences {
			if diff.ClaimID == target && (diff.Root != "basic" || diff.Kind != "deductible") {
				t.Errorf("claim %s: root %s, kind %s", target, diff.Root, diff.Kind)
			}
			if diff.ClaimID != target && diff.Kind != "knock_on" {
				t.Errorf("claim %s: kind %s, want knock_on", diff.ClaimID, diff.Kind)
			}
		}

		rec := v.serve(auditRequest(t, v, asAdmin, paid, "Accept", workbook.MediaXLSX))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != workbook.MediaXLSX {
			t.Fatalf("xlsx: %d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows("差异 Differences")
		if err != nil || len(rows) != len(rep.Differences)+1 {
			t.Errorf("workbook differences: %d rows, %v; want %d and a header", len(rows), err, len(rep.Differences))
		}
	})
}

// TestAuditsRefused: a paid file whose amounts do not sum to the claim's total is a 422
// naming the file, line, column and rule; missing parts are named; a body that is not
// multipart is a 415.
func TestAuditsRefused(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		bad := shippedPaid(t, func(rows []csvdata.SettlementRow) []csvdata.SettlementRow {
			rows[2].Lines[calc.Basic]++
			return rows
		})
		var p struct {
			problem
			Errors []struct {
				Field, Rule  string
				Line, Column int
			} `json:"errors"`
		}
		want(t, v.serve(auditRequest(t, v, asAuditor, bad)), http.StatusUnprocessableEntity, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "paid.out_of_pocket" || p.Errors[0].Line != 4 || p.Errors[0].Column != 7 ||
			!strings.Contains(p.Errors[0].Rule, "must sum to its total") {
			t.Errorf("problem %+v", p)
		}

		body, ct := multipartBody(t, map[string][]byte{"other": []byte("x")})
		var missing problem
		want(t, v.do(http.MethodPost, "/v1/audits", asAuditor, ct, body), http.StatusUnprocessableEntity, &missing)
		if got := strings.Join(missing.fields(), " "); got != "claims paid" {
			t.Errorf("missing parts: fields %q", got)
		}
		rec := v.do(http.MethodPost, "/v1/audits", asAuditor, "application/json", []byte(`{}`))
		if rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("JSON body: %d %s", rec.Code, rec.Body)
		}
	})
}
