package entropy

import (
	"errors"
	"math"
	"testing"
)

// TestGoldenHAPOTemperature checks every case of hapo_temperature.json:
// compute_entropy_h stats and ĥ on the previous batch, then the per-row
// decoding temperature.
func TestGoldenHAPOTemperature(t *testing.T) {
	g := loadGolden(t, "hapo_temperature.json")
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			tl := newTol(t, g, c)
			prevEnt := dec[[][]float64](t, c.Inputs, "prev_entropy")
			prevMask := toF2(dec[[][]int](t, c.Inputs, "prev_mask"))
			logits := dec[[][]float64](t, c.Inputs, "logits")
			cfg := HAPOTemperatureConfig{
				Temperature: dec[float64](t, c.Params, "temperature"),
				Tau:         dec[float64](t, c.Params, "temperature_tau"),
				Pivot:       dec[float64](t, c.Params, "entropy_pivot"),
				StatsEps:    dec[float64](t, c.Params, "stats_eps"),
				SampleEps:   dec[float64](t, c.Params, "sample_eps"),
				Mode:        HHatMode(dec[string](t, c.Params, "hhat_mode")),
			}
			at, err := NewAdaptiveTemperature(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := at.FromLogits(logits[0]); got != cfg.Temperature {
				t.Errorf("FromLogits before stats = %v, want the constant %v", got, cfg.Temperature)
			}
			hh, st, err := ComputeEntropyH(nil, prevEnt, prevMask, cfg.Pivot, cfg.StatsEps, cfg.Mode)
			if err != nil {
				t.Fatal(err)
			}
			ws := dec[HAPOStats](t, c.Expected, "stats")
			tl.f("stats.median", st.Median, ws.Median)
			tl.i("stats.quantile_index", st.QuantileIndex, ws.QuantileIndex)
			tl.f("stats.std", st.Std, ws.Std)
			tl.f("stats.pos_max", st.PosMax, ws.PosMax)
			tl.f("stats.neg_min", st.NegMin, ws.NegMin)
			tl.f("stats.scale_pos", st.ScalePos, ws.ScalePos)
			tl.f("stats.scale_neg", st.ScaleNeg, ws.ScaleNeg)
			tl.f2("prev_hhat", hh, dec[[][]float64](t, c.Expected, "prev_hhat"))

			if err := at.Observe(prevEnt, prevMask); err != nil {
				t.Fatal(err)
			}
			var ent, h, hhat, temp []float64
			for _, row := range logits {
				e := TokenEntropy(row, 1)
				x, y := at.HHat(e)
				ent, h, hhat = append(ent, e), append(h, x), append(hhat, y)
				temp = append(temp, at.FromLogits(row))
			}
			tl.f1("entropy", ent, dec[[]float64](t, c.Expected, "entropy"))
			tl.f1("h", h, dec[[]float64](t, c.Expected, "h"))
			tl.f1("hhat", hhat, dec[[]float64](t, c.Expected, "hhat"))
			tl.f1("temperature", temp, dec[[]float64](t, c.Expected, "temperature"))
		})
	}
}

// TestHAPOTemperatureRange: signed mode stays in [T(1−τ), T(1+τ)]; as
// released never goes below T.
func TestHAPOTemperatureRange(t *testing.T) {
	prev := [][]float64{{0.01, 0.1, 0.5, 1, 2, 3}}
	m := [][]float64{{1, 1, 1, 1, 1, 1}}
	for _, mode := range []HHatMode{Signed, AsReleased} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := DefaultHAPOTemperatureConfig()
			cfg.Mode, cfg.Tau = mode, 0.2
			at, _ := NewAdaptiveTemperature(cfg)
			if err := at.Observe(prev, m); err != nil {
				t.Fatal(err)
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, e := range []float64{0, 1e-9, 0.01, 0.3, 1, 5, 100} {
				T := at.FromEntropy(e)
				lo, hi = math.Min(lo, T), math.Max(hi, T)
			}
			// H = 0 clamps ĥ to −1 in signed mode; as released it maps to +1.
			wantLo := 0.8
			if mode == AsReleased {
				wantLo = 1
			}
			if lo < wantLo-1e-12 || (mode == Signed && math.Abs(lo-0.8) > 1e-12) || math.Abs(hi-1.2) > 1e-12 {
				t.Errorf("FromEntropy range [%v, %v], want within [%v, 1.2]", lo, hi, wantLo)
			}
		})
	}
	at, _ := NewAdaptiveTemperature(DefaultHAPOTemperatureConfig())
	if err := at.Observe(prev, [][]float64{{0, 0, 0, 0, 0, 0}}); !errors.Is(err, ErrNoValidToken) {
		t.Errorf("Observe(empty mask) = %v, want ErrNoValidToken", err)
	}
}
