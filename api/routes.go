package api

import (
	"io/fs"
	"net/http"
	"slices"

	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/labstack/echo/v4"
)

// Roles, as store names them.
const (
	clinic  = store.RoleClinic
	auditor = store.RoleAuditor
	finance = store.RoleFinance
	admin   = store.RoleAdmin
)

// route is one route of the API: who may call it, what it does, and what the OpenAPI
// document says of it.
type route struct {
	method string
	path   string   // as OpenAPI writes it: /v1/settlements/{id}
	roles  []string // the roles that may call it; nil: no token needed
	// summary is one line for ROUTES.md and the OpenAPI document.
	summary string
	handle  func(*server, echo.Context) error

	// For the OpenAPI document.
	query    []param // query parameters
	body     string  // request body schema (a name in components.schemas), "" for none
	bodyCSV  bool    // the body may also be text/csv
	bodyYAML bool    // the body is a policy document, YAML or JSON
	// bodyMultipart: the body is multipart/form-data with the CSV files claims and paid,
	// whose example is parts; withRegister: also, optionally, persons and providers.
	bodyMultipart bool
	parts         map[string]string
	withRegister  bool
	ok            int      // status of success
	alsoOK        int      // another status of success, 0 if none
	okSchema      string   // response schema, "" for none
	okCSV         bool     // the response may also be text/csv
	okXLSX        bool     // the response may also be an xlsx workbook
	problems      []int    // problem statuses beyond those every route may answer
	notes         []string // extra sentences for the OpenAPI description
	// example is a request body that the route accepts, as JSON text, for the OpenAPI
	// document and ROUTES.md; TestRequestExamples sends each one. Policies and audits,
	// whose bodies are not JSON, take theirs from policyExample and auditExample.
	example string
}

// acceptBook says how the report routes answer spreadsheets.
const acceptBook = "Accept: " + workbook.MediaXLSX + " answers the report as an xlsx workbook (a sheet per table, money as numbers in yuan), Accept: text/csv as CSV (its tables one after another); JSON when neither is preferred."

// param is a query parameter.
type param struct {
	name, description, format string
	example                   string // a value the route accepts
	required                  bool
}

// exampleClaim is the first claim of the shipped fixtures (fixtures/claims.csv), which
// TestRequestExamples settles.
const exampleClaim = `{"claim_id":"C201800001","person_id":"P00248","provider_id":"CTY03","kind":"inpatient",` +
	`"admitted_on":"2017-12-21","discharged_on":"2018-01-01","total":"1530.31","in_policy":"1321.74"}`

// auditExample is the multipart body of an audit: the fixtures' first claim and a paid
// file in which another system paid nothing, so the patient paid the whole total.
var auditExample = map[string]string{
	"claims": "claim_id,person_id,provider_id,level,kind,admitted_on,discharged_on,total,in_policy\n" +
		"C201800001,P00248,CTY03,county,inpatient,2017-12-21,2018-01-01,1530.31,1321.74\n",
	"paid": "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket\n" +
		"C201800001,0.00,0.00,0.00,0.00,0.00,1530.31\n",
}

// importExample is the multipart body of an import: the fixtures' second claim (the
// examples settle the first) and what the system before hpcalc paid on it, here nothing,
// so the patient paid the whole total.
var importExample = map[string]string{
	"claims": "claim_id,person_id,provider_id,level,kind,admitted_on,discharged_on,total,in_policy\n" +
		"C201800002,P00500,OOP02,out_of_province,inpatient,2017-12-07,2018-01-01,17656.46,13878.45\n",
	"paid": "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket\n" +
		"C201800002,0.00,0.00,0.00,0.00,0.00,17656.46\n",
}

// policyExample is the body of a policy publication: the shipped policy, which the
// tests publish.
var policyExample = func() []byte {
	b, err := fs.ReadFile(fixtures.FS, fixtures.PolicyFile)
	if err != nil {
		panic(err) // the file is embedded in the binary
	}
	return b
}()

// pathParams describes the parameters in paths, by path and name.
var pathParams = map[string]param{
	"/v1/settlements/{id}:id":                   {description: "a settlement's or reversal's id, as POST /v1/settlements answers it", example: "S3f9c2a7d0b4e816c5a9d3e70"},
	"/v1/settlements/{id}/reversal:id":          {description: "the id of the settlement to reverse", example: "S3f9c2a7d0b4e816c5a9d3e70"},
	"/v1/claims/{claim_id}/settlement:claim_id": {description: "the claim_id the claim was settled with", example: "C201800001"},
	"/v1/persons/{id}/ledger:id":                {description: "a person_id of the register", example: "P00248"},
	"/v1/persons/{id}:id":                       {description: "a person_id of the register", example: "P00248"},
	"/v1/policies/{version}:version":            {description: "a published policy version", example: "pingxiang-2018"},
	"/v1/tokens/{id}:id":                        {description: "a token's id: the first 16 hex digits of its SHA-256, as GET /v1/tokens lists it", example: "3f2a9c0d4b1e7a65"},
}

// routeTable is every route of the API and the roles that may call it: the one place
// that says who may do what. A clinic token may call a route listing clinic only for
// claims of its own providers (another provider's claim is answered as if it did not exist). ROUTES.md is this table for people
// (RoutesMarkdown writes it); TestRoutesMarkdown keeps the two equal.
var routeTable = []route{
	{method: http.MethodPost, path: "/v1/settlements", roles: []string{clinic, admin},
		summary: "Settle a claim at discharge (idempotent by claim_id)", handle: (*server).settle,
		body: "Claim", example: exampleClaim, ok: http.StatusCreated, alsoOK: http.StatusOK, okSchema: "Settlement", problems: []int{400, 409, 413, 415, 422},
		notes: []string{"201 with the new settlement; 200 with the stored one when the same claim_id is sent again with the same values; 409 naming the fields that differ when sent with other values."}},
	{method: http.MethodPost, path: "/v1/quotes", roles: []string{clinic, admin},
		summary: "Compute what a claim would settle to now, with the person's register version in force on its discharge day (`person_version`); stores nothing", handle: (*server).quote,
		body: "Claim", example: exampleClaim, ok: http.StatusOK, okSchema: "Settlement", problems: []int{400, 413, 415, 422}},
	{method: http.MethodGet, path: "/v1/settlements/{id}", roles: []string{clinic, auditor, admin},
		summary: "A settlement or reversal by its id", handle: (*server).getSettlement,
		ok: http.StatusOK, okSchema: "Settlement", problems: []int{404}},
	{method: http.MethodGet, path: "/v1/claims/{claim_id}/settlement", roles: []string{clinic, auditor, admin},
		summary: "The settlement of a claim", handle: (*server).getClaimSettlement,
		ok: http.StatusOK, okSchema: "Settlement", problems: []int{404}},
	{method: http.MethodPost, path: "/v1/settlements/{id}/reversal", roles: []string{clinic, admin},
		summary: "Reverse a settlement (once), with a reason", handle: (*server).reverse,
		body: "ReversalRequest", example: `{"reason":"billed twice; the bill is settled again as C201800001-2"}`, ok: http.StatusCreated, okSchema: "Settlement", problems: []int{400, 404, 409, 413, 415, 422}},
	{method: http.MethodGet, path: "/v1/persons/{id}/ledger", roles: []string{auditor, admin},
		summary: "A person's annual ledger", handle: (*server).getLedger,
		query: []param{{name: "year", description: "calendar year, e.g. 2018", format: "int32", example: "2018", required: true}},
		ok:    http.StatusOK, okSchema: "Ledger", problems: []int{400, 404}},
	{method: http.MethodPut, path: "/v1/persons", roles: []string{admin},
		summary: "Record new versions of persons (JSON array or persons.csv), from a date on", handle: (*server).putPersons,
		body: "Persons", bodyCSV: true, example: `[{"person_id":"P00001","household_id":"H0001","registered_poor":true,"aid_category":"","valid_from":"2018-07-01"}]`, ok: http.StatusOK, okSchema: "UpsertResult", problems: []int{400, 409, 413, 415, 422},
		notes: []string{"Each person becomes a new version holding from valid_from (absent: today in China, or the beginning for a person not yet on the register) to valid_to (absent: no end); versions recorded before are never edited, the new one overrides them on its days. A person sent again with nothing changed records nothing. A person may have several versions in one body, each with valid_from, not overlapping.",
			"A person as GET /v1/persons/{id} or GET /v1/persons gives it may be changed and sent back as it is: version, when given, must still be the person's current version (the one GET gives), else the answer is 409 naming [i].version and nothing is stored, so that a change made meanwhile is not lost; recorded_at and versions are read-only and ignored. Any other member is refused with 422 naming it."}},
	{method: http.MethodGet, path: "/v1/persons", roles: []string{auditor, admin},
		summary: "A page of the register of persons, in id order", handle: (*server).listPersons,
		query: []param{
			{name: "limit", description: "persons per page, 1 to 1000 (100 when absent)", format: "int32", example: "100"},
			{name: "after", description: "the next of the page before; absent for the first page", example: "P00100"},
		},
		ok: http.StatusOK, okSchema: "PersonList", problems: []int{400},
		notes: []string{"next is the after of the following page, null on the last page; pages follow the ids, so persons upserted meanwhile neither repeat nor shift the others."}},
	{method: http.MethodGet, path: "/v1/persons/{id}", roles: []string{auditor, admin},
		summary: "A person of the register as it now stands, and every version recorded", handle: (*server).getPerson,
		ok: http.StatusOK, okSchema: "Person", problems: []int{400, 404},
		notes: []string{"The top-level fields are the version in force on the last day of the person's timeline (as GET /v1/persons lists it), recorded_at when it was recorded. versions lists every version PUT /v1/persons recorded, oldest first, each with valid_from, valid_to (null: from the beginning, no end) and recorded_at; a PUT that changes nothing records no version. recorded_at is null for a version from before versions were kept."}},
	{method: http.MethodPut, path: "/v1/providers", roles: []string{admin},
		summary: "Insert or replace providers (JSON array or providers.csv)", handle: (*server).putProviders,
		body: "Providers", bodyCSV: true, example: `[{"provider_id":"TWN01","name":"乡镇卫生院 1 (township health centre)","level":"township"}]`, ok: http.StatusOK, okSchema: "UpsertResult", problems: []int{400, 413, 415, 422}},
	{method: http.MethodGet, path: "/v1/policies", roles: []string{auditor, finance, admin},
		summary: "Published policy versions and their periods", handle: (*server).listPolicies,
		ok: http.StatusOK, okSchema: "PolicyList"},
	{method: http.MethodGet, path: "/v1/policies/{version}", roles: []string{auditor, finance, admin},
		summary: "A published policy document, as published", handle: (*server).getPolicy,
		ok: http.StatusOK, problems: []int{404}},
	{method: http.MethodPost, path: "/v1/policies", roles: []string{admin},
		summary: "Publish a policy version (YAML or JSON)", handle: (*server).publishPolicy,
		bodyYAML: true, ok: http.StatusCreated, okSchema: "PolicyVersion", problems: []int{409, 413, 415, 422},
		notes: []string{"409 if the version exists or its period overlaps a published one."}},
	{method: http.MethodPost, path: "/v1/tokens", roles: []string{admin},
		summary: "Create an API token (shown once; only its SHA-256 is kept)", handle: (*server).createToken,
		body: "TokenRequest", example: `{"role":"clinic","providers":["CTY03"],"note":"county hospital 3, discharge desk"}`, ok: http.StatusCreated, okSchema: "Token", problems: []int{400, 413, 415, 422},
		notes: []string{"The answer is the only time the token is shown. A clinic token needs at least one provider; other roles take none."}},
	{method: http.MethodGet, path: "/v1/tokens", roles: []string{admin},
		summary: "API tokens on file, revoked ones too, without the tokens themselves", handle: (*server).listTokens,
		ok: http.StatusOK, okSchema: "TokenList"},
	{method: http.MethodDelete, path: "/v1/tokens/{id}", roles: []string{admin},
		summary: "Revoke an API token", handle: (*server).revokeToken,
		ok: http.StatusOK, okSchema: "Token", problems: []int{404, 409},
		notes: []string{"The token stops authenticating at once on this server and on other replicas of a PostgreSQL deployment as soon as they hear of it (at most 30 s should that news be lost). 409 if it is already revoked."}},
	{method: http.MethodPost, path: "/v1/replays", roles: []string{auditor, admin},
		summary: "Audit replay: re-settle a period's stored claims from scratch and list every difference and its likely cause", handle: (*server).replay,
		body: "ReplayRequest", example: `{"from":"2018-01-01","to":"2018-12-31","policy":"in-force"}`, ok: http.StatusOK, okSchema: "AuditReport", okCSV: true, okXLSX: true, problems: []int{400, 413, 415, 422},
		notes: []string{"Reversed claims are left out. policy is \"in-force\" (each claim under the version in force on its discharge day) or a published version for every claim.", acceptBook}},
	{method: http.MethodPost, path: "/v1/audits", roles: []string{auditor, admin},
		summary: "Audit from files: compare what another system paid on each claim with what the rules give, and name the rule behind every difference", handle: (*server).auditFiles,
		bodyMultipart: true, parts: auditExample, withRegister: true, ok: http.StatusOK, okSchema: "PaidAuditReport", okCSV: true, okXLSX: true, problems: []int{400, 413, 415, 422},
		notes: []string{"A multipart/form-data body with the CSV files claims and paid (the columns hpcalc replay --out writes), and optionally persons and providers (the stored register and providers otherwise), at most 256 MiB. The claims are replayed from scratch under the published policies; a claim in one file and not the other is listed. Each differing claim names its root (the first line in cascade order that differs; later lines follow from it) and every rule that reproduces what was paid, found by settling the claim under it: knock_on, not_eligible, deductible, rate, cap_not_applied, cap_early, or none. A bad row of any file is a 422 naming the file, line, column and rule; paid amounts must sum to the claim's total.", acceptBook}},
	{method: http.MethodPost, path: "/v1/imports", roles: []string{admin},
		summary: "Import claims the system before hpcalc settled, with what it paid on each, opening the person-year ledgers", handle: (*server).importPaid,
		bodyMultipart: true, parts: importExample, ok: http.StatusCreated, okSchema: "ImportReport", problems: []int{400, 409, 413, 415, 422},
		notes: []string{"For a county going live in the middle of a year. A multipart/form-data body with the CSV files claims and paid (the columns hpcalc replay --out writes), at most 256 MiB. Each claim is stored as settled with the amounts paid, marked imported, under the published version in force on its discharge day, and each person-year's ledger is built from those amounts in discharge order, so that claims settled afterwards continue the year. Persons and providers must be stored. All claims are stored in one transaction, or none: a bad row of either file, amounts that are negative or do not sum to the claim's total, a claim without a paid row or a paid row without a claim, an unknown person or provider is a 422 naming the file, line, column and rule; a claim already stored, or of a person-year with stored claims, a 409 naming them alike."}},
	{method: http.MethodPost, path: "/v1/whatif", roles: []string{finance, admin},
		summary: "What-if: what a policy change would have cost on a period's stored claims, per line, level, kind, aid category and household", handle: (*server).whatIf,
		body: "WhatIfRequest", example: `{"from":"2018-01-01","to":"2018-12-31","change":"commercial: {in_policy_rate: 0.50}","top":10}`, ok: http.StatusOK, okSchema: "WhatIfReport", okCSV: true, okXLSX: true, problems: []int{400, 413, 415, 422},
		notes: []string{"change is a partial policy document (YAML or JSON, as a string) applied to every published version; it is validated like a policy.", acceptBook}},
	{method: http.MethodPost, path: "/v1/sweeps", roles: []string{finance, admin},
		summary: "Sweep: each line's cost on a period's stored claims as one parameter varies over a range", handle: (*server).sweep,
		body: "SweepRequest", example: `{"from":"2018-01-01","to":"2018-12-31","field":"backstop.oop_ceiling","start":"0.05","stop":"0.15","step":"0.01"}`, ok: http.StatusOK, okSchema: "SweepReport", problems: []int{400, 413, 415, 422},
		notes: []string{"field is a parameter's dotted path, e.g. backstop.oop_ceiling; start, stop and step are decimals; at most 100 steps."}},
	{method: http.MethodGet, path: "/v1/reports/tally", roles: []string{auditor, finance, admin},
		summary: "Totals per line net of reversals and adjustments, in yuan and 万元 (JSON, CSV or xlsx)", handle: (*server).tally,
		query: []param{
			{name: "from", description: "first discharge day, YYYY-MM-DD", format: "date", example: "2018-01-01", required: true},
			{name: "to", description: "last discharge day, YYYY-MM-DD", format: "date", example: "2018-12-31", required: true},
			{name: "format", description: "json (default), csv or xlsx; without it, the Accept header chooses (text/csv, " + workbook.MediaXLSX + ")", example: "csv"},
		},
		ok: http.StatusOK, okSchema: "Tally", okCSV: true, okXLSX: true, problems: []int{400, 406}},
	{method: http.MethodPost, path: "/v1/reconciliations", roles: []string{auditor, admin},
		summary: "Reconciliation: settle each person-year of a period again in discharge order and book every difference as an adjustment", handle: (*server).reconcile,
		body: "ReconciliationRequest", example: `{"from":"2018-01-01","to":"2018-12-31","person_id":"P00248","apply":false}`, ok: http.StatusOK, alsoOK: http.StatusCreated, okSchema: "Reconciliation", problems: []int{400, 403, 413, 415, 422},
		notes: []string{"Every person-year with a standing claim discharged in the period (of person_id only, if given) is re-settled whole, in the order of POLICY.md, under each claim's own policy version. With apply false (the default) nothing is stored and the answer lists what would be booked; an auditor may run it so. With apply true (admin only; 403 otherwise) each difference is booked as an adjustment with cause out_of_order, and the answer is 201 if anything was booked. Applied twice, the second books nothing. A rise of a patient's share is paid by the backstop (correction); a fall is a refund owed. Each person-year is re-settled in a transaction of its own: if the database fails part way, the problem's detail says at which person-year it stopped and how many were booked before; the same request again completes it, booking nothing twice."}},
	{method: http.MethodGet, path: "/v1/reports/refunds", roles: []string{auditor, finance, admin},
		summary: "Refunds owed to patients by adjustments, per person, with the claims and causes (JSON, CSV or xlsx)", handle: (*server).refunds,
		query: []param{
			{name: "from", description: "first discharge day, YYYY-MM-DD", format: "date", example: "2018-01-01", required: true},
			{name: "to", description: "last discharge day, YYYY-MM-DD", format: "date", example: "2018-12-31", required: true},
			{name: "format", description: "json (default), csv or xlsx; without it, the Accept header chooses (text/csv, " + workbook.MediaXLSX + ")", example: "xlsx"},
		},
		ok: http.StatusOK, okSchema: "Refunds", okCSV: true, okXLSX: true, problems: []int{400, 406}},
	{method: http.MethodGet, path: "/healthz", summary: "The process is up", handle: (*server).healthz,
		ok: http.StatusOK, okSchema: "Status"},
	{method: http.MethodGet, path: "/readyz", summary: "The database answers (503 if not)", handle: (*server).readyz,
		ok: http.StatusOK, okSchema: "Status"},
	{method: http.MethodGet, path: "/metrics", summary: "Prometheus metrics (text format)", handle: (*server).serveMetrics,
		ok: http.StatusOK},
	{method: http.MethodGet, path: "/openapi.json", summary: "This API's OpenAPI 3 document", handle: (*server).serveOpenAPI,
		ok: http.StatusOK},
}

// Route is one route of the API and the roles that may call it.
type Route struct {
	Method  string
	Path    string   // as OpenAPI writes it: /v1/settlements/{id}
	Roles   []string // nil for a route that needs no token
	Summary string
}

// Routes returns every route of the API. A clinic token may call a route that lists
// store.RoleClinic only for claims of its own providers.
func Routes() []Route {
	out := make([]Route, len(routeTable))
	for i, r := range routeTable {
		out[i] = Route{Method: r.method, Path: r.path, Roles: slices.Clone(r.roles), Summary: r.summary}
	}
	return out
}
