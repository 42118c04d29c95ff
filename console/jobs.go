package console

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/labstack/echo/v4"
)

// An audit of a large period takes seconds to minutes: the desk's script starts it as a
// job (POST /audit/jobs), polls its progress (GET /audit/jobs/{id}) and, when it is done,
// opens the result page, which takes the job's result rather than auditing again. Jobs
// live in the memory of the process that runs them, as long as keepJobs after they end:
// behind a load balancer the script's polls must reach the same replica (sticky
// sessions), or the page falls back to auditing on its own when the job is not found.
// Without the script the form is an ordinary GET that audits in the request.

// keepJobs is how long a finished job's result is kept for its result page.
const keepJobs = 10 * time.Minute

// auditJob is one audit running, or run, for one session.
type auditJob struct {
	id, owner string // owner: the session's id
	run       auditRun
	cancel    context.CancelFunc
	started   time.Time

	mu    sync.Mutex
	st    jobState
	ended time.Time
}

// jobState is how far a job has come.
type jobState struct {
	Progress ops.Progress
	Finished bool
	result   *batch.Audit
	err      error
	elapsed  time.Duration
}

func (j *auditJob) state() jobState {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st
}

// progress notes a report of the operation; reports of one stage may come from several
// goroutines out of order, and a stage's count never goes back.
func (j *auditJob) progress(p ops.Progress) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if p.Stage == j.st.Progress.Stage && p.Done < j.st.Progress.Done {
		return
	}
	j.st.Progress = p
}

func (j *auditJob) finish(a *batch.Audit, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.st.Finished, j.st.result, j.st.err = true, a, err
	j.ended = time.Now()
	j.st.elapsed = j.ended.Sub(j.started)
}

// jobs are the audit jobs of the process.
type jobs struct {
	mu   sync.Mutex
	byID map[string]*auditJob
}

// get returns job id if owner owns it, else nil.
func (js *jobs) get(id, owner string) *auditJob {
	if id == "" || owner == "" {
		return nil
	}
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.byID[id]; j != nil && j.owner == owner {
		return j
	}
	return nil
}

// add files a new job; a session runs one audit at a time, so its earlier job, if still
// running, is cancelled. Jobs that ended more than keepJobs ago are forgotten.
func (js *jobs) add(j *auditJob) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.byID == nil {
		js.byID = map[string]*auditJob{}
	}
	now := time.Now()
	for id, o := range js.byID {
		o.mu.Lock()
		old := o.st.Finished && now.Sub(o.ended) > keepJobs
		o.mu.Unlock()
		if old {
			delete(js.byID, id)
		} else if o.owner == j.owner {
			o.cancel()
		}
	}
	js.byID[j.id] = j
}

// sessionID is the id of the request's session ("" if none).
func (c *Console) sessionID(ec echo.Context) string {
	s, _ := c.session(ec)
	return s.ID
}

// jobAnswer is what the script gets of a job.
type jobAnswer struct {
	ID       string      `json:"id,omitempty"`
	Stage    string      `json:"stage,omitempty"`
	Done     int         `json:"done"`
	Total    int         `json:"total"`
	Text     string      `json:"text,omitempty"` // the progress, in the user's language
	Finished bool        `json:"finished"`
	Error    string      `json:"error,omitempty"` // in the user's language
	Errors   fieldErrors `json:"errors,omitempty"`
	Result   string      `json:"result,omitempty"` // the result page's address
}

// startAuditJob starts the audit of the form as a job and answers its id; a form with
// errors is answered 422 with each field's error.
func (c *Console) startAuditJob(ec echo.Context) error {
	d := auditData{Errors: fieldErrors{}}
	run, err := c.readAudit(ec, &d)
	if err != nil {
		return err
	}
	if len(d.Errors) > 0 {
		return ec.JSON(http.StatusUnprocessableEntity, jobAnswer{Errors: d.Errors})
	}
	id, err := newSecret()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &auditJob{id: id, owner: c.sessionID(ec), run: run, cancel: cancel, started: time.Now()}
	j.st.Progress = ops.Progress{Stage: "start"}
	c.jobs.add(j)
	go func() {
		defer cancel()
		a, err := c.ops.Audit(ctx, run.from, run.to, run.versions, j.progress)
		if ctx.Err() != nil {
			// Cancelled: however the database reported its cancelled query, and even if
			// the audit finished before it looked.
			a, err = nil, ctx.Err()
		}
		if err != nil && auditErrorKey(err) == "" {
			c.log.Error("console: audit job", "from", run.from, "to", run.to, "err", err)
		}
		j.finish(a, err)
	}()
	return ec.JSON(http.StatusAccepted, c.jobAnswer(ec, j))
}

// jobAnswer tells the script how far job j has come, in the user's language.
func (c *Console) jobAnswer(ec echo.Context, j *auditJob) jobAnswer {
	l := c.lang(ec)
	st := j.state()
	p := st.Progress
	ans := jobAnswer{ID: j.id, Stage: p.Stage, Done: p.Done, Total: p.Total, Finished: st.Finished}
	switch p.Stage {
	case "read":
		ans.Text = l.T("audit.stage.read", grouped(p.Done), grouped(p.Total))
	default:
		ans.Text = l.T("audit.stage.start")
	}
	switch {
	case st.Finished && st.err != nil:
		key := auditErrorKey(st.err)
		if key == "" {
			key = "err.internal"
		}
		ans.Error = l.T(key)
	case st.Finished:
		q := url.Values{"from": {j.run.from.String()}, "to": {j.run.to.String()}, "policy": {j.run.policy}, "job": {j.id}}
		ans.Result = "/audit?" + q.Encode()
		ans.Text = l.T("audit.stage.done")
	}
	return ans
}

// auditJobStatus answers how far a job has come.
func (c *Console) auditJobStatus(ec echo.Context) error {
	j := c.jobs.get(ec.Param("id"), c.sessionID(ec))
	if j == nil {
		return echo.NewHTTPError(http.StatusNotFound, "err.notFound")
	}
	return ec.JSON(http.StatusOK, c.jobAnswer(ec, j))
}

// cancelAuditJob stops a running job; the job then ends with the error "cancelled".
func (c *Console) cancelAuditJob(ec echo.Context) error {
	j := c.jobs.get(ec.Param("id"), c.sessionID(ec))
	if j == nil {
		return echo.NewHTTPError(http.StatusNotFound, "err.notFound")
	}
	j.cancel()
	return ec.JSON(http.StatusOK, c.jobAnswer(ec, j))
}

// grouped writes n with thousands separators, as the desks write counts.
func grouped(n int) string {
	s := []byte{}
	neg := n < 0
	if neg {
		n = -n
	}
	digits := 0
	for {
		s = append(s, byte('0'+n%10))
		n /= 10
		digits++
		if n == 0 {
			break
		}
		if digits%3 == 0 {
			s = append(s, ',')
		}
	}
	if neg {
		s = append(s, '-')
	}
	for i, k := 0, len(s)-1; i < k; i, k = i+1, k-1 {
		s[i], s[k] = s[k], s[i]
	}
	return string(s)
}
