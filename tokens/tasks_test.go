package tokens_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/tokens"
)

// Every prompt and answer of every task, in both splits and a few configs,
// encodes, decodes back to itself, and fits a 64-token context with <bos>
// and <eos>.
func TestTaskTextsEncode(t *testing.T) {
	tk := tokens.New()
	configs := []struct {
		name string
		task string
		mod  func(*reward.Config)
	}{
		{"9digit", "addition", func(c *reward.Config) { c.Addition.Digits = 9 }},
		{"9x9", "multiplication", func(c *reward.Config) {
			c.Multiplication = reward.MultiplicationConfig{LeftDigits: 9, RightDigits: 9}
		}},
		{"6_numbers", "countdown", func(c *reward.Config) {
			c.Countdown.MinCount, c.Countdown.MaxCount, c.Countdown.MaxNumber, c.Countdown.MaxTarget = 6, 6, 999, 99999
		}},
	}
	for _, name := range reward.Names() {
		configs = append(configs, struct {
			name string
			task string
			mod  func(*reward.Config)
		}{"default", name, nil})
	}
	for _, c := range configs {
		t.Run(c.task+"/"+c.name, func(t *testing.T) {
			cfg := reward.DefaultConfig()
			cfg.Name = c.task
			if c.mod != nil {
				c.mod(&cfg)
			}
			task, err := reward.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			longest := 0
			for i := range 2000 {
				p := task.Generate(r, reward.Split(i%2))
				for _, s := range []string{p.Prompt, p.Answer, p.Prompt + p.Answer} {
					ids, err := tk.Encode(s)
					if err != nil {
						t.Fatalf("Encode(%q): %v", s, err)
					}
					if back := tk.Decode(ids); back != s {
						t.Fatalf("Decode(Encode(%q)) = %q", s, back)
					}
					longest = max(longest, len(ids)+2)
				}
				// A sampled completion: answer ids, <eos>, padding.
				ids, _ := tk.Encode(p.Answer)
				ids = append(ids, tk.EOSID(), tk.PadID(), tk.PadID())
				if s := task.Score(p, tk.DecodeUntilEOS(ids)); !s.Correct {
					t.Fatalf("Score(%q, decoded %v) = %+v, want correct", p.Prompt, ids, s)
				}
				if s := task.Score(p, tk.Decode(ids)); !s.Correct {
					t.Fatalf("Score(%q, %q) = %+v, want correct", p.Prompt, tk.Decode(ids), s)
				}
			}
			if longest > 64 {
				t.Fatalf("longest <bos>prompt+answer<eos> = %d tokens, want <= 64", longest)
			}
			t.Logf("longest <bos>prompt+answer<eos>: %d tokens", longest)
		})
	}
}

func TestSaveLoadKeepsTaskIDs(t *testing.T) {
	tk := tokens.New()
	path := t.TempDir() + "/tokenizer.json"
	if err := tk.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := tokens.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	task, err := reward.New(reward.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		p := task.Generate(r, reward.Train)
		a, err1 := tk.Encode(p.Prompt + p.Answer)
		b, err2 := loaded.Encode(p.Prompt + p.Answer)
		if err1 != nil || err2 != nil || !slices.Equal(a, b) {
			t.Fatalf("Encode(%q): %v, %v before Save, %v, %v after Load", p.Prompt+p.Answer, a, err1, b, err2)
		}
	}
}
