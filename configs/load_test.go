package configs

import (
	"strings"
	"testing"
)

type inner struct {
	LR    float64 `mapstructure:"lr"`
	Steps int     `mapstructure:"steps"`
}

type outer struct {
	Name  string `mapstructure:"name"`
	Optim inner  `mapstructure:"optim"`
	Flag  bool   `mapstructure:"flag"`
}

func TestLoadPrecedence(t *testing.T) {
	c := outer{Name: "grpo", Optim: inner{LR: 1e-3, Steps: 10}}
	err := Load(&c, Source{Name: "run.yaml", YAML: []byte("name: rloo\noptim:\n  lr: 0.01\n"),
		Env:  []string{"ENTROLAB_OPTIM_STEPS=20", "HOME=/root", "ENTROLAB_BLAS=go"},
		Sets: []string{"flag=true", "optim.lr=3e-4"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "rloo" || c.Optim.LR != 3e-4 || c.Optim.Steps != 20 || !c.Flag {
		t.Fatalf("got %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  Source
		want []string
	}{
		{"unknown_key", Source{Name: "x.yaml", YAML: []byte("name: a\noptim:\n  lrr: 1\n")}, []string{"optim.lrr", "line 3", `"optim.lr"`}},
		{"wrong_type", Source{Name: "x.yaml", YAML: []byte("optim:\n  steps: many\n")}, []string{"optim.steps", "line 2"}},
		{"bad_set", Source{Sets: []string{"optim.sped=3"}}, []string{"optim.sped", "optim.steps"}},
		{"set_no_value", Source{Sets: []string{"optim.lr"}}, []string{"key=value"}},
		{"bad_env", Source{Env: []string{"ENTROLAB_OPTIM_LRX=1"}}, []string{"ENTROLAB_OPTIM_LRX"}},
		{"bad_yaml", Source{Name: "x.yaml", YAML: []byte("a: [")}, []string{"x.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := outer{Optim: inner{LR: 1}}
			err := Load(&c, tc.src)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDumpRoundTrip(t *testing.T) {
	c := outer{Name: "x", Optim: inner{LR: 0.5, Steps: 3}, Flag: true}
	b, err := Dump(c)
	if err != nil {
		t.Fatal(err)
	}
	var d outer
	if err := Load(&d, Source{YAML: b, Name: "dump"}); err != nil {
		t.Fatal(err)
	}
	if d != c {
		t.Fatalf("round trip %+v -> %s -> %+v", c, b, d)
	}
}
