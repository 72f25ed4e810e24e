package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/entrolab/entrolab/plots"
)

// DefaultAddr is where `entrolab serve` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8080"

// Limits on what one request reads.
const (
	maxMetricsBytes = 512 << 20 // metrics.jsonl
	maxSamplesBytes = 256 << 20 // samples.jsonl
	maxFileBytes    = 64 << 20  // a file shown from the file list
	maxWalkDepth    = 4         // run directories at most this deep under the root
	maxRunFiles     = 500       // files listed on a run page
)

// ErrOutsideRoot is returned (wrapped) for an ID or path that is not a plain
// path inside the runs root: absolute, with "..", or through a symlink.
var ErrOutsideRoot = errors.New("outside the runs root")

// ErrNotRun is returned (wrapped) for a directory that holds no run.
var ErrNotRun = errors.New("not a run")

// Server serves one runs root. It only reads.
type Server struct {
	dir  string // the root, absolute, symlinks resolved
	root *os.Root
	now  func() time.Time

	mu        sync.Mutex
	metrics   map[string]*metricsEntry             // by run ID
	summaries map[string]*summaryEntry             // by run ID
	figs      map[string][]byte                    // rendered SVG by ids+name+versions
	derived   map[weak.Pointer[plots.Run]]*derived // per loaded run: summary row, thinned copies
	figKeys   []string                             // insertion order, for eviction
}

// New opens the runs root dir (which must exist) for serving.
func New(dir string) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("serve: runs root: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("serve: runs root: %w", err)
	}
	return &Server{dir: abs, root: root, now: time.Now, metrics: map[string]*metricsEntry{}, summaries: map[string]*summaryEntry{}, figs: map[string][]byte{}, derived: map[weak.Pointer[plots.Run]]*derived{}}, nil
}

// Dir is the absolute runs root.
func (s *Server) Dir() string { return s.dir }

// Close releases the root.
func (s *Server) Close() error { return s.root.Close() }

// Handler is the server's HTTP handler: GET and HEAD only.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleRunsPage)
	mux.HandleFunc("GET /run", s.handleRunPage)
	mux.HandleFunc("GET /compare", s.handleComparePage)
	mux.HandleFunc("GET /compare/table", s.handleCompareTable)
	mux.HandleFunc("GET /samples", s.handleSamplesPage)
	mux.HandleFunc("GET /fig", s.handleFigure)
	mux.HandleFunc("GET /file", s.handleFile)
	mux.HandleFunc("GET /api/runs", s.handleAPIRuns)
	mux.HandleFunc("GET /api/run", s.handleAPIRun)
	mux.HandleFunc("GET /api/versions", s.handleAPIVersions)
	mux.HandleFunc("GET /api/samples", s.handleAPISamples)
	mux.HandleFunc("GET /static/", handleStatic)
	return readOnly(mux)
}

// readOnly refuses every method but GET and HEAD and sets the headers that
// keep pages to this origin (no external network, no framing, no sniffing).
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "serve: read-only: "+r.Method+" not allowed", http.StatusMethodNotAllowed)
			return
		}
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// loopbackOnly refuses requests whose Host is not a loopback name, so a web
// page elsewhere cannot read the runs through DNS rebinding; used when the
// server listens on a loopback address.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if ip := net.ParseIP(host); !(host == "localhost" || ip != nil && ip.IsLoopback()) {
			http.Error(w, "serve: Host "+r.Host+" refused: this server answers loopback names only", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ListenAndServe serves s on addr until ctx ends. ready, when non-nil, gets
// the URL once the listener is open (addr may use port 0). On a loopback
// address only loopback Host names are answered; on any other address
// anyone who can reach it can read the runs, which the caller should say.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: listen %s: %w", addr, err)
	}
	h := s.Handler()
	if IsLoopback(addr) {
		h = loopbackOnly(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go s.warm()
	if ready != nil {
		ready("http://" + ln.Addr().String() + "/")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	}
}

// IsLoopback reports whether addr ("host:port") names a loopback host.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ---- paths ----

// cleanID checks a run ID or a path inside a run: slash-separated, relative,
// no "." or ".." elements. "" is the root itself.
func cleanID(id string) (string, error) {
	if id == "" || id == "." {
		return ".", nil
	}
	if !fs.ValidPath(id) || strings.Contains(id, "\\") {
		return "", fmt.Errorf("serve: %q: %w", id, ErrOutsideRoot)
	}
	return id, nil
}

// realDir checks that every element of rel (an ID) is a real directory
// under the root, not a symlink, and returns its absolute path.
func (s *Server) realDir(rel string) (string, error) {
	rel, err := cleanID(rel)
	if err != nil {
		return "", err
	}
	if rel != "." {
		parts := strings.Split(rel, "/")
		for i := range parts {
			p := strings.Join(parts[:i+1], "/")
			fi, err := s.root.Lstat(p)
			if err != nil {
				return "", fmt.Errorf("serve: %s: %w", rel, err)
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				return "", fmt.Errorf("serve: %s: %s is a symlink: %w", rel, p, ErrOutsideRoot)
			}
			if !fi.IsDir() {
				return "", fmt.Errorf("serve: %s: %w", rel, ErrNotRun)
			}
		}
	}
	return filepath.Join(s.dir, filepath.FromSlash(rel)), nil
}

// runDir checks that id is a run (a real directory under the root holding a
// regular metrics.jsonl or config.yaml) and returns its absolute path.
func (s *Server) runDir(id string) (string, error) {
	if id == "" || id == "." {
		return "", fmt.Errorf("serve: no run id given: %w", ErrNotRun)
	}
	abs, err := s.realDir(id)
	if err != nil {
		return "", err
	}
	found := false
	for _, f := range []string{plots.MetricsFile, plots.ConfigFile, StatusFile, samplesFile} {
		fi, err := s.root.Lstat(id + "/" + f)
		if err != nil {
			continue
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("serve: %s/%s is not a regular file: %w", id, f, ErrOutsideRoot)
		}
		if f == plots.MetricsFile || f == plots.ConfigFile {
			found = true
		}
	}
	if !found {
		return "", fmt.Errorf("serve: %s: %w", id, ErrNotRun)
	}
	return abs, nil
}

// readInRoot reads rel (a slash path under the root) through the os.Root,
// refusing anything larger than limit, and returns it up to its last
// newline when lines is set (a line being appended is not yet there).
func (s *Server) readInRoot(rel string, limit int64, lines bool) ([]byte, os.FileInfo, error) {
	rel, err := cleanID(rel)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.root.Open(rel)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("serve: %s is not a regular file", rel)
	}
	if fi.Size() > limit {
		return nil, nil, fmt.Errorf("serve: %s is %d bytes, more than the %d this server reads", rel, fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if lines {
		b = b[:bytes.LastIndexByte(b, '\n')+1]
	}
	return b, fi, nil
}

// ---- discovery ----

// skipDirs are never searched for runs.
var skipDirs = map[string]bool{"checkpoints": true, "plots": true, ".git": true}

// listRuns finds the run directories under the root (not inside another
// run, at most maxWalkDepth deep, symlinks not followed), sorted by ID.
func (s *Server) listRuns() ([]string, error) {
	var ids []string
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return fs.SkipDir // a directory removed or unreadable mid-walk
		}
		if !d.IsDir() {
			return nil
		}
		if p != "." && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
			return fs.SkipDir
		}
		if p != "." && s.isRun(p) {
			ids = append(ids, p)
			return fs.SkipDir
		}
		if strings.Count(p, "/")+1 >= maxWalkDepth {
			return fs.SkipDir
		}
		return nil
	})
	sort.Strings(ids)
	return ids, err
}

func (s *Server) isRun(p string) bool {
	for _, f := range []string{plots.MetricsFile, plots.ConfigFile} {
		if fi, err := s.root.Lstat(p + "/" + f); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// sweepOf is the directory holding a run (its ID's parent), "" at the top.
func sweepOf(id string) string {
	d := path.Dir(id)
	if d == "." {
		return ""
	}
	return d
}
