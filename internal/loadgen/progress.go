package loadgen

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// meter prints the progress of one phase once a second (rows done / total, rate, ETA) and a
// final line with the time taken: long work shows progress.
type meter struct {
	w     io.Writer
	name  string
	total int64
	done  atomic.Int64
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
}

func startMeter(w io.Writer, name string, total int64) *meter {
	m := &meter{w: w, name: name, total: total, start: time.Now(), quit: make(chan struct{})}
	if w == nil {
		return m
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-m.quit:
				return
			case <-t.C:
				m.print()
			}
		}
	}()
	return m
}

func (m *meter) add(n int64) { m.done.Add(n) }

func (m *meter) print() {
	done := m.done.Load()
	el := time.Since(m.start)
	rate := float64(done) / el.Seconds()
	line := fmt.Sprintf("seed %-10s %12s", m.name, count(done))
	if m.total > 0 {
		line += fmt.Sprintf("/%s (%5.1f%%)", count(m.total), 100*float64(done)/float64(m.total))
	}
	line += fmt.Sprintf("  %s rows/s", count(int64(rate)))
	if m.total > 0 && rate > 0 && done < m.total {
		line += "  ETA " + time.Duration(float64(m.total-done)/rate*float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintln(m.w, line)
}

// finish stops the ticker and reports the phase's time.
func (m *meter) finish() time.Duration {
	el := time.Since(m.start)
	if m.w != nil {
		close(m.quit)
		m.wg.Wait()
		if done := m.done.Load(); m.total > 0 || done > 0 {
			fmt.Fprintf(m.w, "seed %-10s %12s rows in %s (%s rows/s)\n", m.name, count(done), el.Round(time.Millisecond),
				count(int64(float64(done)/el.Seconds())))
		} else {
			fmt.Fprintf(m.w, "seed %-10s done in %s\n", m.name, el.Round(time.Millisecond))
		}
	}
	return el
}

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
