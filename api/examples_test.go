package api_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestOpenAPIExamplesAndDescriptions: every request body of the OpenAPI document has an
// example in each of its JSON, YAML and multipart forms, and every parameter a
// description and an example.
func TestOpenAPIExamplesAndDescriptions(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In, Description string
				Example               any
			}
			RequestBody *struct {
				Content map[string]struct {
					Example any
				}
			}
		}
	}
	want(t, v.do(http.MethodGet, "/openapi.json", "", "", nil), http.StatusOK, &doc)
	bodies := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for _, p := range op.Parameters {
				if strings.TrimSpace(p.Description) == "" {
					t.Errorf("%s %s: %s parameter %s has no description", method, path, p.In, p.Name)
				}
				if p.Example == nil || p.Example == "" {
					t.Errorf("%s %s: %s parameter %s has no example", method, path, p.In, p.Name)
				}
			}
			if op.RequestBody == nil {
				continue
			}
			bodies++
			for media, c := range op.RequestBody.Content {
				// text/csv and the JSON form of a policy are alternatives to a form
				// that has its example.
				if media == "text/csv" || (path == "/v1/policies" && media == "application/json") {
					continue
				}
				if c.Example == nil {
					t.Errorf("%s %s: the %s request body has no example", method, path, media)
				}
			}
		}
	}
	if bodies == 0 {
		t.Fatal("no operation has a request body")
	}
}

// TestRequestExamples sends every route's example request, the one ROUTES.md and the
// OpenAPI document show, with a token of the route's last role, and wants the route's
// status of success: the examples are requests the API accepts.
func TestRequestExamples(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	as := map[string]string{"clinic": asClinic, "auditor": asAuditor, "finance": asFinance, "admin": asAdmin}
	var settlementID, tokenID string
	for _, x := range api.RequestExamples() {
		t.Run(x.Method+" "+x.Path, func(t *testing.T) {
			path := x.Path
			// The examples name ids no test can know before it runs.
			if strings.HasPrefix(path, "/v1/settlements/S") {
				path = "/v1/settlements/" + settlementID + path[len("/v1/settlements/S3f9c2a7d0b4e816c5a9d3e70"):]
			}
			if strings.HasPrefix(path, "/v1/tokens/") {
				path = "/v1/tokens/" + tokenID
			}
			who := ""
			if x.Roles != nil {
				who = as[x.Roles[len(x.Roles)-1]]
			}
			body, ct := x.Body, x.ContentType
			if x.Parts != nil {
				var buf bytes.Buffer
				w := multipart.NewWriter(&buf)
				for _, name := range []string{"claims", "paid"} {
					f, err := w.CreateFormFile(name, name+".csv")
					if err != nil {
						t.Fatal(err)
					}
					_, _ = f.Write([]byte(x.Parts[name]))
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				body, ct = buf.Bytes(), w.FormDataContentType()
			}
			status := x.OK
			if x.Method == http.MethodPost && x.Path == "/v1/policies" {
				// newEnv published this very file; a second time is the 409 of a version on file.
				raw, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
				if err != nil || !bytes.Equal(raw, x.Body) {
					t.Fatalf("the policy example is not %s", fixtures.PolicyFile)
				}
				status = http.StatusConflict
			}
			rec := v.do(x.Method, path, who, ct, body)
			var out map[string]any
			want(t, rec, status, nil)
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				_ = json.Unmarshal(rec.Body.Bytes(), &out)
			}
			switch {
			case x.Path == "/v1/settlements":
				settlementID, _ = out["settlement_id"].(string)
			case x.Path == "/v1/tokens" && x.Method == http.MethodPost:
				tokenID, _ = out["id"].(string)
			}
		})
	}
	if !slices.ContainsFunc(api.RequestExamples(), func(x api.RequestExample) bool { return x.Parts != nil }) {
		t.Error("no multipart example")
	}
}
