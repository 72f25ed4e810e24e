// Package configs loads run settings into experiment.Config, which composes
// the packages' own config sections (each with its defaults and Validate
// beside its code): defaults, then a YAML file (or a bundled experiment), then ENTROLAB_*
// environment variables, then --set key=value flags — decoded strictly with
// viper, so an unknown key or a wrong type is an error naming the key (and
// the file's line). It also holds the bundled experiments. It never imports
// trainer (TestNoTrainerImport): the loader and the runner share only the
// composed config.
package configs
