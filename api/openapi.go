package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/workbook"
)

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

// openAPIDocument is the OpenAPI 3 document of the API, made from routeTable so that
// the two cannot drift apart.
func openAPIDocument() []byte {
	paths := obj{}
	for _, r := range routeTable {
		item, _ := paths[r.path].(obj)
		if item == nil {
			item = obj{}
			paths[r.path] = item
		}
		item[strings.ToLower(r.method)] = operation(r)
	}
	doc := obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "hpcalc",
			"version": "1",
			"description": "Settlement of claims through the five safety lines of health poverty alleviation " +
				"(健康扶贫五道保障线), exact to the fen. Money is a JSON string of yuan with two decimals " +
				"(\"1234.50\"), never a JSON number. Errors are RFC 9457 application/problem+json.",
		},
		"paths": paths,
		"components": obj{
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer",
				"description": "An API token (hpcalc token create); its role decides what it may call."}},
			"schemas":   schemas(),
			"responses": problemResponses(),
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // the document is made of maps, strings and numbers only
	}
	return append(b, '\n')
}

func operation(r route) obj {
	op := obj{
		"operationId": operationID(r),
		"summary":     r.summary,
	}
	desc := "No token needed."
	if r.roles != nil {
		desc = "Roles: " + strings.Join(r.roles, ", ") + "."
		for _, role := range r.roles {
			if role == clinic {
				desc += " A clinic token acts only for claims of its own providers: a claim naming another provider is 403; " +
					"another provider's settlement or claim is 404 as if missing, and its claim_id sent again is a 409 naming no field."
			}
		}
		op["security"] = []obj{{"bearer": []string{}}}
		op["x-roles"] = r.roles
	} else {
		op["security"] = []obj{}
	}
	for _, n := range r.notes {
		desc += " " + n
	}
	op["description"] = desc

	var params []obj
	for _, part := range strings.Split(r.path, "/") {
		if strings.HasPrefix(part, "{") {
			name := strings.Trim(part, "{}")
			pp := pathParams[r.path+":"+name]
			params = append(params, obj{"name": name, "in": "path", "required": true, "schema": obj{"type": "string"},
				"description": pp.description, "example": pp.example})
		}
	}
	for _, q := range r.query {
		schema := obj{"type": "string"}
		if q.format == "int32" {
			schema = obj{"type": "integer", "format": "int32"}
		} else if q.format != "" {
			schema["format"] = q.format
		}
		if q.name == "format" {
			schema["enum"] = []string{"json", "csv", "xlsx"}
		}
		var example any = q.example
		if q.format == "int32" {
			n, err := strconv.Atoi(q.example)
			if err != nil {
				panic("example of query parameter " + q.name + ": " + err.Error()) // the route table is wrong
			}
			example = n
		}
		params = append(params, obj{"name": q.name, "in": "query", "required": q.required, "description": q.description, "schema": schema, "example": example})
	}
	if params != nil {
		op["parameters"] = params
	}

	switch {
	case r.bodyMultipart:
		file := func(desc string) obj { return obj{"type": "string", "format": "binary", "description": desc} }
		props := obj{
			"claims": file("claims CSV: " + strings.Join(csvdata.ClaimColumns, ",")),
			"paid":   file("what was paid on each claim, CSV: " + strings.Join(csvdata.PaidColumns, ",") + " (yuan)"),
		}
		if r.withRegister {
			props["persons"] = file("persons CSV: " + strings.Join(csvdata.PersonColumns, ",") + "; the stored register when absent")
			props["providers"] = file("providers CSV: " + strings.Join(csvdata.ProviderColumns, ",") + "; the stored providers when absent")
		}
		op["requestBody"] = obj{"required": true, "content": obj{"multipart/form-data": obj{"example": r.parts, "schema": object([]string{"claims", "paid"}, props)}}}
	case r.bodyYAML:
		op["requestBody"] = obj{"required": true, "description": "A policy document as fixtures/policies/*.yaml.", "content": obj{
			"application/yaml": obj{"schema": obj{"type": "string"}, "example": string(policyExample)},
			"application/json": obj{"schema": obj{"type": "object"}},
		}}
	case r.body != "":
		var example any
		if err := json.Unmarshal([]byte(r.example), &example); err != nil {
			panic("example of " + r.method + " " + r.path + ": " + err.Error()) // the route table is wrong
		}
		content := obj{"application/json": obj{"schema": ref(r.body), "example": example}}
		if r.bodyCSV {
			content["text/csv"] = obj{"schema": obj{"type": "string"}}
		}
		op["requestBody"] = obj{"required": true, "content": content}
	}

	responses := obj{}
	ok := obj{"description": http.StatusText(r.ok)}
	switch {
	case r.okSchema != "":
		content := obj{"application/json": obj{"schema": ref(r.okSchema)}}
		if r.okCSV {
			content["text/csv"] = obj{"schema": obj{"type": "string"}}
		}
		if r.okXLSX {
			content[workbook.MediaXLSX] = obj{"schema": obj{"type": "string", "format": "binary"}}
		}
		ok["content"] = content
	case r.path == "/metrics":
		ok["content"] = obj{"text/plain": obj{"schema": obj{"type": "string"}}}
	case r.path == "/openapi.json":
		ok["content"] = obj{"application/json": obj{"schema": obj{"type": "object"}}}
	case r.path == "/v1/policies/{version}":
		ok["content"] = obj{"application/yaml": obj{"schema": obj{"type": "string"}}, "application/json": obj{"schema": obj{"type": "object"}}}
	}
	responses[strconv.Itoa(r.ok)] = ok
	if r.alsoOK != 0 {
		responses[strconv.Itoa(r.alsoOK)] = obj{"description": http.StatusText(r.alsoOK), "content": ok["content"]}
	}
	statuses := append([]int{}, r.problems...)
	if r.roles != nil {
		statuses = append(statuses, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable)
	}
	if r.path == "/readyz" {
		statuses = append(statuses, http.StatusServiceUnavailable)
	}
	statuses = append(statuses, http.StatusInternalServerError)
	for _, st := range statuses {
		responses[strconv.Itoa(st)] = obj{"$ref": "#/components/responses/" + strconv.Itoa(st)}
	}
	op["responses"] = responses
	return op
}

// operationID is e.g. postV1SettlementsIdReversal.
func operationID(r route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.method))
	for _, part := range strings.FieldsFunc(r.path, func(c rune) bool { return c == '/' || c == '{' || c == '}' || c == '_' || c == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func problemResponses() obj {
	out := obj{}
	for _, k := range kinds {
		out[strconv.Itoa(k.status)] = obj{
			"description": k.title + " (type " + k.typeURI() + ")",
			"content":     obj{"application/problem+json": obj{"schema": ref("Problem")}},
		}
	}
	return out
}

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func moneyField(desc string) obj {
	return obj{"type": "string", "pattern": `^-?[0-9]+\.[0-9]{2}$`, "example": "1234.50", "description": desc}
}

func rateField(desc string) obj {
	return obj{"type": "string", "example": "0.85", "description": "a decimal fraction; " + desc}
}

func object(required []string, props obj) obj {
	o := obj{"type": "object", "properties": props, "additionalProperties": false}
	if required != nil {
		o["required"] = required
	}
	return o
}

func causeKinds() []string {
	var out []string
	for _, k := range batch.Kinds() {
		out = append(out, string(k))
	}
	return out
}

func names[T interface{ String() string }](list []T) []string {
	var out []string
	for _, v := range list {
		out = append(out, v.String())
	}
	return out
}

func schemas() obj {
	moneyIn := obj{"type": "string", "example": "1234.50",
		"description": "yuan with at most two decimals, as a JSON string (never a number); 0 to 100,000,000.00"}
	dateIn := obj{"type": "string", "format": "date", "example": "2018-03-07"}
	id := obj{"type": "string", "minLength": 1, "maxLength": calc.MaxIDLen, "description": "an id: 1 to 64 bytes of letters, digits, '.', '_' and '-'"}
	ledger := obj{"person_id": str("")}
	ledgerReq := []string{"year", "claims"}
	ledger["year"] = obj{"type": "integer"}
	ledger["claims"] = obj{"type": "integer", "description": "claims settled this year, net of reversals"}
	for _, f := range []struct{ name, desc string }{
		{"basic_inpatient", "basic insurance paid on inpatient claims"},
		{"basic_chronic", "basic insurance paid on outpatient_chronic claims"},
		{"basic_paid", "both together"},
		{"critical_burden", "the accumulated critical-illness burden"},
		{"critical_paid", ""}, {"commercial_paid", ""}, {"aid_paid", ""}, {"backstop_paid", ""},
		{"out_of_pocket", ""}, {"total", "total cost of the year's claims"},
	} {
		ledger[f.name] = moneyField(f.desc)
		ledgerReq = append(ledgerReq, f.name)
	}
	return obj{
		"Claim": object(claimFields, obj{
			"claim_id":      id,
			"person_id":     id,
			"provider_id":   obj{"type": "string", "description": "the provider; its level is the claim's"},
			"kind":          obj{"type": "string", "enum": names(calc.Kinds())},
			"admitted_on":   dateIn,
			"discharged_on": obj{"type": "string", "format": "date", "description": "on or after admitted_on; picks the policy and the ledger year"},
			"total":         moneyIn,
			"in_policy":     obj{"type": "string", "example": "1000.00", "description": "the in-policy part of total, at most total; money as for total"},
		}),
		"Settlement": object([]string{"type", "claim_id", "person_id", "kind", "level", "aid_category", "year", "policy_version",
			"total", "in_policy", "lines", "out_of_pocket", "ledger_after"}, obj{
			"type":           obj{"type": "string", "enum": []string{"settlement", "reversal", "quote"}},
			"settlement_id":  str("absent in a quote"),
			"reverses":       str("for a reversal: the settlement it reverses"),
			"reversed_by":    str("for a reversed settlement: its reversal"),
			"reason":         str("for a reversal: why"),
			"imported":       obj{"type": "boolean", "description": "present and true for a claim imported with what the system before hpcalc paid (POST /v1/imports), and its reversal: the lines hold the amounts paid, without workings"},
			"claim_id":       str(""),
			"person_id":      str(""),
			"provider_id":    str(""),
			"kind":           obj{"type": "string", "enum": names(calc.Kinds())},
			"level":          obj{"type": "string", "enum": names(calc.Levels())},
			"aid_category":   obj{"type": "string", "enum": []string{"none", "dibao", "tekun"}},
			"year":           obj{"type": "integer", "description": "the ledger year: the discharge year"},
			"policy_version": str(""),
			"person_version": obj{"type": "integer", "description": "the register version of the person (GET /v1/persons/{id}): a stored settlement's, the one it was settled with (absent for one stored before versions were kept); a quote's, the one in force on the claim's discharge day, which a settlement made now would record"},
			"total":          moneyField(""),
			"in_policy":      moneyField(""),
			"lines":          obj{"type": "array", "minItems": 5, "maxItems": 5, "items": ref("Line"), "description": "basic, critical, commercial, aid, backstop, in cascade order; for a reversal, what is given back"},
			"out_of_pocket":  moneyField("what the patient pays"),
			"ledger_after":   ref("Ledger"),
			"created_at":     obj{"type": "string", "format": "date-time"},
			"corrections":    ref("Corrections"),
		}),
		"Corrections": object([]string{"adjustments"}, obj{
			"original":    ref("Amounts"),
			"now":         ref("Amounts"),
			"adjustments": obj{"type": "array", "items": ref("Adjustment")},
		}),
		"Amounts": object([]string{"lines", "out_of_pocket"}, obj{
			"lines":         obj{"type": "object", "additionalProperties": moneyField(""), "description": "by line: basic, critical, commercial, aid, backstop"},
			"out_of_pocket": moneyField(""),
		}),
		"Adjustment": object([]string{"adjustment_id", "settlement_id", "claim_id", "person_id", "cause", "cause_id", "lines", "out_of_pocket", "refund", "correction", "burden", "created_at"}, obj{
			"adjustment_id": str(""),
			"settlement_id": str("the settlement it corrects"),
			"claim_id":      str(""),
			"person_id":     str(""),
			"cause":         obj{"type": "string", "enum": []string{store.CauseReversal, store.CauseOutOfOrder}},
			"cause_id":      str("the reversal's id, or the reconciliation's"),
			"lines":         obj{"type": "object", "additionalProperties": moneyField(""), "description": "the difference by line"},
			"out_of_pocket": moneyField("the difference for the patient: never above zero, except where a reversal takes back an earlier refund"),
			"refund":        moneyField("owed to the patient"),
			"correction":    moneyField("the rise of the patient's share that the backstop pays instead"),
			"burden":        moneyField("the difference of the claim's slice of the critical-illness burden"),
			"created_at":    obj{"type": "string", "format": "date-time"},
		}),
		"Line": object([]string{"name", "applies", "amount", "base", "deductible", "computed", "cap_room", "explanation"}, obj{
			"name":       obj{"type": "string", "enum": names(calc.Lines())},
			"applies":    obj{"type": "boolean", "description": "the person is eligible for this line"},
			"amount":     moneyField("what the line pays"),
			"base":       moneyField("basic: in-policy cost; critical: this claim's slice of the annual burden; commercial and aid: the in-policy remainder; backstop: the patient's share"),
			"deductible": moneyField("basic: per bill; critical: annual; backstop: the ceiling the patient pays at most"),
			"rate":       rateField("absent for critical, whose bands say it"),
			"bands": obj{"type": "array", "items": ref("Band"),
				"description": "critical only: the bands the claim's slice fell in"},
			"base_out":    moneyField("commercial only: the out-of-policy remainder"),
			"rate_out":    rateField("commercial only: the rate on base_out"),
			"computed":    moneyField("the amount before the annual cap"),
			"cap_room":    obj{"type": "string", "nullable": true, "description": "room under the annual cap before this claim; null when the line has no cap or does not apply"},
			"explanation": str("one line for people, e.g. basic: 85% × (6,000.00 − 200.00) = 4,930.00"),
		}),
		"Band": object([]string{"from", "to", "rate"}, obj{
			"from": moneyField("burden range start"), "to": moneyField("burden range end (exclusive)"), "rate": rateField(""),
		}),
		"Ledger":          object(ledgerReq, ledger),
		"ReversalRequest": object([]string{"reason"}, obj{"reason": obj{"type": "string", "minLength": 1, "maxLength": maxReason}}),
		"Person": object([]string{"person_id", "household_id", "registered_poor"}, obj{
			"person_id": id, "household_id": id, "registered_poor": obj{"type": "boolean"},
			"aid_category": obj{"type": "string", "enum": []string{"", "none", "dibao", "tekun"}},
			"version":      obj{"type": "integer", "description": "the version in force on the last day of the person's timeline"},
			"recorded_at": obj{"type": "string", "format": "date-time", "nullable": true,
				"description": "GET /v1/persons/{id}: when the PUT /v1/persons (or import) that recorded version committed; null for a version from before versions were kept"},
			"versions": obj{"type": "array", "items": ref("PersonVersion"), "description": "GET /v1/persons/{id}: every version recorded, oldest first; a later one overrides an earlier one on the days it holds"},
		}),
		"PersonIn": object([]string{"person_id", "household_id", "registered_poor"}, obj{
			"person_id": id, "household_id": id, "registered_poor": obj{"type": "boolean"},
			"aid_category": obj{"type": "string", "enum": []string{"", "none", "dibao", "tekun"}},
			"valid_from": obj{"type": "string", "format": "date", "nullable": true,
				"description": "the first day of the new version; absent: today (China), or the beginning for a person not yet on the register"},
			"valid_to": obj{"type": "string", "format": "date", "nullable": true, "description": "the version's last day; absent: no end"},
			"version": obj{"type": "integer", "minimum": 1, "nullable": true,
				"description": "a precondition: the version GET /v1/persons/{id} gave (the one in force on the last day of the person's timeline); if the register holds another now, nothing is stored and the answer is 409. Absent or null: no check"},
			"recorded_at": obj{"type": "string", "nullable": true,
				"description": "read-only, as GET /v1/persons/{id} gives it: accepted and ignored"},
			"versions": obj{"type": "array", "nullable": true, "items": obj{},
				"description": "read-only, as GET /v1/persons/{id} gives it: accepted and ignored; recorded versions are never edited (a change to a past period is a new version with valid_from and valid_to)"},
		}),
		"PersonVersion": object([]string{"version", "valid_from", "valid_to", "household_id", "registered_poor", "aid_category", "recorded_at"}, obj{
			"version":      obj{"type": "integer"},
			"valid_from":   obj{"type": "string", "format": "date", "nullable": true, "description": "null: from the beginning"},
			"valid_to":     obj{"type": "string", "format": "date", "nullable": true, "description": "null: no end"},
			"household_id": id, "registered_poor": obj{"type": "boolean"},
			"aid_category": obj{"type": "string", "enum": []string{"none", "dibao", "tekun"}},
			"recorded_at": obj{"type": "string", "format": "date-time", "nullable": true,
				"description": "when the PUT /v1/persons (or import) that recorded the version committed; a PUT that changes nothing records nothing; null for the version migration 0013 made of a person on file before versions were kept"},
		}),
		"Persons": obj{"type": "array", "items": ref("PersonIn"),
			"description": "or, as text/csv, persons.csv: person_id,household_id,registered_poor,aid_category and, optionally, valid_from,valid_to (more columns ignored)"},
		"PersonList": object([]string{"persons", "next"}, obj{
			"persons": obj{"type": "array", "items": ref("Person")},
			"next":    obj{"type": "string", "nullable": true, "description": "after= of the next page; null on the last page"},
		}),
		"Provider": object([]string{"provider_id", "level"}, obj{
			"provider_id": id, "name": obj{"type": "string"}, "level": obj{"type": "string", "enum": names(calc.Levels())},
		}),
		"Providers": obj{"type": "array", "items": ref("Provider"),
			"description": "or, as text/csv, providers.csv: provider_id,name,level"},
		"UpsertResult":  object([]string{"upserted"}, obj{"upserted": obj{"type": "integer"}}),
		"PolicyVersion": object([]string{"version", "from", "to"}, obj{"version": str(""), "from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"}}),
		"PolicyList":    object([]string{"policies"}, obj{"policies": obj{"type": "array", "items": ref("PolicyVersion")}}),
		"TokenRequest": object([]string{"role"}, obj{
			"role":      obj{"type": "string", "enum": []string{"clinic", "auditor", "finance", "admin"}},
			"providers": obj{"type": "array", "items": str("a provider id"), "description": "for a clinic token: the providers it acts for"},
			"note":      str("a note to recognise the token by (at most 200 bytes)"),
		}),
		"Token": object([]string{"id", "role", "providers", "note", "created_at"}, obj{
			"id":         str("the first 16 hex digits of the token's SHA-256: names it without revealing it"),
			"token":      str("the token itself: only in the answer that creates it"),
			"role":       obj{"type": "string", "enum": []string{"clinic", "auditor", "finance", "admin"}},
			"providers":  obj{"type": "array", "items": str("")},
			"note":       str(""),
			"created_at": obj{"type": "string", "format": "date-time"},
			"revoked_at": obj{"type": "string", "format": "date-time", "description": "absent while the token is valid"},
		}),
		"ImportReport": object([]string{"claims", "persons", "ledgers", "policy_versions", "total", "lines", "out_of_pocket"}, obj{
			"claims":          obj{"type": "integer", "description": "claims stored, each as settled with what was paid"},
			"persons":         obj{"type": "integer", "description": "persons with imported claims"},
			"ledgers":         obj{"type": "integer", "description": "person-year ledgers opened"},
			"policy_versions": obj{"type": "array", "items": obj{"type": "string"}, "description": "the versions in force on the claims' discharge days"},
			"total":           moneyField("total cost of the imported claims"),
			"lines":           obj{"type": "array", "items": ref("TallyLine"), "description": "what each line paid on them"},
			"out_of_pocket":   moneyField("what the patients paid"),
		}),
		"TokenList": object([]string{"tokens"}, obj{"tokens": obj{"type": "array", "items": ref("Token")}}),
		"Tally": object([]string{"from", "to", "claims", "total", "total_wan", "lines", "out_of_pocket", "out_of_pocket_wan"}, obj{
			"from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"claims": obj{"type": "integer", "description": "settlements less reversals"},
			"total":  moneyField(""), "total_wan": str("万元 with two decimals"),
			"lines":         obj{"type": "array", "items": ref("TallyLine")},
			"out_of_pocket": moneyField(""), "out_of_pocket_wan": str("万元"),
		}),
		"TallyLine": object([]string{"name", "amount", "wan"}, obj{
			"name": obj{"type": "string", "enum": names(calc.Lines())}, "amount": moneyField(""), "wan": str("万元"),
		}),
		"ReconciliationRequest": object([]string{"from", "to"}, obj{
			"from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"person_id": str("only this person's years"),
			"apply":     obj{"type": "boolean", "description": "book the adjustments (admin only); false by default: a dry run"},
		}),
		"Reconciliation": object([]string{"reconciliation_id", "from", "to", "applied", "person_years", "lines", "out_of_pocket", "adjustments"}, obj{
			"reconciliation_id": str("the cause_id of the adjustments it books"),
			"from":              obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"person_id":     str(""),
			"applied":       obj{"type": "boolean", "description": "the adjustments were booked"},
			"person_years":  obj{"type": "integer", "description": "person-years re-settled"},
			"lines":         obj{"type": "object", "additionalProperties": moneyField(""), "description": "the adjustments' sum by line"},
			"out_of_pocket": moneyField("the adjustments' sum for patients: refunds owed, negative"),
			"adjustments":   obj{"type": "array", "items": ref("Adjustment")},
		}),
		"Refunds": object([]string{"from", "to", "total", "refunds"}, obj{
			"from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"total": moneyField("owed to every patient together"),
			"refunds": obj{"type": "array", "items": object([]string{"person_id", "amount", "adjustments"}, obj{
				"person_id":   str(""),
				"amount":      moneyField("owed to the person"),
				"adjustments": obj{"type": "array", "items": ref("Adjustment"), "description": "the adjustments that changed what the person pays: their claims and causes"},
			})},
		}),
		"ReplayRequest": object([]string{"from", "to"}, obj{
			"from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"policy": str("in-force (default) or a published version to replay every claim under"),
		}),
		"AuditTotals": object([]string{"claims", "total", "lines", "out_of_pocket"}, obj{
			"claims": obj{"type": "integer"}, "total": moneyField(""),
			"lines":         obj{"type": "object", "additionalProperties": moneyField(""), "description": "by line: basic, critical, commercial, aid, backstop"},
			"out_of_pocket": moneyField(""),
		}),
		"AuditDifference": object([]string{"claim_id", "person_id", "paid_version", "replayed_version", "delta", "causes"}, obj{
			"claim_id": str(""), "person_id": str(""), "paid_version": str(""), "replayed_version": str(""),
			"delta":  obj{"type": "object", "additionalProperties": moneyField(""), "description": "replayed − paid, by line and out_of_pocket"},
			"causes": obj{"type": "array", "items": str("the likely cause")},
		}),
		"AuditReport": object([]string{"claims", "reversed", "paid", "replayed", "differences"}, obj{
			"claims": obj{"type": "integer", "description": "claims re-settled"}, "reversed": obj{"type": "integer", "description": "reversed claims left out"},
			"paid": ref("AuditTotals"), "replayed": ref("AuditTotals"),
			"differences": obj{"type": "array", "items": ref("AuditDifference")},
		}),
		"PaidAuditReport": object([]string{"claims", "paid_rows", "paid", "rules", "by_kind", "differences", "drift", "not_paid", "not_claimed"}, obj{
			"claims": obj{"type": "integer", "description": "claims in both files"}, "paid_rows": obj{"type": "integer", "description": "rows of the paid file"},
			"paid": ref("AuditTotals"), "rules": ref("AuditTotals"),
			"by_kind":     obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "differing claims by the kind of their first cause"},
			"differences": obj{"type": "array", "items": ref("PaidDifference")},
			"drift":       obj{"type": "array", "items": ref("PaidDrift")},
			"not_paid":    obj{"type": "array", "items": obj{"type": "string"}, "description": "claims the paid file lacks"},
			"not_claimed": obj{"type": "array", "items": obj{"type": "string"}, "description": "paid claims the claims file lacks"},
		}),
		"PaidDifference": object([]string{"claim_id", "person_id", "year", "paid", "rules", "root", "follows", "kind", "causes"}, obj{
			"claim_id": str(""), "person_id": str(""), "year": obj{"type": "integer"},
			"paid":    obj{"type": "object", "additionalProperties": moneyField(""), "description": "by line and out_of_pocket"},
			"rules":   obj{"type": "object", "additionalProperties": moneyField(""), "description": "by line and out_of_pocket"},
			"root":    obj{"type": "string", "enum": names(calc.Lines()), "description": "the first line, in cascade order, whose paid amount differs"},
			"follows": obj{"type": "array", "items": obj{"type": "string", "enum": names(calc.Lines())}, "description": "later lines that differ, following from the root"},
			"kind":    obj{"type": "string", "enum": causeKinds(), "description": "the first cause's kind"},
			"causes": obj{"type": "array", "items": object([]string{"kind", "detail"}, obj{
				"kind": obj{"type": "string", "enum": causeKinds()}, "detail": str("the rule in words, with its parameters"),
			})},
		}),
		"PaidDrift": object([]string{"person_id", "year", "claims", "delta"}, obj{
			"person_id": str(""), "year": obj{"type": "integer"}, "claims": obj{"type": "integer", "description": "claims of the year that differ"},
			"delta": obj{"type": "object", "additionalProperties": moneyField(""), "description": "paid − rules, by line and out_of_pocket"},
		}),
		"WhatIfRequest": object([]string{"from", "to", "change"}, obj{
			"from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"change": str("a partial policy document, YAML or JSON, e.g. \"commercial: {in_policy_rate: 0.50}\""),
			"top":    obj{"type": "integer", "minimum": 0, "maximum": 10000, "default": 10, "description": "households listed each way"},
		}),
		"WhatIfGroup": object([]string{"group", "baseline", "scenario", "delta", "public_delta", "out_of_pocket_delta"}, obj{
			"group": str(""), "baseline": ref("AuditTotals"), "scenario": ref("AuditTotals"),
			"delta":        obj{"type": "object", "additionalProperties": moneyField(""), "description": "scenario − baseline, by line, out_of_pocket and public"},
			"public_delta": moneyField(""), "out_of_pocket_delta": moneyField(""),
		}),
		"WhatIfHousehold": object([]string{"household_id", "public_delta", "out_of_pocket_delta", "delta"}, obj{
			"household_id": str(""), "public_delta": moneyField(""), "out_of_pocket_delta": moneyField(""),
			"delta": obj{"type": "object", "additionalProperties": moneyField(""), "description": "scenario − baseline, by line, out_of_pocket and public"},
		}),
		"WhatIfReport": object([]string{"claims", "baseline", "scenario"}, obj{
			"claims": obj{"type": "integer"}, "baseline": ref("AuditTotals"), "scenario": ref("AuditTotals"),
			"by_level": obj{"type": "array", "items": ref("WhatIfGroup")}, "by_kind": obj{"type": "array", "items": ref("WhatIfGroup")},
			"by_aid_category":         obj{"type": "array", "items": ref("WhatIfGroup")},
			"households_largest_rise": obj{"type": "array", "items": ref("WhatIfHousehold")},
			"households_largest_fall": obj{"type": "array", "items": ref("WhatIfHousehold")},
			"patients_pay_more":       obj{"type": "integer"}, "patients_pay_less": obj{"type": "integer"},
		}),
		"SweepRequest": object([]string{"from", "to", "field", "start", "stop", "step"}, obj{
			"from": obj{"type": "string", "format": "date"}, "to": obj{"type": "string", "format": "date"},
			"field": str("a parameter's dotted path, e.g. backstop.oop_ceiling"),
			"start": str("a decimal, e.g. 0.05"), "stop": str("a decimal, e.g. 0.15"), "step": str("a decimal, e.g. 0.01"),
		}),
		"SweepStep": object([]string{"value", "lines", "public", "out_of_pocket"}, obj{
			"value": str(""), "lines": obj{"type": "object", "additionalProperties": moneyField("")},
			"public": moneyField(""), "out_of_pocket": moneyField(""),
		}),
		"SweepReport": object([]string{"field", "steps"}, obj{"field": str(""), "steps": obj{"type": "array", "items": ref("SweepStep")}}),
		"Status":      object([]string{"status"}, obj{"status": str("")}),
		"Problem": object([]string{"type", "title", "status"}, obj{
			"type": str("urn:hpcalc:problem:..."), "title": str(""), "status": obj{"type": "integer"},
			"detail":     str(""),
			"errors":     obj{"type": "array", "items": ref("FieldError")},
			"request_id": str("the X-Request-ID of the request, under which the server logs it"),
		}),
		"FieldError": object([]string{"field", "rule"}, obj{
			"field": str("the field, e.g. total or [3].person_id"), "rule": str("the rule it breaks"),
			"line": obj{"type": "integer", "description": "in a CSV or policy body"}, "column": obj{"type": "integer"},
		}),
	}
}
