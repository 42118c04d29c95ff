package api

import (
	"bytes"
	"net/http"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/labstack/echo/v4"
)

// policyVersion is a published version and its period.
type policyVersion struct {
	Version string `json:"version"`
	From    string `json:"from"`
	To      string `json:"to"`
}

func versionOut(p *calc.Policy) policyVersion {
	return policyVersion{Version: p.Version, From: p.From.String(), To: p.To.String()}
}

// listPolicies answers GET /v1/policies: the published versions by start date.
func (s *server) listPolicies(c echo.Context) error {
	set, err := s.store.Policies(c.Request().Context())
	if err != nil {
		return err
	}
	out := struct {
		Policies []policyVersion `json:"policies"`
	}{Policies: []policyVersion{}}
	for _, p := range set.Policies() {
		out.Policies = append(out.Policies, versionOut(p))
	}
	return writeJSON(c, http.StatusOK, out)
}

// getPolicy answers GET /v1/policies/{version}: the document as it was published, JSON
// if it was sent as JSON, else YAML.
func (s *server) getPolicy(c echo.Context) error {
	doc, err := s.store.PolicyDocument(c.Request().Context(), c.Param("version"))
	if err != nil {
		return err
	}
	ct := "application/yaml; charset=utf-8"
	if t := bytes.TrimSpace(doc); len(t) > 0 && t[0] == '{' {
		ct = echo.MIMEApplicationJSON
	}
	return c.Blob(http.StatusOK, ct, doc)
}

// policyTypes are the content types a policy document may be sent as.
var policyTypes = map[string]bool{
	"": true, "application/yaml": true, "application/x-yaml": true, "text/yaml": true,
	"text/x-yaml": true, "application/json": true, "text/plain": true,
}

// publishPolicy answers POST /v1/policies: the body is a policy document (YAML or JSON,
// as policyfile reads it). 422 lists every problem of the document; 409 refuses a version
// that exists or a period that overlaps a published one.
func (s *server) publishPolicy(c echo.Context) error {
	if mt := mediaType(c); !policyTypes[mt] {
		return fail(kindMediaType, "send the policy as application/yaml or application/json, not "+mt)
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	p, err := policyfile.Parse("body", body)
	if err != nil {
		return invalidInput(err, "the policy document")
	}
	if err := s.store.PublishPolicy(c.Request().Context(), p, body); err != nil {
		return err
	}
	return created(c, "/v1/policies/"+p.Version, versionOut(p))
}
