package clip

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The golden files in testdata/golden are copies of
// shared/algorithms/golden (generator: refimpl/adv_clip_ref.py, PyTorch
// autograd in float64; see each file's "generator" and "seed" fields).

type goldenFile struct {
	Method    string `json:"method"`
	Generator string `json:"generator"`
	Tolerance struct {
		Atol float64 `json:"atol"`
		Rtol float64 `json:"rtol"`
	} `json:"tolerance"`
	Cases []goldenCase `json:"cases"`
}

type goldenCase struct {
	Name     string                     `json:"name"`
	Inputs   map[string]json.RawMessage `json:"inputs"`
	Params   map[string]json.RawMessage `json:"params"`
	Expected map[string]json.RawMessage `json:"expected"`
}

func loadGolden(t *testing.T, name string) goldenFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var f goldenFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	if f.Tolerance.Atol == 0 && f.Tolerance.Rtol == 0 {
		f.Tolerance.Atol, f.Tolerance.Rtol = 1e-9, 1e-7
	}
	return f
}

// checker compares outputs with the file's tolerance.
type checker struct {
	t          *testing.T
	atol, rtol float64
}

func (f goldenFile) checker(t *testing.T) checker {
	return checker{t: t, atol: f.Tolerance.Atol, rtol: f.Tolerance.Rtol}
}

func (c checker) close(got, want float64) bool {
	return math.Abs(got-want) <= c.atol+c.rtol*math.Abs(want)
}

func (c checker) scalar(what string, got, want float64) {
	c.t.Helper()
	if !c.close(got, want) {
		c.t.Errorf("%s = %.17g, want %.17g (diff %.3g)", what, got, want, got-want)
	}
}

func (c checker) matrix(what string, got, want [][]float64) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("%s has %d rows, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for b := range want {
		if len(got[b]) != len(want[b]) {
			c.t.Errorf("%s row %d has %d entries, want %d", what, b, len(got[b]), len(want[b]))
			continue
		}
		for t := range want[b] {
			if !c.close(got[b][t], want[b][t]) {
				if bad < 5 {
					c.t.Errorf("%s[%d][%d] = %.17g, want %.17g", what, b, t, got[b][t], want[b][t])
				}
				bad++
			}
		}
	}
	if bad > 5 {
		c.t.Errorf("%s: %d mismatches in all", what, bad)
	}
}

// exact compares integer-valued matrices exactly.
func (c checker) exact(what string, got [][]int, want [][]int) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("%s has %d rows, want %d", what, len(got), len(want))
		return
	}
	for b := range want {
		if fmt.Sprint(got[b]) != fmt.Sprint(want[b]) {
			c.t.Errorf("%s[%d] = %v, want %v", what, b, got[b], want[b])
		}
	}
}

func decode[T any](t *testing.T, raw json.RawMessage, what string) T {
	t.Helper()
	var v T
	if raw == nil {
		t.Fatalf("missing field %s", what)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// param returns a numeric parameter; null (or absent) gives 0, which is
// this package's "disabled / use the default" value for every nullable key.
func param(t *testing.T, c goldenCase, key string) float64 {
	t.Helper()
	raw, ok := c.Params[key]
	if !ok || string(raw) == "null" {
		return 0
	}
	return decode[float64](t, raw, "params."+key)
}

func paramBool(t *testing.T, c goldenCase, key string) bool {
	t.Helper()
	return decode[bool](t, c.Params[key], "params."+key)
}

func paramString(t *testing.T, c goldenCase, key string) string {
	t.Helper()
	return decode[string](t, c.Params[key], "params."+key)
}

func boolsToInts(x [][]bool) [][]int {
	out := make([][]int, len(x))
	for b, row := range x {
		out[b] = make([]int, len(row))
		for t, v := range row {
			if v {
				out[b][t] = 1
			}
		}
	}
	return out
}

func regionsToInts(x [][]Region) [][]int {
	out := make([][]int, len(x))
	for b, row := range x {
		out[b] = make([]int, len(row))
		for t, v := range row {
			out[b][t] = int(v)
		}
	}
	return out
}

var regionNames = map[string]Region{
	"masked": RegionMasked, "unclipped": RegionUnclipped, "clip_high": RegionClipHigh,
	"clip_low": RegionClipLow, "dual_clip": RegionDualClip, "zero_adv": RegionZeroAdv,
}

// checkMetrics compares every expected metric; integer-valued JSON numbers
// (counts) must match exactly.
func (c checker) metrics(got map[string]float64, raw json.RawMessage) {
	c.t.Helper()
	want := decode[map[string]json.RawMessage](c.t, raw, "metrics")
	if len(want) == 0 {
		c.t.Fatal("no expected metrics")
	}
	for k, rv := range want {
		g, ok := got[k]
		if !ok {
			c.t.Errorf("metric %s missing (have %v)", k, got)
			continue
		}
		w := decode[float64](c.t, rv, "metrics."+k)
		if !strings.ContainsAny(string(rv), ".eE") {
			if g != w {
				c.t.Errorf("metric %s = %v, want exactly %v", k, g, w)
			}
			continue
		}
		c.scalar("metric "+k, g, w)
	}
}

// runPolicyGolden runs every case of a policy-loss file through the loss
// mk builds and checks the fields all policy-loss files share, then calls
// extra for the file's own fields.
func runPolicyGolden(t *testing.T, file string, mk func(t *testing.T, c goldenCase) Loss, extra func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace)) {
	f := loadGolden(t, file)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ck := f.checker(t)
			loss := mk(t, c)
			in := Input{
				Logp:    decode[[][]float64](t, c.Inputs["logp_new"], "logp_new"),
				OldLogp: decode[[][]float64](t, c.Inputs["logp_old"], "logp_old"),
				Adv:     decode[[][]float64](t, c.Inputs["advantages"], "advantages"),
				Mask:    decode[[][]float64](t, c.Inputs["mask"], "mask"),
				Trace:   &Trace{},
			}
			if raw, ok := c.Inputs["uniform"]; ok {
				in.Uniform = decode[[][]float64](t, raw, "uniform")
			}
			if raw, ok := c.Inputs["entropy"]; ok {
				in.Entropy = decode[[][]float64](t, raw, "entropy")
			}
			res, err := loss.Compute(nil, in)
			if err != nil {
				t.Fatalf("Compute(%s): %v", c.Name, err)
			}
			e := c.Expected
			ck.scalar("loss", res.Loss, decode[float64](t, e["loss"], "loss"))
			ck.matrix("grad_logp_new", res.Grad, decode[[][]float64](t, e["grad_logp_new"], "grad"))
			ck.matrix("per_token_loss", in.Trace.Loss, decode[[][]float64](t, e["per_token_loss"], "per_token_loss"))
			ck.matrix("ratio", in.Trace.Ratio, decode[[][]float64](t, e["ratio"], "ratio"))
			ck.exact("region", regionsToInts(in.Trace.Region), decode[[][]int](t, e["region"], "region"))
			counts := map[Region]int{}
			for _, row := range in.Trace.Region {
				for _, r := range row {
					counts[r]++
				}
			}
			for name, want := range decode[map[string]int](t, e["region_counts"], "region_counts") {
				code, ok := regionNames[name]
				if !ok {
					t.Errorf("unknown region name %q", name)
				} else if counts[code] != want {
					t.Errorf("region_counts[%s] = %d, want %d", name, counts[code], want)
				}
			}
			ck.metrics(res.Metrics, e["metrics"])
			if res.Metrics["pg_loss"] != res.Loss {
				t.Errorf("pg_loss = %v, Loss = %v", res.Metrics["pg_loss"], res.Loss)
			}
			if extra != nil {
				extra(t, ck, c, in, in.Trace)
			}
		})
	}
}

func aggFrom(t *testing.T, c goldenCase) Agg {
	return Agg{Mode: AggMode(paramString(t, c, "loss_agg_mode")), ScaleFactor: param(t, c, "loss_scale_factor")}
}

func TestGoldenPPOClip(t *testing.T) {
	runPolicyGolden(t, "ppo_clip.json", func(t *testing.T, c goldenCase) Loss {
		cfg := PPOConfig{
			ClipRatioLow:  param(t, c, "eps_low"),
			ClipRatioHigh: param(t, c, "eps_high"),
			ClipRatioC:    param(t, c, "clip_ratio_c"),
			LogRatioClamp: param(t, c, "log_ratio_clamp"),
		}
		l, err := NewPPO(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, nil)
}

func TestGoldenClipCov(t *testing.T) {
	runPolicyGolden(t, "clip_cov.json", func(t *testing.T, c goldenCase) Loss {
		if paramBool(t, c, "dual_clip") {
			t.Fatal("clip_cov has no dual clip")
		}
		cfg := ClipCovConfig{
			ClipRatioLow:  param(t, c, "eps_low"),
			ClipRatioHigh: param(t, c, "eps_high"),
			ClipCovRatio:  param(t, c, "clip_cov_ratio"),
			ClipCovLB:     param(t, c, "clip_cov_lb"),
			ClipCovUB:     param(t, c, "clip_cov_ub"),
		}
		l, err := NewClipCov(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace) {
		e := c.Expected
		ck.matrix("cov", tr.Cov, decode[[][]float64](t, e["cov"], "cov"))
		ck.exact("clip_by_origin", boolsToInts(tr.ClipByOrigin), decode[[][]int](t, e["clip_by_origin"], "clip_by_origin"))
		ck.exact("candidate", boolsToInts(tr.Candidate), decode[[][]int](t, e["candidate"], "candidate"))
		ck.exact("selected", boolsToInts(tr.Selected), decode[[][]int](t, e["selected"], "selected"))
		checkSelectedList(t, tr.SelectedList, e["selected_list"])
	})
}

func checkSelectedList(t *testing.T, got [][2]int, raw json.RawMessage) {
	t.Helper()
	want := decode[[][2]int](t, raw, "selected_list")
	if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("selected_list = %v, want %v", got, want)
	}
}

func TestGoldenKLCov(t *testing.T) {
	runPolicyGolden(t, "kl_cov.json", func(t *testing.T, c goldenCase) Loss {
		cfg := KLCovConfig{KLCovRatio: param(t, c, "kl_cov_ratio"), PPOKLCoef: param(t, c, "ppo_kl_coef")}
		l, err := NewKLCov(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace) {
		e := c.Expected
		ck.matrix("cov", tr.Cov, decode[[][]float64](t, e["cov"], "cov"))
		ck.exact("selected", boolsToInts(tr.Selected), decode[[][]int](t, e["selected"], "selected"))
		checkSelectedList(t, tr.SelectedList, e["selected_list"])
	})
}

func TestGoldenCEGPPO(t *testing.T) {
	runPolicyGolden(t, "cegppo.json", func(t *testing.T, c goldenCase) Loss {
		cfg := CEGPPOConfig{
			ClipRatioLow:  param(t, c, "eps_low"),
			ClipRatioHigh: param(t, c, "eps_high"),
			Beta1:         param(t, c, "beta1"),
			Beta2:         param(t, c, "beta2"),
			ClipRatioC:    param(t, c, "clip_ratio_c"),
		}
		l, err := NewCEGPPO(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, nil)
}

func TestGoldenHAPOLoss(t *testing.T) {
	runPolicyGolden(t, "hapo_loss.json", func(t *testing.T, c goldenCase) Loss {
		cfg := HAPOConfig{
			ClipRatioLow:      param(t, c, "eps_low"),
			ClipRatioHigh:     param(t, c, "eps_high"),
			ClipRatioC:        param(t, c, "clip_ratio_c"),
			EntropyPivot:      param(t, c, "entropy_pivot"),
			AdaptiveClip:      paramBool(t, c, "adaptive_clip"),
			ClipAlpha:         param(t, c, "clip_alpha"),
			AdaptiveAdvantage: paramBool(t, c, "adaptive_advantage"),
			AdvBeta:           param(t, c, "adv_beta"),
			HHatMode:          HHatMode(paramString(t, c, "hhat_mode")),
		}
		l, err := NewHAPO(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace) {
		e := c.Expected
		ck.matrix("hhat", tr.HHat, decode[[][]float64](t, e["hhat"], "hhat"))
		ck.matrix("eps_low_tok", tr.EpsLow, decode[[][]float64](t, e["eps_low_tok"], "eps_low_tok"))
		ck.matrix("eps_high_tok", tr.EpsHigh, decode[[][]float64](t, e["eps_high_tok"], "eps_high_tok"))
		ck.matrix("adv_used", tr.AdvUsed, decode[[][]float64](t, e["adv_used"], "adv_used"))
		ck.exact("neutral", boolsToInts(tr.Neutral), decode[[][]int](t, e["neutral"], "neutral"))
		if len(tr.Stats) != 1 {
			t.Fatalf("got %d stats scopes, want 1", len(tr.Stats))
		}
		checkStats(t, ck, tr.Stats[0], e["stats"])

		// The exported NormalizeEntropy gives the same ĥ and statistics.
		hh, st := NormalizeEntropy(nil, in.Entropy, in.Mask, param(t, c, "entropy_pivot"), HHatMode(paramString(t, c, "hhat_mode")))
		ck.matrix("NormalizeEntropy hhat", hh, decode[[][]float64](t, e["hhat"], "hhat"))
		checkStats(t, ck, st, e["stats"])
	})
}

func checkStats(t *testing.T, ck checker, st EntropyStats, raw json.RawMessage) {
	t.Helper()
	want := decode[map[string]float64](t, raw, "stats")
	got := map[string]float64{
		"median": st.Pivot, "quantile_index": float64(st.QuantileIndex), "std": st.Std,
		"pos_max": st.PosMax, "neg_min": st.NegMin, "scale_pos": st.ScalePos, "scale_neg": st.ScaleNeg,
	}
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("stats.%s not produced", k)
		case k == "quantile_index":
			if g != w {
				t.Errorf("stats.quantile_index = %v, want %v", g, w)
			}
		default:
			ck.scalar("stats."+k, g, w)
		}
	}
}

func TestGoldenAggLoss(t *testing.T) {
	f := loadGolden(t, "agg_loss.json")
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ck := f.checker(t)
			lm := decode[[][]float64](t, c.Inputs["loss_mat"], "loss_mat")
			mask := decode[[][]float64](t, c.Inputs["mask"], "mask")
			modes := 0
			for key, raw := range c.Expected {
				want := decode[struct {
					Loss float64     `json:"loss"`
					Grad [][]float64 `json:"grad_loss_mat"`
				}](t, raw, key)
				a := Agg{Mode: AggMode(key), ScaleFactor: param(t, c, "loss_scale_factor")}
				if err := a.Validate(); err != nil {
					t.Fatalf("mode %s: %v", key, err)
				}
				got, grad := a.Loss(nil, lm, mask)
				ck.scalar(key+" loss", got, want.Loss)
				ck.matrix(key+" grad_loss_mat", grad, want.Grad)
				modes++
			}
			if modes != len(AggModes()) {
				t.Errorf("case has %d modes, want %d", modes, len(AggModes()))
			}
		})
	}
}

func TestGoldenKLPenalty(t *testing.T) {
	f := loadGolden(t, "kl_penalty.json")
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ck := f.checker(t)
			logp := decode[[][]float64](t, c.Inputs["logp"], "logp")
			ref := decode[[][]float64](t, c.Inputs["ref_logp"], "ref_logp")
			mask := decode[[][]float64](t, c.Inputs["mask"], "mask")
			kinds := decode[[]string](t, c.Params["kinds"], "kinds")
			aggs := decode[[][2]json.RawMessage](t, c.Params["agg"], "agg")
			for _, kind := range kinds {
				exp := decode[map[string]json.RawMessage](t, c.Expected[kind], kind)
				est, err := NewKL(kind)
				if err != nil {
					t.Fatal(err)
				}
				var d [][]float64
				v := est.Values(nil, &d, logp, ref, mask)
				ck.matrix(kind+" per_token_kl", v, decode[[][]float64](t, exp["per_token_kl"], "per_token_kl"))
				ck.matrix(kind+" per_token_dkl_dlogp", d, decode[[][]float64](t, exp["per_token_dkl_dlogp"], "dkl"))
				for _, ag := range aggs {
					mode := decode[string](t, ag[0], "agg mode")
					coef := decode[float64](t, ag[1], "agg coef")
					key := mode + "|coef=" + string(ag[1])
					raw, ok := exp[key]
					if !ok {
						t.Fatalf("%s: no expected entry %q", kind, key)
					}
					want := decode[struct {
						Loss float64     `json:"loss"`
						Grad [][]float64 `json:"grad_logp"`
					}](t, raw, key)
					kl, err := NewKLLoss(KLConfig{Kind: kind, Coef: coef, Agg: Agg{Mode: AggMode(mode)}})
					if err != nil {
						t.Fatal(err)
					}
					res, err := kl.Compute(nil, Input{Logp: logp, RefLogp: ref, Mask: mask})
					if err != nil {
						t.Fatal(err)
					}
					ck.scalar(kind+" "+key+" loss", res.Loss, want.Loss)
					ck.matrix(kind+" "+key+" grad_logp", res.Grad, want.Grad)
				}
				// The reward penalty is coef times the per-token values.
				pen := est.RewardPenalty(nil, logp, ref, mask, 0.5)
				for b := range pen {
					for t2 := range pen[b] {
						if pen[b][t2] != 0.5*v[b][t2] {
							t.Errorf("%s RewardPenalty[%d][%d] = %v, want %v", kind, b, t2, pen[b][t2], 0.5*v[b][t2])
						}
					}
				}
			}
		})
	}
}

func TestGoldenGSPO(t *testing.T) {
	runPolicyGolden(t, "gspo.json", func(t *testing.T, c goldenCase) Loss {
		cfg := GSPOConfig{ClipRatioLow: param(t, c, "eps_low"), ClipRatioHigh: param(t, c, "eps_high"), LogRatioMax: param(t, c, "log_ratio_max")}
		l, err := NewGSPO(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace) {
		e := c.Expected
		lam := decode[[]float64](t, e["seq_log_ratio"], "seq_log_ratio")
		seq := decode[[]float64](t, e["seq_ratio"], "seq_ratio")
		clamped := decode[[]int](t, e["log_ratio_clamped"], "log_ratio_clamped")
		for b := range lam {
			ck.scalar(fmt.Sprintf("seq_log_ratio[%d]", b), tr.SeqLogRatio[b], lam[b])
			ck.scalar(fmt.Sprintf("seq_ratio[%d]", b), math.Exp(math.Min(tr.SeqLogRatio[b], 10)), seq[b])
			if got := tr.SeqLogRatio[b] > 10; got != (clamped[b] == 1) {
				t.Errorf("log_ratio_clamped[%d] = %v, want %d", b, got, clamped[b])
			}
		}
	})
}

func TestGoldenCISPO(t *testing.T) {
	runPolicyGolden(t, "cispo.json", func(t *testing.T, c goldenCase) Loss {
		cfg := CISPOConfig{ClipRatioLow: param(t, c, "eps_low"), ClipRatioHigh: param(t, c, "eps_high"), LogRatioClamp: param(t, c, "log_ratio_clamp")}
		l, err := NewCISPO(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace) {
		ck.matrix("is_weight", tr.ISWeight, decode[[][]float64](t, c.Expected["is_weight"], "is_weight"))
	})
}

func TestGoldenSAPO(t *testing.T) {
	runPolicyGolden(t, "sapo.json", func(t *testing.T, c goldenCase) Loss {
		cfg := SAPOConfig{TauPos: param(t, c, "tau_pos"), TauNeg: param(t, c, "tau_neg"), LogRatioClamp: param(t, c, "log_ratio_clamp")}
		l, err := NewSAPO(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace) {
		ck.matrix("tau", tr.Tau, decode[[][]float64](t, c.Expected["tau"], "tau"))
		ck.matrix("gate", tr.Gate, decode[[][]float64](t, c.Expected["gate"], "gate"))
	})
}

func TestGoldenEntropyAdv(t *testing.T) {
	runPolicyGolden(t, "entropy_adv.json", func(t *testing.T, c goldenCase) Loss {
		cfg := EntropyAdvConfig{Alpha: param(t, c, "alpha"), Kappa: param(t, c, "kappa"), PPOConfig: PPOConfig{
			ClipRatioLow: param(t, c, "eps_low"), ClipRatioHigh: param(t, c, "eps_high"),
			ClipRatioC: param(t, c, "clip_ratio_c"), LogRatioClamp: param(t, c, "log_ratio_clamp")}}
		l, err := NewEntropyAdv(cfg, aggFrom(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, func(t *testing.T, ck checker, c goldenCase, in Input, tr *Trace) {
		e := c.Expected
		ck.matrix("entropy_term", tr.EntropyTerm, decode[[][]float64](t, e["entropy_term"], "entropy_term"))
		ck.matrix("shaped_advantages", tr.AdvUsed, decode[[][]float64](t, e["shaped_advantages"], "shaped_advantages"))
		ck.exact("psi_capped", boolsToInts(tr.Capped), decode[[][]int](t, e["psi_capped"], "psi_capped"))
	})
}
