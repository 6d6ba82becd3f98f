package fielderr

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestRename(t *testing.T) {
	names := map[string]string{"pace.Window": "--scan.window"}
	inner := New("pace.Window", "25:00", "hour must be 00-23")
	wrapped := fmt.Errorf("pacer: %w", inner)
	cases := []struct {
		err  error
		want string
	}{
		{inner, `invalid --scan.window "25:00": hour must be 00-23`},
		{wrapped, `pacer: invalid --scan.window "25:00": hour must be 00-23`},
		{New("other.Field", 3, "too big"), `invalid other.Field 3: too big`},
		{errors.New("plain"), "plain"},
		{Wrap(fs.ErrPermission, "pace.Window", "x", "say so"), `invalid --scan.window "x": permission denied: say so`},
	}
	for _, c := range cases {
		got := Rename(c.err, names)
		if got.Error() != c.want {
			t.Errorf("Rename(%q) = %q, want %q", c.err, got, c.want)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("Rename(%q) lost the original error", c.err)
		}
	}
	if !errors.Is(Rename(Wrap(fs.ErrPermission, "pace.Window", "x", "m"), names), fs.ErrPermission) {
		t.Error("the cause is not reachable after Rename")
	}
}
