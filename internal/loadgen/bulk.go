package loadgen

import (
	"context"
	"database/sql"
	"sync"
)

// bulk streams multi-row INSERT statements to one dedicated connection: the caller formats
// rows (begin, append values, end) while a second goroutine executes the previous statement,
// committing every txRows rows. Formatting and the database's work thus overlap on two cores.
type bulk struct {
	head  []byte
	batch int
	buf   []byte
	rows  int
	ch    chan stmt
	free  chan []byte
	done  chan error

	mu  sync.Mutex
	err error
}

type stmt struct {
	sql  []byte
	rows int
}

func newBulk(ctx context.Context, conn *sql.Conn, table, cols string, batch, txRows int, m *meter) *bulk {
	b := &bulk{head: []byte("INSERT INTO " + table + " (" + cols + ") VALUES "), batch: batch,
		ch: make(chan stmt, 3), free: make(chan []byte, 5), done: make(chan error, 1)}
	go b.consume(ctx, conn, txRows, m)
	return b
}

// begin starts a row and returns the statement buffer with "(" appended.
func (b *bulk) begin() []byte {
	if b.rows == 0 {
		select {
		case buf := <-b.free:
			b.buf = buf[:0]
		default:
			b.buf = make([]byte, 0, 64<<10)
		}
		b.buf = append(b.buf, b.head...)
	} else {
		b.buf = append(b.buf, ',')
	}
	return append(b.buf, '(')
}

// end closes the row begun with begin; a full statement is handed to the executor.
func (b *bulk) end(buf []byte) error {
	b.buf = append(buf, ')')
	b.rows++
	if b.rows >= b.batch {
		return b.flush()
	}
	return nil
}

func (b *bulk) flush() error {
	if b.rows > 0 {
		b.ch <- stmt{sql: b.buf, rows: b.rows}
		b.buf, b.rows = nil, 0
	}
	return b.failed()
}

func (b *bulk) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// close sends the last statement, waits for the executor and commits.
func (b *bulk) close() error {
	_ = b.flush()
	close(b.ch)
	return <-b.done
}

func (b *bulk) consume(ctx context.Context, conn *sql.Conn, txRows int, m *meter) {
	var tx *sql.Tx
	inTx := 0
	fail := func(err error) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
		if tx != nil {
			_ = tx.Rollback()
			tx = nil
		}
	}
	for st := range b.ch {
		if b.failed() != nil {
			continue // drain, so the producer never blocks
		}
		if tx == nil {
			t, err := conn.BeginTx(ctx, nil)
			if err != nil {
				fail(err)
				continue
			}
			tx, inTx = t, 0
		}
		if _, err := tx.ExecContext(ctx, string(st.sql)); err != nil {
			fail(err)
			continue
		}
		select {
		case b.free <- st.sql:
		default:
		}
		m.add(int64(st.rows))
		if inTx += st.rows; inTx >= txRows {
			err := tx.Commit()
			tx = nil
			if err != nil {
				fail(err)
			}
		}
	}
	if tx != nil && b.failed() == nil {
		if err := tx.Commit(); err != nil {
			fail(err)
		}
	}
	b.done <- b.failed()
}
