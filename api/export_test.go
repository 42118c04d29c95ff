package api

// ROUTES.md is made from the route table by the tests only, which keep it equal to the
// table.

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/labstack/echo/v4"
)

// EmptyPath is the route NewWithEmpty adds.
const EmptyPath = "/v1/empty"

// NewWithEmpty is New with one more route, POST /v1/empty for the roles of POST
// /v1/quotes, behind the same middleware as every route (request id, logging, metrics,
// the bearer token and its role), whose handler reads the body and answers 204: what a
// request costs the API before any handler work, the baseline of BenchmarkQuoteCPU.
func NewWithEmpty(cfg Config) *echo.Echo {
	s, e := newServer(cfg)
	var quotes route
	for _, r := range routeTable {
		if r.method == http.MethodPost && r.path == "/v1/quotes" {
			quotes = r
		}
	}
	empty := route{method: http.MethodPost, path: EmptyPath, roles: quotes.roles, handle: func(_ *server, c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}}
	s.routeOf[EmptyPath] = EmptyPath
	e.Add(empty.method, empty.path, s.authorize(empty, empty.handle))
	return e
}

// RoutesMarkdown returns ROUTES.md: the routes and their roles as a Markdown table.
func RoutesMarkdown() string {
	var b strings.Builder
	b.WriteString("# API routes and roles\n\n")
	b.WriteString("Generated from `routeTable` in `api/routes.go` by `api.RoutesMarkdown`; ")
	b.WriteString("`go test ./api -run TestRoutesMarkdown -update` rewrites it.\n\n")
	b.WriteString("| method | path | roles | what |\n| --- | --- | --- | --- |\n")
	for _, r := range routeTable {
		roles := "none (no token)"
		if r.roles != nil {
			roles = strings.Join(r.roles, ", ")
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.method, r.path, roles, r.summary)
	}
	b.WriteString(`
Every route but the four without a token needs ` + "`Authorization: Bearer <token>`" + `: none or an
unknown token is 401, a role not listed is 403. A clinic token acts only for its providers:
it settles and quotes only claims whose ` + "`provider_id`" + ` is one of them (403 otherwise), and
another provider's settlement or claim is to it as if missing: reading or reversing it is the
same 404 as an id not on file, and settling a claim_id another provider settled is a 409 that
names no field and no value. Roles: clinic (settle at discharge), auditor (reads everything), finance
(reports and policies), admin (everything, and the only one to publish policies and
upsert persons and providers).

Errors are RFC 9457 ` + "`application/problem+json`" + `: ` + "`{type, title, status, detail, errors: [{field, rule}], request_id}`" + `.
400 a malformed request (not JSON, a bad query parameter); 413 a body over 1 MiB; 415 a
content type the route does not take; 422 well-formed input that breaks a rule, every field
and rule listed, including a claim's unknown person or provider (they are fields of the
claim, not the resource asked for); 404 the resource in the path does not exist (or, for a
clinic, is another provider's); 409 a claim_id already settled with other values (the
differing fields listed when the claim is the caller's own, none when it is another
provider's), a second reversal, a policy version that exists or overlaps; 503 with
Retry-After the database does not answer or cannot serve yet (starting up, shutting down,
refusing connections); 500 anything else, whose details go to the log under the request id,
never to the client.
Nothing is stored on any error.
`)
	b.WriteString("\n## Requests\n\n")
	b.WriteString("Each route's query parameters, request body and one request it accepts, as sent to a server\n")
	b.WriteString("on its default address with the shipped fixtures loaded (`hpcalc serve --load-fixtures`);\n")
	b.WriteString("`$TOKEN` is a token of a role the route lists. The same examples are in `/openapi.json`.\n")
	for _, r := range routeTable {
		fmt.Fprintf(&b, "\n### %s `%s`\n\n", r.method, r.path)
		for _, part := range strings.Split(r.path, "/") {
			if name, ok := strings.CutPrefix(part, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				fmt.Fprintf(&b, "- path `%s`: %s\n", name, pathParams[r.path+":"+name].description)
			}
		}
		for _, q := range r.query {
			req := "optional"
			if q.required {
				req = "required"
			}
			fmt.Fprintf(&b, "- query `%s` (%s): %s\n", q.name, req, q.description)
		}
		switch {
		case r.bodyMultipart && r.withRegister:
			b.WriteString("- body: `multipart/form-data` with the CSV files `claims` and `paid`, optionally `persons` and `providers`\n")
		case r.bodyMultipart:
			b.WriteString("- body: `multipart/form-data` with the CSV files `claims` and `paid`\n")
		case r.bodyYAML:
			b.WriteString("- body: `application/yaml` or `application/json`, a policy document as `fixtures/policies/*.yaml`\n")
		case r.body != "":
			types := "`application/json`"
			if r.bodyCSV {
				types += " or `text/csv`"
			}
			fmt.Fprintf(&b, "- body: %s, %s: %s\n", types, r.body, bodyFields(r.body))
		}
		if r.query == nil && r.body == "" && !r.bodyYAML && !r.bodyMultipart && !strings.Contains(r.path, "{") {
			b.WriteString("- no parameters, no body\n")
		}
		if _, ok := schemas()[r.okSchema].(obj); ok {
			fmt.Fprintf(&b, "- answer %d: %s, %s\n", r.ok, r.okSchema, bodyFields(r.okSchema))
		}
		b.WriteString("\n```sh\n" + curl(r) + "\n```\n")
		if r.bodyMultipart {
			for _, name := range []string{"claims", "paid"} {
				fmt.Fprintf(&b, "\n%s.csv:\n\n```csv\n%s```\n", name, r.parts[name])
			}
		}
	}
	return b.String()
}

// bodyFields lists the fields of a request schema, required ones first.
func bodyFields(name string) string {
	s := schemas()[name].(obj)
	prefix := ""
	if s["type"] == "array" {
		prefix = "an array of "
		ref := s["items"].(obj)["$ref"].(string)
		name = ref[strings.LastIndex(ref, "/")+1:]
		s = schemas()[name].(obj)
		prefix += name + ", "
	}
	required, _ := s["required"].([]string)
	var optional []string
	for f := range s["properties"].(obj) {
		if !slices.Contains(required, f) {
			optional = append(optional, f)
		}
	}
	sort.Strings(optional)
	out := prefix + "fields " + "`" + strings.Join(required, "`, `") + "`"
	if optional != nil {
		out += "; optional `" + strings.Join(optional, "`, `") + "`"
	}
	return out
}

// curl is one request the route accepts, as a curl command.
func curl(r route) string {
	path := r.path
	for _, part := range strings.Split(r.path, "/") {
		if name, ok := strings.CutPrefix(part, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			path = strings.Replace(path, part, pathParams[r.path+":"+name].example, 1)
		}
	}
	if r.query != nil {
		q := url.Values{}
		for _, p := range r.query {
			q.Set(p.name, p.example)
		}
		path += "?" + q.Encode()
	}
	cmd := "curl"
	if r.method != "GET" {
		cmd += " -X " + r.method
	}
	if r.roles != nil {
		cmd += ` -H "Authorization: Bearer $TOKEN"`
	}
	switch {
	case r.bodyMultipart:
		cmd += " -F claims=@claims.csv -F paid=@paid.csv"
	case r.bodyYAML:
		cmd += " -H 'Content-Type: application/yaml' --data-binary @fixtures/" + fixtures.PolicyFile
	case r.body != "":
		cmd += " -H 'Content-Type: application/json' \\\n  -d '" + r.example + "'"
	}
	return cmd + " \\\n  'http://127.0.0.1:8080" + path + "'"
}

// RequestExample is one request a route accepts, as the OpenAPI document and ROUTES.md show it.
type RequestExample struct {
	Method, Path string // Path with the path parameters' examples and the query's
	Roles        []string
	OK           int
	ContentType  string            // "" for no body; multipart/form-data for Parts
	Body         []byte            // a JSON or YAML body
	Parts        map[string]string // the files of a multipart body
}

// RequestExamples returns the example request of every route.
func RequestExamples() []RequestExample {
	var out []RequestExample
	for _, r := range routeTable {
		x := RequestExample{Method: r.method, Roles: r.roles, OK: r.ok}
		// curl's last line is the URL; reuse it so the test sends what ROUTES.md shows.
		lines := strings.Split(curl(r), "\n")
		last := lines[len(lines)-1]
		x.Path = strings.TrimPrefix(strings.Trim(strings.TrimSpace(last), "'"), "http://127.0.0.1:8080")
		switch {
		case r.bodyMultipart:
			x.ContentType, x.Parts = "multipart/form-data", r.parts
		case r.bodyYAML:
			x.ContentType, x.Body = "application/yaml", policyExample
		case r.body != "":
			x.ContentType, x.Body = "application/json", []byte(r.example)
		}
		out = append(out, x)
	}
	return out
}
