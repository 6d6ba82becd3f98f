package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/sigil/sigil-integrity-exporter/collector"
)

// Run-now forces reads at full speed (within --scan.max-rate): at most
// runNowBurst requests at once, then one per runNowEvery.
const (
	runNowEvery = time.Minute
	runNowBurst = 3
)

// control serves POST /-/pause, /-/resume and /-/run-now. Without
// --web.enable-lifecycle every request gets 403 and a hint (as
// Prometheus's own lifecycle endpoints). With it: POST only, a browser's
// cross-site request is refused (Sec-Fetch-Site, else Origin against
// Host: http.CrossOriginProtection), run-now is rate-limited, and every
// action is logged with the remote address.
type control struct {
	enabled bool
	runners []*collector.Runner
	logger  *slog.Logger
	cop     *http.CrossOriginProtection
	runNow  *rate.Limiter
	refusal *rate.Limiter // bounds the log lines of refused requests
}

func newControl(enabled bool, runners []*collector.Runner, logger *slog.Logger) *control {
	c := &control{
		enabled: enabled,
		runners: runners,
		logger:  logger,
		cop:     http.NewCrossOriginProtection(),
		runNow:  rate.NewLimiter(rate.Every(runNowEvery), runNowBurst),
		refusal: rate.NewLimiter(rate.Every(time.Second), 10),
	}
	c.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.refuse(w, r, http.StatusForbidden, "cross-site request refused: send the request from a client, not a web page (no Origin or Sec-Fetch-Site of another site)")
	}))
	return c
}

func (c *control) register(mux *http.ServeMux) {
	for name, act := range map[string]func(*collector.Runner) error{
		"pause":   (*collector.Runner).Pause,
		"resume":  (*collector.Runner).Resume,
		"run-now": (*collector.Runner).RunNow,
	} {
		mux.Handle("/-/"+name, c.handler(name, act))
	}
}

// refuse answers a refused control request; the log line is rate-limited
// so that a flood of refused requests cannot flood the log.
func (c *control) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if c.refusal.Allow() {
		c.logger.Warn("control request refused", "path", r.URL.Path, "status", code, "remote", r.RemoteAddr, "reason", msg)
	}
	http.Error(w, msg, code)
}

func (c *control) handler(name string, act func(*collector.Runner) error) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			c.refuse(w, r, http.StatusMethodNotAllowed, "method not allowed: use POST")
			return
		}
		store := r.URL.Query().Get("store")
		var targets []*collector.Runner
		for _, run := range c.runners {
			if store == "" || store == run.Name() {
				targets = append(targets, run)
			}
		}
		if len(targets) == 0 {
			c.refuse(w, r, http.StatusNotFound, fmt.Sprintf("no store %.64q", store))
			return
		}
		if name == "run-now" {
			if res := c.runNow.Reserve(); res.Delay() > 0 {
				res.Cancel()
				w.Header().Set("Retry-After", strconv.Itoa(int(runNowEvery.Seconds())))
				c.refuse(w, r, http.StatusTooManyRequests, fmt.Sprintf("run-now is limited to %d at once, then one per %s: try again later", runNowBurst, runNowEvery))
				return
			}
		}
		var failed error
		for _, run := range targets {
			if err := act(run); err != nil {
				failed = err
				c.logger.Error("control action taken, but not saved: it will not survive a restart", "action", name, "store", run.Name(), "err", err)
			}
		}
		c.logger.Info("control request", "action", name, "store", store, "stores", len(targets), "remote", r.RemoteAddr)
		if failed != nil {
			fmt.Fprintf(w, "%s: %d store(s); WARNING: not saved in --state.path, a restart would undo it (see the log)\n", name, len(targets))
			return
		}
		fmt.Fprintf(w, "%s: %d store(s)\n", name, len(targets))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.enabled {
			c.refuse(w, r, http.StatusForbidden, "lifecycle API is not enabled: start the exporter with --web.enable-lifecycle to allow pause, resume and run-now")
			return
		}
		c.cop.Handler(h).ServeHTTP(w, r)
	})
}
