package postgres

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil/sigil-integrity-exporter/store"
)

// cutProxy forwards TCP to the cluster until cut, then goes silent: the
// connections stay open and nothing more passes either way, as when a
// network path dies without a reset.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			p.mu.Lock()
			cut := p.cut
			p.mu.Unlock()
			if cut {
				select {} // swallow silently, forever: the path is dead
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	go pipe(s, c)
	go pipe(c, s)
}

func (p *cutProxy) setCut(v bool) {
	p.mu.Lock()
	p.cut = v
	p.mu.Unlock()
}

// testNetworkCut: when the network to PostgreSQL goes silent mid-walk, a
// scan returns ErrUnavailable within the statement timeout plus its grace
// instead of hanging until TCP gives up.
func (e *env) testNetworkCut(t *testing.T) {
	proxy := newCutProxy(t, fmt.Sprintf("127.0.0.1:%d", e.c.Port()))
	dsn := strings.Replace(e.c.ReaderDSN(testDB), fmt.Sprintf(":%d/", e.c.Port()), fmt.Sprintf(":%d/", proxy.ln.Addr().(*net.TCPAddr).Port), 1)
	// Opened with room for a loaded machine; the walk then runs with the
	// short timeout whose bound the test checks.
	s := e.open(t, Options{DSN: dsn, Table: "sigils", PageSize: 5, StatementTimeout: 10 * time.Second})
	s.opts.StatementTimeout = time.Second
	if got := scanAll(t, s, nil); len(got) == 0 {
		t.Fatal("no records through the proxy")
	}
	proxy.setCut(true)
	start := time.Now()
	err := s.Scan(ctxT(t), nil, func(store.Record) error { return nil })
	took := time.Since(start)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("scan over a cut network: %v, want ErrUnavailable", err)
	}
	if took > 5*time.Second {
		t.Errorf("scan over a cut network took %s, want about the statement timeout plus its grace (2s)", took)
	}
	t.Logf("cut network: %s after %s", err, took.Round(time.Millisecond))
}
