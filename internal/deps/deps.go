// Package deps pins the module's direct dependencies while the packages that
// use them are being written; it is removed once each is imported for real.
package deps

import (
	_ "github.com/ebitengine/purego"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
	_ "github.com/sugarme/tokenizer"
	_ "gonum.org/v1/plot"
	_ "gorgonia.org/gorgonia"
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "gopkg.in/yaml.v3"
)
