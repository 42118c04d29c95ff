package console_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// upload posts a file to an admin form as a browser would.
func (u *user) upload(path, csrf, name, content string) (*http.Response, string) {
	u.v.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("csrf", csrf)
	f, _ := w.CreateFormFile("file", name)
	_, _ = f.Write([]byte(content))
	_ = w.Close()
	return u.do(http.MethodPost, path, b.String(), http.Header{"Content-Type": {w.FormDataContentType()}})
}

func TestAdminDesk(t *testing.T) {
	v := newEnv(t)
	u := v.signedIn(asAdmin)
	csrf := u.csrf("/admin")

	t.Run("Tokens", func(t *testing.T) {
		res, body := u.postBody("/admin/tokens", url.Values{"csrf": {csrf}, "role": {"clinic"}, "providers": {"TWN02"}, "note": {"窗口 2"}})
		m := regexp.MustCompile(`id="new-token">(hp_[^<]+)<`).FindStringSubmatch(body)
		if res.StatusCode != http.StatusCreated || m == nil {
			t.Fatalf("create: status %d, no token shown", res.StatusCode)
		}
		clinic := v.user()
		if res := clinic.signin(m[1]); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("the new token does not sign in: %d", res.StatusCode)
		}
		if _, page := u.get("/admin"); strings.Contains(page, m[1]) || !strings.Contains(page, "窗口 2") {
			t.Error("the token list shows the token itself, or not the new token's note")
		}
		for _, bad := range []url.Values{
			{"role": {"clinic"}},                          // a clinic needs a provider
			{"role": {"auditor"}, "providers": {"TWN01"}}, // only a clinic acts for providers
			{"role": {"clinic"}, "providers": {"NOPE"}},   // unknown provider
			{"role": {"emperor"}},                         // unknown role
		} {
			bad.Set("csrf", csrf)
			if res, body := u.postBody("/admin/tokens", bad); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="upload-error"`) {
				t.Errorf("%v: status %d, want 422 with the error shown", bad, res.StatusCode)
			}
		}
		id := regexp.MustCompile(`data-token="([0-9a-f]{16})"`).FindAllStringSubmatch(body, -1)
		newID := id[len(id)-1][1] // the list is oldest first
		if res := u.post("/admin/tokens/revoke", url.Values{"csrf": {csrf}, "id": {newID}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		if res, _ := clinic.get("/discharge"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the session of a revoked token: status %d, want 303 to sign in", res.StatusCode)
		}
	})

	t.Run("PolicyErrorsAtLineAndColumn", func(t *testing.T) {
		res, body := u.upload("/admin/policies", csrf, "bad.yaml", "version: x\neffective_from: 2019-01-01\neffective_to: 2019-12-31\nbasic:\n  annual_cap: -5\n")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="problems"`) {
			t.Fatalf("status %d, no problem table", res.StatusCode)
		}
		if !regexp.MustCompile(`<td class="num">5</td><td class="num">\d+</td>`).MatchString(body) {
			t.Error("no problem at line 5 with a column")
		}
	})

	t.Run("PersonsErrorsPerRow", func(t *testing.T) {
		csv := "person_id,household_id,registered_poor,aid_category\nP90001,H9001,true,\nP90002,H9001,maybe,dibao\nP90003,H9002,true,royal\n"
		res, body := u.upload("/admin/persons", csrf, "persons.csv", csv)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", res.StatusCode)
		}
		for _, line := range []string{"3", "4"} {
			if !strings.Contains(body, `<tr><td class="num">`+line+`</td>`) {
				t.Errorf("no error of line %s", line)
			}
		}
		var st apiSettlement
		if code := v.apiJSON(asAdmin, http.MethodGet, "/v1/persons/P90001/ledger?year=2018", "", &st); code != http.StatusNotFound {
			t.Errorf("a file with errors stored its good rows (ledger of P90001: %d)", code)
		}
	})

	t.Run("ProvidersUpserted", func(t *testing.T) {
		res, body := u.upload("/admin/providers", csrf, "providers.csv", "provider_id,name,level\nTWN99,新卫生院,township\n")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `id="notice"`) {
			t.Fatalf("status %d", res.StatusCode)
		}
		if res, body := u.postBody("/admin/tokens", url.Values{"csrf": {csrf}, "role": {"clinic"}, "providers": {"TWN99"}}); res.StatusCode != http.StatusCreated {
			t.Errorf("a token for the uploaded provider: %d %s", res.StatusCode, regexp.MustCompile(`id="upload-error">[^<]*`).FindString(body))
		}
	})
}

// postFiles posts the files of a multipart admin form as a browser would, by field name.
func (u *user) postFiles(path, csrf string, files map[string]string) (*http.Response, string) {
	u.v.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("csrf", csrf)
	for _, field := range []string{"claims", "paid"} {
		f, _ := w.CreateFormFile(field, field+".csv")
		_, _ = f.Write([]byte(files[field]))
	}
	_ = w.Close()
	return u.do(http.MethodPost, path, b.String(), http.Header{"Content-Type": {w.FormDataContentType()}})
}

// TestAdminImport imports a claim with what the system before hpcalc paid on it from the
// admin desk: a paid row that does not sum to the claim's total is shown at its line, and
// nothing is stored; the right one is stored as imported.
func TestAdminImport(t *testing.T) {
	v := newEnv(t)
	u := v.signedIn(asAdmin)
	csrf := u.csrf("/admin")
	if res, _ := u.upload("/admin/persons", csrf, "persons.csv", "person_id,household_id,registered_poor,aid_category\nP95001,H9501,true,dibao\n"); res.StatusCode != http.StatusOK {
		t.Fatalf("upload the person: %d", res.StatusCode)
	}
	claims := "claim_id,person_id,provider_id,level,kind,admitted_on,discharged_on,total,in_policy\nOPEN-1,P95001,TWN01,township,inpatient,2018-03-01,2018-03-04,1000.00,800.00\n"
	header := "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket\n"
	res, body := u.postFiles("/admin/imports", csrf, map[string]string{"claims": claims, "paid": header + "OPEN-1,720.00,0,20.00,0,160.00,99.00\n"})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<tr><td class="num">2</td><td class="num">7</td>`) {
		t.Fatalf("amounts that do not sum: status %d, or no problem at line 2, column 7", res.StatusCode)
	}
	var st struct {
		Imported bool `json:"imported"`
	}
	if code := v.apiJSON(asAdmin, http.MethodGet, "/v1/claims/OPEN-1/settlement", "", &st); code != http.StatusNotFound {
		t.Fatalf("a refused import stored the claim: %d", code)
	}
	res, body = u.postFiles("/admin/imports", csrf, map[string]string{"claims": claims, "paid": header + "OPEN-1,720.00,0,20.00,0,160.00,100.00\n"})
	if res.StatusCode != http.StatusCreated || !strings.Contains(body, `id="notice"`) {
		t.Fatalf("import: status %d", res.StatusCode)
	}
	if code := v.apiJSON(asAdmin, http.MethodGet, "/v1/claims/OPEN-1/settlement", "", &st); code != http.StatusOK || !st.Imported {
		t.Errorf("the imported claim: %d, imported %v", code, st.Imported)
	}
}
