package trainer

import "github.com/entrolab/entrolab/experiment"

// Config is what the trainer runs: one experiment's settings, composed in
// package experiment from the sections each package keeps beside its code
// (sampling is rollout.Sampling, algorithm method.Config, ...).
type Config = experiment.Config

// DefaultConfig is experiment.DefaultConfig.
func DefaultConfig() Config { return experiment.DefaultConfig() }
