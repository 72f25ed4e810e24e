package regress

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/internal/oblas"
	"github.com/entrolab/entrolab/plots"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/trainer"
)

var update = flag.Bool("update", false, "rewrite testdata/trajectory.golden")

// The pinned settings: every long run uses these (about 15 s a run here).
const (
	runSteps = 600 // RL steps per run
	runSeed  = 1
	window   = 30 // steps averaged at the start and end of a run
)

// Pinned thresholds, each below what was measured (README, "Regression
// tests", has the measured numbers).
const (
	minRewardGain  = 0.15 // GRPO reward gain over the run; measured +0.19
	minEntropyDrop = 0.15 // GRPO entropy drop over the run; measured 0.22
	rewardMargin   = 0.05 // entropy methods' reward may trail GRPO's by this; worst measured 0.018 (CE-GPPO)
	minMechanismR  = 0.90 // Pearson r of predicted vs measured entropy change; measured 0.94
	minFitR2       = 0.60 // R² of R = -a·exp(H) + b on GRPO; measured 0.68
	// AEPO does not hold entropy at its target (0.5) on this toy: its entropy
	// estimate falls like GRPO's. The test pins what is measured instead.
	aepoTarget   = 0.5
	aepoMeasured = 0.41 // mean sampled-token NLL over the second half
	aepoBand     = 0.03
)

// The countdown pin (TestCountdownClipCovKeepsEntropy): the entropy study's
// steps, its final window (the last 10% of steps, as the sweep report), and
// thresholds well inside what was measured (README "Regression tests").
const (
	countdownSteps          = 150
	countdownWindow         = 15
	maxCountdownGRPOFrac    = 0.55 // GRPO's final / first-step entropy
	minCountdownClipCovGain = 0.08 // Clip-Cov's final entropy above GRPO's (nats/token)
)

// The methods expected to end with more entropy than GRPO.
var preserving = []string{"clip_cov", "kl_cov", "cegppo", "aent", "steer"}

// collector keeps every step's metrics.
type collector struct{ recs []map[string]float64 }

func (c *collector) OnStep(_ *trainer.Trainer, r trainer.Record) error {
	c.recs = append(c.recs, r.Metrics)
	return nil
}

var (
	runsMu sync.Mutex
	runs   = map[string][]map[string]float64{}
)

// run trains a bundled experiment on the committed base and returns its
// per-step metrics; runs are cached per (experiment, steps, seed, sets).
func run(t *testing.T, experiment string, steps int, seed uint64, sets ...string) []map[string]float64 {
	t.Helper()
	return runFrom(t, policytest.BaseDir(), experiment, steps, seed, sets...)
}

// runFrom is run from the base checkpoint in baseDir.
func runFrom(t *testing.T, baseDir, experiment string, steps int, seed uint64, sets ...string) []map[string]float64 {
	t.Helper()
	key := fmt.Sprint(baseDir, experiment, steps, seed, sets)
	runsMu.Lock()
	defer runsMu.Unlock()
	if r, ok := runs[key]; ok {
		return r
	}
	all := append([]string{fmt.Sprintf("train.steps=%d", steps), fmt.Sprintf("seed=%d", seed),
		"base.checkpoint=" + baseDir, "eval.every=0", "eval.problems=64", "eval.final_k=8", "log.sample_every=0"}, sets...)
	cfg, err := configs.LoadTrain(experiment, nil, all)
	if err != nil {
		t.Fatal(err)
	}
	base, err := policy.LoadCheckpoint(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trainer.New(cfg, base)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	tr.Observe(c)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatalf("%s: %v", experiment, err)
	}
	runs[key] = c.recs
	return c.recs
}

// avg is the mean of metric k over steps [from, to).
func avg(recs []map[string]float64, k string, from, to int) float64 {
	var s, n float64
	for _, r := range recs[from:to] {
		if v, ok := r[k]; ok && !math.IsNaN(v) {
			s += v
			n++
		}
	}
	return s / n
}

func start(recs []map[string]float64, k string) float64 { return avg(recs, k, 0, window) }
func end(recs []map[string]float64, k string) float64 {
	return avg(recs, k, len(recs)-window, len(recs))
}

const (
	reward  = "critic/score/mean"
	entropy = "actor/entropy"
)

// report prints a run's start and end numbers (go test -v shows them).
func report(t *testing.T, name string, recs []map[string]float64) {
	t.Logf("%-22s reward %.3f -> %.3f   entropy %.3f -> %.3f   clipfrac %.4f", name,
		start(recs, reward), end(recs, reward), start(recs, entropy), end(recs, entropy), end(recs, "actor/pg_clipfrac"))
}

// TestGRPOCollapse: GRPO on addition raises the mean reward and lowers the
// policy entropy — the collapse the papers describe.
func TestGRPOCollapse(t *testing.T) {
	g := run(t, "grpo_addition", runSteps, runSeed)
	report(t, "grpo", g)
	if d := end(g, reward) - start(g, reward); d < minRewardGain {
		t.Errorf("GRPO reward gain %.3f, pinned at least %.3f", d, minRewardGain)
	}
	if d := start(g, entropy) - end(g, entropy); d < minEntropyDrop {
		t.Errorf("GRPO entropy drop %.3f, pinned at least %.3f", d, minEntropyDrop)
	}
}

// TestEntropyMethodsKeepEntropy: each entropy-preserving method ends with
// higher entropy than GRPO at the same step and seed, and a reward not worse
// than GRPO's by more than rewardMargin.
func TestEntropyMethodsKeepEntropy(t *testing.T) {
	g := run(t, "grpo_addition", runSteps, runSeed)
	for _, m := range preserving {
		t.Run(m, func(t *testing.T) {
			r := run(t, m+"_addition", runSteps, runSeed)
			report(t, m, r)
			if end(r, entropy) <= end(g, entropy) {
				t.Errorf("%s final entropy %.4f is not above GRPO's %.4f", m, end(r, entropy), end(g, entropy))
			}
			if end(r, reward) < end(g, reward)-rewardMargin {
				t.Errorf("%s final reward %.3f is more than %.2f below GRPO's %.3f", m, end(r, reward), rewardMargin, end(g, reward))
			}
		})
	}
}

// TestCountdownClipCovKeepsEntropy pins the bundled study's largest effect
// (README "Findings"; `entrolab sweep -c entropy_study`) on one seed: on
// countdown, from the committed countdown base and with the study's
// settings (150 steps, lr 2e-4), GRPO's entropy falls by far more than on
// addition, and Clip-Cov ends with far more entropy than GRPO.
func TestCountdownClipCovKeepsEntropy(t *testing.T) {
	sets := []string{"optim.lr=2e-4"}
	g := runFrom(t, policytest.CountdownBaseDir(), "grpo_countdown", countdownSteps, runSeed, sets...)
	c := runFrom(t, policytest.CountdownBaseDir(), "clip_cov_countdown", countdownSteps, runSeed, sets...)
	report(t, "grpo_countdown", g)
	report(t, "clip_cov_countdown", c)
	last := func(r []map[string]float64) float64 { return avg(r, entropy, len(r)-countdownWindow, len(r)) }
	t.Logf("GRPO entropy %.3f (first step) -> %.3f (last %d steps): %.2f of it; Clip-Cov %.3f -> %.3f: %+.3f above GRPO",
		r0(g), last(g), countdownWindow, last(g)/r0(g), r0(c), last(c), last(c)-last(g))
	if f := last(g) / r0(g); f > maxCountdownGRPOFrac {
		t.Errorf("GRPO's final entropy is %.2f of its first step's, pinned at most %.2f", f, maxCountdownGRPOFrac)
	}
	if d := last(c) - last(g); d < minCountdownClipCovGain {
		t.Errorf("Clip-Cov's final entropy %.3f is %.3f above GRPO's %.3f, pinned at least %.3f", last(c), d, last(g), minCountdownClipCovGain)
	}
}

// r0 is the entropy of a run's first step (the base's samples).
func r0(r []map[string]float64) float64 { return r[0][entropy] }

// TestAEPOEntropy pins AEPO's entropy estimate (the sampled-token NLL) over
// the second half of the run. The paper's claim is that it stays near the
// target; on this toy it does not (see the README), so the test pins the
// measured level, and fails if a change moves it either way.
func TestAEPOEntropy(t *testing.T) {
	r := run(t, "aepo_addition", runSteps, runSeed)
	report(t, "aepo", r)
	h := avg(r, "actor/sampled_nll", len(r)/2, len(r))
	t.Logf("aepo: mean sampled-token NLL over steps %d..%d = %.3f (target %.2f; pinned %.2f ± %.2f)", len(r)/2, len(r), h, aepoTarget, aepoMeasured, aepoBand)
	if math.Abs(h-aepoMeasured) > aepoBand {
		t.Errorf("AEPO entropy estimate %.3f moved outside the pinned %.2f ± %.2f (its target is %.2f)", h, aepoMeasured, aepoBand, aepoTarget)
	}
}

// TestMechanismPredictsEntropyChange: over a GRPO run, the first-order
// (covariance) prediction of each step's entropy change correlates with the
// measured change.
func TestMechanismPredictsEntropyChange(t *testing.T) {
	g := run(t, "grpo_addition", runSteps, runSeed)
	var p, a []float64
	for _, r := range g {
		p = append(p, r["entropy/predicted_delta"])
		a = append(a, r["entropy/actual_delta"])
	}
	rr := plots.Pearson(p, a)
	t.Logf("Pearson r(predicted, measured entropy change) over %d GRPO steps = %.3f", len(g), rr)
	if rr < minMechanismR {
		t.Errorf("r = %.3f, want >= %.2f", rr, minMechanismR)
	}
}

// TestEntropyRewardFit: R = -a·exp(H) + b fits a GRPO run.
func TestEntropyRewardFit(t *testing.T) {
	g := run(t, "grpo_addition", runSteps, runSeed)
	var h, r []float64
	for _, m := range g {
		h = append(h, m[entropy])
		r = append(r, m[reward])
	}
	a, b, r2, err := plots.FitEntropyReward(h, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GRPO: R = -%.3f·exp(H) + %.3f, R² = %.3f", a, b, r2)
	if !(a > 0) || r2 < minFitR2 {
		t.Errorf("fit a = %.3f, R² = %.3f; want a > 0 and R² >= %.2f", a, r2, minFitR2)
	}
}

// TestTrajectory pins the first steps of every bundled method on addition:
// policy loss, entropy and clip fraction, changed only with -update. The
// sampled tokens depend on the BLAS build, so there is one golden per BLAS:
// testdata/trajectory.golden (OpenBLAS, SkylakeX kernels) and
// testdata/trajectory-<blas>.golden for others (pure Go: gonum); with no
// golden for this BLAS the test skips. A bundled experiment the golden does
// not hold yet is reported (re-pin on that BLAS with -update); a golden line
// that changed fails.
func TestTrajectory(t *testing.T) {
	const steps = 3
	lines := map[string][]string{}
	var names []string
	for _, name := range configs.Experiments() {
		if !strings.HasSuffix(name, "_addition") {
			continue
		}
		names = append(names, name)
		recs := run(t, name, steps, runSeed, "checkpoint.every=1000", "log.diagnostics=false")
		for i, r := range recs {
			lines[name] = append(lines[name], fmt.Sprintf("%s step=%d pg_loss=%.6g entropy=%.6g clipfrac=%.6g", name, i+1,
				r["actor/pg_loss"], r[entropy], r["actor/pg_clipfrac"]))
		}
	}
	blas := "# blas: " + oblas.Name()
	path := trajectoryGolden(blas)
	if *update {
		var all []string
		for _, n := range names {
			all = append(all, lines[n]...)
		}
		os.MkdirAll("testdata", 0o755)
		body := "# produced by TestTrajectory (go test ./regress -run Trajectory -update): first 3 steps of every bundled addition experiment, seed 1, committed base\n" + blas + "\n" + strings.Join(all, "\n") + "\n"
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no trajectory golden for %q (make %s with -update)", oblas.Name(), path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l != "" && !strings.HasPrefix(l, "#") {
			name, _, _ := strings.Cut(l, " ")
			want[name] = append(want[name], l)
		}
	}
	var unpinned []string
	for _, n := range names {
		w, ok := want[n]
		if !ok {
			unpinned = append(unpinned, n)
			continue
		}
		delete(want, n)
		if len(w) != len(lines[n]) {
			t.Errorf("%s: golden has %d lines, the run %d", n, len(w), len(lines[n]))
			continue
		}
		for i := range w {
			if !closeLine(lines[n][i], w[i]) {
				t.Errorf("trajectory changed:\n got  %s\n want %s", lines[n][i], w[i])
			}
		}
	}
	for n := range want {
		t.Errorf("%s pins %s, which is no bundled experiment", path, n)
	}
	if len(unpinned) > 0 {
		t.Logf("NOT PINNED in %s (re-pin on this BLAS with -update; the lines above are checked): %s", path, strings.Join(unpinned, ", "))
	}
}

// trajectoryGolden is the golden file for a "# blas: …" line: the
// committed OpenBLAS one when its header matches, else one named after the BLAS.
func trajectoryGolden(blas string) string {
	const main = "testdata/trajectory.golden"
	if b, err := os.ReadFile(main); err == nil && strings.Contains(string(b), "\n"+blas+"\n") {
		return main
	}
	// one file per BLAS and kernel: "gonum (pure Go)" -> gonum, "OpenBLAS
	// (Haswell kernels)" -> openblas-haswell (sampled tokens can flip between
	// kernels, so each pins its own trajectory)
	name := strings.ToLower(strings.TrimPrefix(blas, "# blas: "))
	slug, rest, _ := strings.Cut(name, " ")
	if k, ok := strings.CutSuffix(strings.Trim(rest, "()"), " kernels"); ok {
		slug += "-" + k
	}
	return "testdata/trajectory-" + slug + ".golden"
}

// closeLine compares two trajectory lines field by field, numbers within a
// relative 1e-4 (float summation order may differ between BLAS builds).
func closeLine(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		ka, va, _ := strings.Cut(fa[i], "=")
		kb, vb, _ := strings.Cut(fb[i], "=")
		if ka != kb {
			return false
		}
		var x, y float64
		if _, err := fmt.Sscan(va, &x); err != nil {
			if va != vb {
				return false
			}
			continue
		}
		fmt.Sscan(vb, &y)
		if math.Abs(x-y) > 1e-4*math.Max(1e-3, math.Max(math.Abs(x), math.Abs(y))) {
			return false
		}
	}
	return true
}
