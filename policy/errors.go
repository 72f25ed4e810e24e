package policy

import "fmt"

// NonFiniteError reports a NaN or Inf where a finite number is required.
type NonFiniteError struct {
	What  string
	Value float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("policy: %s is %v", e.What, e.Value)
}
