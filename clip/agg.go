package clip

import (
	"fmt"

	"github.com/entrolab/entrolab/masked"
)

// AggMode names a loss aggregation; Agg is verl's agg_loss (spec §2.2).
// Both live in package masked, shared with the entropy regularizers.
type (
	AggMode = masked.AggMode
	Agg     = masked.Agg
)

// The four aggregation modes (see masked).
const (
	TokenMean           = masked.TokenMean
	SeqMeanTokenSum     = masked.SeqMeanTokenSum
	SeqMeanTokenMean    = masked.SeqMeanTokenMean
	SeqMeanTokenSumNorm = masked.SeqMeanTokenSumNorm
)

// AggModes lists the aggregation modes.
func AggModes() []AggMode { return masked.AggModes() }

// DefaultAgg returns verl's default, token-mean.
func DefaultAgg() Agg { return masked.DefaultAgg() }

// validateAgg is Agg.Validate with this package's error prefix.
func validateAgg(a Agg) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	return nil
}

// validate checks a loss's own config and its aggregation, the two things
// every constructor checks.
func validate(cfg interface{ Validate() error }, agg Agg) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return validateAgg(agg)
}
