package reward

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownName is wrapped by the error New and Validate return for a task
// name that is not registered.
var ErrUnknownName = errors.New("reward: unknown task")

// Constructor builds a task from a validated config.
type Constructor func(cfg Config) (Task, error)

var (
	mu       sync.RWMutex
	registry = map[string]Constructor{
		"addition":       newAddition,
		"countdown":      newCountdown,
		"multiplication": newMultiplication,
	}
)

// New validates cfg and builds the task it names: a registered generator,
// or "dataset" (OpenDataset), which is not registered (it needs files). An unknown name gives an
// error wrapping ErrUnknownName that lists the known ones:
//
//	reward: unknown task "adition" (known: addition, countdown, multiplication; or dataset, for your own JSONL files)
func New(cfg Config) (Task, error) {
	if cfg.Name == "dataset" { // the user's files: not a generator, so not in Names
		return OpenDataset(cfg)
	}
	ctor, ok := lookup(cfg.Name)
	if !ok {
		return nil, unknownName(cfg.Name)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return ctor(cfg)
}

// Register adds an experimental task under name. It panics if name is empty
// or taken, or ctor is nil (programmer mistakes).
func Register(name string, ctor Constructor) {
	mu.Lock()
	defer mu.Unlock()
	if name == "" || ctor == nil {
		panic("reward: Register needs a name and a constructor")
	}
	if _, ok := registry[name]; ok {
		panic(fmt.Sprintf("reward: Register: task %q is already registered", name))
	}
	registry[name] = ctor
}

// Names lists the registered task names, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func lookup(name string) (Constructor, bool) {
	mu.RLock()
	defer mu.RUnlock()
	ctor, ok := registry[name]
	return ctor, ok
}

func unknownName(name string) error {
	return fmt.Errorf("%w %q (known: %s; or dataset, for your own JSONL files)", ErrUnknownName, name, strings.Join(Names(), ", "))
}
