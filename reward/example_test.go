package reward_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/entrolab/entrolab/reward"
)

func Example() {
	cfg := reward.DefaultConfig() // countdown, TinyZero weights
	task, err := reward.New(cfg)
	if err != nil {
		panic(err)
	}
	p := reward.Problem{Task: "countdown", Prompt: "3,7,25>29:", Numbers: []int{3, 7, 25}, Target: 29}
	for _, c := range []string{"25+7-3<eos>", "(25-3)+7", "25+7+3", "25+7-3=29"} {
		fmt.Printf("%-12q %+v\n", c, task.Score(p, c))
	}
	r := rand.New(rand.NewPCG(1, 2))
	q := task.Generate(r, reward.Train)
	fmt.Println(q.Prompt, q.Answer, task.Score(q, q.Answer).Correct)
	// Output:
	// "25+7-3<eos>" {Reward:1 Correct:true Format:true Metrics:map[]}
	// "(25-3)+7"   {Reward:1 Correct:true Format:true Metrics:map[]}
	// "25+7+3"     {Reward:0.1 Correct:false Format:true Metrics:map[]}
	// "25+7-3=29"  {Reward:0 Correct:false Format:false Metrics:map[]}
	// 50,1,61>10: 61-1-50 true
}
