package serve

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/entrolab/entrolab/plots"
)

//go:embed assets
var assets embed.FS

// entropyBins is the number of colour classes tokens are drawn in.
const entropyBins = 12

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"num": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return strconv.FormatFloat(*v, 'g', 3, 64)
	},
	"show": showToken,
	"jac": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	},
}).ParseFS(assets, "assets/pages.html"))

// styleCSS is the embedded style sheet plus one class per entropy bin.
var styleCSS = func() []byte {
	b, err := assets.ReadFile("assets/style.css")
	if err != nil {
		panic(err) // embedded: a build mistake
	}
	var buf bytes.Buffer
	buf.Write(b)
	for i := range entropyBins {
		fmt.Fprintf(&buf, ".h%d{background:%s}\n", i, entropyColor(float64(i), entropyBins-1))
	}
	return buf.Bytes()
}()

func handleStatic(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/static/style.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(styleCSS)
	case "/static/app.js":
		b, _ := assets.ReadFile("assets/app.js")
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// pageData is what every page template gets.
type pageData struct {
	Title, Page, ID, Version, Root string
	Query                          template.URL // url.Values.Encode of the selection: safe in a URL
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "serve: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(buf.Bytes())
}

// httpError answers 404 for a missing or refused run and 400 for a path
// outside the root, with the reason.
func httpError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrOutsideRoot):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNotRun), errors.Is(err, fs.ErrNotExist):
		code = http.StatusNotFound
	}
	http.Error(w, err.Error(), code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// ---- runs ----

type runsPage struct {
	pageData
	Runs   []runInfo
	Sweeps []string
}

func sweepsOf(runs []runInfo) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range runs {
		if r.Sweep != "" && !seen[r.Sweep] {
			seen[r.Sweep] = true
			out = append(out, r.Sweep)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Server) handleRunsPage(w http.ResponseWriter, r *http.Request) {
	runs, err := s.summariesAll()
	if err != nil {
		httpError(w, err)
		return
	}
	s.render(w, "runs", runsPage{pageData: pageData{Title: "runs", Page: "runs", Root: s.dir}, Runs: runs, Sweeps: sweepsOf(runs)})
}

func (s *Server) handleAPIRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.summariesAll()
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, runs)
}

func (s *Server) handleAPIRun(w http.ResponseWriter, r *http.Request) {
	info, err := s.summary(r.URL.Query().Get("id"))
	if err != nil {
		httpError(w, err)
		return
	}
	writeJSON(w, info)
}

// ---- one run ----

type fileRow struct {
	Path string
	Size int64
	Mod  string
}

type runPage struct {
	pageData
	Info     runInfo
	Figures  []string
	Thin     int
	Config   string
	Files    []fileRow
	FilesCut bool
}

// runFiles lists the regular files of run id (symlinks are not listed).
func (s *Server) runFiles(id string) ([]fileRow, bool) {
	sub, err := fs.Sub(s.root.FS(), id)
	if err != nil {
		return nil, false
	}
	var out []fileRow
	cut := false
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fs.SkipDir
		}
		if len(out) >= maxRunFiles {
			cut = true
			return fs.SkipAll
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		out = append(out, fileRow{Path: p, Size: fi.Size(), Mod: fi.ModTime().UTC().Format(time.DateTime)})
		return nil
	})
	return out, cut
}

func (s *Server) handleRunPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	info, err := s.summary(id)
	if err != nil {
		httpError(w, err)
		return
	}
	p := runPage{pageData: pageData{Title: id, Page: "run", ID: id, Query: template.URL(url.Values{"id": {id}}.Encode()), Version: info.Version, Root: s.dir},
		Info: info, Figures: plots.FigureNames(), Thin: 1}
	if run, _, err := s.loadRun(id); err == nil {
		_, p.Thin = s.thinned(run, figurePoints(1))
	}
	if b, _, err := s.readInRoot(id+"/"+plots.ConfigFile, 1<<20, false); err == nil {
		p.Config = string(b)
	}
	p.Files, p.FilesCut = s.runFiles(id)
	s.render(w, "run", p)
}

// handleFile serves one file of a run, read through the os.Root (a symlink
// out of the root fails), as text, PNG or SVG, in a sandbox.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("id")
	if _, err := s.runDir(id); err != nil {
		httpError(w, err)
		return
	}
	rel, err := cleanID(q.Get("path"))
	if err != nil || rel == "." {
		httpError(w, fmt.Errorf("serve: file %q: %w", q.Get("path"), ErrOutsideRoot))
		return
	}
	b, fi, err := s.readInRoot(id+"/"+rel, maxFileBytes, false)
	if err != nil {
		if strings.Contains(err.Error(), "escapes") || strings.Contains(err.Error(), "outside") {
			err = fmt.Errorf("serve: %s: %w: %v", rel, ErrOutsideRoot, err)
		}
		httpError(w, err)
		return
	}
	ct := "application/octet-stream"
	switch ext := path.Ext(rel); ext {
	case ".png", ".svg", ".pdf":
		ct = mime.TypeByExtension(ext)
	case ".jsonl", ".json", ".yaml", ".yml", ".md", ".csv", ".txt", ".log", "":
		ct = "text/plain; charset=utf-8"
	case ".html":
		ct = "text/plain; charset=utf-8" // shown as source: pages here run no foreign HTML
	}
	if ct == "application/octet-stream" {
		w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(path.Base(rel)))
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'")
	http.ServeContent(w, r, path.Base(rel), fi.ModTime(), bytes.NewReader(b))
}

// ---- figures and comparisons ----

// selection is the runs a figure or comparison shows: ids given, or every
// run under a sweep directory.
func (s *Server) selection(q url.Values) (ids []string, title string, err error) {
	if sw := q.Get("sweep"); sw != "" {
		sw, err := cleanID(sw)
		if err != nil {
			return nil, "", err
		}
		if _, err := s.realDir(sw); err != nil {
			return nil, "", err
		}
		all, err := s.listRuns()
		if err != nil {
			return nil, "", err
		}
		for _, id := range all {
			if sw == "." || strings.HasPrefix(id, sw+"/") {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil, "", fmt.Errorf("serve: sweep %s holds no runs: %w", sw, ErrNotRun)
		}
		return ids, "sweep " + sw, nil
	}
	ids = q["id"]
	if len(ids) == 0 {
		return nil, "", fmt.Errorf("serve: give id=RUN (repeatable) or sweep=DIR: %w", ErrNotRun)
	}
	for _, id := range ids {
		if _, err := cleanID(id); err != nil {
			return nil, "", err
		}
	}
	if len(ids) == 1 {
		return ids, ids[0], nil
	}
	return ids, fmt.Sprintf("%d runs", len(ids)), nil
}

// loadRuns reads the selected runs (missing ones are listed, not fatal)
// and returns them with a version that changes when any of them does.
func (s *Server) loadRuns(ids []string) (runs []*plots.Run, version string, missing []string) {
	all, vers, errs := s.loadMany(ids, 0)
	var vs []string
	for i, id := range ids {
		if errs[i] != nil {
			missing = append(missing, id)
			continue
		}
		runs = append(runs, all[i])
		vs = append(vs, vers[i])
	}
	return runs, strings.Join(vs, "-"), missing
}

// figure renders the named plot figure for the runs as SVG, thinned for
// the page, cached by the runs' versions.
func (s *Server) figure(name string, ids []string) ([]byte, error) {
	runs, version, _ := s.loadRuns(ids)
	if len(runs) == 0 {
		return nil, fmt.Errorf("serve: none of %v has metrics: %w", ids, ErrNotRun)
	}
	key := name + "\x00" + strings.Join(ids, "\x00") + "\x00" + version
	s.mu.Lock()
	b, ok := s.figs[key]
	s.mu.Unlock()
	if ok {
		return b, nil
	}
	shown := make([]*plots.Run, len(runs))
	for i, r := range runs {
		shown[i], _ = s.thinned(r, figurePoints(len(runs)))
	}
	b, err := plots.RenderFigure(name, shown, "svg")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.figs[key] = b
	s.figKeys = append(s.figKeys, key)
	for len(s.figKeys) > 256 {
		delete(s.figs, s.figKeys[0])
		s.figKeys = s.figKeys[1:]
	}
	s.mu.Unlock()
	return b, nil
}

func (s *Server) handleFigure(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids, _, err := s.selection(q)
	if err != nil {
		httpError(w, err)
		return
	}
	b, err := s.figure(q.Get("name"), ids)
	switch {
	case errors.Is(err, plots.ErrNoData):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case errors.Is(err, plots.ErrUnknownName):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		httpError(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

func (s *Server) handleAPIVersions(w http.ResponseWriter, r *http.Request) {
	ids, _, err := s.selection(r.URL.Query())
	if err != nil {
		httpError(w, err)
		return
	}
	var vs []string
	for _, id := range ids {
		k, _ := s.fileKey(id + "/" + plots.MetricsFile)
		vs = append(vs, k)
	}
	writeJSON(w, map[string]string{"version": strings.Join(vs, "-")})
}

// groupRow is one band of the comparison table.
type groupRow struct {
	Label                    string
	Runs                     []string
	Steps                    string
	Reward, Entropy, Acc, R2 string
}

// derived is what the pages compute from one loaded run and keep while it
// lives: its summary row and its thinned copies by point budget. It is
// found by a weak pointer to the run, so a run replaced by a newer read of
// its file (a growing run, every step) is collected with what was derived
// from it (TestDerivedFreed).
type derived struct {
	row   *plots.SummaryRow
	thins map[int]thinned
}

type thinned struct {
	run *plots.Run // nil: the run itself (not thinned; no strong reference to it here)
	k   int
}

// derivedOf is r's derived values; s.mu must be held.
func (s *Server) derivedOf(r *plots.Run) *derived {
	key := weak.Make(r)
	d := s.derived[key]
	if d == nil {
		d = &derived{thins: map[int]thinned{}}
		s.derived[key] = d
		runtime.AddCleanup(r, func(key weak.Pointer[plots.Run]) {
			s.mu.Lock()
			delete(s.derived, key)
			s.mu.Unlock()
		}, key)
	}
	return d
}

// thinned is thin(r, pts), kept while r lives (the figures of one page
// share their runs' thinned copies).
func (s *Server) thinned(r *plots.Run, pts int) (*plots.Run, int) {
	s.mu.Lock()
	t, ok := s.derivedOf(r).thins[pts]
	s.mu.Unlock()
	if !ok {
		var tr *plots.Run
		tr, t.k = thin(r, pts)
		if tr != r {
			t.run = tr
		}
		s.mu.Lock()
		s.derivedOf(r).thins[pts] = t
		s.mu.Unlock()
	}
	if t.run == nil {
		return r, t.k
	}
	return t.run, t.k
}

// summaryRow is plots.Summarize of one run, kept while the run lives (a
// loaded run is never modified; a changed file gives a new *plots.Run).
func (s *Server) summaryRow(r *plots.Run) plots.SummaryRow {
	s.mu.Lock()
	row := s.derivedOf(r).row
	s.mu.Unlock()
	if row != nil {
		return *row
	}
	sr := plots.Summarize([]*plots.Run{r})[0]
	s.mu.Lock()
	s.derivedOf(r).row = &sr
	s.mu.Unlock()
	return sr
}

// compareRows summarises each group of runs: final reward and entropy as
// mean (min–max) over its runs, mean held-out accuracy and fit R².
func (s *Server) compareRows(runs []*plots.Run, ids map[*plots.Run]string) []groupRow {
	// the runs' summaries first, on every core (each is cached)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.summaryRow(r)
		}()
	}
	wg.Wait()
	var out []groupRow
	for _, g := range compareGroups(runs) {
		rows := make([]plots.SummaryRow, len(g.Runs))
		for i, r := range g.Runs {
			rows[i] = s.summaryRow(r)
		}
		row := groupRow{Label: g.Label()}
		var rew, ent, acc, r2 []float64
		lo, hi := math.MaxInt, 0
		for i, sr := range rows {
			row.Runs = append(row.Runs, ids[g.Runs[i]])
			rew, ent, acc, r2 = append(rew, sr.FinalReward), append(ent, sr.FinalEntropy), append(acc, sr.FinalValAccuracy), append(r2, sr.FitR2)
			lo, hi = min(lo, sr.Last), max(hi, sr.Last)
		}
		row.Steps = strconv.Itoa(hi)
		if lo != hi {
			row.Steps = fmt.Sprintf("%d–%d", lo, hi)
		}
		row.Reward, row.Entropy, row.Acc, row.R2 = meanRange(rew), meanRange(ent), meanOnly(acc), meanOnly(r2)
		out = append(out, row)
	}
	return out
}

func finite(v []float64) []float64 {
	var out []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

func meanOnly(v []float64) string {
	v = finite(v)
	if len(v) == 0 {
		return "–"
	}
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return strconv.FormatFloat(sum/float64(len(v)), 'f', 3, 64)
}

func meanRange(v []float64) string {
	f := finite(v)
	if len(f) <= 1 {
		return meanOnly(f)
	}
	lo, hi := f[0], f[0]
	for _, x := range f {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return fmt.Sprintf("%s (%.3f–%.3f)", meanOnly(f), lo, hi)
}

type comparePage struct {
	pageData
	Groups  []groupRow
	Figures []string
	Missing []string
	Thin    int // the figures draw every Thin-th step of the longest runs
}

func (s *Server) compareData(q url.Values) (comparePage, error) {
	ids, title, err := s.selection(q)
	if err != nil {
		return comparePage{}, err
	}
	runs, version, missing := s.loadRuns(ids)
	if len(runs) == 0 {
		return comparePage{}, fmt.Errorf("serve: none of %v is a run with metrics: %w", ids, ErrNotRun)
	}
	byRun := map[*plots.Run]string{}
	i := 0
	for _, id := range ids {
		if i < len(runs) && !contains(missing, id) {
			byRun[runs[i]] = id
			i++
		}
	}
	qs := url.Values{}
	if q.Get("sweep") != "" {
		qs.Set("sweep", q.Get("sweep"))
	} else {
		qs["id"] = ids
	}
	return comparePage{pageData: pageData{Title: title, Page: "compare", Query: template.URL(qs.Encode()), Version: version, Root: s.dir},
		Groups: s.compareRows(runs, byRun), Figures: plots.FigureNames(), Missing: missing, Thin: thinOf(s, runs)}, nil
}

// thinOf is the largest thinning step the figures of runs use.
func thinOf(s *Server, runs []*plots.Run) int {
	k := 1
	for _, r := range runs {
		_, rk := s.thinned(r, figurePoints(len(runs)))
		k = max(k, rk)
	}
	return k
}

func contains(v []string, x string) bool {
	for _, y := range v {
		if y == x {
			return true
		}
	}
	return false
}

func (s *Server) handleComparePage(w http.ResponseWriter, r *http.Request) {
	p, err := s.compareData(r.URL.Query())
	if err != nil {
		httpError(w, err)
		return
	}
	s.render(w, "compare", p)
}

func (s *Server) handleCompareTable(w http.ResponseWriter, r *http.Request) {
	p, err := s.compareData(r.URL.Query())
	if err != nil {
		httpError(w, err)
		return
	}
	s.render(w, "comparetable", p.Groups)
}

// ---- samples ----

type tokView struct {
	Text, Class, Title string
	H                  string
	High               bool
}

type compView struct {
	Step                               int
	Prompt, Answer, Finish, Completion string
	Reward, Adv                        float64
	Correct                            bool
	Toks                               []tokView
}

type legendItem struct{ Class, Label string }

type samplesPage struct {
	pageData
	Steps           []int
	Step            int // -1: all
	Outcomes        []string
	Outcome, Filter string
	Legend          []legendItem
	Shown           []compView
	Matched         int
	Cut, Filtered   bool
	NoTokens        int
	Top             []tokenCount
	Phases          []phase
}

// maxShownSamples bounds the completions drawn on one samples page.
const maxShownSamples = 200

// handleAPISamples answers the version of a run's samples.jsonl (its size
// and modification time, "" while there is none), which the samples page
// polls to redraw itself when new samples land.
func (s *Server) handleAPISamples(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if _, err := s.runDir(id); err != nil {
		httpError(w, err)
		return
	}
	k, _ := s.fileKey(id + "/" + samplesFile)
	writeJSON(w, map[string]string{"version": k})
}

func (s *Server) handleSamplesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("id")
	if _, err := s.runDir(id); err != nil {
		httpError(w, err)
		return
	}
	// the version before the read: samples landing meanwhile make the
	// next poll redraw the page
	version, _ := s.fileKey(id + "/" + samplesFile)
	var lines []sampleLine
	b, _, err := s.readInRoot(id+"/"+samplesFile, maxSamplesBytes, true)
	switch {
	case err == nil:
		lines, _ = parseSamples(b)
	case !errors.Is(err, fs.ErrNotExist):
		httpError(w, err)
		return
	}
	p := samplesPage{pageData: pageData{Title: "samples " + id, Page: "samples", ID: id, Root: s.dir, Version: version},
		Step: -1, Outcomes: []string{"all", "correct", "wrong"}, Outcome: "all"}
	if st, err := strconv.Atoi(q.Get("step")); err == nil {
		p.Step = st
	}
	switch o := q.Get("outcome"); o {
	case "correct", "wrong":
		p.Outcome = o
	}
	p.Filtered = p.Step >= 0 || p.Outcome != "all"
	hmax := 0.0
	seen := map[int]bool{}
	var matched []sampleLine
	for _, l := range lines {
		if !seen[l.Step] {
			seen[l.Step] = true
			p.Steps = append(p.Steps, l.Step)
		}
		for _, h := range l.Entropy {
			hmax = math.Max(hmax, h)
		}
		if p.Outcome == "correct" && !l.correct() || p.Outcome == "wrong" && l.correct() {
			continue
		}
		matched = append(matched, l)
	}
	sort.Ints(p.Steps)
	// the table counts over the outcome filter and every step (its phases
	// need them all); the completions shown follow the step filter too
	p.Top, p.Phases = entropyStats(matched, 20, 4)
	p.Filter = "counted over all logged completions of every step"
	if p.Outcome != "all" {
		p.Filter = "counted over the " + p.Outcome + " completions of every step"
	}
	thr := map[int]float64{}
	byStep := map[int][]float64{}
	for _, l := range matched {
		byStep[l.Step] = append(byStep[l.Step], l.Entropy...)
	}
	for st, e := range byStep {
		thr[st] = highThreshold(e, HighEntropyFraction)
	}
	for _, l := range matched {
		if p.Step >= 0 && l.Step != p.Step {
			continue
		}
		p.Matched++
		if len(p.Shown) >= maxShownSamples {
			p.Cut = true
			continue
		}
		cv := compView{Step: l.Step, Prompt: l.Prompt, Answer: l.Answer, Finish: l.Finish, Completion: l.Completion,
			Reward: l.Reward, Adv: l.Advantage, Correct: l.correct()}
		if l.perToken() {
			for j, t := range l.Tokens {
				h := l.Entropy[j]
				bin := 0
				if hmax > 0 {
					bin = int(math.Round(h / hmax * (entropyBins - 1)))
				}
				title := fmt.Sprintf("token %q · p = %.3f · entropy = %.3f nats", t, math.Exp(l.Logp[j]), h)
				if l.TokenAdv != nil {
					title += fmt.Sprintf(" · advantage = %+.3f", l.TokenAdv[j])
				}
				cv.Toks = append(cv.Toks, tokView{Text: showToken(t), Class: "h" + strconv.Itoa(max(0, min(bin, entropyBins-1))),
					Title: title, H: strconv.FormatFloat(h, 'g', 4, 64), High: h >= thr[l.Step]})
			}
		} else {
			p.NoTokens++
		}
		p.Shown = append(p.Shown, cv)
	}
	for i := range entropyBins {
		p.Legend = append(p.Legend, legendItem{Class: "h" + strconv.Itoa(i), Label: strconv.FormatFloat(hmax*float64(i)/(entropyBins-1), 'f', 2, 64)})
	}
	s.render(w, "samples", p)
}
