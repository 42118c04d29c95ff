package api_test

import (
	"github.com/hpcalc/hpcalc/csvdata"
	"net/http"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// The files of TestAuthTable's import: a claim and what was paid on it, nothing but the
// patient's share.
const (
	importExampleClaims = "claim_id,person_id,provider_id,level,kind,admitted_on,discharged_on,total,in_policy\n" +
		"C201800003,P00719,MUN01,municipal,inpatient,2017-12-20,2018-01-01,5347.73,4188.24\n"
	importExamplePaid = "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket\nC201800003,0,0,0,0,0,5347.73\n"
)

// TestImports imports the shipped claims with the amounts the rules give them: 201 with
// what was stored, each settlement marked imported, the stored audit finding nothing;
// the same files again are a 409 naming the claims file's lines, and a paid file whose
// amounts do not sum to a claim's total a 422 naming its line and column.
func TestImports(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		claims, err := fixtures.FS.ReadFile(fixtures.ClaimsFile)
		if err != nil {
			t.Fatal(err)
		}
		post := func(paid []byte) *http.Request {
			body, ct := multipartBody(t, map[string][]byte{"claims": claims, "paid": paid})
			return v.request(http.MethodPost, "/v1/imports", asAdmin, ct, body)
		}
		// A claim whose basic is 0.01 more than its total allows.
		bad := shippedPaid(t, func(rows []csvdata.SettlementRow) []csvdata.SettlementRow { rows[2].Lines[0]++; return rows })
		var problem struct {
			Detail string `json:"detail"`
			Errors []struct {
				Field  string `json:"field"`
				Rule   string `json:"rule"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"errors"`
		}
		want(t, v.serve(post(bad)), http.StatusUnprocessableEntity, &problem)
		if len(problem.Errors) != 1 || problem.Errors[0].Field != "paid.out_of_pocket" || problem.Errors[0].Line != 4 || problem.Errors[0].Column != 7 {
			t.Errorf("a paid file whose amounts do not sum: %+v", problem)
		}

		var rep struct {
			Claims   int      `json:"claims"`
			Persons  int      `json:"persons"`
			Ledgers  int      `json:"ledgers"`
			Versions []string `json:"policy_versions"`
			Total    string   `json:"total"`
		}
		want(t, v.serve(post(shippedPaid(t, nil))), http.StatusCreated, &rep)
		if rep.Claims != strings.Count(string(claims), "\n")-1 || rep.Persons == 0 || rep.Ledgers != rep.Persons ||
			len(rep.Versions) != 1 || rep.Total != "2663300.00" {
			t.Errorf("import: %+v", rep)
		}
		var st struct {
			Imported bool `json:"imported"`
			Lines    []struct {
				Explanation string `json:"explanation"`
			} `json:"lines"`
		}
		want(t, v.do(http.MethodGet, "/v1/claims/C201800001/settlement", asAuditor, "", nil), http.StatusOK, &st)
		if !st.Imported || !strings.Contains(st.Lines[0].Explanation, "as paid by the system before hpcalc") {
			t.Errorf("an imported settlement: %+v", st)
		}
		var audit struct {
			Claims      int   `json:"claims"`
			Differences []any `json:"differences"`
		}
		want(t, v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", []byte(`{"from":"2018-01-01","to":"2018-12-31"}`)), http.StatusOK, &audit)
		if audit.Claims != rep.Claims || len(audit.Differences) != 0 {
			t.Errorf("audit of the imported claims: %d claims, %d differ", audit.Claims, len(audit.Differences))
		}

		problem.Errors = nil
		want(t, v.serve(post(shippedPaid(t, nil))), http.StatusConflict, &problem)
		if len(problem.Errors) == 0 || !strings.HasPrefix(problem.Errors[0].Field, "claims.") || problem.Errors[0].Line < 2 ||
			!strings.Contains(problem.Errors[0].Rule, "already stored") {
			t.Errorf("the same import again: %+v", problem)
		}
	})
}
