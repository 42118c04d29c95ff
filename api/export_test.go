package api

// ROUTES.md is made from the route table by the tests only, which keep it equal to the
// table.

import (
	"fmt"
	"strings"
)

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
it settles, quotes, reverses and reads only claims whose ` + "`provider_id`" + ` is one of them (403
otherwise). Roles: clinic (settle at discharge), auditor (reads everything), finance
(reports and policies), admin (everything, and the only one to publish policies and
upsert persons and providers).

Errors are RFC 9457 ` + "`application/problem+json`" + `: ` + "`{type, title, status, detail, errors: [{field, rule}], request_id}`" + `.
400 a malformed request (not JSON, a bad query parameter); 413 a body over 1 MiB; 415 a
content type the route does not take; 422 well-formed input that breaks a rule, every field
and rule listed, including a claim's unknown person or provider (they are fields of the
claim, not the resource asked for); 404 the resource in the path does not exist; 409 a
claim_id already settled with other values (the differing fields listed), a second
reversal, a policy version that exists or overlaps; 503 with Retry-After the database does
not answer or cannot serve yet (starting up, shutting down, refusing connections); 500
anything else, whose details go to the log under the request id, never to the client.
Nothing is stored on any error.
`)
	return b.String()
}
