package clip

import (
	"fmt"
	"slices"
	"strings"
)

// registry maps each loss name to its constructor; every built-in is
// listed here once.
var registry = map[string]func(Config) (Loss, error){
	"ppo":             newPPO,
	"ppo_clip_higher": newClipHigher,
	"clip_cov":        newClipCov,
	"kl_cov":          newKLCov,
	"cegppo":          newCEGPPO,
	"hapo":            newHAPO,
	"gspo":            newGSPO,
	"cispo":           newCISPO,
	"sapo":            newSAPO,
	"entropy_adv":     newEntropyAdv,
}

func newPPO(c Config) (Loss, error)        { return NewPPO(c.PPO, c.Agg) }
func newClipHigher(c Config) (Loss, error) { return NewPPO(c.ClipHigher, c.Agg) }
func newClipCov(c Config) (Loss, error)    { return NewClipCov(c.ClipCov, c.Agg) }
func newKLCov(c Config) (Loss, error)      { return NewKLCov(c.KLCov, c.Agg) }
func newCEGPPO(c Config) (Loss, error)     { return NewCEGPPO(c.CEGPPO, c.Agg) }
func newHAPO(c Config) (Loss, error)       { return NewHAPO(c.HAPO, c.Agg) }
func newGSPO(c Config) (Loss, error)       { return NewGSPO(c.GSPO, c.Agg) }
func newCISPO(c Config) (Loss, error)      { return NewCISPO(c.CISPO, c.Agg) }
func newSAPO(c Config) (Loss, error)       { return NewSAPO(c.SAPO, c.Agg) }
func newEntropyAdv(c Config) (Loss, error) { return NewEntropyAdv(c.EntropyAdv, c.Agg) }

// New builds the loss cfg.Name names from cfg, validating the aggregation
// and that member's config. An unknown name gives an error wrapping
// ErrUnknownName that lists the known ones:
//
//	clip: unknown name "ppx" (known: cegppo, clip_cov, hapo, kl_cov, ppo, ppo_clip_higher)
func New(cfg Config) (Loss, error) {
	mk, ok := registry[cfg.Name]
	if !ok {
		return nil, fmt.Errorf("clip: %w %q (known: %s)", ErrUnknownName, cfg.Name, strings.Join(Names(), ", "))
	}
	l, err := mk(cfg)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Register adds an experimental loss under name. It panics if the name is
// taken (a programmer mistake); call it from an init function.
func Register(name string, mk func(Config) (Loss, error)) {
	if _, ok := registry[name]; ok {
		panic(fmt.Sprintf("clip: Register: name %q already registered", name))
	}
	registry[name] = mk
}

// Names lists the registered loss names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
