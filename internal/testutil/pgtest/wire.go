package pgtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// A minimal PostgreSQL frontend (protocol 3.0): startup with trust
// authentication, then simple Query messages. It is all this package needs to
// check readiness and create or drop databases, so there is no psql
// dependency.

// pgError is an ErrorResponse sent by the server.
type pgError struct {
	Severity string // e.g. "ERROR", "FATAL"
	Code     string // SQLSTATE, e.g. "42P04"
	Message  string
	Detail   string
}

func (e *pgError) Error() string {
	s := "postgres: " + e.Severity + ": " + e.Message + " (SQLSTATE " + e.Code + ")"
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

type wireConn struct {
	nc net.Conn
	r  *bufio.Reader
}

// dial connects to addr and completes the startup handshake as user on database.
func dial(ctx context.Context, addr, user, database string) (*wireConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	} else {
		_ = nc.SetDeadline(time.Now().Add(time.Minute))
	}
	c := &wireConn{nc: nc, r: bufio.NewReader(nc)}

	// StartupMessage: int32 length, int32 protocol 3.0, key\0value\0 pairs, \0.
	body := binary.BigEndian.AppendUint32(nil, 3<<16)
	for _, kv := range [][2]string{{"user", user}, {"database", database}, {"client_encoding", "UTF8"}} {
		body = append(body, kv[0]...)
		body = append(body, 0)
		body = append(body, kv[1]...)
		body = append(body, 0)
	}
	body = append(body, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
	if _, err := nc.Write(append(msg, body...)); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.readUntilReady(func(typ byte, payload []byte) error {
		if typ != 'R' {
			return nil
		}
		if len(payload) < 4 {
			return errors.New("postgres: short authentication message")
		}
		if code := binary.BigEndian.Uint32(payload); code != 0 {
			return fmt.Errorf("postgres: server requested authentication method %d; pgtest only supports trust", code)
		}
		return nil
	}); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// exec runs query with the simple query protocol, discarding any rows, and
// returns the server's error, if any.
func (c *wireConn) exec(query string) error {
	if strings.IndexByte(query, 0) >= 0 {
		return errors.New("postgres: query contains a NUL byte")
	}
	msg := append([]byte{'Q'}, binary.BigEndian.AppendUint32(nil, uint32(4+len(query)+1))...)
	msg = append(append(msg, query...), 0)
	if _, err := c.nc.Write(msg); err != nil {
		return err
	}
	return c.readUntilReady(nil)
}

// readUntilReady reads messages until ReadyForQuery. The first ErrorResponse
// is returned once the server is ready again (or at once if it was fatal and
// the server closed the connection).
func (c *wireConn) readUntilReady(handle func(typ byte, payload []byte) error) error {
	var firstErr error
	for {
		typ, payload, err := c.readMessage()
		if err != nil {
			if firstErr != nil {
				return firstErr
			}
			return err
		}
		switch typ {
		case 'Z': // ReadyForQuery
			return firstErr
		case 'E': // ErrorResponse
			if firstErr == nil {
				firstErr = parseError(payload)
			}
		default:
			if handle != nil && firstErr == nil {
				if err := handle(typ, payload); err != nil {
					return err
				}
			}
		}
	}
}

func (c *wireConn) readMessage() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 64<<20 {
		return 0, nil, fmt.Errorf("postgres: bad message length %d", n)
	}
	payload := make([]byte, n-4)
	if _, err := io.ReadFull(c.r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

func parseError(payload []byte) *pgError {
	e := &pgError{}
	for len(payload) > 0 && payload[0] != 0 {
		field := payload[0]
		end := 1
		for end < len(payload) && payload[end] != 0 {
			end++
		}
		val := string(payload[1:end])
		switch field {
		case 'V': // non-localized severity (9.6+)
			e.Severity = val
		case 'S':
			if e.Severity == "" {
				e.Severity = val
			}
		case 'C':
			e.Code = val
		case 'M':
			e.Message = val
		case 'D':
			e.Detail = val
		}
		if end >= len(payload) {
			break
		}
		payload = payload[end+1:]
	}
	return e
}

// close sends Terminate and closes the connection.
func (c *wireConn) close() {
	_, _ = c.nc.Write([]byte{'X', 0, 0, 0, 4})
	_ = c.nc.Close()
}
