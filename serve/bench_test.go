package serve

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/entrolab/entrolab/plots"
)

// benchKeys are the 34 metric keys a GRPO run records each step.
var benchKeys = strings.Fields(`actor/entropy actor/grad_norm actor/lr actor/pg_clipfrac actor/pg_clipfrac_lower actor/pg_loss
	actor/pg_loss_total actor/ppo_kl actor/sampled_nll critic/accuracy critic/advantages/max critic/advantages/mean
	critic/advantages/min critic/rewards/max critic/rewards/mean critic/rewards/min critic/score/max critic/score/mean
	critic/score/min entropy/actual_delta entropy/delta_corr entropy/predicted_delta frac_reward_zero_std perf/throughput
	response_length/clip_ratio response_length/max response_length/mean response_length/min rollout/logp_mismatch_max
	timing_s/adv timing_s/diagnostic timing_s/gen timing_s/step timing_s/update`)

// benchRoot lays out runs × steps under a temporary root: one seeded
// metrics file (the 34 keys, val/accuracy every 25 steps, about 1.2 KB a
// line, like a real run's), hard-linked (or copied) into every run, with a
// config.yaml each and samples.jsonl (8 completions every 25 steps).
func benchRoot(b *testing.B, runs, steps int) string {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var m bytes.Buffer
	for s := 1; s <= steps; s++ {
		fmt.Fprintf(&m, `{"step":%d,"data":{`, s)
		for i, k := range benchKeys {
			if i > 0 {
				m.WriteByte(',')
			}
			fmt.Fprintf(&m, `%q:%v`, k, rng.Float64())
		}
		if s%25 == 0 {
			fmt.Fprintf(&m, `,"val/accuracy":%v,"val/pass@8":%v`, rng.Float64(), rng.Float64())
		}
		m.WriteString("}}\n")
	}
	var sm bytes.Buffer
	for s := 25; s <= steps; s += 25 {
		for range 8 {
			fmt.Fprintf(&sm, `{"step":%d,"prompt":"123+456=","completion":"579","answer":"579","reward":1,"advantage":0.5,"finish":"eos","correct":true,"tokens":["5","7","9","<eos>"],"logp":[-0.1,-0.5,-0.2,-0.01],"entropy":[%v,%v,%v,0.01],"token_advantage":[0.5,0.5,0.5,0.5]}`+"\n",
				s, rng.Float64(), rng.Float64(), rng.Float64())
		}
	}
	root := b.TempDir()
	first := ""
	for i := range runs {
		dir := filepath.Join(root, "sweep", fmt.Sprintf("m%d_addition-s%d", i/3, i%3+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		cfg := fmt.Sprintf("name: m%d_addition\nseed: %d\ntask:\n  name: addition\ntrain:\n  steps: %d\n", i/3, i%3+1, steps)
		os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o644)
		for name, data := range map[string][]byte{plots.MetricsFile: m.Bytes(), samplesFile: sm.Bytes()} {
			p := filepath.Join(dir, name)
			if first != "" && os.Link(filepath.Join(first, name), p) == nil {
				continue
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		if first == "" {
			first = dir
		}
	}
	return root
}

// load GETs every URL (a page and what it loads) and fails on a non-200
// answer other than a figure without data. As a browser does, the first
// (the page) is loaded alone and the rest (its figures and JSON) then
// six at a time (Chromium's connections per host).
func load(b *testing.B, h http.Handler, urls ...string) {
	get := func(u string) error {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
		if rec.Code != 200 && !(rec.Code == 404 && strings.HasPrefix(u, "/fig")) {
			return fmt.Errorf("GET %s: %d %.200s", u, rec.Code, rec.Body.String())
		}
		return nil
	}
	if err := get(urls[0]); err != nil {
		b.Fatal(err)
	}
	sem := make(chan struct{}, 6)
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls[1:] {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = get(u)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

func figURLs(query string) []string {
	var out []string
	for _, f := range plots.FigureNames() {
		out = append(out, "/fig?"+query+"&name="+f)
	}
	return out
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPages loads each page of a root of 50 runs × 10,000 steps as a
// browser does (the page and its figures): "cold" on a fresh server (every
// file parsed, every figure rendered), "warm" on one that has served it
// before (the files unchanged). ms/page is the time per page load.
func BenchmarkPages(b *testing.B) {
	const runs, steps = 50, 10000
	root := benchRoot(b, runs, steps)
	one := "sweep/m0_addition-s1"
	pages := []struct {
		name string
		urls []string
	}{
		{"runs", []string{"/", "/api/runs"}},
		{"run", append([]string{"/run?id=" + one, "/api/run?id=" + one}, figURLs("id="+one)...)},
		{"compare_3_seeds", append([]string{"/compare?id=sweep/m0_addition-s1&id=sweep/m0_addition-s2&id=sweep/m0_addition-s3"}, figURLs("id=sweep/m0_addition-s1&id=sweep/m0_addition-s2&id=sweep/m0_addition-s3")...)},
		{"compare_sweep_50", append([]string{"/compare?sweep=sweep"}, figURLs("sweep=sweep")...)},
		{"samples", []string{"/samples?id=" + one}},
	}
	for _, p := range pages {
		for _, warm := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/%s", p.name, map[bool]string{false: "cold", true: "warm"}[warm]), func(b *testing.B) {
				var s *Server
				var err error
				if warm {
					if s, err = New(root); err != nil {
						b.Fatal(err)
					}
					load(b, s.Handler(), p.urls...)
				}
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					if !warm {
						b.StopTimer()
						if s != nil {
							s.Close()
						}
						if s, err = New(root); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					load(b, s.Handler(), p.urls...)
				}
				s.Close()
				b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/page")
				// CPU time of the whole process per page (a cold page's new
				// server included): on a machine shared with other work the
				// wall time says little, this says what the page costs
				b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/page")
			})
		}
	}
}

// BenchmarkParseMetrics is a first parse of one run's metrics.jsonl (10,000
// steps of the 34 keys, as benchRoot writes them): MB/s of the file.
func BenchmarkParseMetrics(b *testing.B) {
	root := benchRoot(b, 1, 10000)
	data, err := os.ReadFile(filepath.Join(root, "sweep", "m0_addition-s1", plots.MetricsFile))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		parseMetrics(data)
	}
}
