package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

const samplesFile = "samples.jsonl"

// HighEntropyFraction is the share of a step's logged token entropies that
// counts as high: the top 20%, as in "Beyond the 80/20 rule" (Wang et al. 2025).
const HighEntropyFraction = 0.2

// sampleLine is one line of samples.jsonl (trainer.SampleDump). Old files
// have no per-token fields; Correct is then unknown and read from the reward.
type sampleLine struct {
	Step       int       `json:"step"`
	Prompt     string    `json:"prompt"`
	Completion string    `json:"completion"`
	Answer     string    `json:"answer"`
	Reward     float64   `json:"reward"`
	Advantage  float64   `json:"advantage"`
	Finish     string    `json:"finish"`
	Correct    *bool     `json:"correct"`
	Tokens     []string  `json:"tokens"`
	Logp       []float64 `json:"logp"`
	Entropy    []float64 `json:"entropy"`
	TokenAdv   []float64 `json:"token_advantage"`
}

// correct is the recorded verdict, or for old files a reward of at least 1.
func (l *sampleLine) correct() bool {
	if l.Correct != nil {
		return *l.Correct
	}
	return l.Reward >= 1
}

// perToken reports whether the line has usable per-token data.
func (l *sampleLine) perToken() bool {
	return len(l.Tokens) > 0 && len(l.Entropy) == len(l.Tokens) && len(l.Logp) == len(l.Tokens)
}

// parseSamples reads samples.jsonl (complete lines only); unparsable lines
// are counted, not fatal.
func parseSamples(b []byte) (lines []sampleLine, skipped int) {
	for _, raw := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var l sampleLine
		if json.Unmarshal(raw, &l) != nil {
			skipped++
			continue
		}
		if !l.perToken() {
			l.Tokens, l.Logp, l.Entropy, l.TokenAdv = nil, nil, nil, nil
		} else if len(l.TokenAdv) != len(l.Tokens) {
			l.TokenAdv = nil
		}
		lines = append(lines, l)
	}
	return lines, skipped
}

// highThreshold is the entropy at or above which a token is in the top
// frac of ents: the value at rank ceil(frac·n) from the top, so at least one
// token is high whenever there is any.
func highThreshold(ents []float64, frac float64) float64 {
	if len(ents) == 0 {
		return math.Inf(1)
	}
	s := append([]float64(nil), ents...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	k := int(math.Ceil(frac*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

// tokenCount is one row of the high-entropy table.
type tokenCount struct {
	Token string
	High  int // times in its step's top 20%
	Seen  int // times logged
}

// Share is High/Seen.
func (t tokenCount) Share() float64 {
	if t.Seen == 0 {
		return 0
	}
	return float64(t.High) / float64(t.Seen)
}

// phase is one stretch of training in the "how the set changes" table.
type phase struct {
	From, To int // steps
	Top      []tokenCount
	Jaccard  float64 // of this phase's top set with the previous phase's; NaN for the first
	Tokens   int     // tokens logged in the phase
}

// entropyStats counts, per token text, how often it is among the top 20%
// of its step's logged token entropies; thresholds are per step over the
// given lines (all of the step's logged completions that pass the filter).
// It returns the overall ranking and the ranking per phase (up to phases
// stretches of the logged steps, each compared with the one before).
func entropyStats(lines []sampleLine, top, phases int) (overall []tokenCount, byPhase []phase) {
	byStep := map[int][]*sampleLine{}
	var steps []int
	for i := range lines {
		l := &lines[i]
		if !l.perToken() {
			continue
		}
		if _, ok := byStep[l.Step]; !ok {
			steps = append(steps, l.Step)
		}
		byStep[l.Step] = append(byStep[l.Step], l)
	}
	sort.Ints(steps)
	if len(steps) == 0 {
		return nil, nil
	}
	count := func(steps []int) ([]tokenCount, int) {
		m := map[string]*tokenCount{}
		n := 0
		for _, st := range steps {
			var ents []float64
			for _, l := range byStep[st] {
				ents = append(ents, l.Entropy...)
			}
			thr := highThreshold(ents, HighEntropyFraction)
			for _, l := range byStep[st] {
				for j, tok := range l.Tokens {
					c := m[tok]
					if c == nil {
						c = &tokenCount{Token: tok}
						m[tok] = c
					}
					c.Seen++
					n++
					if l.Entropy[j] >= thr {
						c.High++
					}
				}
			}
		}
		out := make([]tokenCount, 0, len(m))
		for _, c := range m {
			if c.High > 0 {
				out = append(out, *c)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].High != out[j].High {
				return out[i].High > out[j].High
			}
			return out[i].Token < out[j].Token
		})
		return out[:min(len(out), top)], n
	}
	overall, _ = count(steps)
	phases = min(phases, len(steps))
	prev := map[string]bool(nil)
	for p := 0; p < phases; p++ {
		part := steps[p*len(steps)/phases : (p+1)*len(steps)/phases]
		tc, n := count(part)
		tc = tc[:min(len(tc), 10)]
		cur := map[string]bool{}
		for _, c := range tc {
			cur[c.Token] = true
		}
		j := math.NaN()
		if prev != nil {
			j = jaccard(prev, cur)
		}
		byPhase = append(byPhase, phase{From: part[0], To: part[len(part)-1], Top: tc, Jaccard: j, Tokens: n})
		prev = cur
	}
	return overall, byPhase
}

func jaccard(a, b map[string]bool) float64 {
	inter, union := 0, len(a)
	for k := range b {
		if a[k] {
			inter++
		} else {
			union++
		}
	}
	if union == 0 {
		return 1
	}
	return float64(inter) / float64(union)
}

// showToken makes a token visible in a table cell: spaces and newlines are
// drawn as ␣ and ⏎.
func showToken(t string) string {
	r := strings.NewReplacer(" ", "␣", "\n", "⏎", "\t", "⇥", "Ġ", "␣", "Ċ", "⏎")
	if t == "" {
		return "∅"
	}
	return r.Replace(t)
}

// entropyColor maps an entropy to a background: white at 0 to deep red at
// hmax and above (a perceptual ramp through yellow and orange).
func entropyColor(h, hmax float64) string {
	if !(hmax > 0) || math.IsNaN(h) {
		return "rgb(255,255,255)"
	}
	x := math.Max(0, math.Min(1, h/hmax))
	// white -> yellow -> orange -> red
	stops := [][3]float64{{255, 255, 255}, {255, 237, 160}, {253, 141, 60}, {200, 20, 30}}
	f := x * float64(len(stops)-1)
	i := min(int(f), len(stops)-2)
	t := f - float64(i)
	c := [3]int{}
	for k := range c {
		c[k] = int(math.Round(stops[i][k]*(1-t) + stops[i+1][k]*t))
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", c[0], c[1], c[2])
}
