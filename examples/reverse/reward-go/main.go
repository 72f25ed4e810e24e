// Command reward-go is the reverse example's reward command in Go, the same
// scoring as reward.py (see there, and the README's "Bring your own task"
// for the protocol): one JSON request line per batch on stdin, one reply
// line with a result per completion on stdout.
//
//	go build -o examples/reverse/reward-go/reward-go ./examples/reverse/reward-go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type item struct {
	Prompt     string          `json:"prompt"`
	Completion string          `json:"completion"`
	Answer     string          `json:"answer"`
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Extra      json.RawMessage `json:"extra"`
}

type result struct {
	Reward      float64 `json:"reward"`
	Correct     bool    `json:"correct"`
	Format      bool    `json:"format"`
	PositionAcc float64 `json:"position_acc"`
}

func score(it item) result {
	got, want := []rune(strings.TrimSpace(it.Completion)), []rune(it.Answer)
	hits := 0
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] == want[i] {
			hits++
		}
	}
	acc := float64(hits) / float64(max(len(want), 1))
	switch {
	case string(got) == it.Answer:
		return result{Reward: 1, Correct: true, Format: true, PositionAcc: acc}
	case len(got) == len(want):
		return result{Reward: 0.5 * acc, Format: true, PositionAcc: acc}
	}
	return result{PositionAcc: acc}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<28)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var req struct {
			Request     int    `json:"request"`
			Completions []item `json:"completions"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "reward-go: bad request:", err) // goes to the run's reward.log
			os.Exit(1)
		}
		res := make([]result, len(req.Completions))
		for i, it := range req.Completions {
			res[i] = score(it)
		}
		b, _ := json.Marshal(map[string]any{"results": res})
		out.Write(append(b, '\n'))
		out.Flush() // one reply per request, flushed
	}
}
