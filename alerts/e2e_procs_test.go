package alerts

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// e2eTool returns the path of the first of names found in PATH. A missing
// program fails the test under CI=true and skips it elsewhere.
func e2eTool(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found in PATH; install the Debian package %s (.ci/run does)", strings.Join(names, " or "), pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// buildExporter builds the exporter binary into a temporary directory.
func buildExporter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sigil-integrity-exporter")
	cmd := exec.Command("go", "build", "-o", bin, "./exporter")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./exporter: %v\n%s", err, out)
	}
	return bin
}

// e2eFreeAddr returns a loopback address with a port free right now.
func e2eFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// process is a program the test started; t.Cleanup kills it and, when the
// test failed, logs the tail of its output.
type process struct {
	name string
	addr string
	out  *lockedBuffer
	done chan struct{}
	err  error
}

// startProcess runs path with args, kills it at cleanup, and waits until
// http://addr/ready answers 200.
func startProcess(t *testing.T, name, addr, ready, path string, args ...string) *process {
	t.Helper()
	p := &process{name: name, addr: addr, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			out := p.out.String()
			if len(out) > 6000 {
				out = "…" + out[len(out)-6000:]
			}
			t.Logf("%s output (tail):\n%s", name, out)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready (%v):\n%s", name, p.err, p.out.String())
		default:
		}
		if code, _, err := httpGet("http://" + addr + ready); err == nil && code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at http://%s%s after 30s:\n%s", name, addr, ready, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// alive fails the test when the process has exited.
func (p *process) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("%s exited (%v):\n%s", p.name, p.err, p.out.String())
	default:
	}
}

var e2eClient = &http.Client{Timeout: 5 * time.Second}

func httpGet(u string) (int, []byte, error) {
	resp, err := e2eClient.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// promResult is the data of a Prometheus /api/v1/query answer.
type promResult struct {
	ResultType string            `json:"resultType"`
	Result     []json.RawMessage `json:"result"`
}

// promQuery runs an instant query against Prometheus at addr and returns
// the number of series in its result.
func promQuery(addr, q string) (int, error) {
	code, body, err := httpGet("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
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
	_, body, err := httpGet("http://" + addr + "/api/v1/alerts")
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

// eventually polls cond every 100ms until it returns true or timeout
// passes, failing the test then; the processes must stay alive.
func eventually(t *testing.T, timeout time.Duration, what string, procs []*process, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, p := range procs {
			p.alive(t)
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
