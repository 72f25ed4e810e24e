package advantage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownName is wrapped by the error of New (and Config.Validate) for a
// name that is not registered; the message lists the known names.
var ErrUnknownName = errors.New("advantage: unknown estimator")

// Constructor builds an estimator from a validated config.
type Constructor func(cfg Config) (Estimator, error)

var (
	mu       sync.RWMutex
	registry = map[string]Constructor{
		"grpo":                  newGRPO,
		"dr_grpo":               newDrGRPO,
		"rloo":                  newRLOO,
		"reinforce_pp":          newReinforcePP,
		"reinforce_pp_baseline": newReinforcePPBaseline,
		"aapo":                  newAAPO,
		"hapo":                  newHAPO,
	}
)

// New validates cfg and builds the estimator named cfg.Name. An unknown
// name fails with ErrUnknownName, the name and the known ones:
//
//	advantage: unknown estimator "grop" (known: aapo, dr_grpo, grpo, ...)
func New(cfg Config) (Estimator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctor, err := lookup(cfg.Name)
	if err != nil {
		return nil, err
	}
	return ctor(cfg)
}

// Register adds an experimental estimator under name. It panics if the name
// is empty or taken, a programmer mistake caught at init.
func Register(name string, ctor Constructor) {
	mu.Lock()
	defer mu.Unlock()
	if name == "" || ctor == nil {
		panic("advantage: Register with an empty name or a nil constructor")
	}
	if _, ok := registry[name]; ok {
		panic(fmt.Sprintf("advantage: Register: name %q is taken", name))
	}
	registry[name] = ctor
}

// Names lists the registered estimators, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func lookup(name string) (Constructor, error) {
	mu.RLock()
	ctor, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownName, name, strings.Join(Names(), ", "))
	}
	return ctor, nil
}
