package alerts

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// toolPackages are the Debian packages of the tools the tests run.
var toolPackages = map[string]string{"promtool": "prometheus", "amtool": "prometheus-alertmanager"}

// run runs a tool in this directory and returns its combined output and
// whether it exited 0.
func run(t *testing.T, name string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.Tool(t, "the Debian package "+toolPackages[name], name), args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out", name, args)
	}
	if err != nil {
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return out.String(), false
	}
	return out.String(), true
}
