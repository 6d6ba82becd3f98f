package alerts

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// startProcess runs path with args in the temporary directory dir, kills
// it at cleanup, and waits until http://addr/ready answers 200.
func startProcess(t *testing.T, name, dir, addr, ready, path string, args ...string) *testutil.Proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	p := testutil.Start(t, name, cmd)
	p.WaitHTTP(t, "http://"+addr+ready, 30*time.Second)
	return p
}

// promResult is the data of a Prometheus /api/v1/query answer.
type promResult struct {
	ResultType string            `json:"resultType"`
	Result     []json.RawMessage `json:"result"`
}

// promQuery runs an instant query against Prometheus at addr and returns
// the number of series in its result.
func promQuery(addr, q string) (int, error) {
	code, body, err := testutil.HTTPGet("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, err
	}
	var r struct {
		Status string     `json:"status"`
		Error  string     `json:"error"`
		Data   promResult `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("HTTP %d, not JSON: %.200s", code, body)
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("query %q: %s", q, r.Error)
	}
	if r.Data.ResultType == "scalar" || r.Data.ResultType == "string" {
		return 1, nil
	}
	return len(r.Data.Result), nil
}

// firingAlerts returns the names of the alerts Prometheus at addr holds
// in state firing.
func firingAlerts(addr string) (map[string]bool, error) {
	_, body, err := testutil.HTTPGet("http://" + addr + "/api/v1/alerts")
	if err != nil {
		return nil, err
	}
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range r.Data.Alerts {
		if a.State == "firing" {
			out[a.Labels["alertname"]] = true
		}
	}
	return out, nil
}
