package configs

import (
	"context"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/trainer"
)

// TestBundledExperimentsRun runs two short steps of every bundled
// experiment on the committed tiny base and checks that every metric the
// step records is in the metric table (package metric). The countdown
// experiments run on the addition base with the addition task: the base's
// tokenizer has no countdown symbols, and what is checked is the method's
// parts, which do not depend on the task.
func TestBundledExperimentsRun(t *testing.T) {
	base, err := policy.LoadCheckpoint(policytest.BaseDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Experiments() {
		t.Run(name, func(t *testing.T) {
			sets := []string{"base.checkpoint=" + policytest.BaseDir(), "train.steps=2", "train.prompts_per_step=4",
				"sampling.group_size=4", "sampling.max_new_tokens=6", "eval.every=0", "eval.problems=8", "eval.k=2", "log.sample_every=0"}
			if strings.HasSuffix(name, "_countdown") {
				sets = append(sets, "task.name=addition")
			}
			cfg, err := LoadTrain(name, nil, sets)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := trainer.New(cfg, base)
			if err != nil {
				t.Fatal(err)
			}
			tr.SetWorkers(1)
			for range 2 {
				rec, err := tr.StepOnce(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for k := range rec.Metrics {
					if _, ok := metric.Lookup(k); !ok {
						t.Errorf("step %d records %s, which the metric table lacks", rec.Step, k)
					}
				}
			}
		})
	}
}

// TestLogKeysAreMetrics checks the step log's default keys against the table.
func TestLogKeysAreMetrics(t *testing.T) {
	for _, k := range trainer.DefaultLogKeys {
		if _, ok := metric.Lookup(k); !ok {
			t.Errorf("DefaultLogKeys names %s, which the metric table lacks", k)
		}
	}
}

// TestKLInRewardRuns: with the KL in the reward, a token-reward estimator
// (REINFORCE++) and an outcome one (GRPO) run, and from the second step
// (the policy has moved off the base) the penalty is positive.
func TestKLInRewardRuns(t *testing.T) {
	base, err := policy.LoadCheckpoint(policytest.BaseDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"reinforce_pp_addition", "grpo_addition"} {
		cfg, err := LoadTrain(name, nil, []string{"base.checkpoint=" + policytest.BaseDir(), "train.prompts_per_step=4",
			"sampling.group_size=4", "sampling.max_new_tokens=6", "eval.every=0", "eval.problems=8", "eval.k=2",
			"algorithm.kl.mode=reward", "algorithm.kl.coef=0.1", "optim.lr=1e-2"})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := trainer.New(cfg, base)
		if err != nil {
			t.Fatal(err)
		}
		tr.SetWorkers(1)
		var rec trainer.Record
		for range 2 {
			if rec, err = tr.StepOnce(context.Background()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if kl := rec.Metrics[metric.RewardKL]; !(kl > 0) {
			t.Errorf("%s: step 2 %s = %v, want > 0", name, metric.RewardKL, kl)
		}
		if rec.Metrics["critic/rewards/mean"] >= rec.Metrics["critic/score/mean"] {
			t.Errorf("%s: rewards mean %v not below score mean %v under a KL penalty", name, rec.Metrics["critic/rewards/mean"], rec.Metrics["critic/score/mean"])
		}
	}
}
