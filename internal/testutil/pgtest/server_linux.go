//go:build linux

package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const startTimeout = 30 * time.Second

func platformUnsupported() string { return "" }

// watchdog runs as `sh -c watchdog sh DIR POSTGRES ARGS...`. It starts
// postgres in the background and waits for it. The shell receives SIGTERM
// (Pdeathsig) when the test process dies; it then stops postgres with a fast
// shutdown (SIGINT), waits for it and removes DIR. If postgres exits on its
// own the shell exits with its status and leaves DIR alone (the Go side
// retries or cleans up).
const watchdog = `dir=$1; shift
pg=
trap 'if [ -n "$pg" ]; then kill -INT "$pg" 2>/dev/null; wait "$pg"; fi; rm -rf "$dir"; exit 0' HUP INT TERM
"$@" &
pg=$!
wait "$pg"
`

var errPortInUse = errors.New("port already in use")

func startServer(b binaries) (*server, error) {
	var cred *syscall.Credential
	tmpParent := os.TempDir()
	if len(tmpParent) > 60 {
		tmpParent = "/tmp" // keep the Unix socket path under its ~107-byte limit
	}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the server as nobody instead.
		u, err := user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("running as root, so postgres must run as the unprivileged user nobody, but: %v", err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("user nobody has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		tmpParent = "/tmp" // world-traversable, unlike a root-only TMPDIR
	}

	base, err := os.MkdirTemp(tmpParent, "atrium-pgtest-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(base)
		}
	}()
	data, sock := filepath.Join(base, "data"), filepath.Join(base, "sock")
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(sock, 0o700); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, d := range []string{base, sock} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}

	initdb := exec.Command(b.initdb, "-D", data, "-A", "trust", "-U", superuser,
		"--no-sync", "-E", "UTF8", "--no-locale")
	initdb.Dir = base
	initdb.Env = childEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s failed: %v\n%s", b.initdb, err, out)
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := launch(b, base, data, sock, port, cred)
		if err == nil {
			ok = true
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	return nil, lastErr
}

// launch starts postgres on port under the watchdog shell and waits until it
// accepts connections.
func launch(b binaries, base, data, sock string, port int, cred *syscall.Credential) (*server, error) {
	s := &server{port: port, base: base, log: newTailBuffer(64 << 10), done: make(chan struct{})}
	cmd := exec.Command("/bin/sh", "-c", watchdog, "sh", base,
		b.postgres, "-D", data, "-k", sock, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-F",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=200",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "dynamic_shared_memory_type=mmap", // no /dev/shm use: small in containers
	)
	cmd.Dir = base
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		Setpgid:    true,            // own process group: not hit by the terminal's ^C, killable as a group
		Pdeathsig:  syscall.SIGTERM, // the watchdog stops postgres when the test process dies
	}

	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the *thread* that forked the
		// child exits, not the process. Pin this goroutine to its thread for
		// the server's lifetime so the Go runtime never retires that thread.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres: %v", err)
	}

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.done:
			tail := s.log.tail()
			if strings.Contains(tail, "Address already in use") || strings.Contains(tail, "could not bind") {
				return nil, fmt.Errorf("postgres on port %d: %w; log tail:\n%s", port, errPortInUse, tail)
			}
			return nil, fmt.Errorf("postgres exited during startup (%v); log tail:\n%s", s.waitErr, tail)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := s.exec(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
			return nil, fmt.Errorf("postgres did not accept connections on %s within %v (last error: %v); log tail:\n%s",
				s.addr(), startTimeout, err, s.log.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the environment minus anything that could redirect initdb or
// postgres (PG* variables) or make them complain about locales.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LANG=C", "LC_ALL=C")
}
