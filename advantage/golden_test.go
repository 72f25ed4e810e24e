package advantage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The golden files in testdata/golden are copied unchanged from
// shared/algorithms/golden; refimpl/adv_clip_ref.py (PyTorch, float64,
// seed 1234) produced them, and its "generator" field says so. Each test
// below loads every case of its file and checks every output it holds for
// this family within the file's tolerance (integers and booleans exactly).

type goldenFile struct {
	Method    string `json:"method"`
	Tolerance struct {
		Atol float64 `json:"atol"`
		Rtol float64 `json:"rtol"`
	} `json:"tolerance"`
	Cases []struct {
		Name     string          `json:"name"`
		Variant  string          `json:"variant"`
		Inputs   json.RawMessage `json:"inputs"`
		Params   json.RawMessage `json:"params"`
		Expected json.RawMessage `json:"expected"`
	} `json:"cases"`
}

type tol struct{ atol, rtol float64 }

func (c tol) ok(got, want float64) bool {
	return math.Abs(got-want) <= c.atol+c.rtol*math.Abs(want)
}

func loadGolden(t *testing.T, file string) (goldenFile, tol) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", file))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(g.Cases) == 0 {
		t.Fatalf("%s: no cases", file)
	}
	if g.Tolerance.Atol <= 0 || g.Tolerance.Rtol <= 0 {
		t.Fatalf("%s: missing tolerance", file)
	}
	return g, tol{g.Tolerance.Atol, g.Tolerance.Rtol}
}

// strict decodes raw into v and fails on a field v does not declare, so a
// new golden field cannot go unchecked.
func strict(t *testing.T, what string, raw json.RawMessage, v any) {
	t.Helper()
	if len(raw) == 0 {
		return
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func checkVecTol(t *testing.T, c tol, label string, got, want []float64) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("%s: %d values, want %d", label, len(got), len(want))
	}
	for i, w := range want {
		if !c.ok(got[i], w) {
			t.Errorf("%s[%d] = %.17g, want %.17g", label, i, got[i], w)
		}
	}
}

func checkMatTol(t *testing.T, c tol, label string, got, want [][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", label, len(got), len(want))
	}
	for b := range want {
		checkVecTol(t, c, fmt.Sprintf("%s[%d]", label, b), got[b], want[b])
	}
}

func TestGoldenGRPO(t *testing.T) {
	g, c := loadGolden(t, "adv_grpo.json")
	for _, tc := range g.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			var in struct {
				Rewards  []float64   `json:"rewards"`
				GroupIDs []int       `json:"group_ids"`
				Mask     [][]float64 `json:"mask"`
			}
			var p struct {
				Epsilon      float64 `json:"epsilon"`
				NormAdvByStd bool    `json:"norm_adv_by_std"`
				Std          string  `json:"std"`
			}
			var want struct {
				SeqAdvantages   []float64   `json:"seq_advantages"`
				TokenAdvantages [][]float64 `json:"token_advantages"`
			}
			strict(t, "inputs", tc.Inputs, &in)
			strict(t, "params", tc.Params, &p)
			strict(t, "expected", tc.Expected, &want)
			if p.Std != "unbiased" {
				t.Fatalf("params.std = %q, only unbiased is implemented", p.Std)
			}
			est, err := NewGRPO(GRPOConfig{Eps: p.Epsilon, ScaleByStd: p.NormAdvByStd})
			if err != nil {
				t.Fatal(err)
			}
			input := Input{Rewards: in.Rewards, Group: in.GroupIDs, Mask: in.Mask}
			seq := make([]float64, len(in.Rewards))
			if err := est.Sequence(seq, input); err != nil {
				t.Fatal(err)
			}
			checkVecTol(t, c, "Sequence("+tc.Name+")", seq, want.SeqAdvantages)
			dst := Alloc(in.Mask)
			if err := est.Estimate(dst, input); err != nil {
				t.Fatal(err)
			}
			checkMatTol(t, c, "Estimate("+tc.Name+")", dst, want.TokenAdvantages)
		})
	}
}

func TestGoldenRLOO(t *testing.T) {
	g, c := loadGolden(t, "adv_rloo.json")
	for _, tc := range g.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			var in struct {
				Rewards  []float64   `json:"rewards"`
				GroupIDs []int       `json:"group_ids"`
				Mask     [][]float64 `json:"mask"`
			}
			var p struct{}
			var want struct {
				SeqAdvantages   []float64   `json:"seq_advantages"`
				TokenAdvantages [][]float64 `json:"token_advantages"`
			}
			strict(t, "inputs", tc.Inputs, &in)
			strict(t, "params", tc.Params, &p)
			strict(t, "expected", tc.Expected, &want)
			est, err := NewRLOO(DefaultRLOOConfig())
			if err != nil {
				t.Fatal(err)
			}
			input := Input{Rewards: in.Rewards, Group: in.GroupIDs, Mask: in.Mask}
			seq := make([]float64, len(in.Rewards))
			if err := est.Sequence(seq, input); err != nil {
				t.Fatal(err)
			}
			checkVecTol(t, c, "Sequence("+tc.Name+")", seq, want.SeqAdvantages)
			dst := Alloc(in.Mask)
			if err := est.Estimate(dst, input); err != nil {
				t.Fatal(err)
			}
			checkMatTol(t, c, "Estimate("+tc.Name+")", dst, want.TokenAdvantages)
		})
	}
}

func TestGoldenReinforcePP(t *testing.T) {
	g, c := loadGolden(t, "adv_reinforce_pp.json")
	for _, tc := range g.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			var in struct {
				Rewards           []float64   `json:"rewards"`
				GroupIDs          []int       `json:"group_ids"`
				TokenLevelRewards [][]float64 `json:"token_level_rewards"`
				Mask              [][]float64 `json:"mask"`
			}
			var p struct {
				Gamma *float64 `json:"gamma"`
			}
			var want struct {
				Returns         [][]float64 `json:"returns"`
				TokenAdvantages [][]float64 `json:"token_advantages"`
			}
			strict(t, "inputs", tc.Inputs, &in)
			strict(t, "params", tc.Params, &p)
			strict(t, "expected", tc.Expected, &want)
			input := Input{Rewards: in.Rewards, Group: in.GroupIDs, Mask: in.Mask, TokenRewards: in.TokenLevelRewards}
			dst := Alloc(in.Mask)
			switch tc.Variant {
			case "reinforce_plus_plus_baseline":
				if err := NewReinforcePPBaseline().Estimate(dst, input); err != nil {
					t.Fatal(err)
				}
			case "reinforce_plus_plus":
				if p.Gamma == nil {
					t.Fatal("params.gamma missing")
				}
				est, err := NewReinforcePP(ReinforcePPConfig{Gamma: *p.Gamma})
				if err != nil {
					t.Fatal(err)
				}
				ret := Alloc(in.Mask)
				if err := est.EstimateReturns(dst, ret, input); err != nil {
					t.Fatal(err)
				}
				checkMatTol(t, c, "EstimateReturns("+tc.Name+") returns", ret, want.Returns)
				// Estimate alone (returns computed in place) agrees.
				dst2 := Alloc(in.Mask)
				if err := est.Estimate(dst2, input); err != nil {
					t.Fatal(err)
				}
				checkMatTol(t, c, "Estimate("+tc.Name+")", dst2, want.TokenAdvantages)
			default:
				t.Fatalf("unknown variant %q", tc.Variant)
			}
			if tc.Variant != "reinforce_plus_plus" && want.Returns != nil {
				t.Fatalf("returns given for variant %q", tc.Variant)
			}
			checkMatTol(t, c, "Estimate("+tc.Name+")", dst, want.TokenAdvantages)
		})
	}
}

func TestGoldenAAPO(t *testing.T) {
	g, c := loadGolden(t, "aapo.json")
	for _, tc := range g.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			var in struct {
				Rewards    []float64   `json:"rewards"`
				RefRewards []float64   `json:"ref_rewards"`
				GroupIDs   []int       `json:"group_ids"`
				Mask       [][]float64 `json:"mask"`
				LogpNew    [][]float64 `json:"logp_new"`
			}
			var p struct {
				StdEps       float64 `json:"std_eps"`
				ScaleRewards bool    `json:"scale_rewards"`
				Std          string  `json:"std"`
				DeltaLow     float64 `json:"delta_low"`
				DeltaHigh    float64 `json:"delta_high"`
				LossAggMode  string  `json:"loss_agg_mode"`
			}
			var want struct {
				GroupAdvantages []float64   `json:"group_advantages"`
				Momentum        []float64   `json:"momentum"`
				SeqAdvantages   []float64   `json:"seq_advantages"`
				TokenAdvantages [][]float64 `json:"token_advantages"`
				Loss            float64     `json:"loss"`
				GradLogpNew     [][]float64 `json:"grad_logp_new"`
				PerTokenLoss    [][]float64 `json:"per_token_loss"`
			}
			strict(t, "inputs", tc.Inputs, &in)
			strict(t, "params", tc.Params, &p)
			strict(t, "expected", tc.Expected, &want)
			if p.Std != "unbiased" || p.LossAggMode != "token-mean" {
				t.Fatalf("params std=%q loss_agg_mode=%q not implemented", p.Std, p.LossAggMode)
			}
			est, err := NewAAPO(AAPOConfig{Eps: p.StdEps, ScaleRewards: p.ScaleRewards, DeltaLow: p.DeltaLow, DeltaHigh: p.DeltaHigh})
			if err != nil {
				t.Fatal(err)
			}
			input := Input{Rewards: in.Rewards, RefRewards: in.RefRewards, Group: in.GroupIDs, Mask: in.Mask}
			B := len(in.Rewards)
			group, margin, seq := make([]float64, B), make([]float64, B), make([]float64, B)
			if err := est.Split(group, margin, input); err != nil {
				t.Fatal(err)
			}
			checkVecTol(t, c, "Split("+tc.Name+") group", group, want.GroupAdvantages)
			checkVecTol(t, c, "Split("+tc.Name+") margin", margin, want.Momentum)
			if err := est.Sequence(seq, input); err != nil {
				t.Fatal(err)
			}
			checkVecTol(t, c, "Sequence("+tc.Name+")", seq, want.SeqAdvantages)
			dst := Alloc(in.Mask)
			if err := est.Estimate(dst, input); err != nil {
				t.Fatal(err)
			}
			checkMatTol(t, c, "Estimate("+tc.Name+")", dst, want.TokenAdvantages)

			// The loss belongs to the clip family; recomputing its token-mean
			// form from these advantages checks that they are the ones the
			// golden loss used: ℓ = −A·logp, L = Σℓm/Σm, ∂L/∂logp = −A·m/N.
			var n, loss float64
			for b, row := range in.Mask {
				for t, m := range row {
					n += m
					loss += -dst[b][t] * in.LogpNew[b][t] * m
				}
			}
			loss /= n
			if !c.ok(loss, want.Loss) {
				t.Errorf("token-mean loss(%s) = %.17g, want %.17g", tc.Name, loss, want.Loss)
			}
			grad, ptl := Alloc(in.Mask), Alloc(in.Mask)
			for b, row := range in.Mask {
				for t, m := range row {
					grad[b][t] = -dst[b][t] * m / n
					ptl[b][t] = -dst[b][t] * in.LogpNew[b][t] * m
				}
			}
			checkMatTol(t, c, "grad_logp_new("+tc.Name+")", grad, want.GradLogpNew)
			checkMatTol(t, c, "per_token_loss("+tc.Name+")", ptl, want.PerTokenLoss)
		})
	}
}

type goldenHAPOGroup struct {
	Group          int     `json:"group"`
	TokenMean      float64 `json:"token_mean"`
	TokenStdPop    float64 `json:"token_std_pop"`
	NTokens        int     `json:"n_tokens"`
	FallbackToGRPO bool    `json:"fallback_to_grpo"`
}

func TestGoldenHAPO(t *testing.T) {
	g, c := loadGolden(t, "hapo_adv.json")
	for _, tc := range g.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			var in struct {
				Rewards  []float64   `json:"rewards"`
				GroupIDs []int       `json:"group_ids"`
				Mask     [][]float64 `json:"mask"`
			}
			var p struct {
				Epsilon                float64 `json:"epsilon"`
				NormAdvByStd           bool    `json:"norm_adv_by_std"`
				FallbackThreshold      float64 `json:"fallback_threshold"`
				TokenStd               string  `json:"token_std"`
				FallbackIncludePadding bool    `json:"fallback_include_padding"`
			}
			type variant struct {
				TokenAdvantages [][]float64       `json:"token_advantages"`
				Groups          []goldenHAPOGroup `json:"groups"`
			}
			var want struct {
				variant
				GRPOSeqAdvantages []float64 `json:"grpo_seq_advantages"`
				NoPadding         variant   `json:"variant_fallback_include_padding_false"`
			}
			strict(t, "inputs", tc.Inputs, &in)
			strict(t, "params", tc.Params, &p)
			strict(t, "expected", tc.Expected, &want)
			if p.TokenStd != "population" {
				t.Fatalf("params.token_std = %q, only population is implemented", p.TokenStd)
			}
			input := Input{Rewards: in.Rewards, Group: in.GroupIDs, Mask: in.Mask}
			cfg := HAPOConfig{Eps: p.Epsilon, NormByStd: p.NormAdvByStd, FallbackThreshold: p.FallbackThreshold}
			for _, v := range []struct {
				name string
				pad  bool
				want variant
			}{
				{fmt.Sprintf("include_padding=%v", p.FallbackIncludePadding), p.FallbackIncludePadding, want.variant},
				{"include_padding=false", false, want.NoPadding},
			} {
				cfg.FallbackIncludePadding = v.pad
				est, err := NewHAPO(cfg)
				if err != nil {
					t.Fatal(err)
				}
				dst := Alloc(in.Mask)
				if err := est.Estimate(dst, input); err != nil {
					t.Fatal(err)
				}
				label := fmt.Sprintf("Estimate(%s, %s)", tc.Name, v.name)
				checkMatTol(t, c, label, dst, v.want.TokenAdvantages)
				checkHAPOGroups(t, c, label, est.Groups(), v.want.Groups)
			}
			grpo, err := NewGRPO(GRPOConfig{Eps: p.Epsilon, ScaleByStd: p.NormAdvByStd})
			if err != nil {
				t.Fatal(err)
			}
			seq := make([]float64, len(in.Rewards))
			if err := grpo.Sequence(seq, input); err != nil {
				t.Fatal(err)
			}
			checkVecTol(t, c, "GRPO Sequence("+tc.Name+")", seq, want.GRPOSeqAdvantages)
		})
	}
}

func checkHAPOGroups(t *testing.T, c tol, label string, got []HAPOGroup, want []goldenHAPOGroup) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d groups, want %d", label, len(got), len(want))
	}
	byID := make(map[int]HAPOGroup, len(got))
	for _, g := range got {
		byID[g.ID] = g
	}
	for _, w := range want {
		g, ok := byID[w.Group]
		if !ok {
			t.Errorf("%s: group %d missing", label, w.Group)
			continue
		}
		if !c.ok(g.TokenMean, w.TokenMean) {
			t.Errorf("%s: group %d token mean = %.17g, want %.17g", label, w.Group, g.TokenMean, w.TokenMean)
		}
		if !c.ok(g.TokenStd, w.TokenStdPop) {
			t.Errorf("%s: group %d token std = %.17g, want %.17g", label, w.Group, g.TokenStd, w.TokenStdPop)
		}
		if g.Tokens != float64(w.NTokens) {
			t.Errorf("%s: group %d tokens = %v, want %d", label, w.Group, g.Tokens, w.NTokens)
		}
		if g.Fallback != w.FallbackToGRPO {
			t.Errorf("%s: group %d fallback = %v, want %v", label, w.Group, g.Fallback, w.FallbackToGRPO)
		}
	}
}
