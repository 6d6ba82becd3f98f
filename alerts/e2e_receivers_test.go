package alerts

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// pdEvent is a PagerDuty Events API v2 event as Alertmanager sends it.
type pdEvent struct {
	at          time.Time
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Payload     struct {
		Summary       string            `json:"summary"`
		Severity      string            `json:"severity"`
		CustomDetails map[string]string `json:"custom_details"`
	} `json:"payload"`
}

// alertname is the first word of the summary, which the example's
// description template starts with the group's alertname.
func (e pdEvent) alertname() string {
	name, _, _ := strings.Cut(e.Payload.Summary, " ")
	return name
}

// slackMessage is a Slack incoming-webhook message as Alertmanager sends it.
type slackMessage struct {
	at          time.Time
	Channel     string `json:"channel"`
	Attachments []struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"attachments"`
}

var slackTitle = regexp.MustCompile(`^\[(FIRING|RESOLVED)[^\]]*\] (\S+) \(store (\S*)\)$`)

// parts returns the status, alertname and store of the message's title.
func (m slackMessage) parts() (status, alertname, store string) {
	if len(m.Attachments) == 0 {
		return "", "", ""
	}
	p := slackTitle.FindStringSubmatch(m.Attachments[0].Title)
	if p == nil {
		return "", "", ""
	}
	return p[1], p[2], p[3]
}

// receivers is a loopback server playing PagerDuty's Events API v2 at
// /pagerduty/v2/enqueue and a Slack incoming webhook at /slack/hook. It
// records every request.
type receivers struct {
	URL    string
	mu     sync.Mutex
	pd     []pdEvent
	slack  []slackMessage
	errors []string
}

func startReceivers(t *testing.T) *receivers {
	t.Helper()
	r := &receivers{}
	mux := http.NewServeMux()
	mux.HandleFunc("/pagerduty/v2/enqueue", func(w http.ResponseWriter, req *http.Request) {
		var e pdEvent
		if !r.decode(req, &e) {
			http.Error(w, `{"status":"invalid event"}`, http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.pd = append(r.pd, e)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"`+e.DedupKey+`"}`)
	})
	mux.HandleFunc("/slack/hook", func(w http.ResponseWriter, req *http.Request) {
		var m slackMessage
		if !r.decode(req, &m) {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.slack = append(r.slack, m)
		r.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		r.fail("unexpected request " + req.Method + " " + req.URL.Path)
		http.NotFound(w, req)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { t.Logf("the fake PagerDuty and Slack received:\n%s", r.summary()) })
	r.URL = srv.URL
	return r
}

// summary lists what arrived, one line a request, for a failing test.
func (r *receivers) summary() string {
	pd, slack, errs := r.snapshot()
	var b strings.Builder
	for _, e := range pd {
		fmt.Fprintf(&b, "  %s PagerDuty %s %s severity=%s store=%s\n", e.at.Format("15:04:05.000"), e.EventAction, e.alertname(), e.Payload.Severity, e.Payload.CustomDetails["store"])
	}
	for _, m := range slack {
		s, a, st := m.parts()
		fmt.Fprintf(&b, "  %s Slack %s %s store=%s channel=%s\n", m.at.Format("15:04:05.000"), s, a, st, m.Channel)
	}
	for _, e := range errs {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	if b.Len() == 0 {
		return "  nothing"
	}
	return b.String()
}

// decode reads a JSON POST into v, stamping its arrival time.
func (r *receivers) decode(req *http.Request, v interface{}) bool {
	at := time.Now()
	if req.Method != http.MethodPost {
		r.fail(req.URL.Path + ": method " + req.Method)
		return false
	}
	b, err := io.ReadAll(req.Body)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		r.fail(req.URL.Path + ": " + err.Error() + ": " + string(b))
		return false
	}
	switch v := v.(type) {
	case *pdEvent:
		v.at = at
	case *slackMessage:
		v.at = at
	}
	return true
}

func (r *receivers) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, msg)
}

// snapshot returns copies of what arrived so far.
func (r *receivers) snapshot() ([]pdEvent, []slackMessage, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]pdEvent(nil), r.pd...), append([]slackMessage(nil), r.slack...), append([]string(nil), r.errors...)
}

// firstPD returns the first PagerDuty event after since matching keep.
func (r *receivers) firstPD(since time.Time, keep func(pdEvent) bool) (pdEvent, bool) {
	pd, _, _ := r.snapshot()
	for _, e := range pd {
		if e.at.After(since) && keep(e) {
			return e, true
		}
	}
	return pdEvent{}, false
}
