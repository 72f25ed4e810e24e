package serve_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/serve"
	"github.com/entrolab/entrolab/trainer"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the README screenshots (docs/*.png) from the browser test")

// chromium finds a Chromium or Chrome binary: $ENTROLAB_CHROMIUM, else the
// usual names on PATH.
func chromium() (string, error) {
	if p := os.Getenv("ENTROLAB_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium, chromium-browser, google-chrome or headless-shell on PATH and ENTROLAB_CHROMIUM unset (apt-get install chromium)")
}

// pacer holds the training after step hold until gate closes, then paces
// each step, so that the browser sees steps land while the page is open.
type pacer struct {
	hold  int
	gate  chan struct{}
	delay time.Duration
}

func (p pacer) OnStep(_ *trainer.Trainer, r trainer.Record) error {
	if r.Step == p.hold {
		<-p.gate
	}
	time.Sleep(p.delay)
	return nil
}

// startTraining runs a short real training (the committed tiny base policy)
// into root/live_addition-s1 in the background, as `entrolab train` lays a
// run out; the returned channel gets its error when it ends.
func startTraining(t *testing.T, root string, steps int, pace pacer) (string, <-chan error) {
	t.Helper()
	c := trainer.DefaultConfig()
	c.Name = "live_addition"
	c.Base.Checkpoint = policytest.BaseDir()
	c.Sampling.MaxNewTokens = 6
	c.Sampling.N = 4
	c.Train.PromptsPerStep = 4
	c.Train.Steps = steps
	c.Eval.Every, c.Eval.Problems, c.Eval.K = 10, 8, 0
	c.Log.Diagnostics = false
	c.Ckpt.Every = 10
	c.Log.SampleEvery, c.Log.Samples = 2, 8
	dir := filepath.Join(root, "live_addition-s1")
	r, err := trainer.Open(c, dir, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := configs.WriteResolved(dir, r.Trainer.Cfg); err != nil {
		t.Fatal(err)
	}
	if err := serve.WriteStatus(dir, serve.StateRunning, ""); err != nil {
		t.Fatal(err)
	}
	r.Trainer.Observe(trainer.MetricsWriter{Dir: dir})
	r.Trainer.Observe(trainer.Checkpointer{Run: r})
	r.Trainer.Observe(pace)
	done := make(chan error, 1)
	go func() {
		err := r.Trainer.Run(context.Background())
		if err == nil {
			err = serve.WriteStatus(dir, serve.StateDone, "")
		}
		done <- err
	}()
	return dir, done
}

// inkFraction is the share of pixels in the rectangle that are not near
// white, and the share that are strongly red (the top entropy colours).
func inkFraction(t *testing.T, shot []byte, r image.Rectangle) (ink, red float64) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	r = r.Intersect(img.Bounds())
	n, nInk, nRed := 0, 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			cr, cg, cb = cr>>8, cg>>8, cb>>8
			n++
			if cr < 235 || cg < 235 || cb < 235 {
				nInk++
			}
			if cr > 170 && cg < 110 && cb < 90 {
				nRed++
			}
		}
	}
	if n == 0 {
		t.Fatalf("empty screenshot region %v", r)
	}
	return float64(nInk) / float64(n), float64(nRed) / float64(n)
}

// saveScreenshot writes a screenshot for the README as a 256-colour PNG
// (small enough to commit).
func saveScreenshot(t *testing.T, shot []byte, path string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	pal := image.NewPaletted(img.Bounds(), palette.Plan9)
	draw.Draw(pal, img.Bounds(), img, img.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, pal); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, buf.Len())
}

type box struct{ X, Y, W, H float64 }

func (b box) rect() image.Rectangle {
	return image.Rect(int(b.X), int(b.Y), int(b.X+b.W), int(b.Y+b.H))
}

// TestBrowser drives headless Chromium against a server over a live
// training run: the runs page lists it (and a run created later, and its
// status turning done, without a reload), the run page's entropy figure is
// redrawn as steps land, the samples page colours tokens by entropy; each
// page's screenshot is checked for content.
func TestBrowser(t *testing.T) {
	exe, err := chromium()
	if err != nil {
		fmt.Println("serve: TestBrowser skipped:", err)
		t.Skip(err)
	}
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(profile), chromedp.WindowSize(1100, 860), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`1`)); err != nil {
		fmt.Println("serve: TestBrowser skipped: chromium does not start:", err)
		t.Skipf("chromium %s does not start: %v", exe, err)
	}
	root := t.TempDir()
	gate := make(chan struct{})
	opened := false
	defer func() {
		if !opened {
			close(gate)
		}
	}()
	_, done := startTraining(t, root, 25, pacer{hold: 4, gate: gate, delay: 250 * time.Millisecond})
	s, err := serve.New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	ctx, cancel := context.WithTimeout(bctx, 120*time.Second)
	defer cancel()
	do := func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, acts...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) map[string]any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	shot := func() []byte {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	elemBox := func(sel string) box {
		v := eval(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })()`, sel))
		return box{v["x"].(float64), v["y"].(float64), v["w"].(float64), v["h"].(float64)}
	}

	// runs page: the live run is listed; a later run appears without a reload
	do("runs page", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`tr[data-id="live_addition-s1"]`)))
	late := filepath.Join(root, "late_addition-s2")
	os.MkdirAll(late, 0o755)
	os.WriteFile(filepath.Join(late, "config.yaml"), []byte("name: late_addition\nseed: 2\n"), 0o644)
	do("runs page: new run", chromedp.WaitVisible(chromedp.CSS(`tr[data-id="late_addition-s2"]`)))
	st := eval(`({s: document.querySelector('tr[data-id="live_addition-s1"]').dataset.status})`)["s"]
	if st != serve.StateRunning && st != serve.StateDone {
		t.Errorf("live run's status on the runs page = %v", st)
	}
	if ink, _ := inkFraction(t, shot(), elemBox("table.runs").rect()); ink < 0.05 {
		t.Errorf("runs page screenshot: table %.3f ink, looks empty", ink)
	}

	// run page: the entropy figure is redrawn as steps land
	do("run page", chromedp.Navigate(ts.URL+"/run?id=live_addition-s1"), chromedp.WaitVisible(chromedp.CSS(`img[data-fig="entropy"]`)))
	figState := `(() => { const i = document.querySelector('img[data-fig="entropy"]');
		return {v: i.dataset.v, w: i.naturalWidth, ok: i.complete && i.naturalWidth > 0, step: Number(document.getElementById("step").textContent), updates: Number(document.body.dataset.updates || 0)}; })()`
	first := eval(figState)
	close(gate) // training goes on while the page is open
	opened = true
	var last map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		last = eval(figState)
		if last["updates"].(float64) >= 3 && last["ok"] == true && last["step"].(float64) > first["step"].(float64) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entropy figure not redrawn as steps land: first %v, last %v", first, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("entropy figure: %v -> %v", first, last)
	if last["v"] == first["v"] {
		t.Errorf("figure version unchanged: %v", last["v"])
	}
	if err := <-done; err != nil {
		t.Fatalf("training: %v", err)
	}
	do("run page: done", chromedp.WaitVisible(chromedp.CSS(`#status.st-done`)))
	time.Sleep(2 * time.Second) // the last redraw lands
	eval(`(() => { window.scrollTo(0, 0); return {}; })()`)
	runShot := shot()
	fig := elemBox(`img[data-fig="entropy"]`)
	if ink, _ := inkFraction(t, runShot, fig.rect()); ink < 0.02 || fig.W < 200 {
		t.Errorf("run page screenshot: entropy figure %v has %.3f ink", fig, ink)
	}

	// samples page: tokens coloured by entropy
	do("samples page", chromedp.Navigate(ts.URL+"/samples?id=live_addition-s1"), chromedp.WaitVisible(chromedp.CSS(`span.tok`)))
	tok := eval(`(() => { const ts = [...document.querySelectorAll('#completions span.tok')];
		return {n: ts.length, colours: new Set(ts.map((e) => getComputedStyle(e).backgroundColor)).size, title: ts.length ? ts[0].title : "", high: document.querySelectorAll('#completions span.tok.high').length, rows: document.querySelectorAll('table.hi tbody tr').length}; })()`)
	if tok["n"].(float64) < 20 || tok["colours"].(float64) < 3 || tok["high"].(float64) < 1 || tok["rows"].(float64) < 1 {
		t.Errorf("samples page: %v", tok)
	}
	samplesShot := shot()
	// samples landing while the page is open appear without a reload
	sf, err := os.OpenFile(filepath.Join(root, "live_addition-s1", "samples.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	sf.WriteString(`{"step":999,"prompt":"2+2=","completion":"4","answer":"4","reward":1,"advantage":0.5,"finish":"eos","correct":true,"tokens":["4","<eos>"],"logp":[-0.1,-0.01],"entropy":[0.3,0.01]}` + "\n")
	sf.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		v := eval(`({shown: [...document.querySelectorAll('#completions .meta')].some((m) => m.textContent.startsWith("step 999 ")),
			option: !!document.querySelector('#step-filter option[value="999"]'), updates: Number(document.body.dataset.updates || 0)})`)
		if v["shown"] == true && v["option"] == true && v["updates"].(float64) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("samples page: a sample that landed is not shown without a reload: %v", v)
		}
	}
	if ink, red := inkFraction(t, samplesShot, elemBox("#completions").rect()); ink < 0.02 || red <= 0 {
		t.Errorf("samples page screenshot: %.3f ink, %.4f red", ink, red)
	}
	// filters: only wrong completions of one step
	do("samples page: filter", chromedp.Navigate(ts.URL+"/samples?id=live_addition-s1&outcome=wrong&step=2"), chromedp.WaitVisible(chromedp.CSS(`form.filters`)))
	if v := eval(`({ok: document.querySelectorAll('#completions .comp.ok').length})`); v["ok"].(float64) != 0 {
		t.Errorf("outcome=wrong shows %v correct completions", v["ok"])
	}
	if *updateScreenshots {
		os.MkdirAll("../docs", 0o755)
		saveScreenshot(t, runShot, "../docs/watching-run.png")
		saveScreenshot(t, samplesShot, "../docs/watching-samples.png")
	}
}
