package advantage

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Invariants, on seeded random batches and under go test -fuzz:
//   - no estimator fails on a valid batch, and finite rewards within
//     MaxAbsReward never give a NaN or Inf advantage;
//   - masked tokens get exactly 0;
//   - GRPO, Dr. GRPO and RLOO advantages sum to zero over every group of two
//     or more (per response, before the token broadcast);
//   - REINFORCE++ advantages have zero token mean over the batch.

type variant struct {
	name string
	edit func(*Config)
}

// variants lists every registered name at its defaults plus the non-default
// settings that change the arithmetic.
func variants() []variant {
	var vs []variant
	for _, name := range Names() {
		vs = append(vs, variant{name: name})
	}
	return append(vs,
		variant{"grpo", func(c *Config) { c.GRPO.Eps = 1e-4 }},
		variant{"rloo", func(c *Config) { c.RLOO.Singleton = "zero" }},
		variant{"reinforce_pp", func(c *Config) { c.ReinforcePP.Gamma = 0.9 }},
		variant{"aapo", func(c *Config) { c.AAPO.ScaleRewards = false }},
		variant{"hapo", func(c *Config) { c.HAPO.FallbackIncludePadding = false }},
		variant{"hapo", func(c *Config) { c.HAPO.NormByStd = false }},
	)
}

func buildVariant(v variant) Estimator {
	cfg := DefaultConfig()
	cfg.Name = v.name
	if v.edit != nil {
		v.edit(&cfg)
	}
	return must(New(cfg))
}

// checkInvariants runs every variant on in and reports the first broken
// invariant.
func checkInvariants(t *testing.T, in Input) {
	t.Helper()
	for _, v := range variants() {
		est := buildVariant(v)
		dst := Alloc(in.Mask)
		if err := est.Estimate(dst, in); err != nil {
			t.Fatalf("Estimate(%s) on a valid batch: %v", v.name, err)
		}
		for b, row := range in.Mask {
			for tt, m := range row {
				a := dst[b][tt]
				if math.IsNaN(a) || math.IsInf(a, 0) {
					t.Fatalf("Estimate(%s)[%d][%d] = %v", v.name, b, tt, a)
				}
				if m == 0 && a != 0 {
					t.Fatalf("Estimate(%s)[%d][%d] = %v on a masked token", v.name, b, tt, a)
				}
			}
		}
		switch v.name {
		case "grpo", "dr_grpo", "rloo":
			checkGroupSums(t, v.name, est.(Sequencer), in)
		}
	}
}

// checkGroupSums checks Σ_{b∈G} a_b = 0 for groups of two or more. The
// tolerance follows rounding: a computed group mean is off by at most a
// few ulps of max|R| per member, and GRPO divides that by σ + eps.
func checkGroupSums(t *testing.T, name string, s Sequencer, in Input) {
	t.Helper()
	seq := make([]float64, len(in.Mask))
	if err := s.Sequence(seq, in); err != nil {
		t.Fatalf("Sequence(%s): %v", name, err)
	}
	for b, id := range in.Group {
		js := members(in.Group, b)
		if len(js) < 2 || js[0] != b { // each group once, from its first member
			continue
		}
		var sum, abs, maxR, mean, ss float64
		for _, j := range js {
			sum += seq[j]
			abs += math.Abs(seq[j])
			maxR = max(maxR, math.Abs(in.Rewards[j]))
			mean += in.Rewards[j]
		}
		n := float64(len(js))
		mean /= n
		for _, j := range js {
			ss += (in.Rewards[j] - mean) * (in.Rewards[j] - mean)
		}
		bound := 1e-13*n*n*maxR + 1e-300 // the floor covers subnormal rewards
		if name == "grpo" {
			bound /= math.Sqrt(ss/(n-1)) + DefaultGRPOConfig().Eps
		}
		if math.Abs(sum) > bound+1e-12*abs {
			t.Fatalf("Sequence(%s): group %d sums to %v (Σ|a| = %v, bound %v)", name, id, sum, abs, bound)
		}
	}
}

func TestInvariantsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		in := randomInput(rng, 1+rng.IntN(32), 1+rng.IntN(16), i%2 == 0)
		if i%5 == 0 { // wide dynamic range
			for b := range in.Rewards {
				in.Rewards[b] *= math.Pow(10, float64(rng.IntN(180)-90))
			}
		}
		checkInvariants(t, in)
	}
}

func TestInvariantsSeeds(t *testing.T) {
	for _, seed := range fuzzSeeds(t) {
		checkInvariants(t, decodeInput(seed))
	}
}

func FuzzInvariants(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkInvariants(t, decodeInput(data))
	})
}

// The fuzz input is a byte string: B−1 and T−1 (one byte each, mod 16),
// then per response: group id (mod 8), row length (mod T+1), one mask byte
// per position (bit 0), reward and reference reward (8-byte float64 bits
// each), and one 8-byte token reward per position. Missing bytes read as 0.
// A reward that is not finite or beyond MaxAbsReward is folded into
// [−10, 10]; token rewards at masked positions are left raw (even NaN)
// because estimators must not read them.

type byteReader struct{ data []byte }

func (r *byteReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	v := r.data[0]
	r.data = r.data[1:]
	return v
}

func (r *byteReader) u64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = r.byte()
	}
	return binary.LittleEndian.Uint64(buf[:])
}

func foldReward(bits uint64) float64 {
	x := math.Float64frombits(bits)
	if math.IsNaN(x) || math.Abs(x) > MaxAbsReward {
		return float64(int64(bits%2001)-1000) / 100
	}
	return x
}

func decodeInput(data []byte) Input {
	r := &byteReader{data}
	B := 1 + int(r.byte()%16)
	T := 1 + int(r.byte()%16)
	in := Input{
		Rewards:      make([]float64, B),
		RefRewards:   make([]float64, B),
		Group:        make([]int, B),
		Mask:         make([][]float64, B),
		TokenRewards: make([][]float64, B),
	}
	for b := range B {
		in.Group[b] = int(r.byte() % 8)
		n := int(r.byte()) % (T + 1)
		in.Mask[b] = make([]float64, n)
		for t := range n {
			in.Mask[b][t] = float64(r.byte() & 1)
		}
		in.Rewards[b] = foldReward(r.u64())
		in.RefRewards[b] = foldReward(r.u64())
		in.TokenRewards[b] = make([]float64, n)
		for t := range n {
			bits := r.u64()
			if in.Mask[b][t] != 0 {
				in.TokenRewards[b][t] = foldReward(bits)
			} else {
				in.TokenRewards[b][t] = math.Float64frombits(bits)
			}
		}
	}
	return in
}

// encodeInput is the inverse of decodeInput for batches that fit its
// ranges (B, T ≤ 16, group ids 0..7, 0/1 masks).
func encodeInput(in Input) []byte {
	B, T := len(in.Mask), 0
	for _, row := range in.Mask {
		T = max(T, len(row))
	}
	out := []byte{byte(B - 1), byte(T - 1)}
	f64 := func(v []float64, i int) []byte {
		x := 0.0
		if i < len(v) {
			x = v[i]
		}
		return binary.LittleEndian.AppendUint64(nil, math.Float64bits(x))
	}
	for b, row := range in.Mask {
		id := 0
		if b < len(in.Group) {
			id = in.Group[b]
		}
		out = append(out, byte(id), byte(len(row)))
		for _, m := range row {
			out = append(out, byte(m))
		}
		out = append(out, f64(in.Rewards, b)...)
		out = append(out, f64(in.RefRewards, b)...)
		var tr []float64
		if b < len(in.TokenRewards) {
			tr = in.TokenRewards[b]
		}
		for t := range row {
			out = append(out, f64(tr, t)...)
		}
	}
	return out
}

// fuzzSeeds encodes the inputs of every golden case and every hand case.
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var seeds [][]byte
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var g struct {
			Cases []struct {
				Inputs struct {
					Rewards           []float64   `json:"rewards"`
					RefRewards        []float64   `json:"ref_rewards"`
					GroupIDs          []int       `json:"group_ids"`
					Mask              [][]float64 `json:"mask"`
					TokenLevelRewards [][]float64 `json:"token_level_rewards"`
				} `json:"inputs"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		for _, c := range g.Cases {
			in := c.Inputs
			seeds = append(seeds, encodeInput(Input{Rewards: in.Rewards, RefRewards: in.RefRewards,
				Group: in.GroupIDs, Mask: in.Mask, TokenRewards: in.TokenLevelRewards}))
		}
	}
	for _, c := range handCases() {
		seeds = append(seeds, encodeInput(c.in))
	}
	return seeds
}

func TestEncodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for range 50 {
		in := randomInput(rng, 1+rng.IntN(16), 1+rng.IntN(16), false)
		for b := range in.Group {
			in.Group[b] = ((in.Group[b] % 8) + 8) % 8
		}
		got := decodeInput(encodeInput(in))
		for b := range in.Mask {
			if got.Group[b] != in.Group[b] || got.Rewards[b] != in.Rewards[b] || got.RefRewards[b] != in.RefRewards[b] || len(got.Mask[b]) != len(in.Mask[b]) {
				t.Fatalf("round trip changed response %d", b)
			}
			for tt, m := range in.Mask[b] {
				if got.Mask[b][tt] != m || got.TokenRewards[b][tt] != in.TokenRewards[b][tt] {
					t.Fatalf("round trip changed token [%d][%d]", b, tt)
				}
			}
		}
	}
}
