package canonical

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestNumbersAgainstReference prints many generated literals (short and long
// mantissas, leading and trailing zeros, with and without exponents) and
// compares with the slow reference in fuzz_test.go. The Node vectors pin
// the reference itself to V8.
func TestNumbersAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	digits := func(n int, lead bool) string {
		var sb strings.Builder
		for k := 0; k < n; k++ {
			c := byte('0' + r.IntN(10))
			if k == 0 && lead && c == '0' {
				c = '1'
			}
			sb.WriteByte(c)
		}
		return sb.String()
	}
	for k := 0; k < 200000; k++ {
		var lit string
		if r.IntN(4) == 0 {
			lit = "0"
		} else {
			lit = digits(1+r.IntN(20), true)
		}
		if r.IntN(2) == 0 {
			lit += "." + strings.Repeat("0", r.IntN(9)) + digits(1+r.IntN(18), false)
		}
		if r.IntN(3) == 0 {
			lit += []string{"e", "E", "e+", "e-"}[r.IntN(4)] + strconv.Itoa(r.IntN(330))
		}
		if r.IntN(2) == 0 {
			lit = "-" + lit
		}
		got, err := JS.Append(nil, []byte("["+lit+"]"))
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		var sb strings.Builder
		refNumber(&sb, lit)
		if want := "[" + sb.String() + "]"; string(got) != want {
			t.Fatalf("%s printed as %s, want %s", lit, got, want)
		}
	}
}
