package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/console"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// steppedOps runs the real operations, but while it holds, an audit waits at each
// progress report until the test lets it go on (next), so that the test sees each stage.
type steppedOps struct {
	console.Ops
	mu     sync.Mutex
	step   chan struct{}
	closed bool
}

func (o *steppedOps) Audit(ctx context.Context, from, to calc.Date, v ops.Versions, progress func(ops.Progress)) (*batch.Audit, error) {
	if progress == nil {
		return o.Ops.Audit(ctx, from, to, v, nil)
	}
	return o.Ops.Audit(ctx, from, to, v, func(p ops.Progress) {
		progress(p)
		o.mu.Lock()
		ch := o.step
		o.mu.Unlock()
		<-ch
	})
}

// hold makes audits wait at each report.
func (o *steppedOps) hold() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.step, o.closed = make(chan struct{}), false
}

// next lets an audit waiting at a report go on to the next.
func (o *steppedOps) next() {
	o.mu.Lock()
	ch := o.step
	o.mu.Unlock()
	ch <- struct{}{}
}

// letGo lets every audit run to its end.
func (o *steppedOps) letGo() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		close(o.step)
		o.closed = true
	}
}

// jobStatus is the console's answer about an audit job.
type jobStatus struct {
	ID       string            `json:"id"`
	Stage    string            `json:"stage"`
	Done     int               `json:"done"`
	Total    int               `json:"total"`
	Text     string            `json:"text"`
	Finished bool              `json:"finished"`
	Error    string            `json:"error"`
	Errors   map[string]string `json:"errors"`
	Result   string            `json:"result"`
}

// job calls a job address as the desk's script does, with the session's CSRF token.
func (u *user) job(method, path string, form url.Values, csrf string) (int, jobStatus) {
	u.v.t.Helper()
	h := http.Header{"X-CSRF-Token": {csrf}}
	if form != nil {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, body := u.do(method, path, form.Encode(), h)
	var st jobStatus
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			u.v.t.Fatalf("%s %s: %v in %q", method, path, err, body)
		}
	}
	return res.StatusCode, st
}

// waitStage polls job id until it reaches stage (or finishes).
func (u *user) waitStage(id, stage string) jobStatus {
	u.v.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		code, st := u.job(http.MethodGet, "/audit/jobs/"+id, nil, "")
		if code != http.StatusOK {
			u.v.t.Fatalf("job %s: status %d", id, code)
		}
		if st.Stage == stage || st.Finished {
			return st
		}
		if time.Now().After(deadline) {
			u.v.t.Fatalf("job %s stayed at %+v, waiting for %s", id, st, stage)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAuditJob runs the audit desk's job as its script does: each stage with its counts,
// then a result page that equals the audit run in the request and the API's; another
// session cannot see the job; a job is cancelled; a bad form is answered at its fields.
func TestAuditJob(t *testing.T) {
	var stepped *steppedOps
	v := newEnvOn(t, storetest.SQLite(t), false, func(c *console.Config) {
		stepped = &steppedOps{Ops: c.Ops}
		stepped.hold()
		c.Ops = stepped
	})
	t.Cleanup(stepped.letGo)
	v.settleShipped()
	var js struct {
		Claims   int       `json:"claims"`
		Reversed int       `json:"reversed"`
		Paid     apiTotals `json:"paid"`
		Replayed apiTotals `json:"replayed"`
	}
	if st := v.apiJSON(asAuditor, http.MethodPost, "/v1/replays", `{"from":"2018-01-01","to":"2018-12-31"}`, &js); st != http.StatusOK {
		t.Fatalf("API replay: %d", st)
	}
	u := v.signedIn(asAuditor)
	csrf := u.csrf("/audit")
	form := url.Values{"from": {"2018-01-01"}, "to": {"2018-12-31"}, "policy": {"in-force"}}

	if code, _ := u.job(http.MethodPost, "/audit/jobs", form, "forged"); code != http.StatusForbidden {
		t.Errorf("a job with a forged CSRF token: status %d, want 403", code)
	}
	code, started := u.job(http.MethodPost, "/audit/jobs", form, csrf)
	if code != http.StatusAccepted || started.ID == "" {
		t.Fatalf("start a job: status %d, %+v", code, started)
	}
	read := u.waitStage(started.ID, "read")
	if read.Done != js.Claims+js.Reversed || read.Total != read.Done || !strings.Contains(read.Text, "已读取并重算单据") || read.Finished {
		t.Errorf("read stage %+v, want %d claims read of as many", read, js.Claims+js.Reversed)
	}
	// Another session, even of an admin, does not see the job.
	if code, _ := v.signedIn(asAdmin).job(http.MethodGet, "/audit/jobs/"+started.ID, nil, ""); code != http.StatusNotFound {
		t.Errorf("another session polls the job: status %d, want 404", code)
	}
	stepped.next()
	done := u.waitStage(started.ID, "done")
	if !done.Finished || done.Error != "" || !strings.HasPrefix(done.Result, "/audit?") || !strings.Contains(done.Result, "job="+started.ID) {
		t.Fatalf("finished job %+v", done)
	}
	stepped.letGo()
	fromJob := u.page(done.Result, http.StatusOK)
	inRequest := u.page("/audit?from=2018-01-01&to=2018-12-31&policy=in-force", http.StatusOK)
	jobRows, reqRows := tableRows(t, fromJob, "audit-totals"), tableRows(t, inRequest, "audit-totals")
	for _, key := range []string{"item.total", "line.basic", "line.critical", "line.commercial", "line.aid", "line.backstop", "item.out_of_pocket"} {
		r := jobRows[key]
		if len(r) != 4 || grouped(t, r[1]) != js.Paid.amount(t, key) || grouped(t, r[2]) != js.Replayed.amount(t, key) {
			t.Errorf("the job's result row %s %q; the API paid %s replayed %s", key, r, js.Paid.amount(t, key), js.Replayed.amount(t, key))
		}
		if strings.Join(r, "|") != strings.Join(reqRows[key], "|") {
			t.Errorf("row %s: from the job %q, audited in the request %q", key, r, reqRows[key])
		}
	}
	if textOf(t, fromJob, "audit-differing") != textOf(t, inRequest, "audit-differing") {
		t.Error("the job's result and the audit in the request differ in their differences")
	}

	// Cancelled while it runs: the job ends with the error, in the user's language.
	stepped.hold()
	code, second := u.job(http.MethodPost, "/audit/jobs", form, csrf)
	if code != http.StatusAccepted {
		t.Fatalf("start a second job: %d", code)
	}
	u.waitStage(second.ID, "read")
	if code, _ := u.job(http.MethodPost, "/audit/jobs/"+second.ID+"/cancel", url.Values{}, "forged"); code != http.StatusForbidden {
		t.Errorf("cancel with a forged CSRF token: status %d, want 403", code)
	}
	if code, _ := u.job(http.MethodPost, "/audit/jobs/"+second.ID+"/cancel", url.Values{}, csrf); code != http.StatusOK {
		t.Errorf("cancel: status %d", code)
	}
	stepped.letGo()
	if st := u.waitStage(second.ID, "done"); !st.Finished || st.Error != "核查已取消。" || st.Result != "" {
		t.Errorf("the cancelled job ends as %+v, want the error 核查已取消。", st)
	}

	// A bad form: each error at its field, and no job.
	code, bad := u.job(http.MethodPost, "/audit/jobs", url.Values{"from": {"2018-13-01"}, "to": {"2018-12-31"}, "policy": {"pingxiang-2099"}}, csrf)
	if code != http.StatusUnprocessableEntity || bad.Errors["from"] == "" || bad.Errors["policy"] == "" || bad.ID != "" {
		t.Errorf("a bad form: status %d, %+v; want 422 with errors at from and policy", code, bad)
	}
}
