package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/labstack/echo/v4"
)

// maxBody is the largest request body read: 1 MiB. A larger one is refused with 413.
const maxBody = 1 << 20

// readBody reads the request body, refusing one over maxBody (413).
func readBody(c echo.Context) ([]byte, error) {
	return readBodyInto(c, make([]byte, 0, 512))
}

// readBodyInto is readBody appending the body to b, a buffer the caller may recycle.
func readBodyInto(c echo.Context, b []byte) ([]byte, error) {
	req := c.Request()
	if req.ContentLength > maxBody {
		return nil, fail(kindTooLarge, fmt.Sprintf("the body is %d bytes; at most %d are accepted", req.ContentLength, maxBody))
	}
	var r io.Reader = req.Body
	if req.ContentLength <= 0 {
		// A body of unknown length is cut at maxBody by MaxBytesReader, which also has the
		// server close the connection after the 413. One of a known length the server cuts
		// at its Content-Length, checked above, so a claim's is read without the reader
		// (an allocation on every quote); the check below stops one that runs over it.
		r = http.MaxBytesReader(c.Response().Writer, req.Body, maxBody)
	}
	for { // io.ReadAll's loop, into b
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > maxBody {
			return nil, fail(kindTooLarge, fmt.Sprintf("the body is over %d bytes", maxBody))
		}
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return nil, readError(err)
		}
	}
}

// readError is the answer to a body whose reading failed with err: 413 if it ran over
// maxBody, else 400. (Its own function: the MaxBytesError errors.As fills is put on the
// heap, which a body read without error need not pay for.)
func readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fail(kindTooLarge, fmt.Sprintf("the body is over %d bytes", maxBody))
	}
	return fail(kindBadRequest, "the body could not be read")
}

// bodyBuffers recycles the buffers claim bodies are read into: decodeClaimInto copies out
// what it keeps, so no buffer outlives its request.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// mediaType is the request's content type without parameters, "" if none is given.
func mediaType(c echo.Context) string {
	// Header.Get less its canonicalisation of a key that is already canonical.
	v := c.Request().Header[echo.HeaderContentType]
	if len(v) == 0 || v[0] == "" {
		return ""
	}
	ct := v[0]
	if ct == echo.MIMEApplicationJSON { // what nearly every client sends: parsed, it is itself
		return ct
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "invalid"
	}
	return mt
}

func isJSON(mt string) bool {
	return mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// requireJSON refuses a body whose declared type is not JSON (415). No Content-Type is
// taken for JSON.
func requireJSON(c echo.Context) error {
	if mt := mediaType(c); !isJSON(mt) {
		return fail(kindMediaType, "send the body as application/json, not "+mt)
	}
	return nil
}

// decodeObject decodes a body holding one JSON object into its members, keeping each
// member's raw value for the caller to decode and judge. A member that appears twice is
// a field error (which value was meant is not for the server to guess); anything but a
// single object is a 400.
func decodeObject(body []byte) (map[string]json.RawMessage, *fields, error) {
	if obj, f, ok := splitObject(body); ok {
		return obj, f, nil
	}
	return decodeObjectSlow(body)
}

// decodeObjectSlow is decodeObject token by token, which tells what is wrong with a body.
func decodeObjectSlow(body []byte) (map[string]json.RawMessage, *fields, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, malformed(err, body)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fail(kindBadRequest, "the body must be a JSON object, not "+tokenKind(tok))
	}
	var (
		obj = map[string]json.RawMessage{}
		f   fields
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, malformed(err, body)
		}
		name, _ := tok.(string) // inside an object the decoder gives only string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, malformed(err, body)
		}
		if _, dup := obj[name]; dup && !f.bad[name] {
			f.add(name, "appears more than once in the object")
		}
		obj[name] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, malformed(err, body)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fail(kindBadRequest, "the body holds more than one JSON value")
	}
	return obj, &f, nil
}

// splitObject is decodeObject's fast path, for the body of every quote and settlement:
// a body json.Valid accepts and that is one object is split into its members by a simple
// scan, which a valid document makes safe. Anything else (false) goes the slow way,
// which finds the right words for what is wrong.
func splitObject(body []byte) (map[string]json.RawMessage, *fields, bool) {
	if !json.Valid(body) {
		return nil, nil, false
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, nil, false
	}
	var (
		obj = make(map[string]json.RawMessage, 8)
		f   fields
	)
	i = skipSpace(body, i+1)
	for body[i] != '}' {
		end := stringEnd(body, i)
		name, ok := unquote(body[i:end])
		if !ok {
			return nil, nil, false
		}
		i = skipSpace(body, end)
		i = skipSpace(body, i+1) // the colon
		end = valueEnd(body, i)
		if _, dup := obj[name]; dup && !f.bad[name] {
			f.add(name, "appears more than once in the object")
		}
		obj[name] = json.RawMessage(body[i:end])
		i = skipSpace(body, end)
		if body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return obj, &f, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd is the index after the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// valueEnd is the index after the value that starts at b[i] in a valid document.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// unquote is the value of the JSON string raw, as json.Unmarshal gives it.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// malformed is the 400 of a body encoding/json could not decode. The decoder reports a
// body cut off between tokens as io.EOF, the same as an empty one: body tells them apart.
func malformed(err error, body []byte) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF) && len(bytes.TrimSpace(body)) == 0:
		return fail(kindBadRequest, "the body is empty; it must be JSON")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fail(kindBadRequest, truncated)
	case errors.As(err, &se):
		return fail(kindBadRequest, fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", se, se.Offset))
	case errors.As(err, &te) && te.Field == "":
		return fail(kindBadRequest, "the body must be a JSON "+wantShape(te.Type.Kind().String())+", not a JSON "+te.Value)
	}
	return fail(kindBadRequest, "the body is not valid JSON")
}

// truncated is the detail of a body cut off before its JSON value is complete.
const truncated = "the body is not valid JSON: it ends before the JSON value is complete"

func wantShape(goKind string) string {
	switch goKind {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	}
	return goKind
}

// fields collects field errors, each field at most once.
type fields struct {
	errs []fieldError
	bad  map[string]bool
}

func (f *fields) add(field, rule string) {
	if f.bad == nil {
		f.bad = map[string]bool{}
	}
	f.errs = append(f.errs, fieldError{Field: field, Rule: rule})
	f.bad[field] = true
}

func (f *fields) addf(field, format string, args ...any) { f.add(field, fmt.Sprintf(format, args...)) }

func (f *fields) err(what string) error {
	if len(f.errs) == 0 {
		return nil
	}
	return fail(kindInvalid, what+" is invalid", f.errs...)
}

// str reads member name of obj as a JSON string, recording a field error if it is absent,
// null or not a string. how, if not empty, says what the string should look like.
func (f *fields) str(obj map[string]json.RawMessage, name, how string) (string, bool) {
	raw, ok := obj[name]
	if !ok || string(raw) == "null" {
		f.add(name, "is required")
		return "", false
	}
	if !utf8.Valid(raw) {
		// encoding/json would put U+FFFD in place of each bad byte: refused rather than
		// stored as something the client did not send.
		f.add(name, "is not valid UTF-8")
		return "", false
	}
	s, good := unquote(raw)
	if !good {
		rule := "must be a JSON string"
		if how != "" {
			rule += " " + how
		}
		f.add(name, rule+", not "+jsonKind(raw))
		return "", false
	}
	return s, true
}

func jsonKind(raw json.RawMessage) string {
	switch {
	case len(raw) == 0:
		return "nothing"
	case raw[0] == '{':
		return "an object"
	case raw[0] == '[':
		return "an array"
	case raw[0] == 't' || raw[0] == 'f':
		return "a boolean"
	case raw[0] == '"':
		return "a string"
	}
	return "a number"
}

// id reads an identifier, which keeps calc's one grammar of ids (calc.IDRule).
func (f *fields) id(obj map[string]json.RawMessage, name string) (string, bool) {
	s, ok := f.str(obj, name, "")
	if !ok {
		return "", false
	}
	if rule := calc.IDRule(s); rule != "" {
		f.add(name, rule)
		return "", false
	}
	return s, true
}

// moneyHow is what a money field must look like.
const moneyHow = `of yuan with at most two decimals such as "1234.50" (money is never sent as a JSON number, so that no float touches it)`

// money reads an amount of yuan sent as a JSON string: not negative, at most two
// decimals, at most calc.MaxAmount.
func (f *fields) money(obj map[string]json.RawMessage, name string) (calc.Money, bool) {
	s, ok := f.str(obj, name, moneyHow)
	if !ok {
		return 0, false
	}
	m, err := calc.ParseMoney(s)
	switch {
	case errors.Is(err, calc.ErrPrecision):
		f.addf(name, "%q has more than two decimals", s)
	case errors.Is(err, calc.ErrRange):
		f.addf(name, "%q is over the limit of %s", s, calc.MaxAmount)
	case err != nil:
		f.addf(name, "%q is not an amount of yuan such as \"1234.50\"", s)
	case m < 0:
		f.addf(name, "%s must not be negative", s)
	case m > calc.MaxAmount:
		f.addf(name, "%s is over the limit of %s", s, calc.MaxAmount)
	default:
		return m, true
	}
	return 0, false
}

// date reads an ISO 8601 calendar date.
func (f *fields) date(obj map[string]json.RawMessage, name string) (calc.Date, bool) {
	s, ok := f.str(obj, name, `such as "2018-03-07"`)
	if !ok {
		return 0, false
	}
	d, err := calc.ParseDate(s)
	if err != nil {
		f.addf(name, "%q is not a date as YYYY-MM-DD", s)
		return 0, false
	}
	return d, true
}

// unknown records a field error for every member of obj not in known, in name order.
func (f *fields) unknown(obj map[string]json.RawMessage, known []string, hints map[string]string) {
	var names []string
	for name := range obj {
		if !slices.Contains(known, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		rule := "unknown field (the fields are " + strings.Join(known, ", ") + ")"
		if h, ok := hints[name]; ok {
			rule = h
		}
		f.add(name, rule)
	}
}

// claimFields are the members of a claim body: a claims.csv row without level.
var claimFields = []string{"claim_id", "person_id", "provider_id", "kind", "admitted_on", "discharged_on", "total", "in_policy"}

var claimHints = map[string]string{
	"level": "unknown field: the level comes from the provider's record; leave it out",
}

// claimRules are the fields calc.Claim.Validate's rules read besides the field they
// name: such a rule is not reported when one of these fields is already wrong.
var claimRules = map[string][]string{
	"in_policy":     {"total"},
	"discharged_on": {"admitted_on"},
	"admitted_on":   {"discharged_on", "kind"},
}

// claimOK names the fields decodeClaimSlow records as decoded, in its order.
var claimOK = [...]string{"claim_id", "person_id", "provider_id", "kind", "admitted_on", "discharged_on", "total", "in_policy"}

// decodeClaimInto decodes a claim body. Every field is decoded on its own, so that each
// bad one is named with its rule; then calc's rules run on what could be read. It returns
// the claim (Level unset: it comes from the provider) and an error for a body that is not
// a JSON object (400), and records the field errors in *f, which the hot path keeps on
// its stack. The claim's strings share nothing with body, which may be recycled. A body
// of the usual shape is read in one pass (quickClaim).
func decodeClaimInto(body []byte, f *fields) (calc.Claim, error) {
	if c, ok := quickClaim(body); ok {
		return c, nil
	}
	return decodeClaimSlow(body, f)
}

// decodeClaimSlow is decodeClaimInto without the fast path: every field decoded on its own.
func decodeClaimSlow(body []byte, f *fields) (calc.Claim, error) {
	obj, of, err := decodeObject(body)
	if err != nil {
		return calc.Claim{}, err
	}
	*f = *of
	// Which fields decoded well, by their place in claimOK: a map cost every quote.
	var (
		c  calc.Claim
		ok [len(claimOK)]bool
	)
	f.unknown(obj, claimFields, claimHints)
	c.ID, ok[0] = f.id(obj, "claim_id")
	c.PersonID, ok[1] = f.id(obj, "person_id")
	c.ProviderID, ok[2] = f.id(obj, "provider_id")
	if s, good := f.str(obj, "kind", ""); good {
		k, err := calc.ParseKind(s)
		if err != nil {
			f.addf("kind", "%q is not a kind of claim (want one of %s)", s, strings.Join(kindNames(), ", "))
		}
		c.Kind, ok[3] = k, err == nil
	}
	c.AdmittedOn, ok[4] = f.date(obj, "admitted_on")
	c.DischargedOn, ok[5] = f.date(obj, "discharged_on")
	c.Total, ok[6] = f.money(obj, "total")
	c.InPolicy, ok[7] = f.money(obj, "in_policy")
	decoded := func(field string) bool {
		i := slices.Index(claimOK[:], field)
		return i >= 0 && ok[i]
	}

	var ve *calc.ValidationError
	if err := c.Validate(); errors.As(err, &ve) {
	rules:
		for _, fe := range ve.Fields {
			if !decoded(fe.Field) {
				continue
			}
			for _, dep := range claimRules[fe.Field] {
				if !decoded(dep) {
					continue rules
				}
			}
			f.add(fe.Field, fe.Rule)
		}
	}
	return c, nil
}

func kindNames() []string {
	var names []string
	for _, k := range calc.Kinds() {
		names = append(names, k.String())
	}
	return names
}

// decodeStrict decodes a JSON body into v, refusing unknown fields; it returns a 400 for
// a body that is not JSON and a 422 naming the field for an unknown field or a value of
// the wrong type. prefix goes before field names, e.g. "[3].".
func decodeStrict(body []byte, v any, prefix string) error {
	if path, bad := utf8Fault(body); bad {
		return fail(kindInvalid, "the body is not valid UTF-8", fieldError{Field: prefix + path, Rule: "is not valid UTF-8"})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return fail(kindBadRequest, "the body holds more than one JSON value")
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		return fail(kindInvalid, "the body has an unknown field", fieldError{Field: prefix + name, Rule: "unknown field"})
	}
	if errors.As(err, &te) && te.Field != "" {
		return fail(kindInvalid, "a field has the wrong type", fieldError{Field: prefix + te.Field,
			Rule: "must be a JSON " + jsonType(te.Type.Kind().String()) + ", not a JSON " + te.Value})
	}
	return malformed(err, body)
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	case "ptr":
		return "value"
	}
	return "number"
}

// utf8Fault returns the path ("[3].name", "providers[0]") of the first string of a JSON
// body, member name or value, that is not valid UTF-8, and true; or false when the body is
// valid UTF-8. encoding/json would silently put U+FFFD in place of each bad byte. A body
// too broken to walk is "body".
func utf8Fault(body []byte) (string, bool) {
	if utf8.Valid(body) {
		return "", false
	}
	type frame struct {
		array   bool
		index   int    // of the array element being read
		key     string // of the object member being read
		wantKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, fr := range stack {
			switch {
			case fr.array:
				fmt.Fprintf(&b, "[%d]", fr.index)
			case b.Len() > 0:
				b.WriteString("." + fr.key)
			default:
				b.WriteString(fr.key)
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	// valueDone moves the innermost container past the value just read.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "body", true
		}
		good := utf8.Valid(body[start:dec.InputOffset()]) // the token and the separators before it
		n := len(stack)
		if n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			if name, ok := tok.(string); ok { // a member name
				stack[n-1].key, stack[n-1].wantKey = name, false
				if !good {
					return path(), true
				}
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{array: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:n-1]
			valueDone()
			continue
		}
		if !good {
			return path(), true
		}
		valueDone()
	}
}
