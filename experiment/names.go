package experiment

import (
	"fmt"
	"regexp"
	"strings"
)

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+=-]*$`)

// MaxNameLen bounds experiment and sweep names (they become directory names).
const MaxNameLen = 128

// ValidateName checks a name that becomes a directory name: letters,
// digits and . _ + = -, starting with a letter or digit, no "..", at most
// MaxNameLen bytes. what names the setting in the error.
func ValidateName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is empty", what)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%s %q has %d bytes, want at most %d", what, name, len(name), MaxNameLen)
	case strings.Contains(name, ".."), !validName.MatchString(name):
		return fmt.Errorf("%s = %q: want letters, digits and . _ + = - only, starting with a letter or digit, no \"..\" and no path separators (it names a directory)", what, name)
	}
	return nil
}

// DefaultLogKeys are the metrics on each log line (log.keys).
var DefaultLogKeys = []string{"critic/score/mean", "critic/accuracy", "actor/entropy", "actor/pg_loss", "actor/pg_clipfrac",
	"actor/grad_norm", "response_length/mean", "entropy/predicted_delta", "entropy/actual_delta", "val/accuracy", "timing_s/step"}
