package advantage

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// handCase is a batch small enough to work out on paper; the comment of
// each case shows the arithmetic.
type handCase struct {
	name string
	cfg  func(*Config)
	in   Input
	want [][]float64
}

func handCases() []handCase {
	mask2 := [][]float64{{1, 1}, {1, 0}}
	return []handCase{
		{
			// μ = 1, all equal: exactly 0 everywhere.
			name: "grpo/two_equal",
			cfg:  func(c *Config) { c.Name = "grpo" },
			in:   Input{Rewards: []float64{1, 1}, Group: []int{0, 0}, Mask: mask2},
			want: [][]float64{{0, 0}, {0, 0}},
		},
		{
			// μ = 0.5, σ = sqrt(0.5) (unbiased): ±0.5/(0.70710678+1e-6).
			name: "grpo/one_and_zero",
			cfg:  func(c *Config) { c.Name = "grpo" },
			in:   Input{Rewards: []float64{1, 0}, Group: []int{3, 3}, Mask: mask2},
			want: [][]float64{{0.7071057811879616, 0.7071057811879616}, {-0.7071057811879616, 0}},
		},
		{
			// A group of one: μ = 0, σ = 1, so 2/(1+1e-6) (verl).
			name: "grpo/singleton",
			cfg:  func(c *Config) { c.Name = "grpo" },
			in:   Input{Rewards: []float64{2}, Group: []int{9}, Mask: [][]float64{{1, 1, 0}}},
			want: [][]float64{{1.9999980000020001, 1.9999980000020001, 0}},
		},
		{
			// μ = 0.25: 1−0.25 and 0−0.25, no std division.
			name: "dr_grpo/one_of_four",
			cfg:  func(c *Config) { c.Name = "dr_grpo" },
			in:   Input{Rewards: []float64{1, 0, 0, 0}, Group: []int{0, 0, 0, 0}, Mask: [][]float64{{1}, {1}, {1}, {1}}},
			want: [][]float64{{0.75}, {-0.25}, {-0.25}, {-0.25}},
		},
		{
			// 1 − mean(0,0,0) = 1; 0 − mean(1,0,0) = −1/3.
			name: "rloo/one_of_four",
			cfg:  func(c *Config) { c.Name = "rloo" },
			in:   Input{Rewards: []float64{1, 0, 0, 0}, Group: []int{0, 0, 0, 0}, Mask: [][]float64{{1}, {1}, {1}, {1}}},
			want: [][]float64{{1}, {-1.0 / 3}, {-1.0 / 3}, {-1.0 / 3}},
		},
		{
			// A group of one keeps its reward (verl).
			name: "rloo/singleton_reward",
			cfg:  func(c *Config) { c.Name = "rloo" },
			in:   Input{Rewards: []float64{0.7}, Group: []int{0}, Mask: [][]float64{{1, 1}}},
			want: [][]float64{{0.7, 0.7}},
		},
		{
			name: "rloo/singleton_zero",
			cfg:  func(c *Config) { c.Name = "rloo"; c.RLOO.Singleton = "zero" },
			in:   Input{Rewards: []float64{0.7}, Group: []int{0}, Mask: [][]float64{{1, 1}}},
			want: [][]float64{{0, 0}},
		},
		{
			// ã = ±0.5 on one token each; N = 2, mean 0,
			// v = 0.5/(2+1e-8)·2: ±0.5/sqrt(v+1e-8).
			name: "reinforce_pp_baseline/one_and_zero",
			cfg:  func(c *Config) { c.Name = "reinforce_pp_baseline" },
			in:   Input{Rewards: []float64{1, 0}, Group: []int{0, 0}, Mask: [][]float64{{1, 0}, {1}}},
			want: [][]float64{{0.7071067758832467, 0}, {-0.7071067758832467}},
		},
		{
			// γ = 0.5, reward 1 on the last token: G = (0.25, 0.5, 1),
			// whitened with μ = 1.75/(3+1e-8), v = Σ(G−μ)²/(3+1e-8)·3/2.
			name: "reinforce_pp/gamma_half",
			cfg:  func(c *Config) { c.Name = "reinforce_pp"; c.ReinforcePP.Gamma = 0.5 },
			in: Input{Mask: [][]float64{{1, 1, 1, 0}},
				TokenRewards: [][]float64{{0, 0, 1, 99}}},
			want: [][]float64{{-0.8728715273799813, -0.21821787802618237, 1.0910894206814157, 0}},
		},
		{
			// Equal rewards: Â = 0; margins clip(1−0) = 0.28 and 0.
			name: "aapo/momentum_only",
			cfg:  func(c *Config) { c.Name = "aapo" },
			in:   Input{Rewards: []float64{1, 1}, RefRewards: []float64{0, 1}, Group: []int{0, 0}, Mask: mask2},
			want: [][]float64{{0.28, 0.28}, {0, 0}},
		},
		{
			// n = (3, 1): μ = 3/4, σ = sqrt((3·1/16 + 9/16)/4) = sqrt(0.1875);
			// z = 0.25/(σ+1e-6), −0.75/(σ+1e-6); the padding z = −1.73 stays
			// under 5, so no fallback.
			name: "hapo/ragged",
			cfg:  func(c *Config) { c.Name = "hapo" },
			in:   Input{Rewards: []float64{1, 0}, Group: []int{0, 0}, Mask: [][]float64{{1, 1, 1}, {1, 0, 0}}},
			want: [][]float64{{0.5773489358593717, 0.5773489358593717, 0.5773489358593717}, {-1.732046807578115, 0, 0}},
		},
	}
}

func TestEstimateHand(t *testing.T) {
	c := tol{1e-12, 1e-12}
	for _, tc := range handCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			est, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			dst := Alloc(tc.in.Mask)
			if err := est.Estimate(dst, tc.in); err != nil {
				t.Fatal(err)
			}
			checkMatTol(t, c, "Estimate("+tc.name+")", dst, tc.want)
		})
	}
}

func TestHAPOFallbackThroughPadding(t *testing.T) {
	// Shaped rewards 1.0 and 0.9 with padding: μ ≈ 0.95, σ ≈ 0.05, so the
	// padding's z ≈ −19 triggers the GRPO fallback upstream; the valid
	// tokens alone (|z| ≈ 1) do not.
	in := Input{Rewards: []float64{1, 0.9}, Group: []int{0, 0}, Mask: [][]float64{{1, 1}, {1, 1, 1}}}
	for _, pad := range []bool{true, false} {
		cfg := DefaultHAPOConfig()
		cfg.FallbackIncludePadding = pad
		h := must(NewHAPO(cfg))
		dst := Alloc(in.Mask)
		if err := h.Estimate(dst, in); err != nil {
			t.Fatal(err)
		}
		if got := h.Groups()[0].Fallback; got != pad {
			t.Errorf("include_padding=%v: fallback = %v, want %v", pad, got, pad)
		}
	}
}

func TestSequenceMatchesEstimate(t *testing.T) {
	for _, tc := range handCases() {
		cfg := DefaultConfig()
		tc.cfg(&cfg)
		est := must(New(cfg))
		s, ok := est.(Sequencer)
		if !ok {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			seq := make([]float64, len(tc.in.Mask))
			if err := s.Sequence(seq, tc.in); err != nil {
				t.Fatal(err)
			}
			dst := Alloc(tc.in.Mask)
			if err := est.Estimate(dst, tc.in); err != nil {
				t.Fatal(err)
			}
			for b, row := range tc.in.Mask {
				for tt, m := range row {
					if dst[b][tt] != seq[b]*m {
						t.Errorf("Estimate(%s)[%d][%d] = %v, Sequence·m = %v", tc.name, b, tt, dst[b][tt], seq[b]*m)
					}
				}
			}
		})
	}
}

func TestOutcomeTokenRewards(t *testing.T) {
	mask := [][]float64{{1, 1, 0}, {0, 0}, {1, 0, 1, 0}}
	dst := Alloc(mask)
	dst[0][2] = 5 // stale value must be cleared
	if err := OutcomeTokenRewards(dst, []float64{2, 3, 4}, mask); err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0, 2, 0}, {0, 0}, {0, 0, 4, 0}}
	checkMatTol(t, tol{0, 0}, "OutcomeTokenRewards", dst, want)
}

func TestEstimateErrors(t *testing.T) {
	ok := Input{Rewards: []float64{1, 0}, RefRewards: []float64{0, 0}, Group: []int{0, 0},
		Mask: [][]float64{{1, 1}, {1}}, TokenRewards: [][]float64{{0, 1}, {0}}}
	tests := []struct {
		name, est, wantMsg string
		edit               func(*Input)
		dst                [][]float64
	}{
		{name: "short_dst", est: "grpo", dst: [][]float64{{0}}, wantMsg: "advantage: grpo: dst has 1 rows, want 2"},
		{name: "rewards_len", est: "rloo", edit: func(in *Input) { in.Rewards = in.Rewards[:1] }, wantMsg: "advantage: rloo: 1 rewards for 2 responses"},
		{name: "nan_reward", est: "grpo", edit: func(in *Input) { in.Rewards = []float64{math.NaN(), 0} }, wantMsg: "rewards[0] = NaN"},
		{name: "huge_reward", est: "hapo", edit: func(in *Input) { in.Rewards = []float64{0, 1e200} }, wantMsg: "rewards[1] = 1e+200, want |r| <= 1e+100"},
		{name: "bad_mask", est: "grpo", edit: func(in *Input) { in.Mask = [][]float64{{1, 2}, {1}} }, wantMsg: "mask[0][1] = 2"},
		{name: "groups_len", est: "reinforce_pp_baseline", edit: func(in *Input) { in.Group = nil }, wantMsg: "0 group ids for 2 responses"},
		{name: "no_ref_rewards", est: "aapo", edit: func(in *Input) { in.RefRewards = nil }, wantMsg: "advantage: aapo: ref rewards missing"},
		{name: "no_token_rewards", est: "reinforce_pp", edit: func(in *Input) { in.TokenRewards = nil }, wantMsg: "advantage: reinforce_pp: token rewards missing"},
		{name: "short_token_rewards", est: "reinforce_pp", edit: func(in *Input) { in.TokenRewards = [][]float64{{0}, {0}} }, wantMsg: "token rewards row 0 has 1 values, mask has 2"},
		{name: "inf_token_reward", est: "reinforce_pp", edit: func(in *Input) { in.TokenRewards = [][]float64{{0, math.Inf(1)}, {0}} }, wantMsg: "token reward [0][1] = +Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			if tc.edit != nil {
				tc.edit(&in)
			}
			cfg := DefaultConfig()
			cfg.Name = tc.est
			est := must(New(cfg))
			dst := tc.dst
			if dst == nil {
				dst = Alloc(in.Mask)
			}
			err := est.Estimate(dst, in)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Estimate(%s) error = %v, want one containing %q", tc.name, err, tc.wantMsg)
			}
		})
	}
	// Junk, even NaN, at masked token-reward positions is ignored.
	in := ok
	in.TokenRewards = [][]float64{{0, 1, math.NaN()}, {0, math.Inf(-1)}}
	in.Mask = [][]float64{{1, 1, 0}, {1, 0}}
	dst := Alloc(in.Mask)
	if err := must(NewReinforcePP(DefaultReinforcePPConfig())).Estimate(dst, in); err != nil {
		t.Fatal(err)
	}
	for b := range dst {
		for tt, v := range dst[b] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("dst[%d][%d] = %v from masked junk", b, tt, v)
			}
		}
	}
}

func TestDstRowsResized(t *testing.T) {
	// Rows too short are replaced in place; longer ones are cut to the mask.
	in := Input{Rewards: []float64{1, 0}, Group: []int{0, 0}, Mask: [][]float64{{1, 1, 1}, {1}}}
	dst := [][]float64{{9}, {9, 9, 9, 9}}
	if err := must(NewGRPO(DefaultGRPOConfig())).Estimate(dst, in); err != nil {
		t.Fatal(err)
	}
	if len(dst[0]) != 3 || len(dst[1]) != 1 {
		t.Fatalf("row lengths %d, %d, want 3, 1", len(dst[0]), len(dst[1]))
	}
}

func TestNoAllocsInSteadyState(t *testing.T) {
	in := benchInput(64, 256, 8)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name = name
			est := must(New(cfg))
			dst := Alloc(in.Mask)
			if err := est.Estimate(dst, in); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(20, func() { _ = est.Estimate(dst, in) }); n != 0 {
				t.Errorf("Estimate(%s) allocates %v times per call", name, n)
			}
		})
	}
}

func TestNewUnknownWraps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "grop"
	_, err := New(cfg)
	if !errors.Is(err, ErrUnknownName) {
		t.Fatalf("New(grop) error %v does not wrap ErrUnknownName", err)
	}
}
