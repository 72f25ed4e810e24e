// Package configs loads run settings: defaults from the packages' own
// Config structs, then a YAML file (or a bundled experiment), then ENTROLAB_*
// environment variables, then --set key=value flags — decoded strictly with
// viper, so an unknown key or a wrong type is an error naming the key (and
// the file's line). It also holds the bundled experiments.
package configs
