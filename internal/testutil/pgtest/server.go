package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// server is the shared, per-process PostgreSQL instance.
type server struct {
	port int
	base string      // temporary directory holding data and socket dirs
	log  *tailBuffer // postgres' stderr (the server log)

	done    chan struct{} // closed when the server process has exited
	waitErr error         // valid after done is closed
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// exited returns a non-nil error describing the exit if the server is gone.
func (s *server) exited() error {
	select {
	case <-s.done:
		return fmt.Errorf("postgres server exited (%v); log tail:\n%s", s.waitErr, s.log.tail())
	default:
		return nil
	}
}

// exec runs one statement as the superuser in the maintenance database.
func (s *server) exec(ctx context.Context, query string) error {
	c, err := dial(ctx, s.addr(), superuser, "postgres")
	if err != nil {
		if e := s.exited(); e != nil {
			return e
		}
		return err
	}
	defer c.close()
	return c.exec(query)
}

func (s *server) dropDatabase(ctx context.Context, name string) error {
	err := s.exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)")
	var pe *pgError
	if errors.As(err, &pe) && pe.Code == "42601" { // syntax error: server older than 13
		err = s.exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name))
	}
	return err
}

// tailBuffer is an io.Writer keeping the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// tail returns the last 30 lines written.
func (b *tailBuffer) tail() string {
	b.mu.Lock()
	s := string(b.buf)
	b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
